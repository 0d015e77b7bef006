"""Importing this module loads the kernel's compiled code (from the cache, or compiling it
when the cache is cold) by running a one-team, one-tick model. The sweep's fork server
imports it once, so every worker it forks starts with the kernel ready instead of loading
it at its first run. What is loaded is frozen out of the garbage collector (``gc.freeze``,
as Python's documentation advises before forking): the workers share those pages with the
server instead of copying them when they collect, and the server's own exit does not walk
them (about half a second). The imports' objects are frozen first and the collector turned
on (the server pauses it for its imports: :mod:`sim.experiment.gc_paused`), so that a load
that compiles the kernel, on a cold cache, collects its garbage; then the kernel's."""

import gc

from sim.model.org_model import OrgModel
from sim.scenario.schema import Scenario


def load() -> None:
    """Run the smallest model through the kernel."""
    config = Scenario.model_validate(
        {
            "name": "load",
            "structure": "micro_provider",
            "simulation": {"ticks": 1, "warmup_ticks": 0},
            "organisation": {"teams": 1, "services": 1},
        }
    )
    OrgModel(config, seed=0).run()


gc.freeze()
gc.enable()
load()
gc.freeze()

"""OrgSim: an agent-based model of central IT versus internal micro-providers.

Layers, each a folder that may import only the ones below it (checked by import-linter,
``pyproject.toml``): ``cli`` > ``view`` | ``experiment`` > the run boundary (``run``,
``metrics``, ``provenance``) > ``model`` > ``scenario``; ``analytic`` holds the reference
formulas. The public API below is imported on first use, so ``orgsim --help`` stays fast."""

from __future__ import annotations

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing would slow `orgsim --help`
if TYPE_CHECKING:
    from sim.run import RunResult, run_scenario
    from sim.scenario.errors import ScenarioError
    from sim.scenario.files import load_scenario
    from sim.scenario.schema import Scenario

_PUBLIC = {
    "RunResult": "sim.run",
    "run_scenario": "sim.run",
    "Scenario": "sim.scenario.schema",
    "ScenarioError": "sim.scenario.errors",
    "load_scenario": "sim.scenario.files",
}
__all__ = ["RunResult", "Scenario", "ScenarioError", "load_scenario", "run_scenario"]


def __getattr__(name: str) -> object:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_PUBLIC[name]), name)

"""What the sweep's workers are started with, and how long a cluster may be without them.

Cheap to import (no imports at all): the command line reads it to start the fork server
early and to offer ``--lost-timeout``, before it loads the heavy layers."""

WORKER_PRELOAD = [
    "sim.experiment.single_thread",
    "sim.experiment.gc_paused",
    "sim.experiment.sweep",
    "sim.model.preload",
]
"""What the fork server imports once for every worker, in order: the numeric libraries kept to
one thread (before numpy loads), the garbage collector paused while the libraries load, the
sweep, and the compiled kernel loaded (which freezes what is loaded and resumes the collector)."""

LOST_TIMEOUT_S = 60.0
"""A Dask cluster without workers (or a scheduler that does not answer) this long is lost
(``--lost-timeout``)."""

"""Performance benchmarks for OrgSim: figures and ratios measured side by side in one run.

Run ``make bench`` (or ``python -m benchmarks.run --help``). Nothing here is a test: the
benchmarks print what they measured next to the targets of the "Performance" issue.

Importing the package pins the numeric libraries to one thread before numpy is loaded,
so every figure is single-core unless a benchmark starts worker processes on purpose."""

import sim.experiment.single_thread  # noqa: F401

"""Benchmark 7 - ``make demo`` and an experiment script, before the kernel and now.

Both trees as in :mod:`benchmarks.before` (the worktree of the last commit before the kernel,
and this tree), each command a fresh process, before and now in turn.

- ``make demo``: ``python -m sim compare scenarios/central_it.toml
  scenarios/micro_provider.toml --reps 20`` (all cores), 3 rounds, medians; target: now >=
  5x faster. Its printed comparison must be the same (the engines agree to rounding, far
  below what it prints).
- ``experiments/load.py``, the load experiment (both structures x 9 arrival rates,
  replicated until throughput's 95% CI is within 5 % of its mean, 5-20 runs a point; core
  mechanisms only, so all in the kernel now), into temporary folders, once each; target
  >= 5x. Its summary table must be the same, every number to 1e-9 relative. The whole
  experiment set is :mod:`benchmarks.experiments`.

Quick mode: the demo with ``--reps 4`` and the experiment's ``--quick`` design, one round,
not judged.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from benchmarks.before import InTurn, in_turn, same_to_rounding, trees, verdict
from benchmarks.common import Row

NAME = "demo"
DEMO = ["-m", "sim", "compare", "scenarios/central_it.toml", "scenarios/micro_provider.toml"]


def _verdict(label: str, timed: InTurn, judged: bool, same: bool) -> list[Row]:
    wall = {tree: timed.median(tree) for tree in timed.times}
    cpu = {tree: timed.median(tree, 1) for tree in timed.times}
    return verdict(NAME, label, wall, cpu, f"median of {len(timed.times['now'])}", judged, same, "results")


def run(quick: bool = False) -> list[Row]:
    with trees() as roots:
        demo = [*DEMO, "--reps", "4" if quick else "20"]
        label = "make demo" + (" (--reps 4)" if quick else "")
        timed = in_turn(label, lambda tree: demo, roots, 1 if quick else 3)
        rows = _verdict(label, timed, not quick, timed.same())
        with tempfile.TemporaryDirectory(prefix="orgsim-load-") as tmp:
            out = {tree: Path(tmp) / tree for tree in roots}
            design = ["--quick"] if quick else []
            label = "experiments/load.py" + (" --quick" if quick else "")
            timed = in_turn(
                label,
                lambda tree: ["experiments/load.py", *design, "--quiet", "--out", str(out[tree])],
                roots,
                output=lambda tree: pd.read_csv(out[tree] / "summary.csv"),
            )
            rows += _verdict(label, timed, not quick, timed.same(same_to_rounding))
    return rows


if __name__ == "__main__":
    from benchmarks.run import main

    raise SystemExit(main(["--only", NAME]))

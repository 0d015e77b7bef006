"""Benchmark 7 - ``make demo`` and an experiment script, before the kernel and now.

Before: a detached git worktree of ``BEFORE`` (the last commit before the kernel) made
beside this tree (``../bench-before``) and removed afterwards, run with this interpreter
and ``PYTHONPATH`` pointing at it; now: this tree. Each command is a fresh process started
in its tree's root, before and now in turn (3 rounds, medians) so that load falls on both
alike; an untimed process fills the kernel's cache first. Wall time is judged; CPU time is
that of the whole process tree (the sweep's fork server and workers included). The commands
get this process's environment without the thread counts the benchmarks pin for themselves
(``sim.experiment.single_thread``), as a user's shell runs them.

- ``make demo``: ``python -m sim compare scenarios/central_it.toml
  scenarios/micro_provider.toml --reps 20`` (all cores); target: now >= 5x faster. Its
  printed comparison must be the same (the engines agree to rounding, far below what it prints).
- ``experiments/load.py``, the load experiment (both structures x 9 arrival rates,
  replicated until throughput's 95% CI is within 5 % of its mean, 5-20 runs a point; core
  mechanisms only, so all in the kernel now), into temporary folders, once each; target
  >= 5x. Its summary table must be the same, every number to 1e-9 relative.

Quick mode: the demo with ``--reps 4`` and the experiment's ``--quick`` design, one round,
not judged.
"""

from __future__ import annotations

import operator
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.common import ROOT, Row, log, time_command
from sim.experiment.single_thread import PINNED

NAME = "demo"
BEFORE = "f62c3ec"
TARGET_RATIO = 5.0
DEMO = ["-m", "sim", "compare", "scenarios/central_it.toml", "scenarios/micro_provider.toml"]


def _git(*args: str) -> None:
    subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True)


def _compare(
    label: str,
    argv: Callable[[str], list[str]],
    trees: dict[str, Path],
    rounds: int,
    judged: bool,
    output: Callable[[str], Any] | None = None,
    same: Callable[[Any, Any], bool] = operator.eq,
) -> list[Row]:
    """Time ``python argv(tree)`` in each tree, ``rounds`` times in turn; rows for each, their
    ratio and whether the results (``output(tree)``, else what it printed) are the ``same``."""
    times: dict[str, list[tuple[float, float]]] = {tree: [] for tree in trees}
    outputs: dict[str, Any] = {}
    user = {k: v for k, v in os.environ.items() if k not in PINNED}  # as the shell that started us has it
    for _ in range(rounds):
        for tree, root in trees.items():
            env = dict(user, PYTHONPATH=str(root))
            wall, cpu, stdout = time_command([sys.executable, *argv(tree)], root, env)
            times[tree].append((wall, cpu))
            outputs[tree] = output(tree) if output else stdout
            log(f"  {label} [{tree}]: {wall:.1f} s wall, {cpu:.1f} s cpu (load {os.getloadavg()[0]:.2f})")
    rows, wall = [], {}
    for tree, pairs in times.items():
        wall[tree] = statistics.median(w for w, _ in pairs)
        cpu = statistics.median(c for _, c in pairs)
        rows.append(Row(NAME, f"{label} [{tree}]: wall (median of {rounds}; cpu {cpu:.1f} s)", wall[tree], "s"))
    ratio = wall["before"] / wall["now"]
    target = f">= {TARGET_RATIO:g}x" if judged else ""
    rows.append(
        Row(NAME, f"{label}: before / now, wall", ratio, "x", target, ratio >= TARGET_RATIO if judged else None)
    )
    agree = same(outputs["before"], outputs["now"])
    rows.append(Row(NAME, f"{label}: same results before and now: {'yes' if agree else 'NO'}", None, "", "same", agree))
    return rows


def _same_to_rounding(before: pd.DataFrame, now: pd.DataFrame) -> bool:
    """The same table, numbers to 1e-9 relative: the kernel forgets knowledge as a power and
    keeps the running teams' total as it changes, so its knowledge, and the durations and
    times that follow from it, round differently in the last digits (as the docking test
    allows: ``tests/test_docking.py``)."""
    try:
        pd.testing.assert_frame_equal(before, now, check_exact=False, rtol=1e-9, atol=0)
    except AssertionError:
        return False
    return True


def run(quick: bool = False) -> list[Row]:
    worktree = ROOT.parent / "bench-before"
    if worktree.exists():
        raise RuntimeError(f"{worktree} exists: remove it (git worktree remove --force {worktree})")
    subprocess.run([sys.executable, "-c", "from benchmarks.common import warm_up; warm_up()"], cwd=ROOT, check=True)
    _git("worktree", "add", "--detach", str(worktree), BEFORE)
    trees = {"before": worktree, "now": ROOT}
    try:
        demo = [*DEMO, "--reps", "4" if quick else "20"]
        label = "make demo" + (" (--reps 4)" if quick else "")
        rows = _compare(label, lambda tree: demo, trees, 1 if quick else 3, not quick)
        with tempfile.TemporaryDirectory(prefix="orgsim-load-") as tmp:
            out = {tree: Path(tmp) / tree for tree in trees}
            design = ["--quick"] if quick else []
            rows += _compare(
                "experiments/load.py" + (" --quick" if quick else ""),
                lambda tree: ["experiments/load.py", *design, "--quiet", "--out", str(out[tree])],
                trees,
                1,
                not quick,
                output=lambda tree: pd.read_csv(out[tree] / "summary.csv"),
                same=_same_to_rounding,
            )
    finally:
        _git("worktree", "remove", "--force", str(worktree))
    return rows


if __name__ == "__main__":
    from benchmarks.run import main

    raise SystemExit(main(["--only", NAME]))

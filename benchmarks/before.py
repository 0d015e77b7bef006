"""The tree before the kernel beside this one, and commands timed in both in turn.

Used by :mod:`benchmarks.demo` and :mod:`benchmarks.experiments`. Before: a detached git
worktree of ``BEFORE`` (the last commit before the kernel) made beside this tree
(``../bench-before``) and removed afterwards, run with this interpreter and ``PYTHONPATH``
pointing at it; now: this tree. Each command is a fresh process started in its tree's
root, before and now in turn, so that load falls on both alike. The commands get this
process's environment without the thread counts the benchmarks pin for themselves
(``sim.experiment.single_thread``), as a user's shell runs them. Wall time is judged; CPU
time is that of the whole process tree (the sweep's fork server and workers included).
"""

from __future__ import annotations

import contextlib
import operator
import os
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.common import ROOT, Row, log, time_command
from sim.experiment.single_thread import PINNED

BEFORE = "f62c3ec"
TARGET_RATIO = 5.0


@contextlib.contextmanager
def trees() -> Iterator[dict[str, Path]]:
    """``{"before": worktree of BEFORE, "now": ROOT}``, the worktree removed on leaving; an
    untimed process fills this tree's kernel cache first."""
    worktree = ROOT.parent / "bench-before"
    if worktree.exists():
        raise RuntimeError(f"{worktree} exists: remove it (git worktree remove --force {worktree})")
    subprocess.run([sys.executable, "-c", "from benchmarks.common import warm_up; warm_up()"], cwd=ROOT, check=True)
    _git("worktree", "add", "--detach", str(worktree), BEFORE)
    try:
        yield {"before": worktree, "now": ROOT}
    finally:
        _git("worktree", "remove", "--force", str(worktree))


def _git(*args: str) -> None:
    subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True)


@dataclass
class InTurn:
    """Wall and CPU seconds of one command in each tree, rounds in turn, and what it gave."""

    times: dict[str, list[tuple[float, float]]]
    outputs: dict[str, Any]

    def median(self, tree: str, which: int = 0) -> float:
        """Median wall (``which=0``) or CPU (1) seconds in ``tree``."""
        return statistics.median(pair[which] for pair in self.times[tree])

    @property
    def ratio(self) -> float:
        """Before / now, median wall time."""
        return self.median("before") / self.median("now")

    def same(self, equal: Callable[[Any, Any], bool] = operator.eq) -> bool:
        """Whether what the two trees gave is ``equal``."""
        return equal(self.outputs["before"], self.outputs["now"])


def in_turn(
    label: str,
    argv: Callable[[str], list[str]],
    roots: dict[str, Path],
    rounds: int = 1,
    output: Callable[[str], Any] | None = None,
) -> InTurn:
    """Time ``python argv(tree)`` in each tree, ``rounds`` times in turn; what it gave is
    ``output(tree)`` after the last round, else what it printed."""
    times: dict[str, list[tuple[float, float]]] = {tree: [] for tree in roots}
    outputs: dict[str, Any] = {}
    user = {k: v for k, v in os.environ.items() if k not in PINNED}  # as the shell that started us has it
    for _ in range(rounds):
        for tree, root in roots.items():
            env = dict(user, PYTHONPATH=str(root))
            wall, cpu, stdout = time_command([sys.executable, *argv(tree)], root, env)
            times[tree].append((wall, cpu))
            outputs[tree] = output(tree) if output else stdout
            log(f"  {label} [{tree}]: {wall:.1f} s wall, {cpu:.1f} s cpu (load {os.getloadavg()[0]:.2f})")
    return InTurn(times, outputs)


def same_to_rounding(before: pd.DataFrame, now: pd.DataFrame) -> bool:
    """The same table, numbers to 1e-9 relative: the kernel forgets knowledge as a power and
    keeps the running teams' total as it changes, so its knowledge, and the durations and
    times that follow from it, round differently in the last digits (as the docking test
    allows: ``tests/test_docking.py``)."""
    try:
        pd.testing.assert_frame_equal(before, now, check_exact=False, rtol=1e-9, atol=0)
    except AssertionError:
        return False
    return True


def verdict(
    bench: str, label: str, wall: dict[str, float], cpu: dict[str, float], how: str, judged: bool, same: bool, what: str
) -> list[Row]:
    """Rows for each tree's wall time (``how`` it was taken; CPU beside it), their ratio against
    the target when ``judged``, and whether the two gave the ``same`` ``what``."""
    rows = [Row(bench, f"{label} [{tree}]: wall ({how}; cpu {cpu[tree]:.1f} s)", wall[tree], "s") for tree in wall]
    ratio = wall["before"] / wall["now"]
    target, ok = (f">= {TARGET_RATIO:g}x", ratio >= TARGET_RATIO) if judged else ("", None)
    rows.append(Row(bench, f"{label}: before / now, wall", ratio, "x", target, ok))
    rows.append(Row(bench, f"{label}: same {what} before and now: {'yes' if same else 'NO'}", None, "", "same", same))
    return rows

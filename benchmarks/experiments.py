"""Benchmark 8 - the full experiment set, before the kernel and now.

Every script in ``experiments/`` (``common.py`` is their shared code), run as a user runs
it, ``python experiments/NAME.py --quiet --out DIR``, in both trees of
:mod:`benchmarks.before` (the worktree of the last commit before the kernel, and this tree):
before and then now for each script, once each, into temporary folders. Wall and CPU time
of each script and of the whole set; target (issue 16): the set >= 5x faster now, with the
same replications. Whether the two agree: the runs each made (the rows of its ``runs.csv``
tables, as many and the same to 1e-9 relative; the scripts replicate until a precision is
reached, so this is what "same replications" checks) and every table each wrote (each
``.csv`` under its folder), numbers to 1e-9 relative.

Not in the default selection (``--only experiments``): about 37 minutes on 2 cores with
nothing else running. Quick mode: each script's ``--quick`` design, not judged.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from benchmarks.before import in_turn, same_to_rounding, trees, verdict
from benchmarks.common import ROOT, Row, log

NAME = "experiments"


def scripts() -> list[str]:
    """The experiment scripts, by name."""
    return sorted(p.stem for p in (ROOT / "experiments").glob("*.py") if p.stem != "common")


def _tables(folder: Path) -> dict[str, pd.DataFrame]:
    """Every table a script wrote, by its path in ``folder``."""
    return {str(p.relative_to(folder)): pd.read_csv(p) for p in sorted(folder.rglob("*.csv"))}


def _runs(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The runs tables among ``tables``."""
    return {path: frame for path, frame in tables.items() if Path(path).name == "runs.csv"}


def _agreeing(before: dict[str, pd.DataFrame], now: dict[str, pd.DataFrame]) -> int:
    """How many of the tables written before are written now, the same to rounding."""
    return sum(path in now and same_to_rounding(frame, now[path]) for path, frame in before.items())


def run(quick: bool = False) -> list[Row]:
    rows: list[Row] = []
    wall = {"before": 0.0, "now": 0.0}
    cpu = dict(wall)
    all_same_runs = True
    design = ["--quick"] if quick else []
    with trees() as roots, tempfile.TemporaryDirectory(prefix="orgsim-experiments-") as tmp:
        for name in scripts():
            out = {tree: Path(tmp) / tree / name for tree in roots}
            timed = in_turn(
                name,
                lambda tree, name=name, out=out: [
                    f"experiments/{name}.py",
                    *design,
                    "--quiet",
                    "--out",
                    str(out[tree]),
                ],
                roots,
                output=lambda tree, out=out: _tables(out[tree]),
            )
            for tree in roots:
                wall[tree] += timed.median(tree)
                cpu[tree] += timed.median(tree, 1)
            runs = {tree: _runs(tables) for tree, tables in timed.outputs.items()}
            same = _agreeing(timed.outputs["before"], timed.outputs["now"])
            # the same runs tables, each the same to rounding: as many runs, with the same seeds
            before, now = runs["before"], runs["now"]
            all_same_runs &= before.keys() == now.keys() and _agreeing(before, now) == len(before)
            counts = {tree: sum(map(len, tables.values())) for tree, tables in runs.items()}
            log(
                f"  {name}: {timed.ratio:.2f}x, runs {counts['before']} / {counts['now']}, "
                f"tables the same {same} of {len(timed.outputs['before'])}"
            )
            rows.append(
                Row(
                    NAME,
                    f"{name}: {timed.median('before'):.1f} -> {timed.median('now'):.1f} s, runs "
                    f"{counts['before']} / {counts['now']}, tables the same {same} of {len(timed.outputs['before'])}",
                    timed.ratio,
                    "x",
                )
            )
    label = "the experiment set" + (" (--quick)" if quick else "")
    rows += verdict(NAME, label, wall, cpu, f"sum of {len(scripts())} scripts", not quick, all_same_runs, "runs")
    return rows


if __name__ == "__main__":
    from benchmarks.run import main

    raise SystemExit(main(["--only", NAME]))

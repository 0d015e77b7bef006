"""Store the docking data of issue 16: every shipped scenario's summary metrics over seeds
0-29 from the current engine, for tests/test_docking.py (Axtell et al. 1996).

    .venv/bin/python scripts/docking_data.py [--workers N]

Writes tests/data/docking/:

- ``summaries.csv``: one row per run, in scenario then seed order: ``scenario`` (its path
  from the repository root), ``seed``, then every summary metric in registry order; None is
  an empty cell, a float its shortest repr (read back exactly), a boolean True/False.
- ``meta.json``: the commit of the engine and its uncommitted changes in sim/ and
  scenarios/ (none when the data are clean), versions, date, seeds, each scenario's config
  hash, the command and its wall time.

Runs go through the sweep's worker (``run_chunk``) on its process pool, at each scenario's
own length, so the rows do not depend on the number of workers.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import shlex
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import sim
from sim import load_scenario
from sim.experiment.sweep import process_pool, run_chunk
from sim.provenance import environment
from sim.scenario.files import config_hash

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "docking"
SEEDS = range(30)
WORKERS = 2  # a 2-core machine; raise it with --workers where there are more cores
KEYS = ("scenario", "seed")
WORDS: dict[str, bool | None] = {"": None, "True": True, "False": False}


def shipped() -> list[str]:
    """Every shipped scenario file, as its path from the repository root, sorted."""
    return sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "scenarios").glob("**/*.toml"))


def summaries(paths: Iterable[str], seeds: Iterable[int], pool: Executor) -> pd.DataFrame:
    """One row per (path, seed), in that order: scenario path, seed, every summary metric
    (object columns holding the engine's values: numbers, booleans, None)."""
    tasks = [[({"path": p, "seed": s}, load_scenario(ROOT / p).model_dump(), s)] for p in paths for s in seeds]
    rows = []
    for [row] in pool.map(run_chunk, tasks):
        path, seed = row.pop("path"), row.pop("seed")
        del row["scenario"]  # the scenario's name; the path identifies it
        rows.append({"scenario": path, "seed": seed} | row)
    return pd.DataFrame(rows, dtype=object)


def _cell(value: Any) -> str:
    if value is None or isinstance(value, bool | np.bool_):
        return "" if value is None else str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    return repr(float(value))


def _value(cell: str) -> bool | float | None:
    return WORDS[cell] if cell in WORDS else float(cell)


def write(frame: pd.DataFrame, path: Path) -> None:
    """``frame`` as CSV, every value exactly (see the module docstring)."""
    with path.open("w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(frame.columns)
        writer.writerows([_cell(v) if k not in KEYS else v for k, v in row.items()] for row in frame.to_dict("records"))


def read(path: Path = DATA / "summaries.csv") -> pd.DataFrame:
    """The stored rows: scenario (str), seed (int), metrics as numbers (floats), booleans or None."""
    with path.open(newline="") as source:
        rows = list(csv.DictReader(source))
    values = [
        {k: v if k == "scenario" else int(v) if k == "seed" else _value(v) for k, v in row.items()} for row in rows
    ]
    return pd.DataFrame(values, columns=list(rows[0]), dtype=object)


def _git(*args: str) -> str:
    """A git command's output in the checkout the imported ``sim`` package comes from."""
    cwd = Path(sim.__file__).parent
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


def meta(paths: Sequence[str], seeds: Sequence[int], rows: int, wall_s: float) -> dict[str, Any]:
    """Where the data came from: commit, uncommitted changes, versions, date, seeds, hashes, command."""
    versions = environment()
    return {
        "commit": versions.pop("git_commit"),
        "uncommitted_in_sim_or_scenarios": _git("status", "--porcelain", "--", "sim", "scenarios").splitlines(),
        "versions": versions,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "seeds": list(seeds),
        "rows": rows,
        "config_hash": {p: config_hash(load_scenario(ROOT / p)) for p in paths},
        "command": shlex.join(sys.orig_argv),
        "wall_s": round(wall_s, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=WORKERS, help=f"processes (default {WORKERS})")
    args = parser.parse_args(argv)
    paths, seeds = shipped(), list(SEEDS)
    start = time.perf_counter()
    with process_pool(args.workers) as pool:
        frame = summaries(paths, seeds, pool)
    wall_s = time.perf_counter() - start
    DATA.mkdir(parents=True, exist_ok=True)
    write(frame, DATA / "summaries.csv")
    info = meta(paths, seeds, len(frame), wall_s)
    (DATA / "meta.json").write_text(json.dumps(info, indent=2) + "\n")
    print(f"{len(frame)} runs of {len(paths)} scenarios in {wall_s:.0f} s at {info['commit'][:12]} -> {DATA}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

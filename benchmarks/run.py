"""Run the OrgSim benchmarks and print one table of figures against the issue's targets.

    python -m benchmarks.run                 # all seven (about 7 minutes on 2 cores)
    python -m benchmarks.run --only experiments   # the whole experiment set before and now (~37 min)
    python -m benchmarks.run --quick         # smaller sizes, one repeat (a couple of minutes)
    python -m benchmarks.run --only mmc --only scaling
    python -m benchmarks.run --json results/bench.json

Progress and details go to stderr, the table to stdout. Exit status 0 even when targets are
missed (these are measurements, not tests); 1 if a benchmark itself failed.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a file: make ``benchmarks`` importable, keep stdlib names unshadowed
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import importlib
import json
import os
import time
import traceback
from dataclasses import asdict

from benchmarks.common import Row, log, machine, table

BENCHMARKS = {
    "reference": "benchmarks.reference",
    "mmc": "benchmarks.mmc",
    "scaling": "benchmarks.scaling",
    "sweep": "benchmarks.throughput",
    "startup": "benchmarks.startup",
    "kernel": "benchmarks.kernel_start",
    "demo": "benchmarks.demo",
    "experiments": "benchmarks.experiments",
}
OPT_IN = {"experiments"}
"""Run only when named with ``--only``: the experiment set takes over half an hour."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes and one repeat (a smoke run)")
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(BENCHMARKS),
        help=f"run only this benchmark (repeatable); default: all but {', '.join(sorted(OPT_IN))}",
    )
    parser.add_argument("--json", type=Path, help="also write the rows and the machine description here")
    args = parser.parse_args(argv)
    selected = args.only or [name for name in BENCHMARKS if name not in OPT_IN]

    info = machine()
    mode = "quick" if args.quick else "full"
    log(f"OrgSim benchmarks ({mode}): {', '.join(selected)}")
    log("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    rows: list[Row] = []
    elapsed: dict[str, float] = {}
    failed = False
    for name in selected:
        log(f"== {name} ==")
        start = time.perf_counter()
        try:
            rows += importlib.import_module(BENCHMARKS[name]).run(quick=args.quick)
        except Exception as exc:
            failed = True
            traceback.print_exc()
            rows.append(Row(name, f"failed: {type(exc).__name__}: {exc}".splitlines()[0][:100], None, ok=False))
        elapsed[name] = time.perf_counter() - start
        log(f"   ({elapsed[name]:.0f} s)")
    info["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]

    judged = [r for r in rows if r.ok is not None]
    print(f"\nOrgSim benchmarks, {mode} mode, {info['date']}")
    print(
        f"machine: {info['cpu']}, {info['usable_cores']} usable cores; python {info['python']}, "
        f"mesa {info['mesa']}, numpy {info['numpy']}, simpy {info['simpy']}; commit {info['git_commit']}"
    )
    print(f"load average before {info['load_avg_1_5_15']}, after {info['load_avg_after']}")
    print(f"time per benchmark: {', '.join(f'{k} {v:.0f} s' for k, v in elapsed.items())}\n")
    print(table(rows))
    print(f"\ntargets met: {sum(bool(r.ok) for r in judged)} of {len(judged)}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"mode": mode, "machine": info, "elapsed_s": elapsed, "rows": [asdict(r) for r in rows]}
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

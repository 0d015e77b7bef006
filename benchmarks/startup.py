"""Benchmark 5 - how fast the command line answers ``--help``.

Each command is started as a fresh process (``python -m sim ... --help``), interleaved with
``python -c pass`` in the same interpreter so that the machine's load falls on both alike;
medians over the rounds. Target: every ``--help`` at most 2x ``python -c pass`` (no heavy
library imported before a command runs). Also reported: which heavy libraries ``orgsim
--help`` imported (none expected).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from benchmarks.common import ROOT, Row, log

NAME = "startup"
TARGET_RATIO = 2.0
COMMANDS = ["", "run", "compare", "sweep", "sensitivity", "schema", "view"]
HEAVY = ("mesa", "pandas", "numpy", "scipy", "pydantic", "matplotlib", "networkx", "solara", "SALib", "sklearn")


def _wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def heavy_imports() -> list[str]:
    """The heavy libraries in ``sys.modules`` after building the whole parser and printing --help."""
    probe = (
        "import sys, contextlib, io\n"
        "from sim.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit): main(['--help'])\n"
        f"print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.split()


def run(quick: bool = False) -> list[Row]:
    rounds = 5 if quick else 20
    baseline: list[float] = []
    helps: dict[str, list[float]] = {c: [] for c in COMMANDS}
    for _ in range(rounds):
        baseline.append(_wall([sys.executable, "-c", "pass"]))
        for command in COMMANDS:
            helps[command].append(_wall([sys.executable, "-m", "sim", *command.split(), "--help"]))
    base = statistics.median(baseline)
    log(f"python -c pass: {base * 1000:.0f} ms (median of {rounds})")
    rows = [Row(NAME, "python -c pass", base * 1000, "ms")]
    for command, times in helps.items():
        ratio = statistics.median(times) / base
        label = f"orgsim {command} --help".replace("  ", " ")
        rows.append(Row(NAME, f"{label} / python -c pass", ratio, "x", f"<= {TARGET_RATIO:g}x", ratio <= TARGET_RATIO))
    heavy = heavy_imports()
    rows.append(
        Row(NAME, f"heavy libraries imported by --help: {', '.join(heavy) or 'none'}", len(heavy), "", "0", not heavy)
    )
    return rows

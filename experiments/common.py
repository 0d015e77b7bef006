"""Shared command line and sweep call for the headline experiment scripts."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from sim.design import Design
from sim.sweep import SweepResult, run_sweep

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
STRUCTURES = ["central_it", "micro_provider"]


def arguments(name: str, doc: str) -> argparse.Namespace:
    """``--quick`` (small design for CI), ``--out`` (default results/NAME), ``--workers``."""
    parser = argparse.ArgumentParser(prog=f"experiments/{name}.py", description=doc)
    parser.add_argument("--quick", action="store_true", help="a small design that finishes in seconds (for CI)")
    parser.add_argument("--out", type=Path, default=None, help=f"output folder (default results/{name})")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args()
    if args.out is None:
        args.out = ROOT / "results" / (f"{name}-quick" if args.quick else name)
    return args


def run(args: argparse.Namespace, design: Design, plots: Callable[[SweepResult, Path], None], **kw) -> SweepResult:
    """Run (or resume) ``design`` into ``args.out``, draw the plots, print the comparison."""
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    result = run_sweep(design, args.out, workers=args.workers, quiet=args.quiet, **kw)
    plots(result, args.out)
    elapsed = time.perf_counter() - started
    print(f"{design.n_runs} runs ({result.ran} run now, {result.skipped} resumed) in {elapsed:.1f} s -> {args.out}")
    return result

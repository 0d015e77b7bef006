"""Shared command line and sweep call for the headline experiment scripts."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sim.cli.common import EXIT_BAD_INPUT, EXIT_WORK_LOST, add_scheduler_argument, prestart_workers


class _EarlyParser(argparse.ArgumentParser):
    """Reads a few options and leaves the rest, and every complaint, to the script's parser."""

    def error(self, message: str):
        raise argparse.ArgumentError(None, message)


def prestart(argv: list[str]) -> None:
    """Start the sweep's fork server now, as ``orgsim``'s commands do, unless ``argv`` asks for
    ``--help``, serial runs or a Dask ``--scheduler``. Called before the imports below, so the
    server loads OrgSim on one core while this process loads pandas, scipy.stats and
    matplotlib on the other. A ``--workers`` that is not a count of at least 1 starts nothing
    (the script's parser says what is wrong); another bad option is found only by that parser,
    after the server has started, as with ``orgsim``."""
    early = _EarlyParser(add_help=False)
    early.add_argument("-h", "--help", action="store_true")
    early.add_argument("--workers", type=int)
    early.add_argument("--scheduler")
    try:
        given, _ = early.parse_known_args(argv)
    except argparse.ArgumentError:
        return
    if not given.help and (given.workers is None or given.workers >= 1):
        prestart_workers(given.workers, given.scheduler)


def _script_running() -> bool:
    """Whether the program running is a script of this folder: not a test importing this
    module, nor a pool worker re-running the script as ``__mp_main__`` (its ``__main__`` is
    still multiprocessing's own then), which would start a fork server of its own."""
    main = getattr(sys.modules["__main__"], "__file__", None)
    return main is not None and Path(main).resolve().parent == Path(__file__).resolve().parent


if _script_running():
    prestart(sys.argv[1:])

import pandas as pd  # noqa: E402 (the imports from here on load while the fork server starts)

from sim.experiment.design import Design  # noqa: E402
from sim.experiment.plots import new_figure, plot_metric_by_point, save_figure  # noqa: E402
from sim.experiment.sweep import SweepResult, run_sweep  # noqa: E402
from sim.scenario.errors import ScenarioError, WorkLost  # noqa: E402
from sim.scenario.files import load_scenario  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
STRUCTURES = ["central_it", "micro_provider"]
# Replication: REPS runs per point, then more until throughput's 95% interval is within
# PRECISION of its mean at every point (Law & Kelton's sequential procedure), at most MAX_REPS.
REPS, PRECISION, MAX_REPS, PRECISION_METRICS = 5, 0.05, 20, ["throughput_per_tick"]


def arguments(name: str, doc: str, *, precision: bool = True, argv: list[str] | None = None) -> argparse.Namespace:
    """The script's options read from ``argv`` (default: its command line); see :func:`build_parser`."""
    parser = build_parser(name, doc, precision=precision)
    args = parser.parse_args(argv)
    if precision and args.quick:
        args.precision = args.max_reps = args.precision_metric = None
    if args.out is None:
        args.out = ROOT / "results" / (f"{name}-quick" if args.quick else name)
    args.prog = parser.prog
    return args


def build_parser(name: str, doc: str, *, precision: bool = True) -> argparse.ArgumentParser:
    """``--quick`` (small design for CI), ``--out`` (default results/NAME), ``--workers``,
    ``--scheduler`` and ``--lost-timeout`` (as in ``orgsim sweep``); with ``precision`` (scripts
    that sweep through :func:`run`), ``--precision``, ``--max-reps`` and ``--precision-metric``
    as in ``orgsim sweep``."""
    parser = argparse.ArgumentParser(prog=f"experiments/{name}.py", description=doc)
    parser.add_argument("--quick", action="store_true", help="a small design that finishes in seconds (for CI)")
    parser.add_argument("--out", type=Path, default=None, help=f"output folder (default results/{name})")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    add_scheduler_argument(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    if precision:
        parser.add_argument(
            "--precision",
            type=float,
            default=PRECISION,
            help=f"relative 95%% CI half-width to replicate each point to (default {PRECISION}; off with --quick)",
        )
        parser.add_argument(
            "--max-reps", type=int, default=MAX_REPS, help=f"most replications per point (default {MAX_REPS})"
        )
        parser.add_argument(
            "--precision-metric",
            nargs="+",
            default=PRECISION_METRICS,
            help="metrics for --precision (default: %(default)s)",
        )
    return parser


def sweep_options(args: argparse.Namespace) -> dict[str, Any]:
    """The sweep's keyword arguments given by ``--workers``, ``--scheduler``, ``--lost-timeout``
    and ``--quiet``."""
    return {
        "workers": args.workers,
        "scheduler": args.scheduler,
        "lost_timeout": args.lost_timeout,
        "quiet": args.quiet,
    }


@contextlib.contextmanager
def one_line_errors(args: argparse.Namespace) -> Iterator[None]:
    """Bad input (e.g. a ``--scheduler`` that does not answer) ends the script with one line and
    exit 2, a lost cluster with exit 1, as in ``orgsim``."""
    try:
        yield
    except (ScenarioError, WorkLost) as exc:
        print(f"{args.prog}: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_WORK_LOST if isinstance(exc, WorkLost) else EXIT_BAD_INPUT) from None


def run(args: argparse.Namespace, design: Design, plots: Callable[[SweepResult, Path], None], **kw) -> SweepResult:
    """Run (or resume) ``design`` into ``args.out``, draw the plots, print the comparison."""
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    precision = {"precision": args.precision, "max_reps": args.max_reps, "precision_metrics": args.precision_metric}
    with one_line_errors(args):
        result = run_sweep(design, args.out, **sweep_options(args), **precision, **kw)
    plots(result, args.out)
    elapsed = time.perf_counter() - started
    print(f"{len(result.runs)} runs ({result.ran} run now, {result.skipped} resumed) in {elapsed:.1f} s -> {args.out}")
    return result


OPERATING = SCENARIOS / "operating"
QUICK = {"simulation.ticks": [200], "simulation.warmup_ticks": [20]}
"""Factors that shorten a design's runs in ``--quick`` mode."""
QUICK_POINT = {key: values[0] for key, values in QUICK.items()}
"""The same for one design point."""
QUICK_TICKS = ["simulation.ticks=200", "simulation.warmup_ticks=20"]
"""The same for a single run's overrides."""


def bar_plots(metrics: list[str]) -> Callable[[SweepResult, Path], None]:
    """A ``plots`` function drawing one bar chart per metric over every design point."""

    def plots(result: SweepResult, out: Path) -> None:
        for metric in metrics:
            plot_metric_by_point(result.summary, metric, out / f"{metric}.png")

    return plots


def plot_series_over_time(
    scenario: Path, cases: dict[str, list[str]], column: str, path: Path, seeds: int, title: str
) -> None:
    """Mean of a per-tick series ``column`` over ``seeds`` runs of each case (the scenario
    with that case's ``key=value`` overrides; smoothed over 25 ticks), one line per case:
    how a mechanism plays out over time."""
    from sim.run import run_scenario  # the model, loaded only by the scripts that run it here

    figure = new_figure(7.5, 4.2)
    axes = figure.add_subplot()
    for label, overrides in cases.items():
        config = load_scenario(scenario, overrides)
        runs = [run_scenario(config, seed=seed).series[column] for seed in range(seeds)]
        mean = pd.concat(runs, axis=1).mean(axis=1).rolling(25, min_periods=1).mean()
        axes.plot(mean.index, mean, label=label)
    axes.set_xlabel("tick")
    axes.set_ylabel(f"{column} (mean of {seeds} seeds, 25-tick rolling mean)")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    save_figure(figure, path)

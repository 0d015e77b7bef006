"""``orgsim compare``: two scenarios on the same seeds, side by side, with paired differences."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from sim.cli.common import (
    add_command,
    add_execution_arguments,
    add_metrics_argument,
    add_out_argument,
    add_override_arguments,
    add_quiet_argument,
    load_named,
    metrics_from_args,
    note_ignored_keys,
    overrides_from_args,
    overrides_label,
    prestart_workers,
)

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing would slow `orgsim --help`
if TYPE_CHECKING:
    import pandas as pd

    from sim.experiment.sweep import PairResult
    from sim.scenario.schema import Scenario

DESCRIPTION = """\
Run scenarios A and B --reps times each (--ticks and --set apply to both); replicate r of
both uses the same seed (common random numbers), so the comparison is paired. Prints, per
metric, the mean and 95% CI of A and of B (for adoption times the Kaplan-Meier median),
the difference B - A with its 95% CI, the test's p-value and a verdict, then the verdict
in plain sentences. A value marked (n=k) was defined in only k replications. Times are
in days (1 tick = 1 working day), shares in percent, their differences in percentage points.

With --out DIR also writes the runs, summary and comparison tables (CSV, Parquet and
Markdown with a provenance JSON, as `orgsim sweep` does), a figure, and report.html (one
self-contained page: verdict, table, figure) with report.md beside it."""

EPILOG = """\
examples:
  orgsim compare scenarios/central_it.toml scenarios/micro_provider.toml
  orgsim compare scenarios/central_it.toml scenarios/tutorial/slow_handoffs.toml \\
      --reps 5 --ticks 600 --out results/slow-handoffs
  orgsim compare scenarios/central_it.toml scenarios/micro_provider.toml \\
      --set demand.arrival_rate=11 --metrics lead_time_mean_ticks,rework_rate"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = add_command(
        sub,
        "compare",
        summary="run two scenarios with the same seeds and print a side-by-side table",
        description=DESCRIPTION,
        epilog=EPILOG,
        handler=cmd_compare,
    )
    parser.add_argument("a", type=Path, help="scenario A, the baseline (TOML file)")
    parser.add_argument("b", type=Path, help="scenario B, compared with A (TOML file)")
    add_override_arguments(parser)
    add_execution_arguments(parser)
    add_metrics_argument(parser)
    add_out_argument(parser, "write nothing")
    add_quiet_argument(parser)


def cmd_compare(args: argparse.Namespace) -> int:
    prestart_workers(args.workers, args.scheduler)
    from sim.experiment.sweep import run_pair
    from sim.experiment.tables import output_directory

    metrics = metrics_from_args(args)
    overrides = overrides_from_args(args)
    label = overrides_label(args)
    a, b = (load_named(path, overrides, args.max_memory, label) for path in (args.a, args.b))
    note_ignored_keys([(args.a, a), (args.b, b)], overrides)
    if args.out is not None:
        output_directory(args.out)  # refuse an unusable --out before the runs, not after
    result = run_pair(
        a,
        b,
        reps=args.reps,
        seed=args.seed,
        workers=args.workers,
        scheduler=args.scheduler,
        lost_timeout=args.lost_timeout,
        quiet=args.quiet,
    )
    print(format_comparison(result.comparison, result.labels, metrics, args.reps, args.seed))
    if args.out is not None:
        paths = write_outputs(result, args, metrics, (a, b))
        print(f"\nwrote {', '.join(str(p) for p in paths)}")
    return 0


def _head(labels: tuple[str, str], reps: int, seed: int) -> str:
    a, b = labels
    return f"{a} (A) vs {b} (B): {reps} replications, base seed {seed}, same seed per replicate; mean [95% CI]"


NOTE = (
    "p: paired t test on the per-replicate differences; for adoption times, Kaplan-Meier medians "
    "(runs that never reach the level are censored at the horizon; reached: share of runs) and the "
    "log-rank test. A run is unstable when its open work grows significantly (docs/ODD.md, 8); "
    "lead times of mostly unstable runs are not compared."
)


def format_comparison(
    comparison: pd.DataFrame, labels: tuple[str, str], metrics: Sequence[str], reps: int, seed: int
) -> str:
    """The comparison table in plain words and fixed precision, then the verdict as sentences."""
    from sim.experiment.report import comparison_display, verdict_sentences
    from sim.experiment.tables import to_markdown

    table = to_markdown(comparison_display(comparison, metrics))
    verdict = "\n".join(f"- {line}" for line in verdict_sentences(comparison, metrics))
    return f"{_head(labels, reps, seed)}\n\n{table}\n\n{NOTE}\n\nVerdict:\n{verdict}"


def write_outputs(
    result: PairResult, args: argparse.Namespace, metrics: Sequence[str], scenarios: tuple[Scenario, Scenario]
) -> list[Path]:
    """The runs, summary and comparison tables, the side-by-side figure and the report, in ``args.out``."""
    from sim.experiment.plots import plot_side_by_side
    from sim.experiment.report import Report, comparison_display, verdict_sentences, write_report
    from sim.experiment.tables import table_provenance, write_table
    from sim.scenario.files import config_hash
    from sim.scenario.vocabulary import side_name

    out: Path = args.out
    setup = {
        "seed": args.seed,
        "reps": args.reps,
        "scenarios": {
            "a": {"label": result.labels[0], "file": str(args.a), "config_hash": config_hash(scenarios[0])},
            "b": {"label": result.labels[1], "file": str(args.b), "config_hash": config_hash(scenarios[1])},
        },
        "overrides": overrides_from_args(args),
    }
    written: list[Path] = []
    for name in ("runs", "summary", "comparison"):
        provenance = table_provenance(table=name, **setup)
        if name == "comparison":
            provenance["difference"] = f"{result.labels[1]} - {result.labels[0]}"
        written += write_table(getattr(result, name), out, name, provenance).values()
    figure = plot_side_by_side(result.summary, metrics, out / "comparison.png")
    a, b = scenarios
    sim = a.simulation
    report = Report(
        title=f"{side_name(result.labels[0])} vs {side_name(result.labels[1])}",
        context=[
            f"A: {args.a} ({a.structure}); B: {args.b} ({b.structure}).",
            f"{args.reps} replications of each, {sim.ticks} days per run of which the first {sim.warmup_ticks} "
            f"are warm-up and not measured; replicate r of A and B uses the same seed (base seed {args.seed}).",
        ],
        verdict=verdict_sentences(result.comparison, metrics),
        tables=[("Comparison (mean [95% CI]; B - A)", comparison_display(result.comparison, metrics))],
        figures=[("Each metric for A and B: mean (adoption times: median) with its 95% CI", figure)],
        notes=[NOTE, f"Tables and provenance: {', '.join(p.name for p in written if p.suffix == '.csv')} in {out}."],
    )
    return [*written, figure, *write_report(report, out).values()]

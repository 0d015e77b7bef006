"""``orgsim compare``: two scenarios on the same seeds, side by side, with paired differences."""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path

from sim.cli.common import (
    add_command,
    add_execution_arguments,
    add_override_arguments,
    load_named,
    metrics_from_args,
    note_ignored_keys,
    overrides_from_args,
    prestart_workers,
)

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing would slow `orgsim --help`
if TYPE_CHECKING:
    import pandas as pd

DESCRIPTION = """\
Run scenarios A and B --reps times each; replicate r of both uses the same seed (common
random numbers), so the comparison is paired. Prints, per metric, the mean and 95% CI of
A and of B, the difference B - A with its 95% CI, and the paired t test's p-value. A
value marked (n=k) was defined in only k replications (e.g. adoption never reached 50%
in the others). Nothing is written to disk: `orgsim sweep` writes result tables."""

EPILOG = """\
examples:
  orgsim compare scenarios/central_it.toml scenarios/micro_provider.toml
  orgsim compare scenarios/central_it.toml scenarios/tutorial/slow_handoffs.toml \\
      --reps 5 --ticks 300
  orgsim compare scenarios/central_it.toml scenarios/micro_provider.toml \\
      --set demand.arrival_rate=11 --metrics lead_time_mean_ticks rework_rate"""


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
    add_override_arguments(parser, scenarios="both")
    add_execution_arguments(parser, reps=10)


def cmd_compare(args: argparse.Namespace) -> int:
    prestart_workers(args.workers, args.scheduler)
    from sim.experiment.sweep import run_pair

    metrics = metrics_from_args(args)
    overrides = overrides_from_args(args)
    a, b = load_named(args.a, overrides), load_named(args.b, overrides)
    note_ignored_keys([(args.a, a), (args.b, b)], overrides)
    result = run_pair(
        a,
        b,
        reps=args.reps,
        seed=args.seed,
        workers=args.workers,
        scheduler=args.scheduler,
        quiet=args.quiet,
    )
    print(format_comparison(result.comparison, result.labels, metrics, args.reps, args.seed))
    return 0


def format_comparison(
    comparison: pd.DataFrame, labels: tuple[str, str], metrics: Sequence[str], reps: int, seed: int
) -> str:
    """Side-by-side Markdown: A and B (mean, or Kaplan-Meier median, with its 95% CI), B - A,
    the test's p-value and the verdict (never a lead-time win where a side is unstable)."""
    import pandas as pd

    from sim.experiment.tables import to_markdown

    a, b = labels
    rows = []
    for name in metrics:
        row = comparison[comparison["metric"] == name].iloc[0]
        censored = row["estimator"] == "km_median"
        rows.append(
            {
                "metric": name,
                f"A: {a}": _cell(row, "a", reps, censored),
                f"B: {b}": _cell(row, "b", reps, censored),
                "B - A": _interval(row["diff"], row["diff_ci_low"], row["diff_ci_high"], row["n_pairs"], reps, "pairs")
                if not censored
                else _number(row["diff"]),
                "p": f"{_number(row['p'])} ({row['method']})",
                "verdict": row["verdict"],
                "unstable runs A / B": f"{row['unstable_a']:.0%} / {row['unstable_b']:.0%}",
            }
        )
    head = f"{a} (A) vs {b} (B): {reps} replications, base seed {seed}, same seed per replicate; mean [95% CI]"
    note = (
        "p: paired t test on per-replicate differences; for adoption times, Kaplan-Meier medians "
        "(runs that never reach the level are censored at the horizon; reached: share of runs) and the "
        "log-rank test. A run is unstable when its open work grows significantly (docs/ODD.md, 8); "
        "lead times of mostly unstable runs are not compared."
    )
    return f"{head}\n\n{to_markdown(pd.DataFrame(rows))}\n\n{note}"


def _cell(row: pd.Series, side: str, reps: int, censored: bool) -> str:
    mean, low, high = row[f"mean_{side}"], row[f"ci_low_{side}"], row[f"ci_high_{side}"]
    if censored:
        reached = f"reached {row[f'reached_share_{side}']:.0%}"
        return f"median {_interval(mean, low, high, reps, reps)}, {reached}" if math.isfinite(mean) else reached
    return _interval(mean, low, high, row[f"n_{side}"], reps)


def _number(value: float) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.4g}"


def _interval(mean: float, low: float, high: float, n: int, reps: int, what: str = "n") -> str:
    if math.isnan(mean):
        return "not reached"
    text = f"{mean:.4g}" if math.isnan(low) else f"{mean:.4g} [{low:.4g}, {high:.4g}]"
    return text if n == reps else f"{text} ({what}={n})"

"""``orgsim warmup``: recommend ``simulation.warmup_ticks`` from replications (MSER-5)."""

from __future__ import annotations

import argparse

from sim.cli.common import (
    add_command,
    add_quiet_argument,
    add_reps_argument,
    add_scenario_arguments,
    add_seed_argument,
    add_workers_argument,
    group,
    load_named,
    prestart_workers,
)

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing would slow `orgsim --help`
if TYPE_CHECKING:
    from sim.experiment.warmup import WarmupStudy

DEFAULT_SERIES = "wip completions knowledge_held"  # sim.experiment.warmup.DEFAULT_SERIES, kept cheap to import

DESCRIPTION = """\
Run a scenario --reps times with no warm-up, average each per-tick series across the
replications, and find where each settles with MSER-5 (White 1997): the truncation that
minimises the squared standard error of the mean of what is left, in batches of 5 ticks.
A truncation in the second half of the run means no steady state was seen: run longer.
Prints each series' truncation and the recommended simulation.warmup_ticks (the largest
truncation), with a line to paste into the scenario's [simulation] table. Dynamics are
the scenario's own: if the practice spread starts at the end of the warm-up (spread.start_tick
unset), it starts there in these runs too. The method: docs/ODD.md, "Warm-up from the data"."""

EPILOG = """\
examples:
  orgsim warmup scenarios/micro_provider.toml
  orgsim warmup scenarios/central_it.toml --reps 5 --ticks 1200
  orgsim warmup scenarios/operating/tech_debt.toml --series wip tech_debt --json"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = add_command(
        sub,
        "warmup",
        summary="recommend a warm-up from replications (MSER-5 on the mean per-tick series)",
        description=DESCRIPTION,
        epilog=EPILOG,
        handler=cmd_warmup,
    )
    add_scenario_arguments(parser)
    add_reps_argument(parser)
    add_seed_argument(parser)
    add_workers_argument(parser)
    group(parser, "analysis").add_argument(
        "--series",
        nargs="+",
        default=None,
        metavar="NAME",
        help=f"per-tick series to check, named as the columns of a run's series; put this option last "
        f"(default: {DEFAULT_SERIES}: open work, completions per tick, knowledge held)",
    )
    group(parser, "output").add_argument(
        "--json", action="store_true", help="print one JSON object instead of the table"
    )
    add_quiet_argument(parser)


def cmd_warmup(args: argparse.Namespace) -> int:
    prestart_workers(args.workers)
    import json

    from sim.experiment.warmup import study_warmup

    # --ticks applies to the runs, not to the warm-up
    scenario = load_named(args.scenario, args.overrides, args.max_memory)
    study = study_warmup(
        scenario,
        reps=args.reps,
        seed=args.seed,
        ticks=args.ticks,
        series=args.series or DEFAULT_SERIES.split(),
        workers=args.workers,
        quiet=args.quiet,
    )
    print(json.dumps(study_record(study)) if args.json else format_study(study))
    return 0


def study_record(study: WarmupStudy) -> dict:
    """The study as plain data: per series its truncation, then the recommendation."""
    sim = study.scenario.simulation
    return {
        "scenario": study.scenario.name,
        "reps": study.reps,
        "seed": study.seed,
        "ticks": study.ticks,
        "method": "MSER-5 on the across-replication mean",
        "series": {
            name: {"truncation_ticks": t.ticks, "batches": t.n_batches, "first_half": t.steady}
            for name, t in study.truncations.items()
        },
        "recommended_warmup_ticks": study.recommended,
        "scenario_warmup_ticks": sim.warmup_ticks,
        "spread_start_follows_warmup": study.scenario.spread.start_tick is None,
    }


def format_study(study: WarmupStudy) -> str:
    """A table of truncations, the verdict, and the line to paste."""
    import pandas as pd

    from sim.experiment.tables import to_markdown

    record = study_record(study)
    ticks, current, recommended = record["ticks"], record["scenario_warmup_ticks"], study.recommended
    rows = [
        {
            "series": name,
            "truncation_ticks": t.ticks,
            "in_first_half": "yes" if t.steady else "no: no steady state seen",
        }
        for name, t in study.truncations.items()
    ]
    head = (
        f"{record['scenario']}: MSER-5 on the mean of {study.reps} replications (base seed {study.seed}), "
        f"{ticks} ticks, batches of 5"
    )
    lines = [head, "", to_markdown(pd.DataFrame(rows)), ""]
    if recommended is None:
        unsteady = ", ".join(name for name, t in study.truncations.items() if not t.steady)
        lines.append(f"recommended warm-up: none; {unsteady} did not settle within {ticks} ticks: run longer (--ticks)")
        return "\n".join(lines)
    verdict = "enough" if current >= recommended else "too short"
    lines += [
        f"recommended simulation.warmup_ticks: {recommended} (the scenario has {current}: {verdict})",
        f"paste under [simulation]:  warmup_ticks = {recommended}",
    ]
    if record["spread_start_follows_warmup"]:
        start = study.scenario.spread_start_tick
        lines.append(
            f"note: spread.start_tick is unset, so the practice spread starts when the warm-up ends "
            f"(tick {start} here); set spread.start_tick = {start} to keep these dynamics"
        )
    return "\n".join(lines)

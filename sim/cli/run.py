"""``orgsim run``: one scenario, one seed, its summary metrics."""

from __future__ import annotations

import argparse
import math

from sim.cli.common import (
    add_command,
    add_scenario_arguments,
    note_ignored_keys,
    overrides_from_args,
    scenario_from_args,
)

DESCRIPTION = """\
Run one scenario file once, with one seed, and print its summary metrics, one per line
(or one JSON object with --json). Metric names carry their unit (_ticks: working days,
_per_tick: per day; shares and rates are fractions in [0, 1]). Metrics are measured over
the window after simulation.warmup_ticks; the item counts cover the whole run. "not
reached" marks a metric without a value (e.g. adoption never reached 50%).
docs/tutorial.md explains every metric."""

EPILOG = """\
examples:
  orgsim run scenarios/central_it.toml
  orgsim run scenarios/micro_provider.toml --seed 7 --json
  orgsim run scenarios/central_it.toml --ticks 300 --set demand.arrival_rate=10"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = add_command(
        sub,
        "run",
        summary="run one scenario once and print its summary metrics",
        description=DESCRIPTION,
        epilog=EPILOG,
        handler=cmd_run,
    )
    add_scenario_arguments(parser)
    parser.add_argument(
        "--seed", type=int, default=0, help="random seed (default 0); the same seed gives the same result"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (null where a metric has no value) instead of the readable summary",
    )


def cmd_run(args: argparse.Namespace) -> int:
    import json

    from sim.run import run_scenario

    scenario = scenario_from_args(args)
    note_ignored_keys([(args.scenario, scenario)], overrides_from_args(args))
    result = run_scenario(scenario, seed=args.seed)
    record = result.record()
    if args.json:
        print(json.dumps(record))
    else:
        print(format_summary(record))
    return 0


def format_summary(record: dict) -> str:
    """A readable two-column summary of one run."""
    width = max(len(k) for k in record)
    lines = []
    for key, value in record.items():
        if isinstance(value, float):
            text = "n/a" if math.isnan(value) else f"{value:.4g}"
        else:
            text = "not reached" if value is None else str(value)
        lines.append(f"{key:<{width}}  {text}")
    return "\n".join(lines)

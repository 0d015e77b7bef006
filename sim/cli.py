"""Command line: ``orgsim run SCENARIO [--seed N] [--ticks T] [--set key=value ...] [--json]``."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from sim.scenario_file import ScenarioError, load_scenario

EXIT_BAD_INPUT = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ScenarioError as exc:
        print(f"orgsim: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("orgsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`
        sys.stderr.close()
        return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="orgsim",
        description="Simulate an IT organisation as central IT or as internal micro-providers.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser(
        "run",
        help="run one scenario and print its summary metrics",
        description="Run one scenario file and print its summary metrics.",
    )
    add_scenario_arguments(run)
    run.add_argument("--seed", type=int, default=0, help="random seed (default 0); the same seed gives the same result")
    run.add_argument("--json", action="store_true", help="print one JSON object instead of a readable summary")
    run.set_defaults(handler=cmd_run)
    return parser


def add_scenario_arguments(parser: argparse.ArgumentParser) -> None:
    """The scenario path, ``--ticks`` and repeated ``--set key.path=value``."""
    parser.add_argument("scenario", type=Path, help="scenario TOML file, e.g. scenarios/central_it.toml")
    parser.add_argument("--ticks", type=int, default=None, help="override simulation.ticks")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override any scenario value (validated like the file), e.g. --set demand.arrival_rate=5",
    )


def scenario_from_args(args: argparse.Namespace):
    """Load the scenario named on the command line, with its overrides and name."""
    overrides = list(args.overrides)
    if args.ticks is not None:
        overrides.append(f"simulation.ticks={args.ticks}")
    scenario = load_scenario(args.scenario, overrides)
    if not scenario.name:
        scenario = scenario.model_copy(update={"name": args.scenario.stem})
    return scenario


def cmd_run(args: argparse.Namespace) -> int:
    from sim.run import run_scenario

    result = run_scenario(scenario_from_args(args), seed=args.seed)
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


if __name__ == "__main__":
    sys.exit(main())

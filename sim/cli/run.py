"""``orgsim run``: one scenario, one seed, its summary metrics (and, with --out, its tables and a figure)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.cli.common import (
    add_command,
    add_out_argument,
    add_scenario_arguments,
    add_seed_argument,
    group,
    note_ignored_keys,
    overrides_from_args,
    scenario_from_args,
)
from sim.scenario.errors import ScenarioError

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing would slow `orgsim --help`
if TYPE_CHECKING:
    from sim.run import RunResult
    from sim.scenario.schema import Scenario

DESCRIPTION = """\
Run one scenario file once, with one seed, and print its summary metrics, one per line
(or one JSON object with --json). Metric names carry their unit (_ticks: working days,
_per_tick: per day; shares and rates are fractions in [0, 1]). Metrics are measured over
the window after simulation.warmup_ticks; the item counts cover the whole run. "not
reached" marks a metric without a value (e.g. adoption never reached 50%). Each line
shows the metric's name, its value in plain units and what it is called in plain words.
docs/tutorial.md explains every metric.

With --out DIR also writes the run's per-day series, its item table and its summary
(CSV and Parquet with a provenance JSON) and a figure of the run (run.png)."""

EPILOG = """\
examples:
  orgsim run scenarios/central_it.toml
  orgsim run scenarios/micro_provider.toml --seed 7 --json
  orgsim run scenarios/central_it.toml --ticks 600 --set demand.arrival_rate=10
  orgsim run scenarios/micro_provider.toml --out results/one-run"""


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
    add_seed_argument(parser)
    group(parser, "output").add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (null where a metric has no value) instead of the readable summary",
    )
    add_out_argument(parser, "write nothing")


def cmd_run(args: argparse.Namespace) -> int:
    from sim.experiment.sweep import json_text
    from sim.experiment.tables import output_directory
    from sim.run import run_scenario

    if args.seed < 0:
        raise ScenarioError(f"--seed {args.seed}: must be a whole number >= 0, e.g. --seed 7")
    scenario = scenario_from_args(args)
    note_ignored_keys([(args.scenario, scenario)], overrides_from_args(args))
    if args.out is not None:
        output_directory(args.out)  # refuse an unusable --out before the run, not after
    result = run_scenario(scenario, seed=args.seed)
    record = result.record()
    if args.json:
        print(json_text(record))
    else:
        print(format_summary(record))
    if args.out is not None:
        paths = write_outputs(result, scenario, args.out)
        print(f"wrote {', '.join(str(p) for p in paths)}", file=sys.stderr if args.json else sys.stdout)
    return 0


def format_summary(record: dict) -> str:
    """One run's summary, a line per entry: its name, the value at its unit's fixed precision
    with the unit ("not reached" for no value), and the metric in plain words."""
    from sim.metrics import TERMS

    width = max(len(k) for k in record)
    rows = []
    for key, value in record.items():
        term = TERMS.get(key)
        if term is None:
            rows.append((key, str(value), ""))
        else:
            rows.append((key, "not reached" if value is None else term.amount(value), term.name))
    value_width = max(len(text) for _, text, _ in rows)
    return "\n".join(f"{k:<{width}}  {text:<{value_width}}  {name}".rstrip() for k, text, name in rows)


def write_outputs(result: RunResult, scenario: Scenario, out: Path) -> list[Path]:
    """The series, items and summary tables (CSV, Parquet, provenance JSON) and run.png in ``out``."""
    import pandas as pd

    from sim.experiment.plots import plot_run
    from sim.experiment.tables import table_provenance, write_table

    run = {k: v for k, v in result.provenance.items() if k != "work_network_edges"}
    tables = {"series": result.series, "items": result.items, "summary": pd.DataFrame([result.record()])}
    written: list[Path] = []
    for name, frame in tables.items():
        provenance = table_provenance(table=name, **run)
        written += write_table(frame, out, name, provenance, markdown=name == "summary").values()
    title = f"{run['scenario']} ({run['structure']}), seed {run['seed']}: one run, day by day"
    written.append(plot_run(result.series, out / "run.png", warmup=scenario.simulation.warmup_ticks, title=title))
    return written

"""Command line: ``orgsim run SCENARIO [--seed N] [--ticks T] [--set key=value ...] [--json]``."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sim.config import Scenario
from sim.scenario_file import ScenarioError, load_scenario

if TYPE_CHECKING:
    import pandas as pd

EXIT_BAD_INPUT = 2
Handler = Callable[[argparse.Namespace], int]  # what a command runs; returns the exit status


# --- help texts (descriptions and examples shown by --help) ---------------------------------
HEADLINE_HELP = (
    "throughput_per_tick lead_time_mean_ticks lead_time_p85_ticks rework_rate rework_effort_share "
    "change_failure_rate utilisation adoption_t50_ticks"
)

DESCRIPTION = """\
Simulate the same IT organisation (the same people, demand and services) run as central
IT (functional silos, one central intake, a handoff at every stage boundary) or as
internal micro-providers (cross-functional teams that own services end to end and request
work from each other), and measure throughput, rework, lead time and how fast a practice
spreads between teams."""

EPILOG = """\
examples:
  orgsim run scenarios/central_it.toml
  orgsim compare scenarios/central_it.toml scenarios/micro_provider.toml --reps 5
  orgsim sweep scenarios/central_it.toml --grid structure=central_it,micro_provider \\
      --grid handoff.delay_ticks=0,1,2 --reps 3 --ticks 300 --out results/my-sweep
  orgsim sensitivity scenarios/central_it.toml --difference --metric lead_time_mean_ticks \\
      --params handoff.delay_ticks=0:1.5 organisation.dependencies_per_service=0:4
  orgsim schema --markdown
  orgsim view scenarios/micro_provider.toml

`orgsim COMMAND --help` shows a command's options. Start with docs/tutorial.md; the model
is described in docs/ODD.md and every scenario key in docs/scenarios.md.
Exit status: 0 done, 2 bad input (scenario file, key, value or option), 130 interrupted."""

RUN_DESCRIPTION = """\
Run one scenario file once, with one seed, and print its summary metrics, one per line
(or one JSON object with --json). Metric names carry their unit (_ticks: working days,
_per_tick: per day; shares and rates are fractions in [0, 1]). Metrics are measured over
the window after simulation.warmup_ticks; the item counts cover the whole run. "not
reached" marks a metric without a value (e.g. adoption never reached 50%).
docs/tutorial.md explains every metric."""

RUN_EPILOG = """\
examples:
  orgsim run scenarios/central_it.toml
  orgsim run scenarios/micro_provider.toml --seed 7 --json
  orgsim run scenarios/central_it.toml --ticks 300 --set demand.arrival_rate=10"""

SWEEP_DESCRIPTION = """\
Run SCENARIO at every combination of the --grid values (a full grid; `structure` may be
one of the keys) with --reps replications each. At each point, replicate r of every
structure uses the same seed (common random numbers), so differences are paired.

Writes into --out, each table as CSV, Parquet and Markdown with a provenance JSON:
  runs        one row per run: point, structure, replicate, seed and every metric
  summary     per point, structure and metric: n, mean, std and 95% CI
  comparison  per point and metric, when the grid varies structure: the difference
              micro_provider - central_it with its 95% CI, the paired t p-value (also
              Welch and Mann-Whitney p-values) and Hedges' g
and prints the comparison of --metrics.

Resuming: each finished run is appended to OUT/runs.jsonl at once. After an interruption
run the same command again: only the missing runs are done. An --out directory that
holds a different design is refused."""

SWEEP_EPILOG = """\
examples:
  orgsim sweep scenarios/central_it.toml --grid structure=central_it,micro_provider \\
      --grid handoff.delay_ticks=0,1,2 --reps 3 --ticks 300 --out results/my-sweep
  orgsim sweep scenarios/micro_provider.toml --grid demand.arrival_rate=6,8,10 --workers 1

The scripts in experiments/ are the larger sweeps behind results/."""

COMPARE_DESCRIPTION = """\
Run scenarios A and B --reps times each; replicate r of both uses the same seed (common
random numbers), so the comparison is paired. Prints, per metric, the mean and 95% CI of
A and of B, the difference B - A with its 95% CI, and the paired t test's p-value. A
value marked (n=k) was defined in only k replications (e.g. adoption never reached 50%
in the others). Nothing is written to disk: `orgsim sweep` writes result tables."""

COMPARE_EPILOG = """\
examples:
  orgsim compare scenarios/central_it.toml scenarios/micro_provider.toml
  orgsim compare scenarios/central_it.toml scenarios/tutorial/slow_handoffs.toml \\
      --reps 5 --ticks 300
  orgsim compare scenarios/central_it.toml scenarios/micro_provider.toml \\
      --set demand.arrival_rate=11 --metrics lead_time_mean_ticks rework_rate"""

SCHEMA_DESCRIPTION = """\
Print the JSON Schema of scenario files (for editors and tools that check and complete
TOML against a schema), or with --markdown the scenario reference that
docs/scenarios.md is generated from (`make docs`)."""

SCHEMA_EPILOG = """\
examples:
  orgsim schema > orgsim-scenario.schema.json
  orgsim schema --markdown > docs/scenarios.md"""


VIEW_DESCRIPTION = """\
Serve an interactive page (Mesa's SolaraViz) that runs SCENARIO step by step: the network
of teams that work together coloured by load and adoption, the queue at each team or silo,
live throughput, lead time, rework and the adoption curve. Its sliders change the main
parameters and its switch runs the same organisation as central_it or micro_provider;
press Reset to apply them. Open the printed address in a browser; Ctrl-C stops the
server. Needs the viz extra: pip install 'orgsim[viz]' (make setup installs it)."""

VIEW_EPILOG = """\
examples:
  orgsim view scenarios/micro_provider.toml
  orgsim view scenarios/central_it.toml --port 8766 --set demand.arrival_rate=10"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ScenarioError as exc:
        for line in str(exc).splitlines():
            print(f"orgsim: {line}", file=sys.stderr)
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
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", help="what to do (each has its own --help)"
    )
    run = add_command(
        sub,
        "run",
        summary="run one scenario once and print its summary metrics",
        description=RUN_DESCRIPTION,
        epilog=RUN_EPILOG,
        handler=cmd_run,
    )
    add_scenario_arguments(run)
    run.add_argument("--seed", type=int, default=0, help="random seed (default 0); the same seed gives the same result")
    run.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (null where a metric has no value) instead of the readable summary",
    )
    add_sweep_parser(sub)
    add_compare_parser(sub)
    from sim.sensitivity_cli import add_sensitivity_parser

    add_sensitivity_parser(sub)
    schema = add_command(
        sub,
        "schema",
        summary="print the scenario JSON Schema (or the Markdown reference)",
        description=SCHEMA_DESCRIPTION,
        epilog=SCHEMA_EPILOG,
        handler=cmd_schema,
    )
    schema.add_argument(
        "--markdown",
        action="store_true",
        help="print the Markdown scenario reference (key, type, default, allowed values, meaning) "
        "instead of the JSON Schema",
    )
    add_view_parser(sub)
    return parser


def add_command(
    sub: argparse._SubParsersAction, name: str, *, summary: str, description: str, epilog: str, handler: Handler
) -> argparse.ArgumentParser:
    """Add command ``name``: ``summary`` in the command list, ``description`` and the ``epilog``
    of examples shown as written by its --help, and the ``handler`` that runs it."""
    parser = sub.add_parser(
        name,
        help=summary,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=handler)
    return parser


def add_view_parser(sub: argparse._SubParsersAction) -> None:
    view = add_command(
        sub,
        "view",
        summary="watch a scenario run in the browser, with sliders and a structure switch",
        description=VIEW_DESCRIPTION,
        epilog=VIEW_EPILOG,
        handler=cmd_view,
    )
    add_scenario_arguments(view)
    view.add_argument("--seed", type=int, default=0, help="the page's starting seed (default 0)")
    view.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1, this machine only)")
    view.add_argument("--port", type=int, default=8765, help="port to serve on (default 8765)")


def cmd_view(args: argparse.Namespace) -> int:
    scenario = scenario_from_args(args)
    check_address(args.host, args.port)
    try:
        from sim.view import serve
    except ImportError as exc:
        print(
            f"orgsim: view needs the viz extra ({exc.name} is missing): pip install 'orgsim[viz]' or make setup",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    serve(scenario, seed=args.seed, host=args.host, port=args.port)
    return 0


def check_address(host: str, port: int) -> None:
    """Raise a ScenarioError naming --host or --port unless this process can serve on ``host:port``."""
    import socket

    if not 0 < port < 65536:
        raise ScenarioError(f"--port {port}: give a port from 1 to 65535, e.g. --port 8765")
    try:
        family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except OSError as exc:
        raise ScenarioError(f"--host {host}: unknown address ({exc.strerror}); e.g. --host 127.0.0.1") from None
    with socket.socket(family, kind) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
        try:
            probe.bind(address)
        except OSError as exc:
            other = port + 1 if port < 65535 else 8765
            raise ScenarioError(
                f"--port {port}: cannot serve on {host}:{port} ({exc.strerror}); choose another, e.g. --port {other}"
            ) from None


def add_scenario_arguments(parser: argparse.ArgumentParser) -> None:
    """The scenario path, ``--ticks`` and repeated ``--set key.path=value``."""
    parser.add_argument(
        "scenario", type=Path, help="scenario TOML file, e.g. scenarios/central_it.toml (keys: docs/scenarios.md)"
    )
    parser.add_argument(
        "--ticks",
        type=int,
        default=None,
        help="run length in ticks (1 tick = 1 working day), replacing simulation.ticks; the first "
        "simulation.warmup_ticks are not measured (default: the scenario's value)",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override one scenario value, checked like the file; repeat for more (default: none), "
        "e.g. --set demand.arrival_rate=5",
    )


def scenario_from_args(args: argparse.Namespace) -> Scenario:
    """Load the scenario named on the command line, with its ``--set`` and ``--ticks`` overrides."""
    return load_named(args.scenario, overrides_from_args(args))


def overrides_from_args(args: argparse.Namespace) -> list[str]:
    """The ``--set`` overrides, then ``--ticks`` as ``simulation.ticks``."""
    return [*args.overrides, *([f"simulation.ticks={args.ticks}"] if args.ticks is not None else [])]


def load_named(path: Path, overrides: list[str]) -> Scenario:
    """The scenario file at ``path`` with ``overrides``, named after the file if it has no name."""
    scenario = load_scenario(path, overrides)
    return scenario if scenario.name else scenario.model_copy(update={"name": path.stem})


def cmd_run(args: argparse.Namespace) -> int:
    from sim.run import run_scenario

    result = run_scenario(scenario_from_args(args), seed=args.seed)
    record = result.record()
    if args.json:
        print(json.dumps(record))
    else:
        print(format_summary(record))
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from sim.schema_doc import json_schema, markdown

    print(markdown() if args.markdown else json_schema(), end="" if args.markdown else "\n")
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


# --- sweep and compare -------------------------------------------------------------------
WORKER_PRELOAD = ["sim.sweep"]  # what pool workers need; matches sim.sweep.process_pool


def add_execution_arguments(parser: argparse.ArgumentParser, reps: int) -> None:
    """``--reps``, ``--seed``, ``--workers``, ``--scheduler``, ``--metrics``, ``--quiet``."""
    parser.add_argument(
        "--reps",
        type=int,
        default=reps,
        help=f"replications (runs with different seeds) of each scenario variant (default {reps})",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="base seed (default 0); replicate r's seed derives from it and is shared by the structures "
        "(sweep) or scenarios (compare) being compared",
    )
    add_workers_argument(parser)
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run on this Dask scheduler instead of local processes, e.g. tcp://10.0.0.5:8786 "
        "(default: local processes; needs the dask extra)",
    )
    parser.add_argument(
        "--metrics",
        nargs="+",
        default=None,
        metavar="METRIC",
        help=f"metrics to print, named as in `orgsim run`; put this option last (default: {HEADLINE_HELP})",
    )
    add_quiet_argument(parser)


def add_workers_argument(parser: argparse.ArgumentParser) -> None:
    """``--workers``: local worker processes (see :func:`prestart_workers`)."""
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes (default: all cores; 1 = serial, in this process)",
    )


def add_quiet_argument(parser: argparse.ArgumentParser) -> None:
    """``--quiet``: no progress bar."""
    parser.add_argument("--quiet", action="store_true", help="do not draw the progress bar (on stderr)")


def add_sweep_parser(sub: argparse._SubParsersAction) -> None:
    sweep = add_command(
        sub,
        "sweep",
        summary="run a grid of scenario variants with replications and write result tables",
        description=SWEEP_DESCRIPTION,
        epilog=SWEEP_EPILOG,
        handler=cmd_sweep,
    )
    add_scenario_arguments(sweep)
    sweep.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY.PATH=V1,V2,...",
        help="vary a key over comma-separated values; repeat for more keys, every combination is run "
        "(default: none, one point), e.g. --grid handoff.delay_ticks=0,1,2 --grid structure=central_it,micro_provider",
    )
    add_execution_arguments(sweep, reps=5)
    sweep.add_argument(
        "--out",
        type=Path,
        default=None,
        help="result directory; created if missing, resumed if it holds this design "
        "(default: results/sweep-SCENARIO-HASH, HASH identifying the design)",
    )
    sweep.add_argument(
        "--adoption",
        action="store_true",
        help="also write the adoption table: mean share of teams that adopted the practice, per tick, "
        "point and structure (CSV, Parquet)",
    )


def add_compare_parser(sub: argparse._SubParsersAction) -> None:
    compare = add_command(
        sub,
        "compare",
        summary="run two scenarios with the same seeds and print a side-by-side table",
        description=COMPARE_DESCRIPTION,
        epilog=COMPARE_EPILOG,
        handler=cmd_compare,
    )
    compare.add_argument("a", type=Path, help="scenario A, the baseline (TOML file)")
    compare.add_argument("b", type=Path, help="scenario B, compared with A (TOML file)")
    compare.add_argument(
        "--ticks",
        type=int,
        default=None,
        help="run length in ticks of both, replacing simulation.ticks (default: each scenario's value)",
    )
    compare.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override one value in both scenarios; repeat for more (default: none), e.g. --set demand.arrival_rate=11",
    )
    add_execution_arguments(compare, reps=10)


def prestart_workers(workers: int | None, scheduler: str | None = None) -> None:
    """Start the worker fork server now, so it imports sim while this process does (unless the
    runs are serial or go to a Dask ``scheduler``)."""
    if scheduler or workers == 1:
        return
    import multiprocessing
    from multiprocessing import forkserver

    if "forkserver" in multiprocessing.get_all_start_methods():
        multiprocessing.get_context("forkserver").set_forkserver_preload(WORKER_PRELOAD)
        forkserver.ensure_running()


def _metrics(args: argparse.Namespace) -> list[str]:
    from sim.tables import HEADLINE_METRICS

    return check_metrics(list(args.metrics) if args.metrics else list(HEADLINE_METRICS))


def check_metrics(names: Sequence[str], option: str = "--metrics") -> list[str]:
    """``names`` if each is a registered metric, else a ScenarioError naming the closest one."""
    import difflib

    from sim.metrics import METRICS

    for name in names:
        if name not in METRICS:
            hint = difflib.get_close_matches(name, list(METRICS), n=1)
            fix = f"did you mean {hint[0]!r}?" if hint else f"known metrics: {', '.join(METRICS)}"
            raise ScenarioError(f"{option} {name}: unknown metric; {fix}")
    return list(names)


def cmd_sweep(args: argparse.Namespace) -> int:
    prestart_workers(args.workers, args.scheduler)
    from sim.design import Design, parse_grid
    from sim.sweep import run_sweep
    from sim.tables import to_markdown

    metrics = _metrics(args)
    factors: dict[str, list] = {}
    for assignment in args.grid:
        key, values = parse_grid(assignment)
        if key in factors:
            raise ScenarioError(f"--grid {key}: given twice; list all its values in one --grid")
        factors[key] = values
    scenario = scenario_from_args(args)
    design = Design.grid(scenario, factors, reps=args.reps, seed=args.seed)
    out = args.out or Path("results") / f"sweep-{args.scenario.stem}-{design.fingerprint()}"
    result = run_sweep(
        design, out, workers=args.workers, scheduler=args.scheduler, quiet=args.quiet, collect_adoption=args.adoption
    )
    print(
        f"{design.n_runs} runs ({len(design.points)} points x {design.reps} reps; "
        f"{result.ran} run now, {result.skipped} already done) in {out}"
    )
    for name, paths in result.paths.items():
        print(f"  {name}: {', '.join(str(p) for p in paths.values())}")
    if result.comparison is not None:
        table = result.comparison[result.comparison["metric"].isin(metrics)]
        columns = [*design.parameters, "metric", "mean_a", "mean_b", "diff", "diff_ci_low", "diff_ci_high", "p"]
        print(f"\n{result.comparison['b'].iat[0]} - {result.comparison['a'].iat[0]} (95% CI, paired by seed):\n")
        print(to_markdown(table[columns]))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    prestart_workers(args.workers, args.scheduler)
    from sim.sweep import run_pair

    metrics = _metrics(args)
    overrides = overrides_from_args(args)
    result = run_pair(
        load_named(args.a, overrides),
        load_named(args.b, overrides),
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
    """Side-by-side Markdown: mean [95% CI] of A and B, B - A [95% CI], paired-t p-value."""
    import pandas as pd

    from sim.tables import to_markdown

    a, b = labels
    rows = []
    for name in metrics:
        row = comparison[comparison["metric"] == name].iloc[0]
        rows.append(
            {
                "metric": name,
                f"A: {a}": _interval(row["mean_a"], row["ci_low_a"], row["ci_high_a"], row["n_a"], reps),
                f"B: {b}": _interval(row["mean_b"], row["ci_low_b"], row["ci_high_b"], row["n_b"], reps),
                "B - A": _interval(row["diff"], row["diff_ci_low"], row["diff_ci_high"], row["n_pairs"], reps, "pairs"),
                "p": _number(row["p"]),
            }
        )
    head = f"{a} (A) vs {b} (B): {reps} replications, base seed {seed}, same seed per replicate; mean [95% CI]"
    note = "p: paired t test on per-replicate differences (Welch when fewer than 2 pairs)."
    return f"{head}\n\n{to_markdown(pd.DataFrame(rows))}\n\n{note}"


def _number(value: float) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.4g}"


def _interval(mean: float, low: float, high: float, n: int, reps: int, what: str = "n") -> str:
    if math.isnan(mean):
        return "not reached"
    text = f"{mean:.4g}" if math.isnan(low) else f"{mean:.4g} [{low:.4g}, {high:.4g}]"
    return text if n == reps else f"{text} ({what}={n})"


if __name__ == "__main__":
    sys.exit(main())

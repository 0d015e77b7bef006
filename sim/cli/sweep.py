"""``orgsim sweep``: a grid of scenario variants with replications, written as result tables."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.common import (
    add_command,
    add_execution_arguments,
    add_metrics_argument,
    add_out_argument,
    add_quiet_argument,
    add_scenario_arguments,
    check_metrics,
    group,
    memory_limit,
    metric_list,
    metrics_from_args,
    note_ignored_keys,
    prestart_workers,
    scenario_from_args,
)
from sim.scenario.errors import ScenarioError

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing would slow `orgsim --help`
if TYPE_CHECKING:
    from sim.experiment.design import Design
    from sim.experiment.sweep import SweepResult
    from sim.scenario.schema import Scenario

DESCRIPTION = """\
Run SCENARIO at every combination of the --grid values (a full grid; `structure` may be
one of the keys) with --reps replications each. Instead of (or crossed with) a grid, --lhs
or --sobol KEY=LOW:HIGH samples --n points over ranges (Latin hypercube, or scrambled
Sobol' with --n a power of two; whole-number keys stay whole). At each point, replicate r
of every structure uses the same seed (common random numbers), so differences are paired.

Writes into --out, each table as CSV, Parquet and Markdown with a provenance JSON:
  runs        one row per run: point, structure, replicate, seed and every metric
  summary     per point, structure and metric: n, mean, std and 95% CI
  comparison  per point and metric, when the grid varies structure: the difference
              micro_provider - central_it with its 95% CI, the paired t p-value (also
              Welch and Mann-Whitney p-values) and Hedges' g
  report      report.html (one self-contained page: verdict, tables, figures) and report.md
and prints the comparison of --metrics (or, when one structure runs, its summary).

Replicating to a precision (Law & Kelton's sequential procedure): with --precision G
and --max-reps N, --reps is the first round (at least 2); each point where the 95% CI
half-width of a --precision-metric exceeds G/(1+G) x |mean| for either structure gets
more replicates (both structures together, same seeds as a plain sweep), round after
round, until every point meets it or has N. Runs where the metric is undefined are left
out. summary and comparison then gain `reps` and `precision_reached` per point, and the
provenance JSON records the settings and the rounds.

Resuming: each finished run is appended to OUT/runs.jsonl at once. After an interruption
run the same command again: only the missing runs are done. An --out directory that
holds a different design is refused; another --precision, --max-reps or
--precision-metric is the same design (the same seeded runs) and reuses every run done."""

EPILOG = """\
examples:
  orgsim sweep scenarios/central_it.toml --grid structure=central_it,micro_provider \\
      --grid handoff.delay_ticks=0,1,2 --reps 3 --ticks 600 --out results/my-sweep
  orgsim sweep scenarios/micro_provider.toml --grid demand.arrival_rate=6,8,10 --workers 1
  orgsim sweep scenarios/central_it.toml --grid structure=central_it,micro_provider \\
      --lhs handoff.delay_ticks=0:2 --lhs demand.arrival_rate=4:7 --n 8 --reps 3 --ticks 600
  orgsim sweep scenarios/central_it.toml --grid structure=central_it,micro_provider \\
      --reps 3 --precision 0.05 --max-reps 40 --precision-metric throughput_per_tick lead_time_mean_ticks

The scripts in experiments/ are the larger sweeps behind results/."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = add_command(
        sub,
        "sweep",
        summary="run a grid of scenario variants with replications and write result tables",
        description=DESCRIPTION,
        epilog=EPILOG,
        handler=cmd_sweep,
    )
    add_scenario_arguments(parser)
    design = group(parser, "design")
    design.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY.PATH=V1,V2,...",
        help="vary a key over comma-separated values; repeat for more keys, every combination is run "
        "(default: none, one point), e.g. --grid handoff.delay_ticks=0,1,2 --grid structure=central_it,micro_provider",
    )
    design.add_argument(
        "--lhs",
        action="append",
        default=[],
        metavar="KEY.PATH=LOW:HIGH",
        help="sample this key over a range by Latin hypercube (--n points, crossed with --grid); repeat for "
        "more keys (default: none)",
    )
    design.add_argument(
        "--sobol",
        action="append",
        default=[],
        metavar="KEY.PATH=LOW:HIGH",
        help="as --lhs with a scrambled Sobol' sequence (--n a power of two); not with --lhs (default: none)",
    )
    design.add_argument(
        "--n", type=int, default=None, help="points sampled by --lhs or --sobol (default: none; needed with them)"
    )
    add_execution_arguments(parser)
    run = group(parser, "run")
    run.add_argument(
        "--precision",
        type=float,
        default=None,
        metavar="G",
        help="replicate each point until the 95%% CI half-width of each --precision-metric is within "
        "G/(1+G) of its mean, for every structure (relative error G, e.g. 0.05); --reps runs first, "
        "--max-reps caps (default: none, exactly --reps replications)",
    )
    run.add_argument(
        "--max-reps",
        type=int,
        default=None,
        metavar="N",
        help="most replications per point with --precision; needed with it (default: none)",
    )
    run.add_argument(
        "--precision-metric",
        type=metric_list,
        action="extend",
        default=None,
        metavar="METRIC",
        help="metrics --precision applies to, separated by spaces or commas, all must meet it (default: the "
        "first --metrics if given, else throughput_per_tick, defined in every run)",
    )
    add_metrics_argument(parser)
    add_out_argument(parser, "results/sweep-SCENARIO-HASH, HASH naming the design; resumed if it holds this design")
    output = group(parser, "output")
    output.add_argument(
        "--adoption",
        action="store_true",
        help="also write the adoption table: mean share of teams that adopted the practice, per tick, "
        "point and structure (CSV, Parquet)",
    )
    output.add_argument(
        "--repair",
        action="store_true",
        help="move damaged runs.jsonl lines, and records that do not match the design, to "
        "runs.rejected.jsonl and redo those runs (default: stop and name the first)",
    )
    add_quiet_argument(parser)


def cmd_sweep(args: argparse.Namespace) -> int:
    prestart_workers(args.workers, args.scheduler)
    from sim.experiment.sweep import run_sweep

    metrics = metrics_from_args(args)
    precision_metrics = None
    if args.precision_metric:
        precision_metrics = check_metrics(args.precision_metric, "--precision-metric")
    elif args.metrics and args.precision is not None:
        precision_metrics = metrics[:1]
    factors = _factors(args.grid)
    scenario = scenario_from_args(args)
    design = _design(args, scenario, factors)
    design.check_memory(memory_limit(args.max_memory), str(args.scenario))
    note_ignored_keys([(args.scenario, scenario)], [*args.overrides, *design.keys], design.structures)
    out = args.out or Path("results") / f"sweep-{args.scenario.stem}-{design.fingerprint()}"
    result = run_sweep(
        design,
        out,
        workers=args.workers,
        scheduler=args.scheduler,
        quiet=args.quiet,
        collect_adoption=args.adoption,
        precision=args.precision,
        max_reps=args.max_reps,
        precision_metrics=precision_metrics,
        repair=args.repair,
        lost_timeout=args.lost_timeout,
    )
    if result.precision is None:
        shape = f"{len(design.points)} points x {design.reps} reps"
    else:
        p = result.precision
        paired = " (structures together)" if len(design.structures) > 1 else ""
        shape = (
            f"{len(design.points)} points, {p['reps_min']}-{p['reps_max']} reps: precision {p['precision']:g} "
            f"of {', '.join(p['metrics'])} reached at {p['points_reached']} of {p['points']} points{paired} "
            f"in {p['rounds'] + 1} rounds"
        )
    print(f"{len(result.runs)} runs ({shape}; {result.ran} run now, {result.skipped} already done) in {out}")
    for name, paths in result.paths.items():
        print(f"  {name}: {', '.join(str(p) for p in paths.values())}")
    print(f"  report: {', '.join(str(p) for p in write_report(result, metrics))}")
    print(format_result(result, metrics))
    return 0


def _factors(assignments: list[str]) -> dict[str, list]:
    from sim.experiment.design import parse_grid

    factors: dict[str, list] = {}
    for assignment in assignments:
        key, values = parse_grid(assignment)
        if key in factors:
            raise ScenarioError(f"--grid {key}: given twice; list all its values in one --grid")
        factors[key] = values
    return factors


def _design(args: argparse.Namespace, scenario: Scenario, factors: dict[str, list]) -> Design:
    """A full grid, or --lhs/--sobol samples over ranges crossed with the grid."""
    from sim.experiment.design import Design
    from sim.experiment.sensitivity import parse_range

    if args.lhs and args.sobol:
        raise ScenarioError("--lhs and --sobol: choose one sampling design")
    option, assignments = ("--lhs", args.lhs) if args.lhs else ("--sobol", args.sobol)
    if not assignments:
        if args.n is not None:
            raise ScenarioError("--n: give the ranges to sample with --lhs or --sobol KEY.PATH=LOW:HIGH")
        return Design.grid(scenario, factors, reps=args.reps, seed=args.seed)
    if args.n is None:
        raise ScenarioError(f"{option}: give the number of points with --n, e.g. --n 16")
    ranges = dict(parse_range(text, option) for text in assignments)
    sample = Design.latin_hypercube if option == "--lhs" else Design.sobol
    return sample(scenario, ranges, args.n, reps=args.reps, seed=args.seed, grid=factors)


def format_result(result: SweepResult, metrics: list[str]) -> str:
    """The comparison per point in plain words (or, with one structure, the summary per point)."""
    from sim.experiment.report import comparison_display, summary_display
    from sim.experiment.tables import to_markdown

    parameters = list(result.design.parameters)
    if result.comparison is None:
        table = to_markdown(summary_display(result.summary, metrics, parameters))
        return f"\nSummary (mean [95% CI] per point):\n\n{table}"
    a, b = result.comparison["a"].iat[0], result.comparison["b"].iat[0]
    head = f"{b} - {a} (95% CI, paired by seed; p: Benjamini-Hochberg adjusted over the points of each metric)"
    return f"\n{head}:\n\n{to_markdown(comparison_display(result.comparison, metrics, parameters))}"


def write_report(result: SweepResult, metrics: list[str]) -> list[Path]:
    """report.html and report.md in the sweep's directory: verdict per metric, tables, figures."""
    from sim.experiment.report import sweep_report
    from sim.experiment.report import write_report as write

    return list(write(sweep_report(result, metrics), result.out).values())

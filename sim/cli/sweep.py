"""``orgsim sweep``: a grid of scenario variants with replications, written as result tables."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.common import (
    add_command,
    add_execution_arguments,
    add_scenario_arguments,
    check_metrics,
    metrics_from_args,
    note_ignored_keys,
    prestart_workers,
    scenario_from_args,
)
from sim.scenario.errors import ScenarioError

DESCRIPTION = """\
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
      --grid handoff.delay_ticks=0,1,2 --reps 3 --ticks 300 --out results/my-sweep
  orgsim sweep scenarios/micro_provider.toml --grid demand.arrival_rate=6,8,10 --workers 1
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
    parser.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY.PATH=V1,V2,...",
        help="vary a key over comma-separated values; repeat for more keys, every combination is run "
        "(default: none, one point), e.g. --grid handoff.delay_ticks=0,1,2 --grid structure=central_it,micro_provider",
    )
    add_execution_arguments(parser, reps=5)
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="result directory; created if missing, resumed if it holds this design "
        "(default: results/sweep-SCENARIO-HASH, HASH identifying the design)",
    )
    parser.add_argument(
        "--precision",
        type=float,
        default=None,
        metavar="G",
        help="replicate each point until the 95%% CI half-width of each --precision-metric is within "
        "G/(1+G) of its mean, for every structure (relative error G, e.g. 0.05); --reps runs first, "
        "--max-reps caps (default: none, exactly --reps replications)",
    )
    parser.add_argument(
        "--max-reps",
        type=int,
        default=None,
        metavar="N",
        help="most replications per point with --precision; needed with it (default: none)",
    )
    parser.add_argument(
        "--precision-metric",
        nargs="+",
        default=None,
        metavar="METRIC",
        help="metrics --precision applies to, all must meet it (default: the first --metrics if given, "
        "else throughput_per_tick, defined in every run)",
    )
    parser.add_argument(
        "--adoption",
        action="store_true",
        help="also write the adoption table: mean share of teams that adopted the practice, per tick, "
        "point and structure (CSV, Parquet)",
    )


def cmd_sweep(args: argparse.Namespace) -> int:
    prestart_workers(args.workers, args.scheduler)
    from sim.experiment.design import Design, parse_grid
    from sim.experiment.sweep import run_sweep
    from sim.experiment.tables import to_markdown

    metrics = metrics_from_args(args)
    precision_metrics = None
    if args.precision_metric:
        precision_metrics = check_metrics(args.precision_metric, "--precision-metric")
    elif args.metrics and args.precision is not None:
        precision_metrics = metrics[:1]
    factors: dict[str, list] = {}
    for assignment in args.grid:
        key, values = parse_grid(assignment)
        if key in factors:
            raise ScenarioError(f"--grid {key}: given twice; list all its values in one --grid")
        factors[key] = values
    scenario = scenario_from_args(args)
    design = Design.grid(scenario, factors, reps=args.reps, seed=args.seed)
    note_ignored_keys([(args.scenario, scenario)], [*args.overrides, *factors], design.structures)
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
    if result.comparison is not None:
        table = result.comparison[result.comparison["metric"].isin(metrics)]
        shown = ["metric", "mean_a", "mean_b", "diff", "diff_ci_low", "diff_ci_high", "p", "p_adj", "verdict"]
        columns = [*design.parameters, *shown]
        head = f"{result.comparison['b'].iat[0]} - {result.comparison['a'].iat[0]} (95% CI, paired by seed"
        print(f"\n{head}; p_adj: Benjamini-Hochberg over the points of each metric):\n")
        print(to_markdown(table[columns]))
    return 0

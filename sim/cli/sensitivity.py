"""``orgsim sensitivity``: which scenario keys move a metric (the work is in :mod:`sim.experiment.sensitivity`)."""

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
    group,
    memory_limit,
    metrics_from_args,
    prestart_workers,
    scenario_from_args,
)
from sim.scenario.errors import ScenarioError

DESCRIPTION = """\
Which assumptions decide the answer? Vary the --params keys over their ranges and measure
how much each one moves each of --metrics: Morris screening (mu*: mean absolute elementary effect,
in metric units per full range, with its 95% bootstrap interval; sigma: spread of the
effects, large when a key acts through interactions or non-linearly) or Sobol' indices
(S1: share of the metric's variance a key explains alone; ST: including interactions;
each with its 95% bootstrap interval). Sampling and analysis are SALib's (pip install
'orgsim[sensitivity]').

Every distinct sample point runs --reps times and the replicates are averaged; the
noise_share column estimates how much of the output's variance is replication noise
rather than the keys (high values: raise --reps). With --difference each point runs
under both structures on the same seeds and the output is the paired difference
micro_provider - central_it; rules.md then gives the regions where each structure wins
(a shallow decision tree over the points), with coverage (share of all winning points
inside the region) and density (share of the region's points that win).

Writes into --out: indices (CSV, Parquet, Markdown, provenance JSON), indices.png,
outputs (the analysed output per point and metric), rules.md (with --difference) and the
sweep's runs, summary and comparison tables. Runs are appended to OUT/runs.jsonl as they
finish: after an interruption run the same command again to resume."""

EPILOG = """\
examples:
  orgsim sensitivity scenarios/central_it.toml --difference \\
      --params handoff.delay_ticks=0:1.5 organisation.dependencies_per_service=0:4 demand.arrival_rate=6:10 \\
      --metrics lead_time_mean_ticks rework_rate
  orgsim sensitivity scenarios/micro_provider.toml --method sobol --n 32 --ticks 600 \\
      --params handoff.delay_ticks=0:1 demand.arrival_rate=6:10 --metrics throughput_per_tick

Runs: Morris needs n x (keys + 1) points, Sobol' n x (keys + 2); each runs --reps times,
twice with --difference. experiments/sensitivity.py runs both on the matched pair."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = add_command(
        sub,
        "sensitivity",
        summary="Morris or Sobol' sensitivity of a metric to scenario keys, and where each structure wins",
        description=DESCRIPTION,
        epilog=EPILOG,
        handler=cmd_sensitivity,
    )
    add_scenario_arguments(parser)
    design = group(parser, "design")
    design.add_argument(
        "--params",
        nargs="+",
        required=True,
        metavar="KEY.PATH=LOW:HIGH",
        help="the keys to vary and their ranges, sampled uniformly; whole-number keys are rounded "
        "(required, no default), e.g. --params handoff.delay_ticks=0:2 demand.arrival_rate=6:11",
    )
    design.add_argument(
        "--method", choices=["morris", "sobol"], default="morris", help="morris (screening) or sobol (default morris)"
    )
    design.add_argument(
        "--n",
        type=int,
        default=None,
        help="Morris: trajectories; Sobol': base samples, a power of two (default 10 for morris, 64 for sobol)",
    )
    design.add_argument("--levels", type=int, default=4, help="Morris grid levels per key, even (default 4)")
    design.add_argument(
        "--difference",
        action="store_true",
        help="analyse micro_provider - central_it on the same point and seed instead of the scenario's own "
        "structure, and discover where each structure wins",
    )
    add_execution_arguments(parser)
    add_metrics_argument(parser)
    analysis = group(parser, "analysis")
    analysis.add_argument("--depth", type=int, default=2, help="depth of the rule-finding decision tree (default 2)")
    analysis.add_argument(
        "--tie",
        type=float,
        default=0.02,
        help="with --difference, a structure wins a point only when its mean is better by more than this share "
        "of the two structures' mean; smaller differences are ties (default 0.02)",
    )
    add_out_argument(parser, "results/sensitivity-SCENARIO-HASH, HASH naming the design; resumed if it holds it")
    add_quiet_argument(parser)


def cmd_sensitivity(args: argparse.Namespace) -> int:
    import hashlib

    from sim.experiment.design import canonical_json
    from sim.experiment.sensitivity import check_problem, parse_range, run_sensitivity
    from sim.experiment.tables import to_markdown

    metrics = metrics_from_args(args)
    if args.reps < 1:
        raise ScenarioError(f"--reps {args.reps}: need at least 1 replication")
    if args.depth < 1:
        raise ScenarioError(f"--depth {args.depth}: the tree needs a depth of at least 1")
    if not 0 <= args.tie < 1:
        raise ScenarioError(f"--tie {args.tie}: give a share in [0, 1), e.g. 0.02")
    ranges: dict[str, tuple[float, float]] = {}
    for text in args.params:
        key, bounds = parse_range(text)
        if key in ranges:
            raise ScenarioError(f"--params {key}: given twice; give each key one range")
        ranges[key] = bounds
    scenario = scenario_from_args(args)
    problem = check_problem(scenario, ranges)
    prestart_workers(args.workers, args.scheduler)
    config = scenario.model_dump(mode="json")
    what = [config, args.method, args.n, args.levels, ranges, args.reps, args.seed, args.difference]
    tag = hashlib.sha256(canonical_json(what).encode()).hexdigest()[:8]
    out = args.out or Path("results") / f"sensitivity-{args.scenario.stem}-{tag}"
    result = run_sensitivity(
        scenario,
        problem,
        metrics,
        out,
        method=args.method,
        n=args.n,
        levels=args.levels,
        difference=args.difference,
        reps=args.reps,
        seed=args.seed,
        depth=args.depth,
        tie=args.tie,
        max_memory=memory_limit(args.max_memory),
        workers=args.workers,
        scheduler=args.scheduler,
        lost_timeout=args.lost_timeout,
        quiet=args.quiet,
    )
    sweep = result.evaluation.sweep
    print(f"{sweep.design.n_runs} runs ({sweep.ran} run now, {sweep.skipped} already done) in {out}")
    drop = {"output", "low", "high"}
    table = result.indices[[c for c in result.indices.columns if c not in drop]]
    print(f"\n{args.method} indices of {result.indices['output'].iat[0]} (_conf: 95% CI half-width):\n")
    print(to_markdown(table))
    for metric, by_side in result.rules.items():
        for side, rules in by_side.items():
            if rules:
                best = rules[0]
                share = f"coverage {best.coverage:.2f}, density {best.density:.2f}"
                print(f"\n{metric}: {side} better where {best.text} ({share})")
    print("\n" + "\n".join(f"  {name}: {path}" for name, path in result.paths.items()))
    return 0

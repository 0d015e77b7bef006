"""Experiment 5, sensitivity: which assumptions decide the structure comparison?

On the matched pair (scenarios/central_it.toml and micro_provider.toml differ only in
structure) the output is the paired difference micro_provider - central_it at each point
and seed. First Morris screening of ten uncertain assumptions (handoff cost, dependency
density, load, knowledge, quality, demand shape), then Sobol' indices of the three keys
Morris ranks highest (shorter runs: 300 measured ticks after the 400-tick warm-up), and from both the regions where
each structure wins. Writes results/sensitivity/morris/ and results/sensitivity/sobol/
(indices with 95% intervals, indices.png, rules.md and the sweep tables)."""

from __future__ import annotations

import time

from common import SCENARIOS, STRUCTURES, arguments, one_line_errors, sweep_options

import pandas as pd

from sim.experiment.sensitivity import check_problem, run_sensitivity
from sim.scenario.files import load_scenario
from sim.scenario.schema import Scenario

# The shipped value of each key lies inside its range.
RANGES = {
    "handoff.delay_ticks": (0.0, 1.0),
    "handoff.loss_prob": (0.0, 0.16),
    "organisation.dependencies_per_service": (0.0, 4.0),
    "demand.arrival_rate": (6.0, 10.0),
    "knowledge.unfamiliarity_penalty": (0.0, 1.0),
    "knowledge.learning_rate": (0.01, 0.1),
    "quality.familiarity_effect": (0.0, 2.0),
    "organisation.demand_skew": (0.0, 1.0),
    "organisation.self_service_share": (0.0, 0.5),
    "demand.effort.cv": (0.5, 2.0),
}
METRICS = ["lead_time_mean_ticks", "rework_rate", "throughput_per_tick"]
SEED = 2028
QUICK = ["simulation.ticks=150", "simulation.warmup_ticks=30"]


def matched_base(overrides: list[str]) -> Scenario:
    """central_it.toml with ``overrides``, after checking micro_provider.toml differs only in structure."""
    central, micro = (load_scenario(SCENARIOS / f"{s}.toml", overrides) for s in STRUCTURES)
    labels = {"name": central.name, "description": central.description, "structure": central.structure}
    if micro.model_copy(update=labels) != central:
        raise SystemExit("scenarios/micro_provider.toml differs from central_it.toml in more than structure")
    return central


def top_keys(indices: pd.DataFrame, k: int) -> list[str]:
    """The ``k`` keys with the largest mu* relative to the largest of its metric, over the metrics."""
    relative = indices["mu_star"] / indices.groupby("metric")["mu_star"].transform("max")
    score = relative.groupby(indices["parameter"]).max()
    return list(score.sort_values(ascending=False, kind="stable").index[:k])


def main() -> None:
    args = arguments("sensitivity", __doc__, precision=False)
    started = time.perf_counter()
    ranges = dict(list(RANGES.items())[:3]) if args.quick else RANGES
    # Morris: n trajectories at the shipped horizon; Sobol': n base samples of the top keys, 300 measured ticks.
    (morris_n, morris_set), (sobol_n, sobol_set), n_top, reps = (
        ((2, QUICK), (4, QUICK), 2, 1) if args.quick else ((10, []), (32, ["simulation.ticks=700"]), 3, 2)
    )
    morris_base, sobol_base = matched_base(morris_set), matched_base(sobol_set)
    common = {"difference": True, "reps": reps, "seed": SEED, **sweep_options(args)}
    with one_line_errors(args):
        morris = run_sensitivity(
            morris_base, check_problem(morris_base, ranges), METRICS, args.out / "morris", method="morris",
            n=morris_n, **common,
        )  # fmt: skip
        chosen = top_keys(morris.indices, n_top)
        sobol = run_sensitivity(
            sobol_base, check_problem(sobol_base, {key: RANGES[key] for key in chosen}), METRICS, args.out / "sobol",
            method="sobol", n=sobol_n, **common,
        )  # fmt: skip
    for result in (morris, sobol):
        sweep = result.evaluation.sweep
        print(f"{result.out}: {sweep.design.n_runs} runs ({sweep.ran} run now, {sweep.skipped} resumed)")
    print(f"Sobol' keys (top {n_top} by Morris): {', '.join(chosen)}")
    print(f"done in {time.perf_counter() - started:.1f} s -> {args.out}")


if __name__ == "__main__":
    main()

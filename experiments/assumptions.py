"""Experiment 12, assumptions: which uncertain assumptions could flip the structure comparison?

A Morris screen of the paired difference micro_provider - central_it on the matched pair
over the assumptions a reviewer would question: the attention a waiting item claims
(context_switching.waiting_weight), early detection, the base defect chance, forgetting,
team size, the warm-up and the load; run twice, once with Weinberg's switching table
(0/20/40/60/75% at 1..5 items per person) and once with a flat 17% beyond one item (the
later estimates). Outputs are throughput, backlog growth and rework, which mean
something in unstable runs too (lead time does not). Writes results/assumptions/weinberg/
and results/assumptions/flat17/ (indices with 95% intervals, outputs per point, rules.md
and the sweep tables). results/README.md says which conclusions hold at every point."""

from __future__ import annotations

import time

from common import SCENARIOS, arguments, one_line_errors, sweep_options

from sim.experiment.sensitivity import check_problem, run_sensitivity
from sim.scenario.files import load_scenario

# The shipped value of each key lies inside its range.
RANGES = {
    "context_switching.waiting_weight": (0.0, 1.0),
    "quality.early_detection_prob": (0.3, 0.9),
    "quality.base_defect_prob": (0.05, 0.2),
    "knowledge.forgetting_rate": (0.0, 0.01),
    "organisation.team_size": (4, 8),
    "simulation.warmup_ticks": (50, 300),
    "demand.arrival_rate": (6.0, 10.0),
}
TABLES = {
    "weinberg": "context_switching.loss_by_concurrency=[0.0, 0.2, 0.4, 0.6, 0.75]",
    "flat17": "context_switching.loss_by_concurrency=[0.0, 0.17]",
}
METRICS = ["throughput_per_tick", "backlog_growth_per_tick", "rework_rate"]
SEED = 2029
QUICK = ["simulation.ticks=150", "simulation.warmup_ticks=30"]


def main() -> None:
    args = arguments("assumptions", __doc__, precision=False)
    started = time.perf_counter()
    ranges = dict(list(RANGES.items())[:2]) if args.quick else RANGES
    n, reps, extra = (2, 1, QUICK) if args.quick else (10, 2, [])
    with one_line_errors(args):
        for name, table in TABLES.items():
            base = load_scenario(SCENARIOS / "central_it.toml", [table, *extra])
            result = run_sensitivity(
                base, check_problem(base, ranges), METRICS, args.out / name, method="morris", n=n,
                difference=True, reps=reps, seed=SEED, **sweep_options(args),
            )  # fmt: skip
            sweep = result.evaluation.sweep
            print(f"{result.out}: {sweep.design.n_runs} runs ({sweep.ran} run now, {sweep.skipped} resumed)")
    print(f"done in {time.perf_counter() - started:.1f} s -> {args.out}")


if __name__ == "__main__":
    main()

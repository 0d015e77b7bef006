"""Experiment 2, handoff cost x dependency density: where does each structure win?

Handoff cost is one level c per point: a handoff delays work c ticks and loses
information with probability 0.16 c (c = 0.5 is the shipped scenario). The arrival rate
is scaled with dependency density so the offered effort stays the same at every point,
at a moderate and a high load. Writes tables and win/lose maps to results/handoff_dependency/."""

from __future__ import annotations

from pathlib import Path

from common import REPS, SCENARIOS, STRUCTURES, arguments, run

from sim.experiment.design import Design
from sim.experiment.plots import plot_win_map
from sim.experiment.sweep import SweepResult

DELAY, LOSS, DEPS, RATE = (
    "handoff.delay_ticks",
    "handoff.loss_prob",
    "organisation.dependencies_per_service",
    "demand.arrival_rate",
)
LOSS_PER_TICK_OF_DELAY = 0.16
# Offered effort per item grows with touched dependencies: 1 + deps x touch (0.5) x share (0.3).
DEP_EFFORT = 0.5 * 0.3
LOADS = {"moderate": 6.0, "high": 7.5}  # arrival rate at 2 dependencies per service (shipped: 6)


def arrival_rate(load: float, deps: float) -> float:
    """Arrival rate giving the same offered effort as ``load`` items/tick at 2 dependencies."""
    return round(load * (1 + 2 * DEP_EFFORT) / (1 + deps * DEP_EFFORT), 4)


def design(quick: bool) -> Design:
    costs = [0.0, 1.0] if quick else [0.0, 0.25, 0.5, 1.0]
    deps_levels = [0, 4] if quick else [0, 1, 2, 4]
    loads = {"high": LOADS["high"]} if quick else LOADS
    extra = {"simulation.ticks": 150, "simulation.warmup_ticks": 30} if quick else {}
    points = [
        {"structure": s, "load": name, DELAY: c, LOSS: round(LOSS_PER_TICK_OF_DELAY * c, 4), DEPS: d}
        | {RATE: arrival_rate(load, d)}
        | extra
        for name, load in loads.items()
        for d in deps_levels
        for c in costs
        for s in STRUCTURES
    ]
    base = SCENARIOS / "central_it.toml"
    return Design.from_points(base, [_scenario_keys(p) for p in points], reps=2 if quick else REPS, seed=2027)


def _scenario_keys(point: dict) -> dict:
    """Drop the load label (it is implied by the arrival rate)."""
    return {k: v for k, v in point.items() if k != "load"}


def load_of(frame) -> list[str]:
    """The load label of each row, recovered from its arrival rate and dependency density."""
    names = {round(v, 2): k for k, v in LOADS.items()}
    offered = frame[RATE] * (1 + frame[DEPS] * DEP_EFFORT) / (1 + 2 * DEP_EFFORT)
    return [names[round(v, 2)] for v in offered]


def plots(result: SweepResult, out: Path) -> None:
    comparison = result.comparison.assign(load=lambda f: load_of(f))
    for load in comparison["load"].unique():
        for metric in ("lead_time_mean_ticks", "rework_rate", "throughput_per_tick"):
            plot_win_map(
                comparison,
                DELAY,
                DEPS,
                metric,
                out / f"win_map_{metric}_{load}_load.png",
                where={"load": load},
                title=f"{metric}, {load} load: micro_provider - central_it\n(x: handoff delay; loss = 0.16 x delay)",
            )


if __name__ == "__main__":
    args = arguments("handoff_dependency", __doc__)
    run(args, design(args.quick), plots)

"""Experiment 13, pooling against ownership: where does central IT's pooled capacity win?

Queueing theory says one pooled queue beats separate team queues (M/M/3: W = 1.44 against
3.0 for three M/M/1 queues at the same load) when handoffs and rework are cheap. Owners
gain from knowing their services; central IT's silos gain from pooling, which matters
most where demand concentrates on a few services (their owners become hot spots). This
sweeps demand skew (the Zipf exponent of demand across services) against how much
knowledge matters (knowledge.unfamiliarity_penalty and quality.familiarity_effect scaled
together from 0 to the shipped 0.5 and 1.0), with free handoffs and with the shipped
ones, at 8 items per tick. Writes tables and win maps to results/pooling/."""

from __future__ import annotations

from pathlib import Path

from common import REPS, SCENARIOS, STRUCTURES, arguments, run

from sim.experiment.design import Design
from sim.experiment.plots import plot_win_map
from sim.experiment.sweep import SweepResult

SKEW, PENALTY, EFFECT = "organisation.demand_skew", "knowledge.unfamiliarity_penalty", "quality.familiarity_effect"
DELAY, LOSS = "handoff.delay_ticks", "handoff.loss_prob"
HANDOFFS = {"free": (0.0, 0.0), "shipped": (0.5, 0.08)}  # delay (ticks), information loss
SHIPPED_PENALTY, SHIPPED_EFFECT = 0.5, 1.0


def design(quick: bool) -> Design:
    skews = [0.0, 1.5] if quick else [0.0, 0.5, 1.0, 1.5]
    scales = [0.0, 1.0] if quick else [0.0, 0.5, 1.0]
    handoffs = {"free": HANDOFFS["free"]} if quick else HANDOFFS
    extra = {"simulation.ticks": 150, "simulation.warmup_ticks": 30} if quick else {}
    points = [
        {"structure": s, SKEW: skew, PENALTY: SHIPPED_PENALTY * f, EFFECT: SHIPPED_EFFECT * f, DELAY: d, LOSS: p}
        | {"demand.arrival_rate": 8.0}
        | extra
        for d, p in handoffs.values()
        for f in scales
        for skew in skews
        for s in STRUCTURES
    ]
    return Design.from_points(SCENARIOS / "central_it.toml", points, reps=2 if quick else REPS, seed=2037)


def plots(result: SweepResult, out: Path) -> None:
    for name, (delay, _) in HANDOFFS.items():
        if delay not in set(result.comparison[DELAY]):
            continue
        for metric in ("lead_time_mean_ticks", "throughput_per_tick", "rework_rate"):
            plot_win_map(
                result.comparison,
                SKEW,
                PENALTY,
                metric,
                out / f"win_map_{metric}_{name}_handoffs.png",
                where={DELAY: delay},
                title=f"{metric}, {name} handoffs: micro_provider - central_it\n"
                "(y: unfamiliarity penalty; familiarity effect = 2 x penalty)",
            )


if __name__ == "__main__":
    args = arguments("pooling", __doc__)
    run(args, design(args.quick), plots)

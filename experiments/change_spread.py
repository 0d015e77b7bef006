"""Experiment 3, change spread: adoption speed by structure, network density and load.

A practice (for example automated testing) starts with one team at the end of warm-up
and spreads by imitation along the network of teams that actually exchange work, with
a small outside influence and a learning dip. Sweeps dependencies per service (which
shapes the work network) and the arrival rate (load); records adoption curves. Writes
to results/change_spread/."""

from __future__ import annotations

from pathlib import Path

from common import REPS, SCENARIOS, STRUCTURES, arguments, run

from sim.experiment.design import Design
from sim.experiment.plots import plot_adoption_curves, plot_metric_vs_parameter
from sim.experiment.sweep import SweepResult

DEPS, RATE = "organisation.dependencies_per_service", "demand.arrival_rate"


def design(quick: bool) -> Design:
    factors = {
        "structure": STRUCTURES,
        DEPS: [1.0, 4.0] if quick else [0.5, 1.0, 2.0, 4.0],
        RATE: [7.0] if quick else [5.0, 7.0, 9.0],
    }
    if quick:
        factors |= {"simulation.ticks": [200], "simulation.warmup_ticks": [20]}
    return Design.grid(SCENARIOS / "central_it.toml", factors, reps=2 if quick else REPS, seed=2028)


def plots(result: SweepResult, out: Path) -> None:
    summary = result.summary
    for rate in sorted(summary[RATE].unique()):
        for metric in ("adoption_t50_ticks", "adoption_t90_ticks", "adoption_final_share"):
            plot_metric_vs_parameter(
                summary,
                DEPS,
                metric,
                out / f"{metric}_rate_{rate:g}.png",
                where={RATE: rate},
                title=f"{metric} vs dependencies per service (arrival rate {rate:g})",
            )
    for deps in sorted(summary[DEPS].unique()):
        plot_adoption_curves(
            result.adoption,
            out / f"adoption_curves_deps_{deps:g}.png",
            where={DEPS: deps},
            title=f"Adoption share over time, {deps:g} dependencies per service (all loads pooled)",
        )


if __name__ == "__main__":
    args = arguments("change_spread", __doc__)
    run(args, design(args.quick), plots, collect_adoption=True)

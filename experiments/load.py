"""Experiment 1, load: throughput and lead time as demand rises toward capacity.

Sweeps demand.arrival_rate over both structures of the matched pair with replications;
writes result tables and plots to results/load/."""

from __future__ import annotations

from pathlib import Path

from common import REPS, SCENARIOS, STRUCTURES, arguments, run

from sim.experiment.design import Design
from sim.experiment.plots import plot_metric_vs_parameter
from sim.experiment.sweep import SweepResult

RATE = "demand.arrival_rate"


def design(quick: bool) -> Design:
    rates = [5.0, 9.0] if quick else [4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]
    base = SCENARIOS / "central_it.toml"
    overrides = {"simulation.ticks": 150, "simulation.warmup_ticks": 30} if quick else {}
    factors = {"structure": STRUCTURES, RATE: rates} | {k: [v] for k, v in overrides.items()}
    return Design.grid(base, factors, reps=2 if quick else REPS, seed=2026)


def plots(result: SweepResult, out: Path) -> None:
    for metric in ("throughput_per_tick", "lead_time_mean_ticks", "lead_time_p85_ticks", "utilisation", "rework_rate"):
        plot_metric_vs_parameter(result.summary, RATE, metric, out / f"{metric}.png", title=f"{metric} vs load")


if __name__ == "__main__":
    args = arguments("load", __doc__)
    run(args, design(args.quick), plots)

"""Experiment 4, organisation size: from a handful of teams to hundreds.

The shipped organisation (12 teams of 6, 24 services, 6 items per day) is scaled: the
number of teams, services (2 per team) and the arrival rate (0.5 per team) grow
together, so the load per person stays the same; the shipped warm-up, 300 measured days. Writes to results/size/."""

from __future__ import annotations

from pathlib import Path

from common import REPS, SCENARIOS, STRUCTURES, arguments, run

from sim.experiment.design import Design
from sim.experiment.plots import plot_metric_vs_parameter
from sim.experiment.sweep import SweepResult

TEAMS = "organisation.teams"


def design(quick: bool) -> Design:
    sizes = [4, 12] if quick else [4, 12, 48, 200]
    ticks = (
        {"simulation.ticks": 120, "simulation.warmup_ticks": 20}
        if quick
        else {"simulation.ticks": 700, "simulation.warmup_ticks": 400}
    )
    points = [
        {"structure": s, TEAMS: n, "organisation.services": 2 * n, "demand.arrival_rate": 0.5 * n} | ticks
        for n in sizes
        for s in STRUCTURES
    ]
    return Design.from_points(SCENARIOS / "central_it.toml", points, reps=2 if quick else REPS, seed=2029)


def plots(result: SweepResult, out: Path) -> None:
    summary = result.summary.drop(columns=["organisation.services", "demand.arrival_rate"])  # follow the teams
    for metric in ("lead_time_mean_ticks", "rework_rate", "utilisation", "adoption_t50_ticks", "handoffs_per_item"):
        plot_metric_vs_parameter(summary, TEAMS, metric, out / f"{metric}.png", title=f"{metric} vs teams")


if __name__ == "__main__":
    args = arguments("size", __doc__)
    run(args, design(args.quick), plots)

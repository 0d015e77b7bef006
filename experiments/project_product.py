"""Operating models 1, project vs product: teams that disband after each project against
durable product teams, under both structures and two loads.

Under the project model every team re-forms every 60 ticks (staggered): the new people
start with the initial knowledge, no work relationships, and lose capacity while the
team forms. Measures lead time, rework, the knowledge the organisation holds and value
for money. Writes to results/project_product/."""

from __future__ import annotations

from pathlib import Path

from common import OPERATING, QUICK, QUICK_TICKS, REPS, STRUCTURES, arguments, bar_plots, plot_series_over_time, run

from sim.experiment.design import Design
from sim.experiment.sweep import SweepResult

SCENARIO = OPERATING / "project_teams.toml"
METRICS = ["lead_time_mean_ticks", "rework_rate", "knowledge_held_mean", "value_for_money", "throughput_per_tick"]


def design(quick: bool) -> Design:
    factors = {
        "structure": STRUCTURES,
        "operating_model.kind": ["product", "project"],
        "demand.arrival_rate": [7.0] if quick else [7.0, 9.0],
    }
    if quick:
        factors |= QUICK
    return Design.grid(SCENARIO, factors, reps=2 if quick else REPS, seed=2031)


def plots(quick: bool):
    def draw(result: SweepResult, out: Path) -> None:
        bar_plots(METRICS)(result, out)
        cases = {
            f"{structure}, {kind}": [
                f"structure={structure}",
                f"operating_model.kind={kind}",
                *(QUICK_TICKS if quick else []),
            ]
            for structure in STRUCTURES
            for kind in ("product", "project")
        }
        title = "Knowledge the organisation holds (best team per service)"
        plot_series_over_time(SCENARIO, cases, "knowledge_held", out / "knowledge_over_time.png", 3 - 2 * quick, title)

    return draw


if __name__ == "__main__":
    args = arguments("project_product", __doc__)
    run(args, design(args.quick), plots(args.quick))

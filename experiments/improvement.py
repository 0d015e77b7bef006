"""Operating models, improvement work and viral change: when does ownership-driven
improvement outpace central prioritisation, and how fast do improvements travel?

From the end of the warm-up every deciding unit sets aside a share of its people's capacity
for improving services (scenarios/operating/improvement.toml, docs/ODD.md 7.10): under
micro-providers each owner, from its own figures, for its own services, as its own work;
under central IT one centre, from every team's figures, for every service, through the
silo pipeline. Teams copy the improvements of the teams they exchange work with, each
copy costing a learning dip. Improvement share (0: none, the baseline) x structure x
dependencies per service (which shapes the work network copies travel on) x arrival rate
(load), 10 replications per point.

Writes the sweep's tables (runs, summary, and comparison between structures at each
point) and two more to results/improvement/:

- ``policy``: at each structure, density and load, every improvement share against none
  (Welch: the points have their own seeds), for delivery, rework and the factors;
  ``p_adj`` is Benjamini-Hochberg over all the table's tests of the same metric;
- ``travel``: copies per improvement made (improvements copied / made, per run) by point
  and structure (mean, 95% interval, n) and micro-providers against central IT (paired by
  replicate, Benjamini-Hochberg over the table);

and figures: the services' mean effort and defect factors over time, one line per structure
and share, and bar charts of the headline metrics over the design points."""

from __future__ import annotations

from pathlib import Path

from common import OPERATING, QUICK, STRUCTURES, arguments, bar_plots, run

import pandas as pd
from scipy import stats

from sim.experiment.design import STRUCTURE, Design
from sim.experiment.plots import new_figure, save_figure
from sim.experiment.sweep import SweepResult
from sim.experiment.tables import comparison_table, summary_table, table_provenance, verdict, write_table
from sim.scenario.files import load_scenario

SCENARIO = OPERATING / "improvement.toml"
SHARE, DEPS, RATE = "improvement.effort_share", "organisation.dependencies_per_service", "demand.arrival_rate"
REPS, QUICK_REPS, SEED = 10, 2, 2043
METRICS = [
    "throughput_per_tick",
    "backlog_growth_per_tick",
    "lead_time_mean_ticks",
    "rework_rate",
    "improvement_effort_share",
    "improvements_done",
    "improvements_failed",
    "improvements_copied",
    "effort_factor_final",
    "defect_factor_final",
    "ktlo_factor_final",
    "value_for_money",
]
POLICY_METRICS = [
    "throughput_per_tick",
    "backlog_growth_per_tick",
    "lead_time_mean_ticks",
    "rework_rate",
    "effort_factor_final",
    "defect_factor_final",
    "value_for_money",
]
REACH = "copies_per_improvement"
MULTIPLICITY = "p_adj: Benjamini-Hochberg (scipy.stats.false_discovery_control) over all the table's tests of a metric"


def factors(quick: bool) -> dict[str, list]:
    if quick:
        return {STRUCTURE: STRUCTURES, SHARE: [0.0, 0.15], DEPS: [4.0], RATE: [6.0]} | QUICK
    return {STRUCTURE: STRUCTURES, SHARE: [0.0, 0.15], DEPS: [0.5, 2.0, 4.0], RATE: [6.0, 7.5]}


def design(quick: bool) -> Design:
    return Design.grid(SCENARIO, factors(quick), reps=QUICK_REPS if quick else REPS, seed=SEED)


def policy_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Each improvement share against none, within structure, density and load (unpaired)."""
    by = [STRUCTURE, DEPS, RATE]
    shares = sorted(runs[SHARE].unique())
    parts = [
        comparison_table(runs, by, group=SHARE, a=0.0, b=share, pair_on=None, metrics=POLICY_METRICS)
        for share in shares
        if share > 0
    ]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if table.empty:
        return table
    for _, rows in table.groupby("metric"):
        finite = rows["p"].notna()
        table.loc[rows.index[finite], "p_adj"] = stats.false_discovery_control(rows.loc[finite, "p"])
    table["significant"] = table["p_adj"] < 0.05
    table["verdict"] = [verdict(row) for row in table.to_dict("records")]
    return table


def travel_tables(runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Copies per improvement made, by point and structure, and between the structures."""
    runs = runs[runs[SHARE] > 0].copy()
    made = runs["improvements_done"].where(runs["improvements_done"] > 0)
    runs[REACH] = runs["improvements_copied"] / made
    by = [SHARE, DEPS, RATE]
    return summary_table(runs, [*by, STRUCTURE], [REACH]), comparison_table(runs, by, metrics=[REACH])


def plot_factors(quick: bool, out: Path) -> None:
    """The services' mean effort and defect factors over time, per structure and share, at
    the middle of the design (first density, first load), mean of a few seeds."""
    point = factors(quick)
    base = [f"{DEPS}={point[DEPS][0]}", f"{RATE}={point[RATE][0]}"]
    if quick:
        base += [f"{key}={values[0]}" for key, values in QUICK.items()]
    seeds = 1 if quick else 3
    from sim.run import run_scenario  # the model, loaded in this process only for this figure

    figure = new_figure(10.0, 4.2)
    axes = [figure.add_subplot(1, 2, k) for k in (1, 2)]
    for structure in STRUCTURES:
        for share in [s for s in point[SHARE] if s > 0]:
            config = load_scenario(SCENARIO, [f"structure={structure}", f"{SHARE}={share}", *base])
            series = [run_scenario(config, seed=seed).series for seed in range(seeds)]
            for ax, column in zip(axes, ("effort_factor", "defect_factor"), strict=True):
                mean = pd.concat([s[column] for s in series], axis=1).mean(axis=1)
                ax.plot(mean.index, mean, label=f"{structure}, share {share:g}")
    for ax, name in zip(axes, ("effort factor", "defect factor"), strict=True):
        ax.set_xlabel("tick")
        ax.set_ylabel(f"services' mean {name} (mean of {seeds} seeds)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    figure.suptitle(f"Improvement over time ({point[DEPS][0]:g} dependencies per service, {point[RATE][0]:g} a day)")
    save_figure(figure, out / "factors_over_time.png")


def plots(quick: bool):
    def draw(result: SweepResult, out: Path) -> None:
        bar_plots(METRICS)(result, out)
        plot_factors(quick, out)
        runs = result.runs
        provenance = table_provenance(result.design, table="policy", multiplicity=MULTIPLICITY)
        write_table(policy_table(runs), out, "policy", provenance)
        summary, comparison = travel_tables(runs)
        write_table(summary, out, "travel", table_provenance(result.design, table="travel"))
        travel = table_provenance(result.design, table="travel_comparison", multiplicity=MULTIPLICITY)
        write_table(comparison, out, "travel_comparison", travel)

    return draw


if __name__ == "__main__":
    args = arguments("improvement", __doc__)
    args.precision = args.max_reps = args.precision_metric = None  # 10 replications per point, no more
    run(args, design(args.quick), plots(args.quick))

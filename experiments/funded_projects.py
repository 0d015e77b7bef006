"""Operating models, projects that start and end: features funded as projects (assembled,
built, handed over, disbanded) against durable product teams, by structure, project
length and load.

The shipped scenario scenarios/operating/funded_projects.toml funds the waiting features
every 20 days as one project sized to finish in its planned length; the project team is
assembled from the people available, hands each feature to the team that runs its service
and disbands. Four arms: the product model (durable teams) and funded projects planned for
20, 60 and 180 days; each arm at two loads (5.5 and 7 items a day) under both structures,
10 replications per point (fixed, no precision rule: every arm needs the same seeds).

Each arm is its own sweep (``sweeps/ARM/`` under ``--out``) over the same points, so run
r of every arm and structure at a load has the same seed: the comparison between arms is
paired by seed (common random numbers). Writes to results/funded_projects/:

- ``runs``: every run with its ``arm``;
- ``summary``: mean, 95% interval and n per arm, structure and load;
- ``comparison``: each project arm against the product model within structure x load
  (``compared`` = ``operating models``, paired on the seed), and central IT against
  micro-providers within arm x load (``compared`` = ``structures``, paired on the seed);
  ``p_adj`` is Benjamini-Hochberg over all the table's tests of the same metric. Lead times
  are not compared where a majority of either side's runs are unstable (``verdict``).

and a bar chart per metric over arms, structures and loads."""

from __future__ import annotations

import math
from pathlib import Path

from common import OPERATING, QUICK_POINT, STRUCTURES, arguments, one_line_errors, sweep_options

import pandas as pd
from scipy import stats

from sim.experiment.design import STRUCTURE, Design
from sim.experiment.plots import plot_metric_by_point
from sim.experiment.sweep import run_sweep
from sim.experiment.tables import alpha, comparison_table, summary_table, table_provenance, verdict, write_table
from sim.scenario.files import load_scenario

SCENARIO = OPERATING / "funded_projects.toml"
LOAD = "demand.arrival_rate"
ARM = "arm"
PRODUCT = "product"
METRICS = [
    "stable",
    "throughput_per_tick",
    "backlog_growth_per_tick",
    "feature_lead_time_mean_ticks",
    "lead_time_mean_ticks",
    "backlog_wait_mean_ticks",
    "run_knowledge_mean",
    "knowledge_held_mean",
    "incidents_after_release_per_tick",
    "change_failure_rate",
    "tech_debt_mean",
    "ktlo_skipped_share",
    "project_people_share",
    "utilisation",
]
REPS, QUICK_REPS, SEED = 10, 2, 2053
MULTIPLICITY = (
    "p_adj: Benjamini-Hochberg (scipy.stats.false_discovery_control) over all the table's tests of the same metric"
)


def arms(quick: bool) -> dict[str, list[str]]:
    """Each arm's overrides of the shipped scenario: the product model and project lengths."""
    lengths = [60] if quick else [20, 60, 180]
    found = {PRODUCT: ["operating_model.kind=product"]}
    for ticks in lengths:
        found[f"projects_{ticks}"] = ["operating_model.kind=funded_projects", f"operating_model.project_ticks={ticks}"]
    return found


def design(arm: list[str], quick: bool) -> Design:
    loads = [7.0] if quick else [5.5, 7.0]
    base = load_scenario(SCENARIO, arm)
    points = [{STRUCTURE: s, LOAD: load} | (QUICK_POINT if quick else {}) for load in loads for s in STRUCTURES]
    return Design.from_points(base, points, reps=QUICK_REPS if quick else REPS, seed=SEED)


def comparison(runs: pd.DataFrame) -> pd.DataFrame:
    """Project arms against the product model (by structure and load) and structures
    against each other (by arm and load), paired on the seed, adjusted together per metric."""
    metrics = [m for m in METRICS if m != "stable"]
    parts = []
    for arm in runs[ARM].unique():
        if arm == PRODUCT:
            continue
        pair = runs[runs[ARM].isin([PRODUCT, arm])]
        table = comparison_table(pair, [STRUCTURE, LOAD], group=ARM, a=PRODUCT, b=arm, pair_on="seed", metrics=metrics)
        parts.append(table.assign(compared="operating models", **{ARM: arm}))
    between = comparison_table(runs, [ARM, LOAD], pair_on="seed", metrics=metrics).assign(compared="structures")
    table = pd.concat([*parts, between], ignore_index=True)
    first = ["compared", ARM, STRUCTURE, LOAD]
    table = table[[*first, *[c for c in table.columns if c not in first]]]
    table["p_adj"] = math.nan
    for _, rows in table.groupby("metric", sort=False):
        tested = rows["p"][rows["p"].notna()]
        if len(tested):
            table.loc[tested.index, "p_adj"] = stats.false_discovery_control(tested.to_numpy(dtype=float), method="bh")
    table["significant"] = table["p_adj"] < alpha(0.95)
    table["verdict"] = [verdict(row) for row in table.to_dict("records")]
    return table.sort_values(["metric", "compared", LOAD], kind="stable", ignore_index=True)


def plots(summary: pd.DataFrame, out: Path) -> None:
    for metric in METRICS:
        if metric != "stable":
            plot_metric_by_point(summary, metric, out / f"{metric}.png")


def main() -> None:
    args = arguments("funded_projects", __doc__, precision=False)
    runs, designs = [], {}
    with one_line_errors(args):
        for name, overrides in arms(args.quick).items():
            designs[name] = design(overrides, args.quick)
            result = run_sweep(designs[name], args.out / "sweeps" / name, **sweep_options(args))
            runs.append(result.runs.assign(**{ARM: name}))
            print(f"{name}: {len(result.runs)} runs ({result.ran} run now, {result.skipped} resumed)")
    frame = pd.concat(runs, ignore_index=True)
    first = designs[PRODUCT]
    extra = {"arms": arms(args.quick), "paired_on": "seed"}
    summary = summary_table(frame, [ARM, STRUCTURE, LOAD], METRICS)
    write_table(frame, args.out, "runs", table_provenance(first, table="runs", **extra))
    write_table(summary, args.out, "summary", table_provenance(first, table="summary", **extra))
    write_table(
        comparison(frame),
        args.out,
        "comparison",
        table_provenance(first, table="comparison", **extra) | {"multiplicity": MULTIPLICITY},
    )
    plots(summary, args.out)
    print(f"runs, summary and comparison tables -> {args.out}")


if __name__ == "__main__":
    main()

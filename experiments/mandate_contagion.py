"""Operating models, mandate against contagion: does a central mandate spread a practice
faster than imitation along the work network, and under which structure and density?

One team adopts a practice when the warm-up ends (scenarios/operating/mandate.toml). It
spreads in one of three modes: by imitation of the teams a team exchanges work with
(``imitation``: the scenario's imitation chance, no mandate), by a central mandate alone
(``mandate``: imitation chance 0; after the scenario's lag every non-adopter complies with
its chance per day), or both (``both``). Every mode keeps the small outside influence and
the learning dip that slows loaded teams. Modes x structure x dependencies per service
(which shapes the work network) at the shipped load.

Writes the sweep's tables (runs, summary, and comparison between structures at each
point) and two more to results/mandate_contagion/:

- ``adoption_times``: per mode, structure and density, Kaplan-Meier t50 and t90 (days
  from the start to 50% / 90% of teams; a run that never gets there is censored at its
  horizon, not dropped) with their 95% intervals and the share of runs that got there,
  and the mean final share;
- ``logrank``: log-rank tests between every two modes within each structure x density,
  and between the structures within each mode x density; ``p_adj`` is Benjamini-Hochberg
  (``scipy.stats.false_discovery_control``) over all the table's tests of the same metric.

and the adoption curves (mean share per day with its 95% band), one figure per structure
and density with a line per mode."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

from common import OPERATING, QUICK_POINT, STRUCTURES, arguments, run

import pandas as pd
from scipy import stats

from sim.experiment.design import STRUCTURE, Design
from sim.experiment.plots import plot_adoption_curves
from sim.experiment.sweep import SweepResult
from sim.experiment.tables import alpha, comparison_table, summary_table, table_provenance, verdict, write_table
from sim.scenario.files import load_scenario, validate_scenario

SCENARIO = OPERATING / "mandate.toml"
DEPS, IMITATION, LAG = "organisation.dependencies_per_service", "spread.imitation_prob", "spread.mandate_lag_ticks"
TIMES = ["adoption_t50_ticks", "adoption_t90_ticks"]
MODE = "mode"
REPS, QUICK_REPS, SEED = 20, 2, 2041
MULTIPLICITY = (
    "p_adj: Benjamini-Hochberg (scipy.stats.false_discovery_control) over all the table's tests of the same metric"
)


def modes() -> dict[str, dict[str, float | int | None]]:
    """Each mode's spread keys, from the shipped scenario's imitation chance and lag."""
    spread = load_scenario(SCENARIO).spread
    return {
        "imitation": {IMITATION: spread.imitation_prob, LAG: None},
        "mandate": {IMITATION: 0.0, LAG: spread.mandate_lag_ticks},
        "both": {IMITATION: spread.imitation_prob, LAG: spread.mandate_lag_ticks},
    }


def design(quick: bool) -> Design:
    densities = [0.5, 4.0] if quick else [0.5, 2.0, 4.0]
    points = [
        {STRUCTURE: structure, DEPS: deps} | keys | (QUICK_POINT if quick else {})
        for keys in modes().values()
        for deps in densities
        for structure in STRUCTURES
    ]
    return Design.from_points(SCENARIO, points, reps=QUICK_REPS if quick else REPS, seed=SEED)


def mode_of(frame: pd.DataFrame) -> pd.Series:
    """Each row's mode, read from its imitation chance and mandate lag."""
    names = {(keys[IMITATION] > 0, keys[LAG] is not None): name for name, keys in modes().items()}
    lagged = frame[LAG].notna()
    return pd.Series([names[key] for key in zip(frame[IMITATION] > 0, lagged, strict=True)], index=frame.index)


def adoption_times(runs: pd.DataFrame) -> pd.DataFrame:
    """Kaplan-Meier t50/t90 and the mean final share per mode, structure and density."""
    return summary_table(runs, [MODE, STRUCTURE, DEPS], [*TIMES, "adoption_final_share"])


def logrank_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Log-rank tests between modes (within structure x density) and between structures
    (within mode x density), adjusted together per metric."""
    parts = [
        comparison_table(runs, [STRUCTURE, DEPS], group=MODE, a=a, b=b, pair_on=None, metrics=TIMES)
        for a, b in itertools.combinations(modes(), 2)
    ]
    between_modes = pd.concat(parts, ignore_index=True).assign(compared="modes")
    between_structures = comparison_table(runs, [MODE, DEPS], metrics=TIMES).assign(compared="structures")
    table = pd.concat([between_modes, between_structures], ignore_index=True)
    table = table[["compared", MODE, STRUCTURE, *[c for c in table.columns if c not in ("compared", MODE, STRUCTURE)]]]
    table["p_adj"] = math.nan
    for _, rows in table.groupby("metric", sort=False):
        tested = rows["p"][rows["p"].notna()]
        table.loc[tested.index, "p_adj"] = stats.false_discovery_control(tested.to_numpy(dtype=float), method="bh")
    table["significant"] = table["p_adj"] < alpha(0.95)
    table["verdict"] = [verdict(row) for row in table.to_dict("records")]
    keep = ["p_paired_t", "p_welch", "p_mannwhitney", "hedges_g", "n_pairs", "diff_ci_low", "diff_ci_high"]
    return table.drop(columns=keep).sort_values(["metric", "compared", DEPS], kind="stable", ignore_index=True)


def plots(result: SweepResult, out: Path) -> None:
    curves = result.adoption.assign(**{MODE: lambda f: mode_of(f)})
    start = validate_scenario(result.design.scenario(result.design.points[0])).spread_start_tick
    lag = modes()["mandate"][LAG]
    for structure, deps in itertools.product(STRUCTURES, sorted(curves[DEPS].unique())):
        plot_adoption_curves(
            curves,
            out / f"adoption_curves_{structure}_deps_{deps:g}.png",
            by=MODE,
            where={STRUCTURE: structure, DEPS: deps},
            title=f"Adoption by mode: {structure}, {deps:g} dependencies per service\n"
            f"(practice from day {start}, mandate from day {start + lag}; mean, 95% band)",
        )


def write_survival_tables(result: SweepResult) -> None:
    runs = result.runs.assign(**{MODE: lambda f: mode_of(f)})
    for name, frame in (("adoption_times", adoption_times(runs)), ("logrank", logrank_table(runs))):
        extra = {"multiplicity": MULTIPLICITY} if name == "logrank" else {}
        write_table(frame, result.out, name, table_provenance(result.design, table=name, **extra))
    print(f"adoption_times and logrank tables -> {result.out}")


if __name__ == "__main__":
    args = arguments("mandate_contagion", __doc__, precision=False)
    # Fixed replications: the precision rule reads means, and adoption times are censored.
    args.precision = args.max_reps = args.precision_metric = None
    write_survival_tables(run(args, design(args.quick), plots, collect_adoption=True))

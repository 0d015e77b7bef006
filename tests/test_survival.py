"""Censored adoption times: the Kaplan-Meier median and its interval against a worked
example, the log-rank test on cases whose answer is clear, and the tables that use them."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.experiment.survival import km_median, logrank_p
from sim.experiment.tables import comparison_table, summary_table

Z = 1.959963985  # standard normal 97.5% point

# Six runs: reached the level at 3, 5, 6 and 8 ticks (horizon 10); two never did, within
# horizons of 4 and 5 ticks (censored there).
TIMES = [3.0, None, 5.0, 6.0, None, 8.0]
HORIZONS = [10, 4, 10, 10, 5, 10]


def test_km_median_and_interval_by_hand():
    # Kaplan-Meier (an event at t counts before a censoring at t):
    #   t=3: 6 at risk, 1 event -> S = 5/6;  t=4: censored, 4 at risk left
    #   t=5: 4 at risk, 1 event -> S = 5/6 x 3/4 = 0.625;  t=5: censored, 2 left
    #   t=6: 2 at risk, 1 event -> S = 0.3125 <= 0.5: the median is 6
    #   t=8: 1 at risk, 1 event -> S = 0.
    # Dropping the censored runs would give a median of 5.5; counting them as reached at
    # their horizon, 5.
    result = km_median(TIMES, HORIZONS)
    assert result["n"] == 6 and result["reached_share"] == pytest.approx(4 / 6)
    assert result["median"] == 6.0
    # Greenwood: Var S(t) = S(t)^2 sum d / (n (n - d)); linear band S +- z sqrt(Var).
    s3, s5, s6 = 5 / 6, 0.625, 0.3125
    g3, g5 = 1 / 30, 1 / 30 + 1 / 12
    g6 = g5 + 1 / 2
    assert s3 - Z * s3 * math.sqrt(g3) == pytest.approx(0.5352, abs=1e-4)  # > 0.5
    assert s5 - Z * s5 * math.sqrt(g5) == pytest.approx(0.2066, abs=1e-4)  # <= 0.5: lower limit 5
    assert s6 + Z * s6 * math.sqrt(g6) == pytest.approx(0.7934, abs=1e-4)  # > 0.5; S(8) = 0: upper limit 8
    assert (result["ci_low"], result["ci_high"]) == (5.0, 8.0)


def test_km_median_undefined_when_half_never_reach():
    result = km_median([2.0, None, None, None], [10, 10, 10, 10])
    assert result["reached_share"] == 0.25
    assert math.isnan(result["median"]) and math.isnan(result["ci_high"])
    nobody = km_median([None, None], [10, 10])
    assert nobody["reached_share"] == 0 and math.isnan(nobody["median"])


def test_logrank_finds_a_side_that_never_reaches_against_one_that_reaches_fast():
    never = ([None] * 6, [50] * 6)
    fast = ([2.0, 3.0, 3.0, 4.0, 2.0, 5.0], [50] * 6)
    assert logrank_p(*never, *fast) < 0.01
    assert logrank_p(*fast, *fast) == pytest.approx(1.0)
    assert logrank_p(*never, *never) == 1.0


def adoption_runs() -> pd.DataFrame:
    """One point; central IT reaches t50 within 20-30 ticks in 3 of 6 runs, micro-providers
    in 3-8 ticks in every run; all horizons 40."""
    rows = []
    for rep in range(6):
        slow = 20.0 + 5 * rep if rep < 3 else None
        rows.append({"structure": "central_it", "replicate": rep, "adoption_t50_ticks": slow})
        rows.append({"structure": "micro_provider", "replicate": rep, "adoption_t50_ticks": 3.0 + rep})
    return pd.DataFrame(rows).assign(adoption_horizon_ticks=40, x=0)


def test_tables_use_kaplan_meier_and_logrank_for_censored_times():
    runs = adoption_runs()
    summary = summary_table(runs, ["x", "structure"], ["adoption_t50_ticks"]).set_index("structure")
    central = summary.loc["central_it"]
    # S drops to 5/6, 4/6, 3/6 at 20, 25, 30: the median is 30; half the runs reached.
    assert (central["estimator"], central["n"], central["mean"]) == ("km_median", 6, 30.0)
    assert central["reached_share"] == 0.5
    micro = summary.loc["micro_provider"]
    assert micro["mean"] == 5.0 and micro["reached_share"] == 1.0  # S = 0.5 at 5 (3, 4, 5 reached)
    row = comparison_table(runs, ["x"], metrics=["adoption_t50_ticks"]).iloc[0]
    assert row["method"] == "logrank" and row["estimator"] == "km_median"
    assert (row["mean_a"], row["mean_b"], row["diff"]) == (30.0, 5.0, -25.0)
    assert (row["reached_share_a"], row["reached_share_b"]) == (0.5, 1.0)
    assert row["p"] == pytest.approx(logrank_p(*_side(runs, "central_it"), *_side(runs, "micro_provider")))
    assert row["p"] < 0.01 and row["verdict"] == "micro_provider better"


def test_a_median_never_reached_counts_as_beyond_the_horizon():
    runs = adoption_runs()
    runs.loc[runs["structure"] == "central_it", "adoption_t50_ticks"] = np.nan
    row = comparison_table(runs, ["x"], metrics=["adoption_t50_ticks"]).iloc[0]
    assert math.isnan(row["mean_a"]) and row["diff"] == -math.inf
    assert row["verdict"] == "micro_provider better"


def _side(runs: pd.DataFrame, structure: str) -> tuple[np.ndarray, np.ndarray]:
    side = runs[runs["structure"] == structure]
    return side["adoption_t50_ticks"].to_numpy(dtype=float), side["adoption_horizon_ticks"].to_numpy(dtype=float)

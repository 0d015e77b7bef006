"""Oracles for the statistics of the result tables (sim/experiment/tables.py) and the
pooled adoption band (sim/experiment/plots.py).

Means, variances and degrees of freedom are worked out by hand in comments; quantiles and
p-values come from scipy (``stats.t``, ``ttest_rel``, ``ttest_ind``) or, for Mann-Whitney,
from the exact null distribution of U enumerated here; Hedges' g follows Lakens (2013),
"Calculating and reporting effect sizes to facilitate cumulative science", Front. Psychol.
4:863, eqs. 1 and 4 (d_s with the pooled SD; g_s = d_s (1 - 3 / (4 (n1 + n2) - 9))).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.experiment import plots
from sim.experiment.tables import comparison_table, summary_table

METRIC = "throughput_per_tick"  # any registered metric name: the tables read registry columns
# Central IT and micro-provider at one design point, replicates 0-3 (paired on replicate).
A = [1.0, 2.0, 4.0, 9.0]  # mean 4; deviations -3 -2 0 5: SS 38, s^2 = 38/3
B = [2.0, 2.0, 7.0, 12.0]  # mean 5.75; differences B - A: 1 0 3 3


def runs_table(a=A, b=B, point: float = 0.5) -> pd.DataFrame:
    """A runs table as a sweep writes it: design columns, structure, replicate, metrics."""
    rows = [
        {"arrival_rate": point, "structure": s, "replicate": r, METRIC: v}
        for s, values in (("central_it", a), ("micro_provider", b))
        for r, v in enumerate(values)
    ]
    return pd.DataFrame(rows)


def test_summary_mean_std_and_t_interval_by_hand() -> None:
    table = summary_table(runs_table(), by=["arrival_rate", "structure"], metrics=[METRIC])
    row = table[table["structure"] == "central_it"].iloc[0]
    # n 4, mean 16/4 = 4, s = sqrt(38/3); half-width t_{.975, 3} s / sqrt(4)
    half = stats.t.ppf(0.975, 3) * math.sqrt(38 / 3) / 2
    assert row["n"] == 4
    assert row["mean"] == pytest.approx(4.0)
    assert row["std"] == pytest.approx(math.sqrt(38 / 3))
    assert row["ci_low"] == pytest.approx(4.0 - half)
    assert row["ci_high"] == pytest.approx(4.0 + half)
    assert half == pytest.approx(5.6628, abs=5e-4)  # 3.18245 x 3.55903 / 2


def test_summary_leaves_missing_values_out_of_n() -> None:
    runs = runs_table(a=[1.0, None, 4.0, 7.0])
    table = summary_table(runs, by=["arrival_rate", "structure"], metrics=[METRIC])
    row = table[table["structure"] == "central_it"].iloc[0]
    # 1, 4, 7: n 3, mean 4, SS 9 + 0 + 9 = 18, s^2 = 9, s = 3; half = t_{.975, 2} x 3 / sqrt 3
    assert row["n"] == 3
    assert row["mean"] == pytest.approx(4.0)
    assert row["std"] == pytest.approx(3.0)
    assert row["ci_high"] - row["mean"] == pytest.approx(stats.t.ppf(0.975, 2) * 3 / math.sqrt(3))


def comparison_row(runs: pd.DataFrame, **kw) -> pd.Series:
    table = comparison_table(runs, by=["arrival_rate"], metrics=[METRIC], **kw)
    assert len(table) == 1
    return table.iloc[0]


def test_paired_difference_interval_and_p_value() -> None:
    row = comparison_row(runs_table())
    # differences 1 0 3 3: mean 7/4 = 1.75; deviations -.75 -1.75 1.25 1.25: SS 6.75,
    # s_d^2 = 6.75 / 3 = 2.25, s_d = 1.5, SE = 1.5 / 2 = .75, t = 1.75 / .75 = 2.333 on 3 df
    half = stats.t.ppf(0.975, 3) * 0.75
    assert row["method"] == "paired t"
    assert row["n_pairs"] == 4
    assert row["diff"] == pytest.approx(1.75)
    assert row["diff_ci_low"] == pytest.approx(1.75 - half)
    assert row["diff_ci_high"] == pytest.approx(1.75 + half)
    assert row["p"] == pytest.approx(2 * stats.t.sf(1.75 / 0.75, 3))
    assert row["p_paired_t"] == pytest.approx(stats.ttest_rel(B, A).pvalue)
    assert row["significant"] == bool(row["p"] < 0.05)
    assert row["mean_a"] == pytest.approx(4.0)
    assert row["mean_b"] == pytest.approx(5.75)


def test_pairs_match_on_replicate_not_on_row_order() -> None:
    runs = runs_table()
    shuffled = pd.concat([runs.iloc[:4], runs.iloc[4:].iloc[::-1]], ignore_index=True)
    assert comparison_row(shuffled)["diff_ci_low"] == pytest.approx(comparison_row(runs)["diff_ci_low"])
    assert comparison_row(shuffled)["p"] == pytest.approx(stats.ttest_rel(B, A).pvalue)


def test_welch_when_unpaired() -> None:
    row = comparison_row(runs_table(), pair_on=None)
    # Welch: var_a / n = (38/3) / 4 = 3.1667; B: mean 5.75, deviations -3.75 -3.75 1.25 6.25:
    # SS 14.0625 x 2 + 1.5625 + 39.0625 = 68.75, s^2 = 22.917, / 4 = 5.7292; SE^2 = 8.8958
    va, vb = 38 / 3 / 4, 68.75 / 3 / 4
    # Welch-Satterthwaite: 8.8958^2 / (3.1667^2 / 3 + 5.7292^2 / 3) = 79.136 / 14.284 = 5.540
    df = (va + vb) ** 2 / (va**2 / 3 + vb**2 / 3)
    half = stats.t.ppf(0.975, df) * math.sqrt(va + vb)
    assert df == pytest.approx(5.540, abs=5e-4)
    assert row["method"] == "welch"
    assert row["diff"] == pytest.approx(1.75)
    assert row["diff_ci_low"] == pytest.approx(1.75 - half)
    assert row["diff_ci_high"] == pytest.approx(1.75 + half)
    assert row["p"] == pytest.approx(stats.ttest_ind(B, A, equal_var=False).pvalue)
    assert row["p_welch"] == pytest.approx(stats.ttest_ind(B, A, equal_var=False).pvalue)
    ci = stats.ttest_ind(B, A, equal_var=False).confidence_interval(0.95)
    assert (row["diff_ci_low"], row["diff_ci_high"]) == pytest.approx((ci.low, ci.high))


def exact_mann_whitney_p(a: list[float], b: list[float]) -> float:
    """Two-sided exact p of U (no ties): every split of the pooled ranks is equally likely
    under H0; p = 2 min(P(U <= u), P(U >= u)), at most 1."""
    pooled = sorted(a + b)
    rank = {v: i + 1 for i, v in enumerate(pooled)}
    nb = len(b)
    u_obs = sum(rank[v] for v in b) - nb * (nb + 1) / 2
    us = [sum(c) - nb * (nb + 1) / 2 for c in itertools.combinations(range(1, len(pooled) + 1), nb)]
    low = sum(u <= u_obs for u in us) / len(us)
    high = sum(u >= u_obs for u in us) / len(us)
    return min(1.0, 2 * min(low, high))


def test_mann_whitney_p_against_the_exact_distribution() -> None:
    a, b = [1.0, 2.0, 4.0, 9.0], [3.0, 5.0, 7.0, 12.0, 13.0]
    row = comparison_row(runs_table(a, b))
    # ranks of b in 1 2 3 4 5 7 9 12 13: 3 5 6 8 9 = 31; U = 31 - 15 = 16 of 20. Of the
    # C(9, 5) = 126 equally likely rank sets, U = 16, 17, 18, 19, 20 for 5, 3, 2, 1, 1 of them:
    # P(U >= 16) = 12 / 126, two-sided p = 24 / 126 = .1905
    assert exact_mann_whitney_p(a, b) == pytest.approx(24 / 126)
    assert row["p_mannwhitney"] == pytest.approx(24 / 126)
    assert row["p_mannwhitney"] == pytest.approx(stats.mannwhitneyu(b, a, alternative="two-sided").pvalue)


def test_hedges_g_on_equal_samples_by_hand() -> None:
    row = comparison_row(runs_table([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]))
    # both variances 1, pooled SD 1, d = (5 - 2) / 1 = 3; J = 1 - 3 / (4 x 6 - 9) = .8; g = 2.4
    assert row["hedges_g"] == pytest.approx(2.4)


def test_hedges_g_on_unequal_samples_by_hand_and_via_student_t() -> None:
    a, b = [1.0, 2.0, 3.0, 6.0], [5.0, 7.0, 9.0]
    row = comparison_row(runs_table(a, b))
    # a: mean 3, SS 4 + 1 + 0 + 9 = 14; b: mean 7, SS 4 + 0 + 4 = 8; pooled s^2 = 22 / 5 = 4.4
    # d = 4 / sqrt(4.4) = 1.90693; J = 1 - 3 / (4 x 7 - 9) = 16 / 19; g = 1.60584
    assert row["hedges_g"] == pytest.approx(16 / 19 * 4 / math.sqrt(4.4))
    # Lakens (2013) eq. 2: d_s = t sqrt(1/n1 + 1/n2) from Student's t
    t = stats.ttest_ind(b, a, equal_var=True).statistic
    assert row["hedges_g"] == pytest.approx(16 / 19 * t * math.sqrt(1 / 4 + 1 / 3))


def adoption_rows(point: float, samples: dict[int, list[float]]) -> list[dict]:
    """One design point's adoption table rows from raw per-run shares at each tick."""
    rows = []
    for tick, values in samples.items():
        x = np.array(values)
        std = float(x.std(ddof=1)) if len(x) > 1 else math.nan
        rows.append(
            {
                "arrival_rate": point,
                "structure": "central_it",
                "tick": tick,
                "n": len(x),
                "adoption_share_mean": float(x.mean()),
                "adoption_share_std": std,
            }
        )
    return rows


def test_pooled_adoption_band_equals_that_of_the_pooled_runs() -> None:
    """Pooling two points' per-tick (n, mean, std) must give the mean and t interval of all
    their runs together."""
    group = pd.DataFrame(
        adoption_rows(0.5, {0: [0.1, 0.3], 1: [0.5]}) + adoption_rows(0.9, {0: [0.2, 0.4, 0.6], 1: [0.7, 0.9]})
    )
    pooled = plots._pool(group).set_index("tick")
    # tick 0: .1 .3 .2 .4 .6: mean 1.6 / 5 = .32; deviations -.22 -.02 -.12 .08 .28:
    # SS .0484 + .0004 + .0144 + .0064 + .0784 = .148, s^2 = .148 / 4 = .037
    half0 = stats.t.ppf(0.975, 4) * math.sqrt(0.037 / 5)
    # tick 1: .5 .7 .9 (a point with one run has no std): mean .7, SS .08, s^2 = .04
    half1 = stats.t.ppf(0.975, 2) * math.sqrt(0.04 / 3)
    assert pooled.loc[0, "mean"] == pytest.approx(0.32)
    assert pooled.loc[0, "high"] - pooled.loc[0, "mean"] == pytest.approx(half0)
    assert pooled.loc[0, "mean"] - pooled.loc[0, "low"] == pytest.approx(half0)
    assert pooled.loc[1, "mean"] == pytest.approx(0.7)
    assert pooled.loc[1, "high"] - pooled.loc[1, "mean"] == pytest.approx(half1)


def test_pooled_band_of_a_single_run_has_no_width() -> None:
    pooled = plots._pool(pd.DataFrame(adoption_rows(0.5, {0: [0.25]}))).set_index("tick")
    assert pooled.loc[0, "mean"] == 0.25
    assert pooled.loc[0, "low"] == pooled.loc[0, "high"] == 0.25


# --- the win map's decision ------------------------------------------------------------------
def comparison_rows(metric: str, cells: list[tuple]) -> pd.DataFrame:
    """A comparison table written out: one row per (x, y, diff, p_adj, unstable_a, unstable_b)."""
    columns = ["x", "y", "diff", "p_adj", "unstable_a", "unstable_b"]
    frame = pd.DataFrame(cells, columns=columns)
    return frame.assign(metric=metric, a="central_it", b="micro_provider")


def test_win_cells_decide_each_point_by_direction_significance_and_stability() -> None:
    # lead time: lower is better, read from finished items only (so instability matters).
    rows = comparison_rows(
        "lead_time_mean_ticks",
        [
            (2, 1, -3.0, 0.010, 0.0, 0.0),  # b shorter, significant: micro-providers win
            (1, 1, +3.0, 0.010, 0.0, 0.0),  # b longer: central IT wins
            (3, 1, -3.0, 0.050, 0.0, 0.0),  # p not below 0.05: not significant
            (1, 2, -3.0, 0.049, 0.5, 0.0),  # half unstable is not a majority: b wins
            (2, 2, -3.0, 0.001, 0.0, 0.6),  # most of b's runs unstable: unstable
            (3, 2, 0.0, 0.001, 0.0, 0.0),  # no difference: not significant
        ],
    )
    cells = plots.win_cells(rows, "x", "y", "lead_time_mean_ticks")
    # sorted by y, then x
    assert list(zip(cells["x"], cells["y"], strict=True)) == [(1, 1), (2, 1), (3, 1), (1, 2), (2, 2), (3, 2)]
    assert list(cells["diff"]) == [3.0, -3.0, -3.0, -3.0, -3.0, 0.0]
    assert list(cells["winner"]) == [
        "central_it",
        "micro_provider",
        "no significant difference",
        "micro_provider",
        "unstable: compare throughput and backlog growth",
        "no significant difference",
    ]


def test_win_cells_read_the_metric_direction_and_its_override() -> None:
    # throughput: higher is better and not read from finished items, so instability is ignored.
    rows = comparison_rows("throughput_per_tick", [(1, 1, +0.5, 0.01, 0.9, 0.9), (2, 1, -0.5, 0.01, 0.0, 0.0)])
    assert list(plots.win_cells(rows, "x", "y", "throughput_per_tick")["winner"]) == ["micro_provider", "central_it"]
    flipped = plots.win_cells(rows, "x", "y", "throughput_per_tick", higher_is_better=False)
    assert list(flipped["winner"]) == ["central_it", "micro_provider"]
    custom = comparison_rows("m", [(1, 1, +0.5, 0.01, 0.0, 0.0)])
    with pytest.raises(ValueError, match="no better direction"):
        plots.win_cells(custom, "x", "y", "m")
    assert list(plots.win_cells(custom, "x", "y", "m", higher_is_better=True)["winner"]) == ["micro_provider"]


def test_win_cells_refuse_what_they_cannot_map() -> None:
    rows = pd.concat(
        [comparison_rows("throughput_per_tick", [(1, 1, 0.5, 0.01, 0, 0)]).assign(z=z) for z in (1, 2)],
        ignore_index=True,
    )
    with pytest.raises(ValueError, match="several rows per x, y"):
        plots.win_cells(rows, "x", "y", "throughput_per_tick")
    picked = plots.win_cells(rows.assign(diff=[0.5, -0.5]), "x", "y", "throughput_per_tick", where={"z": 2})
    assert list(picked["winner"]) == ["central_it"] and list(picked["diff"]) == [-0.5]
    with pytest.raises(ValueError, match="no comparison rows"):
        plots.win_cells(rows, "x", "y", "lead_time_mean_ticks")
    with pytest.raises(ValueError, match="no parameter column 'w'"):
        plots.win_cells(rows, "x", "w", "throughput_per_tick", where={"z": 1})


def test_win_cells_come_as_a_fresh_table() -> None:
    rows = comparison_rows("throughput_per_tick", [(2, 1, 1, 0.01, 0, 0), (1, 1, -1, 0.01, 0, 0)]).set_axis([7, 9])
    cells = plots.win_cells(rows, "x", "y", "throughput_per_tick")
    assert list(cells.index) == [0, 1] and list(cells.columns) == ["x", "y", "diff", "winner"]
    assert list(cells["x"]) == [1, 2] and list(cells["winner"]) == ["central_it", "micro_provider"]


def test_selecting_rows_names_the_missing_column_and_the_columns_there_are() -> None:
    frame = pd.DataFrame({"x": [1, 2], "y": [3, 4]})
    assert plots._select(frame, {"x": 2}).to_dict("list") == {"x": [2], "y": [4]}
    with pytest.raises(ValueError) as error:
        plots._select(frame, {"q": 1})
    assert str(error.value) == "where: no column 'q'; columns: x, y"


def test_single_rows_refuse_other_varying_parameters_by_name() -> None:
    frame = pd.DataFrame({"x": [1, 2], "constant": [5, 5], "z": [1, 2], "w": [math.nan, 1.0]})
    plots._check_single(frame, ["constant", "absent"], ["x"])  # constant or absent columns are fine
    with pytest.raises(ValueError) as error:
        plots._check_single(frame, ["constant", "w"], ["x"])  # a missing value is a value of its own
    assert str(error.value) == "w also vary; pick one value with where={...} first"
    with pytest.raises(ValueError) as error:
        plots._check_single(frame, ["z", "w"], ["x"])
    assert str(error.value) == "z, w also vary; pick one value with where={...} first"
    with pytest.raises(ValueError, match="several rows per constant"):
        plots._check_single(frame, [], ["constant"])


def test_pooled_band_with_two_runs_has_one_degree_of_freedom_and_ticks_in_order() -> None:
    # ticks given last-first; tick 3 has exactly two runs (.2, .6): mean .4, s^2 = .08, df 1
    group = pd.DataFrame(adoption_rows(0.5, {3: [0.2], 1: [0.1]}) + adoption_rows(0.9, {3: [0.6], 1: [0.3]}))
    pooled = plots._pool(group)
    assert list(pooled["tick"]) == [1, 3]
    half = stats.t.ppf(0.975, 1) * math.sqrt(0.08 / 2)
    assert pooled["mean"].tolist() == pytest.approx([0.2, 0.4])
    assert (pooled["high"] - pooled["mean"]).tolist() == pytest.approx([stats.t.ppf(0.975, 1) * 0.1, half])


def test_pooled_band_of_identical_runs_has_no_width_despite_rounding() -> None:
    # three runs of 0.1: n * mean^2 rounds above the sum of squares, a variance of about -1e-18
    group = pd.DataFrame(adoption_rows(0.5, {0: [0.1, 0.1]}) + adoption_rows(0.9, {0: [0.1]}))
    pooled = plots._pool(group)
    assert pooled["low"].tolist() == pooled["high"].tolist() == pytest.approx([0.1])

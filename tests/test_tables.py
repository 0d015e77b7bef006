"""Summary and comparison statistics against hand computations and scipy, Markdown and
file output with provenance, and the plots."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.experiment.plots import plot_adoption_curves, plot_metric_vs_parameter, plot_win_map
from sim.experiment.tables import (
    MULTIPLICITY,
    NOT_SIGNIFICANT,
    UNSTABLE,
    compare_samples,
    comparison_table,
    describe,
    summary_table,
    table_provenance,
    to_markdown,
    verdict,
    write_table,
)

# Hand values: x = 2, 4, 4, 4, 5, 5, 7, 9 has mean 5 and s = sqrt(32 / 7);
# t_{0.975, 7} = 2.364624251 (t table), so the half-width is 2.364624251 * s / sqrt(8).
KNOWN = [2, 4, 4, 4, 5, 5, 7, 9]
KNOWN_S = math.sqrt(32 / 7)
KNOWN_HALF = 2.364624251 * KNOWN_S / math.sqrt(8)


def test_describe_matches_the_hand_computed_t_interval():
    result = describe(KNOWN)
    assert result["n"] == 8
    assert result["mean"] == pytest.approx(5.0)
    assert result["std"] == pytest.approx(KNOWN_S)
    assert KNOWN_HALF == pytest.approx(1.787488, abs=1e-6)  # 2.364624 * 2.138090 / 2.828427
    assert result["ci_low"] == pytest.approx(5.0 - KNOWN_HALF, rel=1e-8)
    assert result["ci_high"] == pytest.approx(5.0 + KNOWN_HALF, rel=1e-8)


def test_describe_counts_only_observed_values():
    result = describe([*KNOWN, None, float("nan")])
    assert result["n"] == 8
    assert result["mean"] == pytest.approx(5.0)
    single = describe([3.0, None])
    assert single["n"] == 1 and single["mean"] == 3.0
    assert math.isnan(single["std"]) and math.isnan(single["ci_low"])
    empty = describe([None, None])
    assert empty["n"] == 0 and math.isnan(empty["mean"])


def runs_frame() -> pd.DataFrame:
    """Two points x two structures x four replicates with known numbers."""
    rows = []
    base = {0: [10.0, 12.0, 11.0, 13.0], 1: [20.0, 22.0, 21.0, 25.0]}
    shift = [1.0, 2.0, 3.0, 2.0]  # micro_provider - central_it per replicate at point 0
    for point in (0, 1):
        for rep in range(4):
            a = base[point][rep]
            b = a + shift[rep] if point == 0 else a
            t90_a = None if rep == 3 else 40 + rep
            rows.append({"x": point, "structure": "central_it", "replicate": rep, "m": a, "adoption_t90_ticks": t90_a})
            rows.append({"x": point, "structure": "micro_provider", "replicate": rep, "m": b, "adoption_t90_ticks": 30})
    return pd.DataFrame(rows)


def test_summary_table_is_per_point_and_structure():
    table = summary_table(runs_frame(), ["x", "structure"], ["m", "adoption_t90_ticks"])
    stats_columns = ["n", "mean", "std", "ci_low", "ci_high", "estimator", "reached_share"]
    assert list(table.columns) == ["x", "structure", "metric", *stats_columns]
    assert set(table["estimator"]) == {"mean"}  # no horizon column: adoption times as observed
    assert len(table) == 2 * 2 * 2
    row = table[(table["x"] == 0) & (table["structure"] == "central_it") & (table["metric"] == "m")].iloc[0]
    assert row["mean"] == pytest.approx(11.5)
    half = stats.t.ppf(0.975, 3) * np.std([10, 12, 11, 13], ddof=1) / 2
    assert row["ci_high"] == pytest.approx(11.5 + half)
    t90 = table[(table["structure"] == "central_it") & (table["metric"] == "adoption_t90_ticks")]
    assert t90["n"].tolist() == [3, 3]


def test_paired_comparison_on_a_constructed_case():
    a = [10.0, 12.0, 11.0, 13.0]
    diffs = np.array([1.0, 2.0, 3.0, 2.0])
    b = list(np.array(a) + diffs)
    result = compare_samples(a, b, paired=(a, b))
    # Hand: mean difference 2, s_d = sqrt(2/3), t = 2 / (s_d / 2) = 4.899, df = 3.
    s_d = math.sqrt(2 / 3)
    assert result["method"] == "paired t"
    assert result["diff_paired"] == pytest.approx(2.0)
    assert result["ci_low"] == pytest.approx(2.0 - stats.t.ppf(0.975, 3) * s_d / 2)
    assert result["p_paired_t"] == pytest.approx(2 * stats.t.sf(2 / (s_d / 2), 3))
    assert result["p_paired_t"] == pytest.approx(stats.ttest_rel(b, a).pvalue)
    assert result["p"] == result["p_paired_t"]
    assert result["p_welch"] == pytest.approx(stats.ttest_ind(b, a, equal_var=False).pvalue)
    assert result["p_mannwhitney"] == pytest.approx(stats.mannwhitneyu(b, a, alternative="two-sided").pvalue)
    pooled = math.sqrt((np.var(a, ddof=1) + np.var(b, ddof=1)) / 2)
    g = (1 - 3 / (4 * 8 - 9)) * (np.mean(b) - np.mean(a)) / pooled
    assert result["hedges_g"] == pytest.approx(g)
    # Pairing removes the between-replicate spread: far stronger evidence than Welch.
    assert result["p_paired_t"] < 0.02 < result["p_welch"]


def test_unpaired_comparison_uses_welch():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 12), rng.normal(1, 2, 9)
    result = compare_samples(a, b)
    welch = stats.ttest_ind(b, a, equal_var=False)
    assert result["method"] == "welch"
    assert result["p"] == pytest.approx(welch.pvalue)
    ci = welch.confidence_interval(0.95)
    assert (result["ci_low"], result["ci_high"]) == pytest.approx((ci.low, ci.high))


def test_degenerate_samples_give_defined_p_values_without_warnings():
    same = compare_samples([1.0, 1.0, 1.0], [1.0, 1.0, 1.0], paired=([1.0] * 3, [1.0] * 3))
    assert same["p"] == 1.0 and same["p_welch"] == 1.0 and same["p_mannwhitney"] == 1.0
    assert math.isnan(same["hedges_g"])
    shifted = compare_samples([1.0, 2.0, 3.0], [2.0, 3.0, 4.0], paired=([1.0, 2.0, 3.0], [2.0, 3.0, 4.0]))
    assert shifted["p_paired_t"] == 0.0 and shifted["ci_low"] == shifted["ci_high"] == 1.0
    tiny = compare_samples([1.0], [2.0])
    assert math.isnan(tiny["p"]) and tiny["diff"] == 1.0


def test_comparison_table_pairs_by_replicate_and_skips_missing():
    table = comparison_table(runs_frame(), ["x"], metrics=["m", "adoption_t90_ticks"])
    assert len(table) == 4
    m0 = table[(table["x"] == 0) & (table["metric"] == "m")].iloc[0]
    assert (m0["a"], m0["b"]) == ("central_it", "micro_provider")
    assert m0["n_pairs"] == 4 and m0["diff"] == pytest.approx(2.0)
    assert m0["significant"]
    m1 = table[(table["x"] == 1) & (table["metric"] == "m")].iloc[0]
    assert m1["diff"] == 0.0 and m1["p"] == 1.0 and not m1["significant"]
    t90 = table[(table["x"] == 0) & (table["metric"] == "adoption_t90_ticks")].iloc[0]
    assert (t90["n_a"], t90["n_b"], t90["n_pairs"]) == (3, 4, 3)
    assert t90["diff"] == pytest.approx(30 - 41)


def cell(metric: str, diff: float, p_adj: float, unstable_a: float = 0.0, unstable_b: float = 0.0) -> dict:
    return {
        "metric": metric,
        "a": "central_it",
        "b": "micro_provider",
        "diff": diff,
        "p_adj": p_adj,
        "unstable_a": unstable_a,
        "unstable_b": unstable_b,
    }


def test_verdict_follows_each_metrics_direction():
    # Lead time: lower is better, so a negative b - a favours b.
    assert verdict(cell("lead_time_mean_ticks", -3.0, 0.01)) == "micro_provider better"
    assert verdict(cell("lead_time_mean_ticks", +3.0, 0.01)) == "central_it better"
    # Throughput: higher is better.
    assert verdict(cell("throughput_per_tick", +0.5, 0.01)) == "micro_provider better"
    assert verdict(cell("throughput_per_tick", -0.5, 0.01)) == "central_it better"
    assert verdict(cell("backlog_growth_per_tick", -0.5, 0.01)) == "micro_provider better"
    # An explicit direction overrides the table; a metric without one says which is higher.
    assert verdict(cell("m", -3.0, 0.01), higher_is_better=True) == "central_it better"
    assert verdict(cell("m", -3.0, 0.01)) == "central_it higher"


def test_verdict_needs_a_significant_adjusted_p_and_a_difference():
    assert verdict(cell("throughput_per_tick", 0.5, 0.05)) == NOT_SIGNIFICANT  # p_adj < 0.05 is needed
    assert verdict(cell("throughput_per_tick", 0.5, 0.049)) == "micro_provider better"
    assert verdict(cell("throughput_per_tick", 0.5, 0.02), level=0.99) == NOT_SIGNIFICANT
    assert verdict(cell("throughput_per_tick", 0.0, 0.0)) == NOT_SIGNIFICANT
    assert verdict(cell("throughput_per_tick", math.nan, math.nan)) == NOT_SIGNIFICANT
    # The raw p does not count: a row with p = 0.001 but p_adj = 0.2 is not significant.
    assert verdict(cell("throughput_per_tick", 0.5, 0.2) | {"p": 0.001}) == NOT_SIGNIFICANT


def test_verdict_never_compares_finished_item_times_where_a_side_is_mostly_unstable():
    for metric in ("lead_time_mean_ticks", "lead_time_p85_ticks", "queue_wait_mean_ticks", "flow_efficiency"):
        assert verdict(cell(metric, -11.0, 1e-6, unstable_b=0.6)) == UNSTABLE
        assert verdict(cell(metric, -11.0, 1e-6, unstable_a=1.0)) == UNSTABLE
    # Half is not a majority; unknown stability counts as stable.
    assert verdict(cell("lead_time_mean_ticks", -11.0, 1e-6, 0.5, 0.5)) == "micro_provider better"
    assert verdict(cell("lead_time_mean_ticks", -11.0, 1e-6, math.nan, math.nan)) == "micro_provider better"
    # Throughput and backlog growth are what unstable cells are compared on.
    assert verdict(cell("throughput_per_tick", -3.7, 1e-6, 0.0, 1.0)) == "central_it better"
    assert verdict(cell("backlog_growth_per_tick", 4.0, 1e-6, 0.0, 1.0)) == "central_it better"


def bh(p: list[float]) -> list[float]:
    """Benjamini-Hochberg by hand: p_(i) m / i, made monotone from the largest down."""
    order = np.argsort(p)
    m = len(p)
    adjusted = np.empty(m)
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p[i] * m / rank)
        adjusted[i] = running
    return list(adjusted)


def test_bh_by_hand():
    # Sorted 0.01, 0.03, 0.04, 0.5 (m = 4): 0.04, min(0.06, 0.0533), 0.0533, 0.5.
    assert bh([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.5])


def grid_runs() -> pd.DataFrame:
    """Four points; at point x the b side gains x + shift per replicate on ``m`` and is
    unstable in 3 of 4 replicates at x = 3."""
    rows = []
    shift = [0.5, 1.5, 1.0, 1.0]
    for x in range(4):
        for rep in range(4):
            a = 10.0 + rep
            b = a + 0.4 * x + shift[rep] - 1.0
            unstable_b = x == 3 and rep > 0
            rows.append({"x": x, "structure": "central_it", "replicate": rep, "m": a, "stable": True})
            rows.append({"x": x, "structure": "micro_provider", "replicate": rep, "m": b, "stable": not unstable_b})
    frame = pd.DataFrame(rows)
    return frame.assign(lead_time_mean_ticks=frame["m"], throughput_per_tick=frame["m"])


def test_comparison_adjusts_p_per_metric_and_marks_unstable_lead_time():
    runs = grid_runs()
    table = comparison_table(runs, ["x"], metrics=["m", "lead_time_mean_ticks", "throughput_per_tick"])
    for _, rows in table.groupby("metric"):
        assert rows["p_adj"].tolist() == pytest.approx(bh(rows["p"].tolist()))
        assert (rows["significant"] == (rows["p_adj"] < 0.05)).all()
    m = table[table["metric"] == "m"].set_index("x")
    # Some cell is significant on its raw p but not after the adjustment.
    assert ((m["p"] < 0.05) & ~m["significant"]).any()
    assert (m["verdict"] == [verdict(row) for row in m.reset_index().to_dict("records")]).all()
    assert m["unstable_a"].tolist() == [0, 0, 0, 0]
    assert m["unstable_b"].tolist() == [0, 0, 0, 0.75]
    lead = table[table["metric"] == "lead_time_mean_ticks"].set_index("x")
    assert lead.loc[3, "significant"] and lead.loc[3, "verdict"] == UNSTABLE
    assert lead.loc[3, "diff"] > 0 and lead.loc[2, "verdict"] != UNSTABLE
    throughput = table[table["metric"] == "throughput_per_tick"].set_index("x")
    assert throughput.loc[3, "verdict"] == "micro_provider better"
    # A runs table without the stability metric has unknown shares (counted as stable).
    plain = comparison_table(runs.drop(columns="stable"), ["x"], metrics=["lead_time_mean_ticks"])
    assert plain["unstable_b"].isna().all() and plain.iloc[3]["verdict"] == "central_it better"


def test_markdown_blanks_missing_values():
    frame = pd.DataFrame({"metric": ["a", "b"], "mean": [1.23456, float("nan")]})
    text = to_markdown(frame)
    lines = text.splitlines()
    assert lines[0].startswith("| metric") and "1.235" in text and "nan" not in text
    assert len(lines) == 4


def test_write_table_puts_provenance_beside_every_format(tmp_path):
    frame = summary_table(runs_frame(), ["x", "structure"], ["m"])
    provenance = table_provenance(table="summary", seed=3)
    paths = write_table(frame, tmp_path, "summary", provenance)
    assert set(paths) == {"csv", "parquet", "md", "provenance"}
    pd.testing.assert_frame_equal(pd.read_parquet(paths["parquet"]), frame)
    assert len(pd.read_csv(paths["csv"])) == len(frame)
    info = json.loads(paths["provenance"].read_text())
    for key in ("orgsim", "git_commit", "python", "numpy", "scipy", "mesa", "pandas", "seed", "created_utc"):
        assert key in info
    assert info["files"]["parquet"] == "summary.parquet"
    assert "seed 3" in paths["md"].read_text()
    assert "multiplicity" not in info


def test_comparison_provenance_says_how_p_is_adjusted(tmp_path):
    frame = comparison_table(grid_runs(), ["x"], metrics=["m"])
    paths = write_table(frame, tmp_path, "comparison", table_provenance(table="comparison"))
    assert json.loads(paths["provenance"].read_text())["multiplicity"] == MULTIPLICITY
    assert "Benjamini-Hochberg" in MULTIPLICITY and MULTIPLICITY in paths["md"].read_text()


def test_plots_write_non_empty_pngs(tmp_path):
    runs = runs_frame()
    summary = summary_table(runs, ["x", "structure"], ["m"])
    path = plot_metric_vs_parameter(summary, "x", "m", tmp_path / "line.png")
    assert path.stat().st_size > 1000 and path.read_bytes()[:4] == b"\x89PNG"
    grid = pd.concat([runs.assign(y=y) for y in (0.5, 1.5)])
    comparison = comparison_table(grid, ["x", "y"], metrics=["m"])
    path = plot_win_map(comparison, "x", "y", "m", tmp_path / "map.png", higher_is_better=False)
    assert path.stat().st_size > 1000
    unstable = comparison_table(grid_runs().assign(y=0), ["x", "y"], metrics=["lead_time_mean_ticks"])
    path = plot_win_map(unstable, "x", "y", "lead_time_mean_ticks", tmp_path / "unstable.png")
    assert path.stat().st_size > 1000
    with pytest.raises(ValueError, match="no better direction"):
        plot_win_map(comparison, "x", "y", "m", tmp_path / "no.png")
    with pytest.raises(ValueError, match="also vary"):
        plot_metric_vs_parameter(summary_table(grid, ["x", "y", "structure"], ["m"]), "x", "m", tmp_path / "no.png")
    ticks = np.arange(20)
    adoption = pd.concat(
        pd.DataFrame(
            {
                "x": x,
                "structure": s,
                "tick": ticks,
                "adoption_share_mean": np.clip(ticks / (10 + 5 * k), 0, 1),
                "adoption_share_std": 0.1,
                "n": 4,
            }
        )
        for x in (0, 1)
        for k, s in enumerate(("central_it", "micro_provider"))
    )
    path = plot_adoption_curves(adoption, tmp_path / "adoption.png")
    assert path.stat().st_size > 1000

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
    compare_samples,
    comparison_table,
    describe,
    summary_table,
    table_provenance,
    to_markdown,
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
    assert list(table.columns) == ["x", "structure", "metric", "n", "mean", "std", "ci_low", "ci_high"]
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


def test_plots_write_non_empty_pngs(tmp_path):
    runs = runs_frame()
    summary = summary_table(runs, ["x", "structure"], ["m"])
    path = plot_metric_vs_parameter(summary, "x", "m", tmp_path / "line.png")
    assert path.stat().st_size > 1000 and path.read_bytes()[:4] == b"\x89PNG"
    grid = pd.concat([runs.assign(y=y) for y in (0.5, 1.5)])
    comparison = comparison_table(grid, ["x", "y"], metrics=["m"])
    path = plot_win_map(comparison, "x", "y", "m", tmp_path / "map.png", higher_is_better=False)
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

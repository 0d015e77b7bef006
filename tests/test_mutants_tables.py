"""Tests that kill mutants of ``sim/experiment/tables.py`` the oracle tests let survive
(tests/MUTATION.md): the verdict without unstable shares or a better direction; describe, Welch,
the rank test and Hedges' g at their smallest samples; the paired t test with two pairs;
pairing when replicate keys do not match one to one; comparison and summary rows (mean and
censored) at a level other than 95%; the unstable share without ``stable`` values; and the
written files, their Markdown footer and provenance. Expected values come from scipy or are
worked out in the comments; the output directory is created or refused in one line."""

from __future__ import annotations

import json
import math
import os
import warnings
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from scipy import stats

from sim.experiment.survival import km_median
from sim.experiment.tables import (
    SUMMARY_COLUMNS,
    _footer,
    _library_version,
    compare_samples,
    comparison_table,
    describe,
    output_directory,
    summary_table,
    table_provenance,
    to_markdown,
    verdict,
    write_table,
)
from sim.scenario.errors import ScenarioError


def test_two_values_have_a_standard_deviation_and_an_interval() -> None:
    # 1 and 3: mean 2, s = sqrt(2); t_{0.975, 1} = 12.7062 (t table), half-width 12.7062 s / sqrt(2).
    result = describe([1.0, 3.0])
    assert result["std"] == pytest.approx(math.sqrt(2))
    assert (result["ci_low"], result["ci_high"]) == pytest.approx((2 - 12.7062047, 2 + 12.7062047), rel=1e-8)


def test_two_pairs_give_the_paired_t_test() -> None:
    # Differences 1 and 2.5: mean 1.75, sd 1.0607, se 0.75, t = 2.333 on 1 degree of freedom.
    a, b = [1.0, 2.0], [2.0, 4.5]
    result = compare_samples(a, b, paired=(a, b))
    assert result["method"] == "paired t" and result["n_pairs"] == 2
    assert result["p"] == pytest.approx(stats.ttest_rel(b, a).pvalue, rel=1e-12)
    assert result["p"] == pytest.approx(2 * stats.t.sf(1.75 / 0.75, 1), rel=1e-12)


@pytest.mark.parametrize("missing", ["unstable_a", "unstable_b", "both"])
def test_a_row_without_unstable_shares_counts_as_stable(missing: str) -> None:
    # Lead time 2 days shorter on b's side (lower is better), significant after adjustment.
    row = {"metric": "lead_time_mean_ticks", "a": "A", "b": "B", "diff": -2.0, "p_adj": 0.01}
    row |= {"unstable_a": 0.0, "unstable_b": 0.0}
    for key in ("unstable_a", "unstable_b") if missing == "both" else (missing,):
        del row[key]
    assert verdict(row) == "B better"


@pytest.mark.parametrize(("diff", "side"), [(0.3, "B"), (-0.3, "A")])
def test_a_metric_without_a_direction_names_the_higher_side(diff: float, side: str) -> None:
    row = {"metric": "knowledge_held_mean", "a": "A", "b": "B", "diff": diff, "p_adj": 0.01}
    assert verdict(row) == f"{side} higher"


@pytest.mark.parametrize(
    ("a", "b"), [([1.0, 4.0], [2.0, 7.0, 9.0]), ([1.0, 4.0, 6.0], [2.0, 7.0]), ([1.0, 4.0], [2.0, 7.0])]
)
def test_welch_with_two_values_on_a_side_matches_scipy(a: list[float], b: list[float]) -> None:
    result = compare_samples(a, b)
    assert result["method"] == "welch"
    assert result["p_welch"] == pytest.approx(stats.ttest_ind(b, a, equal_var=False).pvalue, rel=1e-12)
    assert result["hedges_g"] == pytest.approx(HEDGES_G[len(a), len(b)], rel=1e-4)


# Hedges' g by hand, g = J (mean_b - mean_a) / s_pooled with J = 1 - 3 / (4 (n_a + n_b) - 9):
# a = 1, 4 (mean 2.5, s^2 4.5); b = 2, 7, 9 (mean 6, s^2 13); b = 2, 7 (mean 4.5, s^2 12.5);
# a = 1, 4, 6 (mean 11/3, s^2 19/3).
HEDGES_G = {
    (2, 3): (1 - 3 / 11) * 3.5 / math.sqrt((4.5 + 2 * 13) / 3),  # 0.79832
    (3, 2): (1 - 3 / 11) * (4.5 - 11 / 3) / math.sqrt((2 * 19 / 3 + 12.5) / 3),  # 0.20925
    (2, 2): (1 - 3 / 7) * 2.0 / math.sqrt((4.5 + 12.5) / 2),  # 0.39200
}


@pytest.mark.parametrize(("a", "b"), [([1.0], [2.0, 3.0, 4.0]), ([2.0, 3.0, 4.0], [1.0])])
def test_welch_needs_two_values_on_each_side(a: list[float], b: list[float]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a variance of one value would warn
        result = compare_samples(a, b)
    assert math.isnan(result["p_welch"]) and math.isnan(result["ci_low"])
    assert math.isnan(result["hedges_g"])
    # The rank test needs only one value on each side.
    assert result["p_mannwhitney"] == pytest.approx(stats.mannwhitneyu(b, a, alternative="two-sided").pvalue)


@pytest.mark.parametrize(("a", "b"), [([], [1.0, 2.0]), ([1.0, 2.0], [])])
def test_nothing_on_one_side_gives_no_rank_test(a: list[float], b: list[float]) -> None:
    assert math.isnan(compare_samples(a, b)["p_mannwhitney"])


def test_welch_without_spread_and_different_means_has_p_zero() -> None:
    # Both samples constant: se = 0, the t statistic is infinite for means 1 and 2.
    result = compare_samples([1.0, 1.0], [2.0, 2.0])
    assert result["p_welch"] == 0.0
    assert (result["ci_low"], result["ci_high"]) == (1.0, 1.0)
    assert compare_samples([1.0, 1.0], [1.0, 1.0])["p_welch"] == 1.0


def runs(replicates_a: list[int], replicates_b: list[int], stable: object = True) -> pd.DataFrame:
    values_a, values_b = [10.0, 12.0, 11.0], [13.0, 15.0, 17.0]
    rows = [
        {"structure": side, "replicate": r, "throughput_per_tick": v, "stable": stable}
        for side, reps, values in (("central_it", replicates_a, values_a), ("micro_provider", replicates_b, values_b))
        for r, v in zip(reps, values, strict=True)
    ]
    return pd.DataFrame(rows)


def test_no_stable_values_give_no_unstable_share_and_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an average over no runs would warn "Mean of empty slice"
        table = comparison_table(runs([0, 1, 2], [0, 1, 2], stable=None), by=[], metrics=["throughput_per_tick"])
    row = table.iloc[0]
    assert math.isnan(row["unstable_a"]) and math.isnan(row["unstable_b"])


@pytest.mark.parametrize(
    ("replicates_a", "replicates_b"),
    [
        ([0, 1, 2], [0, 0, 1]),  # b has two rows of replicate 0: pairing undefined
        ([0, 0, 1], [0, 1, 2]),  # the same on a's side
        ([0, 1, 2], [3, 4, 5]),  # no replicate on both sides: nothing to pair
    ],
)
def test_unmatched_replicates_fall_back_to_welch(replicates_a: list[int], replicates_b: list[int]) -> None:
    row = comparison_table(runs(replicates_a, replicates_b), by=[], metrics=["throughput_per_tick"]).iloc[0]
    welch = stats.ttest_ind([13.0, 15.0, 17.0], [10.0, 12.0, 11.0], equal_var=False)
    assert row["method"] == "welch"
    assert row["diff"] == pytest.approx(15.0 - 11.0)
    assert row["p"] == pytest.approx(welch.pvalue, rel=1e-12)


def test_a_comparison_row_carries_each_side_and_the_paired_difference_at_its_level() -> None:
    # Level 90%. a: 10, 12, 11, 13 (replicates 0-3); b: 14, 15, 17 (replicates 0-2). Three
    # pairs with differences 4, 3, 6: mean 13/3, unlike the difference of means 15.333 - 11.5.
    runs = pd.DataFrame(
        {
            "structure": ["central_it"] * 4 + ["micro_provider"] * 3,
            "replicate": [0, 1, 2, 3, 0, 1, 2],
            "throughput_per_tick": [10.0, 12.0, 11.0, 13.0, 14.0, 15.0, 17.0],
        }
    )
    row = comparison_table(runs, by=[], metrics=["throughput_per_tick"], level=0.9).iloc[0]
    a, b, d = [10.0, 12.0, 11.0, 13.0], [14.0, 15.0, 17.0], [4.0, 3.0, 6.0]

    def interval(x: list[float]) -> tuple[float, float]:
        return stats.t.interval(0.9, len(x) - 1, loc=np.mean(x), scale=stats.sem(x))

    assert row["estimator"] == "mean" and row["method"] == "paired t" and row["n_pairs"] == 3
    assert (row["n_a"], row["n_b"]) == (4, 3)
    assert (row["ci_low_a"], row["ci_high_a"]) == pytest.approx(interval(a), rel=1e-10)
    assert (row["ci_low_b"], row["ci_high_b"]) == pytest.approx(interval(b), rel=1e-10)
    assert math.isnan(row["reached_share_a"]) and math.isnan(row["reached_share_b"])
    assert row["diff"] == pytest.approx(13 / 3)
    assert (row["diff_ci_low"], row["diff_ci_high"]) == pytest.approx(interval(d), rel=1e-10)


def test_a_censored_comparison_row_and_summary_at_their_level() -> None:
    # Adoption t50 in days, censored at the 30-day horizon where NaN (never reached).
    runs = pd.DataFrame(
        {
            "structure": ["central_it"] * 5 + ["micro_provider"] * 4,
            "replicate": [0, 1, 2, 3, 4, 0, 1, 2, 3],
            "adoption_t50_ticks": [5.0, 8.0, 9.0, 12.0, np.nan, 3.0, 4.0, 6.0, 7.0],
            "adoption_horizon_ticks": [30] * 9,
        }
    )
    row = comparison_table(runs, by=[], metrics=["adoption_t50_ticks"], level=0.9).iloc[0]
    km_a = km_median([5.0, 8.0, 9.0, 12.0, np.nan], [30] * 5, 0.9)
    km_b = km_median([3.0, 4.0, 6.0, 7.0], [30] * 4, 0.9)
    assert row["estimator"] == "km_median" and row["method"] == "logrank"
    assert (row["n_a"], row["n_b"], row["n_pairs"]) == (5, 4, 0)
    assert (row["mean_a"], row["mean_b"]) == (9.0, 4.0)  # medians: 9 (3 of 5 above) and 4
    assert row["diff"] == 4.0 - 9.0
    assert (row["ci_low_a"], row["ci_high_a"]) == pytest.approx((km_a["ci_low"], km_a["ci_high"]), nan_ok=True)
    assert (row["ci_low_b"], row["ci_high_b"]) == pytest.approx((km_b["ci_low"], km_b["ci_high"]), nan_ok=True)
    for column in ("diff_ci_low", "diff_ci_high", "p_paired_t", "p_welch", "p_mannwhitney", "hedges_g"):
        assert math.isnan(row[column]), column
    summary = summary_table(runs, by=["structure"], level=0.9)
    assert list(summary.columns) == ["structure", "metric", *SUMMARY_COLUMNS]
    cell = summary.set_index(["structure", "metric"]).loc[("central_it", "adoption_t50_ticks")]
    assert (cell["n"], cell["mean"], cell["estimator"], cell["reached_share"]) == (5, 9.0, "km_median", 0.8)
    assert math.isnan(cell["std"])
    assert (cell["ci_low"], cell["ci_high"]) == pytest.approx((km_a["ci_low"], km_a["ci_high"]), nan_ok=True)


def test_a_summary_of_every_metric_at_its_level() -> None:
    runs = pd.DataFrame({"structure": ["central_it"] * 3, "throughput_per_tick": [1.0, 2.0, 4.0]})
    summary = summary_table(runs, by=["structure"], level=0.9)  # metrics: those in the runs table
    assert list(summary["metric"]) == ["throughput_per_tick"]
    cell = summary.iloc[0]
    expected = stats.t.interval(0.9, 2, loc=7 / 3, scale=stats.sem([1.0, 2.0, 4.0]))
    assert (cell["ci_low"], cell["ci_high"]) == pytest.approx(expected, rel=1e-10)
    assert cell["estimator"] == "mean" and math.isnan(cell["reached_share"])
    # No runs: no rows, but the table's columns.
    empty = summary_table(runs.iloc[:0], by=["structure"], metrics=["throughput_per_tick"])
    assert list(empty.columns) == ["structure", "metric", *SUMMARY_COLUMNS]


PROVENANCE = {
    "orgsim": "0.1.0",
    "git_commit": "0123456789abcdef",
    "config_hash": "cafe",
    "seed": 7,
    "design": {"n_runs": 12, "n_points": 3, "reps": 4},
    "difference": "micro_provider - central_it",
    "multiplicity": "BH",
}


def test_the_markdown_footer_names_every_provenance_field() -> None:
    expected = (
        "_orgsim 0.1.0; commit 0123456789ab; config cafe; seed 7; 12 runs (3 points x 4 reps); "
        "difference = micro_provider - central_it; BH_"
    )
    assert _footer(PROVENANCE) == expected
    assert _footer({}) == "_orgsim ?; commit ?; config ?; seed ?_"


def test_write_table_writes_each_file_as_documented(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": [1.5, 2.0], "y": ["a", None]})
    provenance = PROVENANCE | {"where": tmp_path}  # not JSON: written as its str()
    paths = write_table(frame, tmp_path / "a" / "b", "t", provenance)  # folders made as needed
    assert paths["csv"].read_text(encoding="utf-8").splitlines()[0] == "x,y"  # no index column
    assert pq.read_schema(paths["parquet"]).names == ["x", "y"]
    markdown = paths["md"].read_text(encoding="utf-8")
    assert markdown == to_markdown(frame) + "\n\n" + _footer(provenance) + "\n"
    header, _, _, last = to_markdown(frame).splitlines()
    assert [c.strip() for c in header.strip("|").split("|")] == ["x", "y"]
    assert [c.strip() for c in last.strip("|").split("|")] == ["2", ""]  # missing shown blank
    text = paths["provenance"].read_text(encoding="utf-8")
    assert text.startswith('{\n  "orgsim": "0.1.0",\n') and text.endswith("}\n")  # indent 2
    info = json.loads(text)
    assert info["where"] == str(tmp_path)
    assert info["columns"] == ["x", "y"]
    assert info["files"] == {"csv": "t.csv", "parquet": "t.parquet", "provenance": "t.provenance.json", "md": "t.md"}


def test_table_provenance_of_a_design() -> None:
    design = SimpleNamespace(base_config_hash="cafe", seed=7, to_dict=lambda: {"reps": 4})
    info = table_provenance(design, table="summary", extra=1)
    assert (info["table"], info["config_hash"], info["seed"], info["design"], info["extra"]) == (
        "summary",
        "cafe",
        7,
        {"reps": 4},
        1,
    )
    assert info["created_utc"].endswith("+00:00")
    assert "multiplicity" not in info
    for library in ("pyarrow", "tabulate"):
        assert info[library] == metadata.version(library)
    assert _library_version("orgsim-no-such-package") == "not installed"


def test_values_that_are_not_numbers_are_left_out() -> None:
    # "n/a" cannot be read as a number: it is missing, like None.
    result = describe([1.0, "n/a", 3.0, None])
    assert (result["n"], result["mean"]) == (2, 2.0)


def test_an_unpaired_comparison_has_no_pairs_and_no_paired_values() -> None:
    result = compare_samples([1.0, 2.0, 4.0], [2.0, 5.0, 6.0])
    assert result["n_pairs"] == 0 and result["method"] == "welch"
    assert math.isnan(result["diff_paired"]) and math.isnan(result["p_paired_t"])


def test_a_comparison_table_of_every_metric_in_group_order_with_its_columns() -> None:
    # Two points listed 2 then 1, and one whose parameter is missing (NaN): all three kept, in
    # the order they first appear. Level 90%: a paired p of 0.0609 is significant there, not at 95%.
    a, b = [10.0, 12.0, 11.0, 13.0], [12.0, 13.0, 11.5, 16.0]
    rows = [
        {"x": x, "structure": side, "replicate": r, "throughput_per_tick": v + shift}
        for x, shift in ((2.0, 0.0), (1.0, 100.0), (math.nan, 200.0))
        for side, values in (("central_it", a), ("micro_provider", b))
        for r, v in enumerate(values)
    ]
    table = comparison_table(pd.DataFrame(rows), by=["x"], level=0.9)  # metrics: those in the runs
    assert list(table["x"])[:2] == [2.0, 1.0] and math.isnan(table["x"].iat[2])
    assert list(table["metric"]) == ["throughput_per_tick"] * 3
    columns = list(table.columns)
    assert columns[columns.index("p") + 1] == "p_adj"
    assert columns[columns.index("hedges_g") + 1] == "significant"
    p = stats.ttest_rel(b, a).pvalue
    assert 0.05 < p < 0.1
    assert table["p"].tolist() == pytest.approx([p] * 3)
    assert table["significant"].tolist() == [True] * 3
    assert table["verdict"].tolist() == ["micro_provider better"] * 3


def test_markdown_numbers_use_four_significant_digits_in_lower_case() -> None:
    text = to_markdown(pd.DataFrame({"p": [1.23456e-05, 0.5]}))
    assert "1.235e-05" in text and "| 0.5 " in text


def test_the_output_directory_is_made_with_its_parents_or_refused_in_one_line(tmp_path: Path) -> None:
    nested = tmp_path / "a" / "b"
    assert output_directory(str(nested)) == nested and nested.is_dir()
    assert output_directory(nested) == nested  # an existing directory is used as it is
    afile = tmp_path / "table.csv"
    afile.write_text("x\n")
    with pytest.raises(ScenarioError) as error:
        output_directory(afile)
    assert str(error.value) == f"--out {afile}: cannot use it (File exists); give a writable directory path"
    with pytest.raises(ScenarioError) as error:
        output_directory(afile / "sub")
    assert str(error.value) == f"--out {afile / 'sub'}: cannot use it (Not a directory); give a writable directory path"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_an_unwritable_output_directory_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(ScenarioError) as error:
        output_directory(locked)
    assert str(error.value) == f"--out {locked}: cannot use it (Permission denied); give a writable directory path"


def test_a_directory_this_user_may_not_write_is_refused_as_permission_denied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # root may write anywhere, so the permission check is made to answer as for another user:
    # no write-and-search access (W_OK | X_OK) to the directory, any other question answered yes
    monkeypatch.setattr(os, "access", lambda path, mode: mode != os.W_OK | os.X_OK)
    with pytest.raises(ScenarioError) as error:
        output_directory(tmp_path)
    assert str(error.value) == f"--out {tmp_path}: cannot use it (Permission denied); give a writable directory path"

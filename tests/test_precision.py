"""Replicating to a precision (Law & Kelton's sequential procedure): points stop where their
intervals are narrow enough, the seeds are a plain sweep's, and every executor, resume or
extension gives the same tables."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.cli import main
from sim.experiment.design import Design, Precision
from sim.experiment.sweep import DESIGN_FILE, RUNS_LOG, RunLog, run_sweep
from sim.scenario.errors import ScenarioError
from sim.scenario.files import load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
TINY = ["simulation.ticks=50", "simulation.warmup_ticks=10", "organisation.teams=8"]
# Utilisation varies little between seeds at a high arrival rate (CV about 0.05) and much at a
# low one (about 0.2): with gamma = 0.2 the first needs few replicates, the second many.
LOW_VARIANCE, HIGH_VARIANCE = 6.0, 0.5
RATE = "demand.arrival_rate"
METRIC = "utilisation"
GAMMA = 0.2
OPTIONS = {"precision": GAMMA, "max_reps": 12, "precision_metrics": [METRIC]}


class Interrupt(Exception):
    """Stands in for Ctrl-C part-way through a sweep."""


@pytest.fixture(scope="module")
def design() -> Design:
    base = load_scenario(SCENARIOS / "central_it.toml", TINY)
    factors = {RATE: [HIGH_VARIANCE, LOW_VARIANCE], "structure": ["central_it", "micro_provider"]}
    return Design.grid(base, factors, reps=3, seed=11)


@pytest.fixture(scope="module")
def reference(design, tmp_path_factory):
    """The uninterrupted serial precision sweep every other one is compared with."""
    return run_sweep(design, tmp_path_factory.mktemp("precise"), workers=1, quiet=True, **OPTIONS)


def assert_same_tables(result, expected) -> None:
    pd.testing.assert_frame_equal(result.runs, expected.runs)
    pd.testing.assert_frame_equal(result.summary, expected.summary)
    pd.testing.assert_frame_equal(result.comparison, expected.comparison)
    assert result.precision == expected.precision


def half_width(x: np.ndarray) -> float:
    """delta(n) = t_{n-1,0.975} S(n) / sqrt(n), computed here independently of the code."""
    return float(stats.t.ppf(0.975, len(x) - 1) * np.std(x, ddof=1) / math.sqrt(len(x)))


def meets(x: np.ndarray) -> bool:
    return half_width(x) <= GAMMA / (1 + GAMMA) * abs(float(np.mean(x)))


def test_points_stop_where_the_interval_is_narrow_and_grow_where_it_is_wide(reference):
    runs = reference.runs
    reps = runs.groupby([RATE, "structure"])["replicate"].agg(["count", "max"])
    assert (reps["max"] == reps["count"] - 1).all()  # replicates 0..n-1, none skipped
    low, high = reps.loc[LOW_VARIANCE, "count"], reps.loc[HIGH_VARIANCE, "count"]
    assert low.nunique() == high.nunique() == 1  # both structures of a point together
    assert 3 <= low.iloc[0] < high.iloc[0] < 12
    for (rate, structure), group in runs.groupby([RATE, "structure"]):
        x = group.sort_values("replicate")[METRIC].to_numpy()
        assert meets(x), (rate, structure, half_width(x), x.mean())
    for rate, count in ((LOW_VARIANCE, low.iloc[0]), (HIGH_VARIANCE, high.iloc[0])):
        first = runs[(runs[RATE] == rate) & (runs["replicate"] < 3)]
        met_at_start = all(meets(g[METRIC].to_numpy()) for _, g in first.groupby("structure"))
        assert met_at_start == (count == 3), rate  # replicates added exactly where the first 3 miss
    summary = reference.summary[reference.summary["metric"] == METRIC].set_index([RATE, "structure"])
    assert summary["precision_reached"].all()
    assert (summary["reps"] == summary["n"]).all()
    assert summary.loc[HIGH_VARIANCE, "reps"].tolist() == high.tolist()
    comparison = reference.comparison[reference.comparison["metric"] == METRIC].set_index(RATE)
    assert comparison.loc[HIGH_VARIANCE, "n_pairs"] == high.iloc[0]
    assert comparison["precision_reached"].all()


def test_provenance_and_design_file_record_the_precision(reference, design):
    info = json.loads(reference.paths["summary"]["provenance"].read_text())
    precision = info["precision"]
    assert precision["precision"] == GAMMA and precision["metrics"] == [METRIC] and precision["max_reps"] == 12
    assert precision["points"] == 2 and precision["points_reached"] == 2 and precision["rounds"] >= 1
    assert info["design"]["n_runs"] == len(reference.runs) and info["design"]["reps"] == 3
    on_disk = json.loads((reference.out / DESIGN_FILE).read_text())
    assert on_disk["precision"]["max_reps"] == 12 and Design.from_dict(on_disk).fingerprint() == design.fingerprint()


def test_the_first_runs_are_a_plain_sweeps_and_a_plain_sweep_extends(reference, design, tmp_path):
    plain = run_sweep(design, tmp_path, workers=1, quiet=True)
    first = reference.runs[reference.runs["replicate"] < 3].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, plain.runs)
    assert (plain.runs.groupby([RATE, "replicate"])["seed"].nunique() == 1).all()  # paired seeds
    extended = run_sweep(design, tmp_path, workers=1, quiet=True, **OPTIONS)
    assert (extended.ran, extended.skipped) == (len(reference.runs) - 12, 12)
    assert_same_tables(extended, reference)


def test_max_reps_caps_and_a_larger_cap_continues(reference, design, tmp_path):
    capped = run_sweep(design, tmp_path, workers=1, quiet=True, **(OPTIONS | {"max_reps": 4}))
    summary = capped.summary[capped.summary["metric"] == METRIC].set_index([RATE, "structure"])
    assert summary.loc[HIGH_VARIANCE, "reps"].tolist() == [4, 4]
    assert not summary.loc[HIGH_VARIANCE, "precision_reached"].any()
    assert summary.loc[LOW_VARIANCE, "precision_reached"].all()
    assert capped.precision["points_reached"] == 1 and capped.precision["reps_max"] == 4
    more = run_sweep(design, tmp_path, workers=1, quiet=True, **OPTIONS)
    assert more.skipped == len(capped.runs)
    assert_same_tables(more, reference)
    assert json.loads((tmp_path / DESIGN_FILE).read_text())["precision"]["max_reps"] == 12


def test_an_interrupted_precision_sweep_resumes_to_the_same_tables(reference, design, tmp_path):
    seen = []

    def stop_in_the_second_round(row):
        seen.append(row["run_id"])
        if len(seen) == 14:
            raise Interrupt

    with pytest.raises(Interrupt):
        run_sweep(design, tmp_path, workers=1, quiet=True, on_run=stop_in_the_second_round, **OPTIONS)
    assert len(RunLog(tmp_path / RUNS_LOG).run_ids()) == 14
    resumed = run_sweep(design, tmp_path, workers=1, quiet=True, **OPTIONS)
    assert (resumed.ran, resumed.skipped) == (len(reference.runs) - 14, 14)
    assert_same_tables(resumed, reference)


@pytest.mark.slow
def test_a_process_pool_gives_the_same_tables(reference, design, tmp_path):
    pool = run_sweep(design, tmp_path, workers=2, quiet=True, **OPTIONS)
    assert_same_tables(pool, reference)


def test_the_rule_matches_law_and_kelton_computed_independently():
    rule = Precision.checked(0.1, 40, ["throughput_per_tick"], reps=3)
    rng = np.random.default_rng(7)
    for n in (3, 5, 10, 20):
        for cv in (0.02, 0.05, 0.1, 0.3):
            x = rng.normal(10.0, 10.0 * cv, n)
            reached, wanted = rule.assess(n, [x.tolist()])
            target = 0.1 / 1.1 * abs(x.mean())
            assert reached == (half_width(x) <= target)
            if reached:
                assert wanted == n
                continue
            assert n + 1 <= wanted <= min(2 * n, 40)
            law = next(
                (
                    i
                    for i in range(n + 1, 2 * n + 1)
                    if stats.t.ppf(0.975, i - 1) * x.std(ddof=1) / math.sqrt(i) <= target
                ),
                2 * n,
            )
            assert wanted == min(law, 40)


def test_undefined_values_are_left_out_and_too_few_never_reach():
    rule = Precision.checked(0.5, 10, ["lead_time_mean_ticks"], reps=3)
    assert rule.assess(4, [[10.0, None, 10.5, float("nan")]]) == (True, 4)
    assert rule.assess(4, [[10.0, None, None, None]]) == (False, 8)
    assert rule.assess(4, [[1.0, 1.0, 1.0, 1.0], [0.0, 2.0, 0.0, 2.0]]) == (False, 8)  # every sample must meet it
    assert rule.assess(3, [[0.0, 0.0, 0.0]]) == (True, 3)  # no spread at zero: the interval is a point
    assert rule.assess(10, [[0.0, 2.0] * 5]) == (False, 10)  # at max_reps


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--precision", "0", "--max-reps", "6"], "--precision 0.0: must be a relative error > 0"),
        (["--precision", "-0.1", "--max-reps", "6"], "--precision -0.1: must be a relative error > 0"),
        (["--precision", "nan", "--max-reps", "6"], "--precision nan"),
        (["--precision", "0.05", "--max-reps", "2"], "--max-reps 2: must be a whole number >= --reps (3)"),
        (["--precision", "0.05"], "--precision needs --max-reps N"),
        (["--max-reps", "6"], "need --precision"),
        (["--precision", "0.05", "--max-reps", "6", "--reps", "1"], "--reps 1: --precision needs at least 2"),
        (["--precision", "0.05", "--max-reps", "6", "--precision-metric", "lead_time"], "--precision-metric lead_time"),
    ],
)
def test_bad_precision_options_exit_2_with_one_line(tmp_path, capsys, extra, message):
    argv = ["sweep", str(SCENARIOS / "central_it.toml"), "--out", str(tmp_path), "--quiet", "--workers", "1"]
    assert main([*argv, "--reps", "3", *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("orgsim: ") and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / RUNS_LOG).exists()


def test_precision_sweep_command_uses_the_first_metric_and_says_what_it_reached(tmp_path, capsys):
    argv = ["sweep", str(SCENARIOS / "micro_provider.toml"), *[a for s in TINY for a in ("--set", s)]]
    argv += ["--reps", "3", "--precision", "0.5", "--max-reps", "4", "--workers", "1", "--quiet"]
    assert main([*argv, "--out", str(tmp_path), "--metrics", "lead_time_mean_ticks"]) == 0
    out = capsys.readouterr().out
    assert "points, 3-3 reps: precision 0.5 of lead_time_mean_ticks reached at 1 of 1 points in 1 rounds" in out
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert summary["precision_reached"].all() and (summary["reps"] == 3).all()
    with pytest.raises(ScenarioError, match="different design"):
        run_sweep(Design.grid(load_scenario(SCENARIOS / "micro_provider.toml"), {}, reps=3), tmp_path, quiet=True)

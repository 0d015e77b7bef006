"""The warm-up from the data: MSER-5 against series whose answer is known by construction,
the across-replication mean it is applied to, and ``orgsim warmup``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import CENTRAL_IT, MICRO_PROVIDER, SE_MULTIPLE, run_cli, run_module, small_scenario
from pandas.testing import assert_frame_equal

from sim.cli import warmup as warmup_cli
from sim.experiment.design import run_seed
from sim.experiment.warmup import (
    BATCH,
    DEFAULT_SERIES,
    MIN_TAIL_BATCHES,
    Truncation,
    batch_means,
    mser,
    mser5,
    recommended_warmup,
    study_warmup,
    unwarmed,
    welch_flat_after,
)
from sim.run import run_scenario
from sim.scenario.files import load_scenario

SMALL_TOML = """\
name = "small"
structure = "micro_provider"
[simulation]
ticks = 200
warmup_ticks = 10
[organisation]
teams = 4
team_size = 2
services = 6
[demand]
arrival_rate = 2.0
[demand.effort]
mean_days = 1.0
"""


# --- MSER-5 ---------------------------------------------------------------------------
def test_batch_means_average_fives_and_drop_an_incomplete_last_batch() -> None:
    assert batch_means(np.arange(12)).tolist() == [2.0, 7.0]


def test_mser_is_the_squared_standard_error_of_each_tail_mean() -> None:
    # The definition, one tail at a time: sum of squared deviations / (n - d)^2.
    y = np.random.default_rng(3).gamma(2.0, size=40)
    expected = [np.sum((y[d:] - y[d:].mean()) ** 2) / (len(y) - d) ** 2 for d in range(len(y) - MIN_TAIL_BATCHES + 1)]
    assert mser(y) == pytest.approx(expected, rel=1e-12)


def test_a_step_truncates_exactly_where_it_ends() -> None:
    # 10 for 50 ticks, then 0: MSER is exactly 0 from batch 10 on and positive before it.
    series = np.r_[np.full(50, 10.0), np.zeros(150)]
    assert mser5(series) == Truncation(batches=10, n_batches=40, steady=True)
    assert mser5(series).ticks == 50


@pytest.mark.parametrize("tau", [20.0, 40.0])
def test_a_decaying_transient_is_cut_where_it_sinks_below_the_batch_noise(tau: float) -> None:
    # y_t = A exp(-t / tau) + N(0, sigma^2). Dropping batch j (size m kept) lowers
    # MSER = SSD / m^2 when its squared deviation exceeds about 2 SSD / m = 2 sigma_b^2, i.e.
    # while its mean transient exceeds the batch noise sigma_b = sigma / sqrt(5): the cut is
    # expected at the first batch whose transient mean is below sigma_b. Over 200 seeded
    # series the mean cut must lie within 3 SE of it plus one batch (the rule's resolution).
    amplitude, sigma, ticks, runs = 10.0, 1.0, 1000, 200
    transient = amplitude * np.exp(-np.arange(ticks) / tau)
    expected = BATCH * int(np.argmax(batch_means(transient) < sigma / np.sqrt(BATCH)))
    rngs = [np.random.default_rng(seed) for seed in np.random.SeedSequence(14).spawn(runs)]
    cuts = np.array([mser5(transient + rng.normal(0.0, sigma, ticks)).ticks for rng in rngs])
    se = cuts.std(ddof=1) / np.sqrt(runs)
    assert abs(cuts.mean() - expected) <= SE_MULTIPLE * se + BATCH, (cuts.mean(), se, expected)


def test_a_stationary_series_needs_no_warmup() -> None:
    # For independent noise E[MSER(d)] = sigma_b^2 (m - 1) / m^2 grows with d, so d = 0 is
    # the expected cut: the median of 200 seeded series is 0 and at most 5% (the usual
    # false-alarm level) report no steady state.
    rngs = [np.random.default_rng(seed) for seed in np.random.SeedSequence(15).spawn(200)]
    results = [mser5(rng.normal(5.0, 2.0, 600)) for rng in rngs]
    assert np.median([r.ticks for r in results]) == 0
    assert np.mean([not r.steady for r in results]) <= 0.05


def test_a_trend_never_settles() -> None:
    # A straight line: MSER(d) = slope^2 (m^2 - 1) / (12 m) falls as d grows, so the minimum
    # is the last candidate, in the second half; with noise too.
    ramp = 0.05 * np.arange(600)
    assert mser5(ramp) == Truncation(batches=120 - MIN_TAIL_BATCHES, n_batches=120, steady=False)
    assert not mser5(ramp + np.random.default_rng(16).normal(0.0, 1.0, 600)).steady


def test_the_recommendation_is_the_largest_cut_and_none_if_any_series_is_unsettled() -> None:
    settled = [Truncation(4, 120, True), Truncation(11, 120, True)]
    assert recommended_warmup(settled) == 55
    assert recommended_warmup([*settled, Truncation(100, 120, False)]) is None


# --- replications -----------------------------------------------------------------------
def test_the_study_runs_as_the_scenario_does_with_every_tick_visible() -> None:
    # The spread starts at the end of the warm-up when spread.start_tick is unset: the
    # study pins it, so zeroing the warm-up changes no dynamics.
    scenario = small_scenario(simulation={"ticks": 60, "warmup_ticks": 20}, spread={"start_tick": None})
    plain = unwarmed(scenario)
    assert (plain.simulation.warmup_ticks, plain.spread_start_tick) == (0, 20)
    assert_frame_equal(run_scenario(plain, seed=4).series, run_scenario(scenario, seed=4).series)


def test_the_study_averages_the_replications_tick_by_tick() -> None:
    scenario = small_scenario(simulation={"ticks": 200, "warmup_ticks": 10})
    study = study_warmup(scenario, reps=3, seed=7, workers=1, quiet=True)
    runs = [run_scenario(unwarmed(scenario), seed=run_seed(7, {}, rep)).series for rep in range(3)]
    for name in DEFAULT_SERIES:
        mean = np.mean([run[name].to_numpy(dtype=float) for run in runs], axis=0)
        assert study.means[name] == pytest.approx(mean, rel=1e-12)
        assert study.truncations[name] == mser5(mean)


def test_the_help_names_the_default_series() -> None:
    assert warmup_cli.DEFAULT_SERIES.split() == list(DEFAULT_SERIES)


# --- the command ---------------------------------------------------------------------------
@pytest.fixture
def small_file(tmp_path: Path) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(SMALL_TOML, encoding="utf-8")
    return path


def test_the_command_recommends_a_warmup_to_paste(small_file: Path) -> None:
    # Capacity is constant, and with no defects (hence no escaped-defect incidents) arrivals
    # are the Poisson demand stream from tick 0: both are steady from the start, so MSER-5
    # cuts capacity at exactly 0, settles both in the first half and recommends.
    args = (
        "--reps",
        "2",
        "--workers",
        "1",
        "--set",
        "quality.base_defect_prob=0",
        "--series",
        "capacity_days",
        "arrivals",
    )
    done = run_module("warmup", small_file, "--quiet", *args)
    assert (done.returncode, done.stderr) == (0, "")
    record = json.loads(run_module("warmup", small_file, "--json", *args).stdout)
    assert record["series"]["capacity_days"] == {"truncation_ticks": 0, "batches": 40, "first_half": True}
    assert record["series"]["arrivals"]["first_half"]
    recommended = record["recommended_warmup_ticks"]
    assert recommended == max(s["truncation_ticks"] for s in record["series"].values())
    assert f"recommended simulation.warmup_ticks: {recommended}" in done.stdout
    assert f"warmup_ticks = {recommended}" in done.stdout


def test_the_command_says_when_a_series_does_not_settle(capsys: pytest.CaptureFixture[str], small_file: Path) -> None:
    # 8 people facing 20 person-days of demand a day: open work grows without bound.
    code, out, err = run_cli(
        capsys, "warmup", small_file, "--reps", "2", "--workers", "1", "--quiet", "--json",
        "--set", "demand.arrival_rate=20", "--series", "wip",
    )  # fmt: skip
    assert (code, err) == (0, "")
    record = json.loads(out)
    assert not record["series"]["wip"]["first_half"]
    assert record["recommended_warmup_ticks"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--reps", "1"], "--reps 1: the warm-up needs at least 2 replications"),
        (["--series", "wipp"], "--series wipp: unknown per-tick series; did you mean 'wip'?"),
        (["--ticks", "150"], "MSER-5 needs at least 200 ticks"),
    ],
)
def test_bad_options_give_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], small_file: Path, args: list[str], message: str
) -> None:
    code, out, err = run_cli(capsys, "warmup", small_file, "--workers", "1", "--quiet", *args)
    assert (code, out) == (2, "")
    assert len(err.strip().splitlines()) == 1
    assert message in err


# --- the shipped pair --------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("path", [CENTRAL_IT, MICRO_PROVIDER], ids=lambda p: p.stem)
def test_the_shipped_warmup_covers_the_measured_transient(path: Path) -> None:
    # Open work and completions: MSER-5 settles them before the shipped warm-up. Knowledge
    # wanders within about 1% of its plateau, so MSER-5 sees no steady state: Welch's moving
    # average must stay within 2% of its level over the measured window instead. Ten
    # replications, as `orgsim warmup` uses by default: central IT's open work wanders slowly
    # near its load limit, and with five the mean series still wanders enough for MSER-5 to
    # call it unsettled (seed 0: a cut at tick 485 of 900; with ten, 150).
    scenario = load_scenario(path)
    study = study_warmup(scenario, reps=10, seed=0, quiet=True)
    warmup = scenario.simulation.warmup_ticks
    for name in ("wip", "completions"):
        cut = study.truncations[name]
        assert cut.steady and cut.ticks <= warmup, (name, cut)
    assert welch_flat_after(study.means["knowledge_held"], warmup)


def test_welch_flatness_rule() -> None:
    rng = np.random.default_rng(4)
    plateau = 0.8 + 0.004 * np.sin(np.arange(600) / 40) + rng.normal(0, 0.01, 600)
    assert welch_flat_after(plateau, 0)
    rising = np.concatenate([np.linspace(0.3, 0.8, 300), plateau[:300]])
    assert not welch_flat_after(rising, 0)  # the climb is inside the window
    assert welch_flat_after(rising, 300)  # after it, flat

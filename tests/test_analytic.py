"""The reference cases in sim.analytic reproduce their published worked values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim import analytic


def test_erlang_c_worked_example() -> None:
    # DESIGN.md: c = 3, lambda = 2, mu = 1 gives C = 4/9, Wq = 0.444, W = 1.444.
    assert analytic.erlang_c(3, 2.0, 1.0) == pytest.approx(4 / 9)
    assert analytic.mmc_wait(3, 2.0, 1.0) == pytest.approx(4 / 9)
    assert analytic.mmc_sojourn(3, 2.0, 1.0) == pytest.approx(13 / 9)
    assert round(analytic.mmc_wait(3, 2.0, 1.0), 3) == pytest.approx(0.444)
    assert round(analytic.mmc_sojourn(3, 2.0, 1.0), 3) == pytest.approx(1.444)


def test_erlang_c_matches_the_textbook_sum() -> None:
    # The formula as written in DESIGN.md, with factorials, for a few (c, a).
    for servers, a in [(1, 0.5), (2, 1.5), (5, 4.0), (10, 9.5)]:
        rho = a / servers
        tail = a**servers / (math.factorial(servers) * (1 - rho))
        expected = tail / (sum(a**k / math.factorial(k) for k in range(servers)) + tail)
        assert analytic.erlang_c(servers, a, 1.0) == pytest.approx(expected)


def test_erlang_c_is_finite_for_large_pools() -> None:
    probability = analytic.erlang_c(500, 490.0, 1.0)
    assert 0 < probability < 1


def test_single_server_reduces_to_mm1() -> None:
    # M/M/1: C = rho and W = 1 / (mu - lambda); three pooled-away servers at 2/3 load give W = 3.
    assert analytic.erlang_c(1, 0.7, 1.0) == pytest.approx(0.7)
    assert analytic.mm1_sojourn(2 / 3, 1.0) == pytest.approx(3.0)
    assert analytic.mmc_sojourn(1, 2 / 3, 1.0) == pytest.approx(analytic.mm1_sojourn(2 / 3, 1.0))


def test_pooling_beats_separate_queues_at_equal_load() -> None:
    # DESIGN.md: one M/M/3 queue (W = 1.44) against three M/M/1 queues at the same load (W = 3.0).
    assert analytic.mmc_sojourn(3, 2.0, 1.0) < analytic.mm1_sojourn(2 / 3, 1.0)


@pytest.mark.parametrize("arrival_rate", [3.0, 3.5])
def test_unstable_queues_are_rejected(arrival_rate: float) -> None:
    with pytest.raises(ValueError, match="unstable"):
        analytic.mmc_sojourn(3, arrival_rate, 1.0)


def test_jackson_tandem_sums_stations() -> None:
    assert analytic.jackson_tandem_sojourn(1.0, [2.0, 3.0]) == pytest.approx(1 / 1 + 1 / 2)
    assert analytic.jackson_tandem_sojourn(0.5, [1.0]) == pytest.approx(analytic.mm1_sojourn(0.5, 1.0))
    with pytest.raises(ValueError):
        analytic.jackson_tandem_sojourn(1.0, [2.0, 0.5])


def test_bass_continuous_worked_values() -> None:
    # Bass (1969) with p = 0.03, q = 0.38: F(5) = 0.331, F(10) = 0.813.
    assert round(analytic.bass_cdf(5.0, 0.03, 0.38), 3) == pytest.approx(0.331)
    assert round(analytic.bass_cdf(10.0, 0.03, 0.38), 3) == pytest.approx(0.813)
    assert analytic.bass_cdf(0.0, 0.03, 0.38) == pytest.approx(0.0)
    curve = analytic.bass_cdf(np.array([5.0, 10.0]), 0.03, 0.38)
    assert curve == pytest.approx([analytic.bass_cdf(5.0, 0.03, 0.38), analytic.bass_cdf(10.0, 0.03, 0.38)])


def test_bass_curve_is_invariant_to_the_time_unit() -> None:
    # 50 ticks per Bass period: per-tick p/50, q/50 at tick 50 t equal p, q at time t.
    for t in (5.0, 10.0):
        assert analytic.bass_cdf(50 * t, 0.03 / 50, 0.38 / 50) == pytest.approx(analytic.bass_cdf(t, 0.03, 0.38))


def test_bass_discrete_recursion_first_steps() -> None:
    p, q = 0.1, 0.5
    shares = analytic.bass_discrete(2, p, q)
    assert shares[0] == 0.0
    assert shares[1] == pytest.approx(p)
    assert shares[2] == pytest.approx(p + (1 - p) * (p + q * p))


def test_bass_discrete_approaches_continuous_with_small_steps() -> None:
    # The recursion is a unit-step Euler scheme; at 50 steps per Bass period it is within
    # 0.0013 of the continuous curve at t = 5 and t = 10 (the allowance bass.toml states),
    # much closer than with one step per period.
    p, q, per_period = 0.03, 0.38, 50
    fine = analytic.bass_discrete(10 * per_period, p / per_period, q / per_period)
    coarse = analytic.bass_discrete(10, p, q)
    for t in (5, 10):
        fine_gap = abs(fine[t * per_period] - analytic.bass_cdf(t, p, q))
        assert fine_gap < 0.0013
        assert abs(coarse[t] - analytic.bass_cdf(t, p, q)) > 10 * fine_gap


@given(p=st.floats(1e-4, 0.2), q=st.floats(0.0, 0.7), steps=st.integers(1, 200))
def test_bass_discrete_is_a_rising_share(p: float, q: float, steps: int) -> None:
    shares = analytic.bass_discrete(steps, p, q)
    assert len(shares) == steps + 1
    assert np.all(np.diff(shares) >= 0)
    assert np.all((shares >= 0) & (shares <= 1))


def test_littles_law_helper() -> None:
    assert analytic.littles_law_wip(2.0, 1.5) == pytest.approx(3.0)


def test_little_window_gap_by_hand() -> None:
    # Window [10, 20): item A in the window throughout its life; B arrived at 5 (5 ticks
    # before the window) and finished at 12; C arrived at 18 and is still open; D finished
    # before the window.
    arrival = np.array([11.0, 5.0, 18.0, 1.0])
    completion = np.array([13.0, 12.0, np.nan, 4.0])
    gap, bound = analytic.littles_law_window_gap(arrival, completion, 10.0, 20.0)
    wip = (2.0 + 2.0 + 2.0) / 10  # time inside the window: A 2, B 2, C 2
    throughput, lead = 2 / 10, (2.0 + 7.0) / 2  # A and B completed in the window
    assert wip - throughput * lead == pytest.approx(gap)
    assert gap == pytest.approx((2.0 - 5.0) / 10)  # C's open time minus B's time before
    assert bound == pytest.approx((2.0 + 5.0) / 10)

"""The stability metrics (``stable``, ``backlog_growth_per_tick``, ``unfinished_share``) on
hand-built series and item tables with worked answers, and on real runs far below and far
above capacity."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import small_scenario

from sim.metrics import Observed, backlog_growth_per_tick, stable, unfinished_share
from sim.run import run_scenario


def observed(wip: np.ndarray, arrivals_per_tick: float = 5.0, items: pd.DataFrame | None = None) -> Observed:
    """A window of ``len(wip)`` ticks starting at tick 0 (only what the metrics read)."""
    ticks = len(wip)
    series = pd.DataFrame({"wip": wip, "arrivals": np.full(ticks, arrivals_per_tick)})
    empty = pd.DataFrame({"arrival": [], "completion": []})
    return Observed(
        items=items if items is not None else empty,
        done=empty,
        done_all=empty,
        series=series,
        start=0,
        end=ticks,
        spread_start=0,
        adoption=np.zeros(ticks),
    )


def test_a_linear_series_gives_its_slope_exactly():
    # 100 ticks of 3 + 0.5 t: every batch mean lies on the same line, so the slope is 0.5.
    o = observed(3 + 0.5 * np.arange(100))
    assert backlog_growth_per_tick(o) == pytest.approx(0.5, rel=1e-12)
    # Growth 0.5 x 100 = 50 items against 5% of 500 arrivals = 25, with no scatter: unstable.
    assert stable(o) is False


def test_the_batch_means_slope_and_its_t_test_by_hand():
    # 20 ticks, 10 batches of 2 ticks at centres x = 1, 3, ..., 19 (Sxx = 330): batch means
    # y = 0.3 x - 0.3 + c e with e = (1, -1, -1, 1, 0, 0, 1, -1, -1, 1), which sums to 0 and is
    # orthogonal to x, so the least-squares slope is exactly 0.3 and the residuals are c e.
    e = np.array([1, -1, -1, 1, 0, 0, 1, -1, -1, 1], dtype=float)
    x = 2 * np.arange(10) + 1.0
    assert e.sum() == 0 and x @ e == 0

    def window(c: float) -> Observed:
        return observed(np.repeat(0.3 * x - 0.3 + c * e, 2), arrivals_per_tick=1.0)

    # c = 1: SSR = 8, se = sqrt(8 / 8 / 330) = 0.0550, t = 5.45 > t_{0.95, 8} = 1.860, and the
    # growth 0.3 x 20 = 6 exceeds 5% of the 20 arrivals: unstable.
    assert backlog_growth_per_tick(window(1.0)) == pytest.approx(0.3, rel=1e-12)
    assert stable(window(1.0)) is False
    # c = 10: se = 0.550, t = 0.545 < 1.860: the same slope is not significant, stable.
    assert backlog_growth_per_tick(window(10.0)) == pytest.approx(0.3, rel=1e-12)
    assert stable(window(10.0)) is True
    # c = 1.7: se = 0.0936, t = 3.21, still significant; c = 6: se = 0.330, t = 0.91, not.
    assert stable(window(1.7)) is False and stable(window(6.0)) is True


def test_a_significant_but_immaterial_growth_is_stable():
    # Open work creeping up 0.01 items per tick with no scatter: significant (se = 0), but
    # 0.01 x 100 = 1 item against 5% of 500 arrivals = 25.
    o = observed(20 + 0.01 * np.arange(100))
    assert backlog_growth_per_tick(o) == pytest.approx(0.01)
    assert stable(o) is True


def test_a_flat_noisy_series_is_stable_and_a_growing_one_is_not():
    rng = np.random.default_rng(7)
    noise = rng.normal(0, 3, 200)
    # SE of the slope of the noise alone: batch means of 20 ticks have SD 3 / sqrt(20), their
    # centres are 20 ticks apart (Sxx = 400 x 82.5).
    se = 3 / np.sqrt(20) / np.sqrt(400 * 82.5)
    flat = observed(20 + noise)
    assert abs(backlog_growth_per_tick(flat)) < 4 * se
    assert stable(flat) is True
    growing = observed(20 + 2.0 * np.arange(200) + noise)
    assert backlog_growth_per_tick(growing) == pytest.approx(2.0, abs=4 * se)
    assert stable(growing) is False


def test_a_window_under_three_ticks_has_no_verdict():
    o = observed(np.array([1.0, 5.0]))
    assert stable(o) is None and backlog_growth_per_tick(o) is None


def test_unfinished_share_counts_arrivals_in_the_window_still_open_at_its_end():
    # Window [10, 20): items arriving at 5 (open, before the window), 10 (done at 12),
    # 12 (open), 15 (done at 19.5), 18 (open), 19 (done at 25, past the window: open at its
    # end), 20 (after the window). In the window: 10, 12, 15, 18, 19 -> open at 20: 12, 18, 19.
    items = pd.DataFrame(
        {
            "arrival": [5.0, 10.0, 12.0, 15.0, 18.0, 19.0, 20.0],
            "completion": [np.nan, 12.0, np.nan, 19.5, np.nan, 25.0, np.nan],
        }
    )
    o = observed(np.zeros(30), items=items)
    o = replace(o, start=10, end=20)
    assert unfinished_share(o) == pytest.approx(3 / 5)
    none_arrived = replace(o, items=items.iloc[:1])
    assert unfinished_share(none_arrived) is None


SHORT = {"simulation": {"ticks": 100, "warmup_ticks": 30}}


@pytest.mark.parametrize("structure", ["central_it", "micro_provider"])
def test_a_run_at_low_load_is_stable(structure):
    # 1 item per tick of 1 person-day on 8 people: about a quarter of capacity.
    summary = run_scenario(small_scenario(structure, demand={"arrival_rate": 1.0}, **SHORT), seed=0).summary
    assert summary["stable"] is True
    assert summary["unfinished_share"] < 0.2


@pytest.mark.parametrize("structure", ["central_it", "micro_provider"])
def test_a_run_far_above_capacity_is_unstable(structure):
    # 30 items per tick of 1 person-day on 8 people: open work grows by more than 20 a tick.
    summary = run_scenario(small_scenario(structure, demand={"arrival_rate": 30.0}, **SHORT), seed=0).summary
    assert summary["stable"] is False
    assert summary["backlog_growth_per_tick"] > 30.0 - 8.0 - 2.0  # arrivals - capacity, less a margin
    assert summary["unfinished_share"] > 0.5

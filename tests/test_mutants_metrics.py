"""Tests that kill mutants of ``sim/metrics.py`` the oracle tests let survive (tests/MUTATION.md):
the open-work trend (its standard error, degrees of freedom and three-tick minimum) and the
stability decision at its edges (shrinking work, growth of exactly 5%), items completed at
the window's end, one-tick lead times, shares of less than one person-day, the adoption
horizon, and the plain-words lookup of names. Expected values come from scipy's least-squares
fit and Student's t, or are worked out in the comments."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.metrics import (
    Observed,
    _mean,
    _quantiles,
    _wip_trend,
    adoption_horizon_ticks,
    backlog_growth_per_tick,
    bought_effort_share,
    flow_efficiency,
    rework_effort_share,
    stable,
    term,
    unfinished_share,
)


def observed(wip: np.ndarray, arrivals_per_tick: float = 1.0) -> Observed:
    """A window of ``len(wip)`` ticks from tick 0 (only what the trend and ``stable`` read)."""
    ticks = len(wip)
    empty = pd.DataFrame({"arrival": [], "completion": []})
    series = pd.DataFrame({"wip": wip, "arrivals": np.full(ticks, arrivals_per_tick)})
    return Observed(empty, empty, empty, series, 0, ticks, 0, np.zeros(ticks))


def test_the_trend_matches_scipy_linregress_on_the_batch_means() -> None:
    # 25 ticks: 10 batches of 2 ticks, the first 25 % 10 = 5 ticks left out; batch centres
    # 1, 3, ..., 19 ticks into the kept tail. scipy's fit of the ten batch means against those
    # centres gives the slope and its standard error sqrt(SSR / (n - 2) / Sxx), with n - 2 = 8.
    wip = np.array([50, 40, 30, 20, 10, 3, 5, 4, 8, 6, 6, 9, 7, 12, 8, 8, 11, 13, 10, 15, 14, 12, 18, 17, 16.0])
    means = wip[5:].reshape(10, 2).mean(axis=1)
    fit = stats.linregress(2 * np.arange(10) + 1.0, means)
    slope, se, df = _wip_trend(observed(wip))
    assert df == 8
    assert slope == pytest.approx(fit.slope, rel=1e-12)
    assert se == pytest.approx(fit.stderr, rel=1e-12)


def test_a_three_tick_window_has_a_trend() -> None:
    # Three batches of one tick, centres 0.5, 1.5, 2.5: the fit of 1, 2, 4 has slope 1.5.
    o = observed(np.array([1.0, 2.0, 4.0]))
    assert backlog_growth_per_tick(o) == pytest.approx(1.5)
    assert stable(o) in (True, False)


# Batch means y = 0.3 x - 0.3 + c e with x = 1, 3, ..., 19 (Sxx = 330) and e orthogonal to 1 and
# x with e'e = 8 (as in tests/test_stability.py): slope 0.3, se = c sqrt(8 / 8 / 330), so
# t = 0.3 sqrt(330) / c = 5.4498 / c on 8 degrees of freedom; growth 0.3 x 20 = 6 items is
# material against 5% of 20 arrivals. c = 2.90 gives t = 1.879, just above t_{0.95, 8} = 1.860
# (unstable); c = 2.97 gives t = 1.835, just below it (stable). On 7 or 10 degrees of freedom
# (critical 1.895, 1.812) both decisions flip, so the test pins the t test's df and its SE.
E = np.array([1, -1, -1, 1, 0, 0, 1, -1, -1, 1], dtype=float)
X = 2 * np.arange(10) + 1.0


@pytest.mark.parametrize(("c", "expected"), [(2.90, False), (2.97, True)])
def test_stable_decides_at_the_t_quantile_with_eight_degrees_of_freedom(c: float, expected: bool) -> None:
    t = 0.3 * math.sqrt(330) / c
    critical = stats.t.ppf(0.95, 8)
    assert (t > critical) is not expected  # the worked t is on the stated side of the quantile
    assert abs(t - critical) < 0.03  # and close to it: the test is sharp
    o = observed(np.repeat(0.3 * X - 0.3 + c * E, 2))
    assert backlog_growth_per_tick(o) == pytest.approx(0.3, rel=1e-12)
    assert stable(o) is expected


def test_term_reads_the_metric_vocabulary_then_the_scenario_keys() -> None:
    assert term("lead_time_p85_ticks").name == "85th percentile lead time"
    assert term("lead_time_p85_ticks").unit == "days"
    # Not a metric, but a common scenario key: its name and unit from the vocabulary.
    assert (term("organisation.teams").name, term("organisation.teams").unit) == ("teams", "teams")
    # Neither: the name itself, without a unit.
    assert (term("no_such_name").name, term("no_such_name").unit) == ("no_such_name", "")


def test_an_item_completed_at_the_window_end_is_unfinished() -> None:
    # Window [10, 20): items arriving at 12 and 15, completed at 19 and at 20. The one completed
    # at tick 20 was still open when the window ended: 1 of the 2 arrivals is unfinished.
    items = pd.DataFrame({"arrival": [12, 15], "completion": [19.0, 20.0]})
    o = observed(np.zeros(10))
    o = Observed(items, o.done, o.done_all, o.series, 10, 20, 0, o.adoption)
    assert unfinished_share(o) == 0.5


@pytest.mark.parametrize(("ticks", "spread_start", "horizon"), [(10, 4, 6), (10, 0, 10), (10, 10, 0), (10, 12, 0)])
def test_the_adoption_horizon_counts_from_the_spread_start(ticks: int, spread_start: int, horizon: int) -> None:
    o = observed(np.zeros(ticks))
    o = Observed(o.items, o.done, o.done_all, o.series, 0, ticks, spread_start, np.zeros(ticks))
    assert adoption_horizon_ticks(o) == horizon


def test_shrinking_open_work_is_stable() -> None:
    # Open work falling 0.5 items per tick without scatter: slope -0.5, stable without a test.
    o = observed(40 - 0.5 * np.arange(20))
    assert backlog_growth_per_tick(o) == pytest.approx(-0.5)
    assert stable(o) is True


def test_growth_of_exactly_five_percent_of_arrivals_is_not_material() -> None:
    # Open work 0.5 t over 10 ticks: slope exactly 0.5 with no scatter (significant), growth
    # 0.5 x 10 = 5 items; 10 arrivals per tick, 5% of 100 = 5. "Exceeds" is strict: stable.
    o = observed(0.5 * np.arange(10), arrivals_per_tick=10.0)
    assert backlog_growth_per_tick(o) == 0.5
    assert stable(o) is True
    # One more item of growth than that is material: unstable.
    assert stable(observed(0.6 * np.arange(10), arrivals_per_tick=10.0)) is False


def test_flow_efficiency_of_a_one_tick_item() -> None:
    # Lead times 1 and 4 with touch times 0.5 and 1: shares 0.5 and 0.25, mean 0.375.
    done = pd.DataFrame({"lead_time": [1.0, 4.0], "touch_time": [0.5, 1.0]})
    o = observed(np.zeros(5))
    assert flow_efficiency(Observed(o.items, done, done, o.series, 0, 5, 0, o.adoption)) == pytest.approx(0.375)


def test_shares_of_less_than_one_person_day() -> None:
    # Half a person-day busy, half of it rework: rework share 0.5. With 0.3 days bought
    # besides 0.2 days done inside, bought share 0.3 / 0.5 = 0.6.
    o = observed(np.zeros(1))
    rework = pd.DataFrame({"busy_new_days": [0.25], "busy_rework_days": [0.25]})
    assert rework_effort_share(Observed(o.items, o.done, o.done_all, rework, 0, 1, 0, o.adoption)) == 0.5
    bought = pd.DataFrame({"busy_new_days": [0.2], "bought_days": [0.3]})
    assert bought_effort_share(Observed(o.items, o.done, o.done_all, bought, 0, 1, 0, o.adoption)) == pytest.approx(0.6)


@pytest.mark.parametrize("n", [1, 5, 100, 3000])
def test_means_and_quantiles_are_pandas_to_the_bit_with_missing_values(n: int) -> None:
    # The summary was computed with pandas, which skips NaN by summing it as 0 in place;
    # the arrays' metrics must round the same (a NaN-free copy sums in another order).
    rng = np.random.default_rng(n)
    values = rng.random(n) * 100
    values[rng.random(n) < 0.2] = np.nan
    series = pd.Series(values)
    assert repr(_mean(values)) == repr(float(series.mean()))
    qs = (0.5, 0.85, 0.95)  # in one call, as the summary takes them; pandas one at a time
    assert [repr(v) for v in _quantiles(values, qs)] == [repr(float(series.quantile(q))) for q in qs]

"""Censored times across replications: Kaplan-Meier medians and the log-rank test.

A time a run may never reach (adoption t50/t90) is *censored* in a run that never got
there: the run only says the time exceeds its horizon. Such runs are kept, censored at
their horizon, instead of being dropped (which would bias the estimate towards fast runs).

- :func:`km_median`: the Kaplan-Meier estimate of the survival function S(t) = P(T > t)
  (``scipy.stats.ecdf`` on ``CensoredData``); the median is the first time with
  S(t) <= 0.5, undefined (NaN) when S stays above 0.5 to the last observation. Its
  interval is read off the pointwise band of S (Greenwood's variance, scipy's linear
  band; where S = 0 the band is 0): from the first time the lower band reaches 0.5 to
  the first time the upper band does (NaN: not bounded within the horizon).
- :func:`logrank_p`: two-sided p-value of the log-rank test (``scipy.stats.logrank``);
  1 when no run on either side reached the level (nothing to tell the curves apart).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np


def censored(times: Any, horizons: Any) -> tuple[np.ndarray, np.ndarray]:
    """Observed times and censoring times of the runs: a run with a time (not NaN) reached
    the level then; a run without one is censored at its horizon. Runs without a horizon
    are left out."""
    t, h = np.asarray(times, dtype=float), np.asarray(horizons, dtype=float)
    known = np.isfinite(h)
    reached = known & np.isfinite(t)
    return t[reached], h[known & ~reached]


def km_median(times: Any, horizons: Any, level: float = 0.95) -> dict[str, float | int]:
    """n (runs with a horizon), the share that reached the level, and the Kaplan-Meier
    median time with its ``level`` interval (NaN where undefined)."""
    events, censored_at = censored(times, horizons)
    n = len(events) + len(censored_at)
    out: dict[str, float | int] = {"n": n, "reached_share": len(events) / n if n else math.nan}
    if not len(events):
        return out | {"median": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    from scipy import stats

    sf = stats.ecdf(stats.CensoredData(uncensored=events, right=censored_at)).sf
    with warnings.catch_warnings():  # Greenwood's variance is undefined where S = 0
        warnings.filterwarnings("ignore", "The confidence interval is undefined", RuntimeWarning)
        band = sf.confidence_interval(level)
    zero = sf.probabilities == 0
    low = np.where(zero, 0.0, band.low.probabilities)
    high = np.where(zero, 0.0, band.high.probabilities)
    return out | {
        "median": _first_at_or_below(sf.quantiles, sf.probabilities),
        "ci_low": _first_at_or_below(sf.quantiles, low),
        "ci_high": _first_at_or_below(sf.quantiles, high),
    }


def _first_at_or_below(times: np.ndarray, survival: np.ndarray, share: float = 0.5) -> float:
    hits = np.flatnonzero(survival <= share)
    return float(times[hits[0]]) if len(hits) else math.nan


def logrank_p(times_a: Any, horizons_a: Any, times_b: Any, horizons_b: Any) -> float:
    """Two-sided log-rank p-value of a against b (NaN when a side has no runs)."""
    sides = [censored(t, h) for t, h in ((times_a, horizons_a), (times_b, horizons_b))]
    if any(len(events) + len(right) == 0 for events, right in sides):
        return math.nan
    if all(len(events) == 0 for events, _ in sides):
        return 1.0
    from scipy import stats

    data = [stats.CensoredData(uncensored=events, right=right) for events, right in sides]
    return float(stats.logrank(data[0], data[1]).pvalue)

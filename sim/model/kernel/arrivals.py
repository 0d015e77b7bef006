"""The demand stream, compiled (docs/ODD.md 7.1): Poisson arrivals of work items with their
kinds, services, efforts and the dependencies they touch, drawn from the demand's own
generator (so both structures see the same stream for a seed), in blocks of
``BLOCK_TICKS`` ticks, each drawn when its first tick starts.

A block's draws come in a fixed order (counts, times, kinds, services, efforts, touches),
so the stream depends only on the seed and the demand parameters; its items take their ids
in arrival order, from the next free id when it is drawn."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim.model.kernel.flow import (
    ARRIVE,
    BLOCK_FIRST,
    BLOCK_ID,
    BLOCK_NEED,
    FROM_DEMAND,
    GROW,
    NEXT_ID,
    new_item,
    schedule,
)

if TYPE_CHECKING:
    from sim.scenario.schema import Demand

BLOCK_TICKS = 64
EXPONENTIAL, FIXED, LOGNORMAL = 0, 1, 2  # the effort laws (``params.effort_law``)
# numpy's Stirling-series coefficients for log-gamma (``random_loggam``)
LOGGAM_SERIES = np.array(
    [
        8.333333333333333e-02,
        -2.777777777777778e-03,
        7.936507936507937e-04,
        -5.952380952380952e-04,
        8.417508417508418e-04,
        -1.917526917526918e-03,
        6.410256410256410e-03,
        -2.955065359477124e-02,
        1.796443723688307e-01,
        -1.39243221690590e00,
    ]
)


def effort_law(demand: Demand) -> dict[str, float]:
    """The effort distribution (mean ``mean_days``) as the params fields ``effort_law``,
    ``effort_mean`` and, for the lognormal, the log's mean ``effort_mu`` and sd ``effort_sigma``."""
    spec = demand.effort
    law = {"effort_mean": spec.mean_days, "effort_mu": 0.0, "effort_sigma": 0.0}
    if spec.distribution == "exponential":
        return law | {"effort_law": EXPONENTIAL}
    if spec.distribution == "fixed" or spec.cv == 0:
        return law | {"effort_law": FIXED}
    sigma2 = np.log1p(spec.cv**2)
    return law | {
        "effort_law": LOGNORMAL,
        "effort_mu": np.log(spec.mean_days) - sigma2 / 2,
        "effort_sigma": np.sqrt(sigma2),
    }


@njit(cache=True)
def poisson(rng, lam, n):
    """``n`` Poisson draws of mean ``lam``, exactly as ``numpy.random.Generator.poisson`` makes
    them: numpy's algorithms (multiplication below 10, PTRS from 10) transcribed from its C
    source. Numba's own ``Generator.poisson`` truncates PTRS's candidate where numpy floors it,
    so now and then it accepts a draw that numpy rejects, and the streams part."""
    out = np.zeros(n, dtype=np.int64)
    if lam == 0:
        return out
    if lam < 10:
        enlam = np.exp(-lam)
        for j in range(n):
            prod = 1.0
            while True:
                prod *= rng.random()
                if prod <= enlam:
                    break
                out[j] += 1
        return out
    slam, loglam = np.sqrt(lam), np.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2)
    for j in range(n):
        while True:
            u = rng.random() - 0.5
            v = rng.random()
            us = 0.5 - abs(u)
            k = np.floor((2 * a / us + b) * u + lam + 0.43)
            if us >= 0.07 and v <= vr:
                break
            if k < 0 or (us < 0.013 and v > us):
                continue
            if np.log(v) + np.log(invalpha) - np.log(a / (us * us) + b) <= -lam + k * loglam - loggam(k + 1):
                break
        out[j] = int(k)
    return out


@njit(cache=True)
def loggam(x):
    """log(Gamma(x)) as numpy's Poisson sampler computes it (its ``random_loggam``)."""
    if x == 1.0 or x == 2.0:
        return 0.0
    n = int(7 - x) if x < 7.0 else 0
    x0 = x + n
    x2 = (1.0 / x0) * (1.0 / x0)
    gl0 = LOGGAM_SERIES[9]
    for k in range(8, -1, -1):
        gl0 *= x2
        gl0 += LOGGAM_SERIES[k]
    gl = gl0 / x0 + 0.5 * 1.8378770664093453 + (x0 - 0.5) * np.log(x0) - x0
    for _ in range(n):
        gl -= np.log(x0 - 1.0)
        x0 -= 1.0
    return gl


@njit(cache=True)
def draw_efforts(rng, law, mean, mu, sigma, n):
    """``n`` efforts: exponential of ``mean``, fixed at ``mean``, or lognormal (``mu``, ``sigma``)."""
    if law == EXPONENTIAL:
        return rng.exponential(mean, n)
    if law == LOGNORMAL:
        return rng.lognormal(mu, sigma, n)
    return np.full(n, mean)


@njit(cache=True)
def draw_block(s, rng, first):
    """The block of ticks from ``first``: its rows (sorted by arrival time) in ``s.dm_*``,
    tick ``first + k``'s from ``s.dm_starts[k]``. Returns False, with ``s.ctr[GROW]`` set,
    when the rows need more room than ``s.dm_time`` has (the counts are kept, and the rest
    is drawn on the next call)."""
    p = s.params[0]
    starts = s.dm_starts
    if s.ctr[BLOCK_NEED] == 0:
        counts = poisson(rng, p.arrival_rate, BLOCK_TICKS)
        for k in range(BLOCK_TICKS):
            starts[k + 1] = starts[k] + counts[k]
        if starts[BLOCK_TICKS] > len(s.dm_time):
            s.ctr[BLOCK_NEED] = starts[BLOCK_TICKS]
            s.ctr[GROW] = 1
            return False
    s.ctr[BLOCK_NEED] = 0
    s.ctr[BLOCK_FIRST] = first
    s.ctr[BLOCK_ID] = s.ctr[NEXT_ID] + 1
    n = starts[BLOCK_TICKS]
    s.ctr[NEXT_ID] += n
    if n == 0:
        return True
    times = rng.random(n)
    for k in range(BLOCK_TICKS):
        for j in range(starts[k], starts[k + 1]):
            times[j] = float(first + k) + times[j]
    order = np.argsort(times, kind="mergesort")
    kinds = np.minimum(np.searchsorted(s.kind_cdf, rng.random(n), side="right"), 2)
    services = np.minimum(np.searchsorted(s.service_cdf, rng.random(n), side="right"), len(s.service_cdf) - 1)
    efforts = draw_efforts(rng, p.effort_law, p.effort_mean, p.effort_mu, p.effort_sigma, n)
    touched = rng.random((n, s.dm_touch.shape[1])) < p.touch_prob
    for j in range(n):
        row = order[j]
        s.dm_kind[j] = kinds[row]
        s.dm_service[j] = services[row]
        s.dm_effort[j] = efforts[row]
        s.dm_time[j] = times[row]
        s.dm_touch[j] = touched[row]
    return True


@njit(cache=True)
def arrive_at(s, id_, row):
    """Row ``row`` of the block as a demand item with id ``id_``, with the dependencies it
    touches, and its arrival event."""
    service = s.dm_service[row]
    time = s.dm_time[row]
    item = new_item(s, id_, s.dm_kind[row], FROM_DEMAND, service, s.dm_effort[row], time)
    n = 0
    for k in range(s.service_ndeps[service]):
        if s.dm_touch[row, k]:
            s.item_deps[item, n] = s.service_deps[service, k]
            n += 1
    s.items[item].ndeps = n
    schedule(s, time, ARRIVE, item)

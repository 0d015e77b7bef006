"""Reference cases with known answers, used by the validation tests.

Each function is pure and states its formula and source. Queueing results assume a
stationary system (utilisation ``rho < 1``); they raise ``ValueError`` otherwise.

Worked values (asserted in ``tests/test_analytic.py``):

- M/M/3 with ``lambda = 2``, ``mu = 1``: ``C = 4/9``, ``Wq = 4/9 = 0.444``, ``W = 13/9 = 1.444``.
- M/M/1 with ``lambda = 2/3``, ``mu = 1``: ``W = 3``.
- Bass with ``p = 0.03``, ``q = 0.38``: ``F(5) = 0.331``, ``F(10) = 0.813``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import poisson


def _check_stable(arrival_rate: float, service_rate: float, servers: int) -> float:
    if servers < 1:
        raise ValueError(f"need at least one server (got {servers})")
    if arrival_rate < 0 or service_rate <= 0:
        raise ValueError(f"need arrival_rate >= 0 and service_rate > 0 (got {arrival_rate}, {service_rate})")
    rho = arrival_rate / (servers * service_rate)
    if rho >= 1:
        raise ValueError(f"unstable queue: utilisation rho = {rho:g} >= 1")
    return rho


def erlang_c(servers: int, arrival_rate: float, service_rate: float) -> float:
    """Probability that an arrival must wait in an M/M/c queue (Erlang C formula).

    With offered load ``a = lambda / mu`` and utilisation ``rho = a / c < 1``::

        C(c, a) = [a^c / (c! (1 - rho))] / [sum_{k=0}^{c-1} a^k / k! + a^c / (c! (1 - rho))]

    Numerator and denominator are divided by ``e^a`` so that the sums are Poisson
    probabilities (``scipy.stats.poisson``), which keeps large ``c`` finite.

    Source: A. K. Erlang (1917), "Solution of some problems in the theory of
    probabilities of significance in automatic telephone exchanges"; L. Kleinrock (1975),
    *Queueing Systems, Vol. 1*, ch. 3 (the M/M/m queue).
    """
    rho = _check_stable(arrival_rate, service_rate, servers)
    a = arrival_rate / service_rate
    if a == 0:
        return 0.0
    tail = poisson.pmf(servers, a) / (1 - rho)
    return float(tail / (poisson.cdf(servers - 1, a) + tail))


def mmc_wait(servers: int, arrival_rate: float, service_rate: float) -> float:
    """Mean time in queue ``Wq`` of an M/M/c queue: ``Wq = C(c, a) / (c mu - lambda)``.

    Source: Kleinrock (1975), *Queueing Systems, Vol. 1*, ch. 3; D. Gross and
    C. M. Harris, *Fundamentals of Queueing Theory* (M/M/c queue).
    """
    return erlang_c(servers, arrival_rate, service_rate) / (servers * service_rate - arrival_rate)


def mmc_sojourn(servers: int, arrival_rate: float, service_rate: float) -> float:
    """Mean time in system ``W`` of an M/M/c queue: ``W = Wq + 1 / mu``.

    Source: Kleinrock (1975), *Queueing Systems, Vol. 1*, ch. 3.
    """
    return mmc_wait(servers, arrival_rate, service_rate) + 1 / service_rate


def mm1_sojourn(arrival_rate: float, service_rate: float) -> float:
    """Mean time in system of an M/M/1 queue: ``W = 1 / (mu - lambda)``.

    Source: Kleinrock (1975), *Queueing Systems, Vol. 1*, ch. 3 (the M/M/1 queue).
    """
    _check_stable(arrival_rate, service_rate, 1)
    return 1 / (service_rate - arrival_rate)


def jackson_tandem_sojourn(arrival_rate: float, service_rates: Sequence[float]) -> float:
    """Mean time through ``k`` single-server exponential stations in series fed by a
    Poisson stream: ``W = sum_i 1 / (mu_i - lambda)``.

    Each station behaves as an independent M/M/1 queue (Burke's output theorem; Jackson's
    product form). Source: J. R. Jackson (1957), "Networks of waiting lines", *Operations
    Research* 5(4); P. J. Burke (1956), *Operations Research* 4(6).
    """
    if len(service_rates) == 0:
        raise ValueError("need at least one station")
    return sum(mm1_sojourn(arrival_rate, mu) for mu in service_rates)


def bass_cdf(t: float | np.ndarray, p: float, q: float) -> float | np.ndarray:
    """Cumulative share of adopters of the continuous Bass model at time ``t``.

    Solution of ``dF/dt = (1 - F)(p + q F)`` with ``F(0) = 0``::

        F(t) = (1 - e^{-(p + q) t}) / (1 + (q / p) e^{-(p + q) t})

    ``p`` is the coefficient of innovation (external influence), ``q`` the coefficient of
    imitation, both per unit of time. Source: F. M. Bass (1969), "A new product growth
    for model consumer durables", *Management Science* 15(5), 215-227.
    """
    if p <= 0 or q < 0:
        raise ValueError(f"need p > 0 and q >= 0 (got p={p}, q={q})")
    decay = np.exp(-(p + q) * np.asarray(t, dtype=float))
    share = (1 - decay) / (1 + (q / p) * decay)
    return float(share) if np.ndim(share) == 0 else share


def bass_discrete(steps: int, p: float, q: float, initial: float = 0.0) -> np.ndarray:
    """Per-step Bass recursion, the mean-field of "each non-adopter adopts in a step with
    probability ``p + q F``" (what the model does once per tick)::

        F_{t+1} = F_t + (1 - F_t)(p + q F_t),    F_0 = initial

    Returns ``F_0, F_1, ..., F_steps`` (length ``steps + 1``). It is the forward-Euler
    step of Bass's differential equation with unit step, so for per-step ``p`` and ``q``
    much smaller than one it approaches :func:`bass_cdf` at ``t = steps``.
    Source: Bass (1969), whose hazard ``p + q F`` this applies per step.
    """
    if steps < 0 or not 0 <= initial <= 1 or p < 0 or q < 0 or p + q > 1:
        raise ValueError(
            f"need steps >= 0, 0 <= initial <= 1, p, q >= 0, p + q <= 1 (got {steps}, {initial}, {p}, {q})"
        )
    shares = np.empty(steps + 1)
    shares[0] = initial
    for t in range(steps):
        f = shares[t]
        shares[t + 1] = f + (1 - f) * (p + q * f)
    return shares


def littles_law_wip(throughput: float, mean_time_in_system: float) -> float:
    """Little's law, ``L = lambda W``: mean number in a system from its throughput and
    mean time in system. Source: J. D. C. Little (1961), "A proof for the queuing formula
    L = lambda W", *Operations Research* 9(3), 383-387.
    """
    return throughput * mean_time_in_system


def littles_law_window_gap(
    arrival: np.ndarray, completion: np.ndarray, start: float, end: float
) -> tuple[float, float]:
    """The exact gap between the two sides of Little's law measured over a finite window.

    Over the window ``[start, end)`` of length ``T``, with ``L`` the time-averaged number
    in the system, ``X`` the number of items completed in the window divided by ``T`` and
    ``W`` their mean time in system (arrival to completion)::

        L - X W = (B_open - B_before) / T

    ``B_before`` is the time before ``start`` spent by items completed in the window, and
    ``B_open`` the time inside the window spent by items *not* completed in it (still
    open at ``end``). Both are non-negative, so ``|L - X W| <= (B_open + B_before) / T``.
    Returns ``(signed_gap, bound)``. Items not yet completed have ``completion = nan``;
    every item is assumed to arrive before ``end``.

    Source: Little (1961); the finite-window form is in S.-H. Kim and W. Whitt (2013),
    "Statistical analysis with Little's law", *Operations Research* 61(4), 1030-1045.
    """
    arrival = np.asarray(arrival, dtype=float)
    completion = np.asarray(completion, dtype=float)
    span = end - start
    done = (completion >= start) & (completion < end)
    before = float(np.clip(start - arrival[done], 0, None).sum())
    finish = np.where(np.isnan(completion), end, np.minimum(completion, end))
    inside = np.clip(finish - np.maximum(arrival, start), 0, None)
    open_ = float(inside[~done].sum())
    return (open_ - before) / span, (open_ + before) / span

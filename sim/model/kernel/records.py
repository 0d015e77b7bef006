"""The busy time of a run per tick, compiled: each busy interval's person-days spread over
the ticks it overlaps (``sim.model.recorder.TickRecorder.busy``). The sums run in the order
numpy's ``bincount`` and ``cumsum`` take, so the series are those numpy computed before."""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def per_tick(rows, ticks):
    """Ticks x categories from ``rows`` (start, finish, then person-days per category): each
    interval's days spread over the ticks it overlaps, in proportion to the overlap. Its
    partial first and last ticks are booked directly, the full ticks between get its rate
    through a difference array (so idle ticks stay at zero); slot ``ticks`` collects what
    falls past the horizon."""
    categories = rows.shape[1] - 2
    busy = np.empty((ticks, categories))
    heads, tails = np.zeros(ticks + 1), np.zeros(ticks + 1)
    ups, downs = np.zeros(ticks + 1), np.zeros(ticks + 1)
    for c in range(categories):
        heads[:], tails[:], ups[:], downs[:] = 0.0, 0.0, 0.0, 0.0
        for i in range(len(rows)):
            start, finish = rows[i, 0], rows[i, 1]
            first, last = math.floor(start), math.floor(finish)
            same = first == last
            head = (finish if same else float(first + 1)) - start
            tail = 0.0 if same else finish - float(last)
            full_from = min(first + 1, ticks)
            full_to = min(max(last, full_from), ticks)
            rate = rows[i, 2 + c] / (finish - start)
            heads[min(first, ticks)] += rate * head
            tails[min(last, ticks)] += rate * tail
            ups[full_from] += rate
            downs[full_to] += rate
        running = 0.0
        for k in range(ticks):
            running += ups[k] - downs[k]
            busy[k, c] = (heads[k] + tails[k]) + max(running, 0.0)
    return busy

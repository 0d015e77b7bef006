"""Sums as the object-based engine the kernel replaced computed them, so a seed gives its
runs to the last bit: Python's ``sum`` of floats (``py_sum``) and numpy's ``ndarray.sum``
(``pairwise_sum``)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def py_sum(values, lo, hi):
    """``sum(values[lo:hi])`` exactly as Python computes it for floats (Neumaier's
    compensated summation, since Python 3.12), so the kernel's sums equal the model's."""
    total = 0.0
    compensation = 0.0
    for k in range(lo, hi):
        x = values[k]
        t = total + x
        if abs(total) >= abs(x):
            compensation += (total - t) + x
        else:
            compensation += (x - t) + total
        total = t
    if compensation != 0.0 and math.isfinite(compensation):
        total += compensation
    return total


@njit(cache=True)
def pairwise_sum(values, lo, hi):
    """``values[lo:hi].sum()`` exactly as numpy sums float64: blocks of at most 128 summed
    by ``block_sum``, halves (cut at a multiple of 8) added pairwise. Written as a loop
    over an explicit stack, as Numba does not cache recursive functions reliably."""
    if hi - lo <= 128:
        return block_sum(values, lo, hi)
    starts = np.empty(64, dtype=np.int64)
    ends = np.empty(64, dtype=np.int64)
    stage = np.zeros(64, dtype=np.int64)  # 0: left half next, 1: right half next, 2: add them
    left = np.empty(64)
    depth, total = 0, 0.0
    starts[0], ends[0] = lo, hi
    while depth >= 0:
        a, b = starts[depth], ends[depth]
        if b - a <= 128 or stage[depth] == 2:
            total = block_sum(values, a, b) if b - a <= 128 else left[depth] + total
            depth -= 1
            continue
        half = (b - a) // 2
        half -= half % 8
        if stage[depth] == 0:
            child_start, child_end = a, a + half
        else:
            left[depth] = total
            child_start, child_end = a + half, b
        stage[depth] += 1
        depth += 1
        starts[depth], ends[depth], stage[depth] = child_start, child_end, 0
    return total


@njit(cache=True)
def block_sum(values, lo, hi):
    """numpy's sum of at most 128 float64: sequential below 8, else eight running sums."""
    n = hi - lo
    if n < 8:
        total = 0.0
        for i in range(lo, hi):
            total += values[i]
        return total
    r0, r1, r2, r3 = values[lo], values[lo + 1], values[lo + 2], values[lo + 3]
    r4, r5, r6, r7 = values[lo + 4], values[lo + 5], values[lo + 6], values[lo + 7]
    i = lo + 8
    end = hi - n % 8
    while i < end:
        r0 += values[i]
        r1 += values[i + 1]
        r2 += values[i + 2]
        r3 += values[i + 3]
        r4 += values[i + 4]
        r5 += values[i + 5]
        r6 += values[i + 6]
        r7 += values[i + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < hi:
        total += values[i]
        i += 1
    return total

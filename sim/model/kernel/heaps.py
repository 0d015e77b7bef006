"""Binary heaps in flat arrays: the event heap, ordered by (time, seq), and queues of rows
of a table (a pool's tasks, an intake's backlog of items), ordered by their fields
(priority, ready, seq). Keys are unique (``seq`` is), so the
order things leave a heap does not depend on how the heap is laid out."""

from __future__ import annotations

from numba import njit


@njit(cache=True, inline="always")
def _event_before(times, keys, a, b):
    return times[a] < times[b] or (times[a] == times[b] and keys[a, 0] < keys[b, 0])


@njit(cache=True, inline="always")
def _event_swap(times, keys, a, b):
    times[a], times[b] = times[b], times[a]
    for k in range(3):
        keys[a, k], keys[b, k] = keys[b, k], keys[a, k]


@njit(cache=True)
def event_push(times, keys, size, time, seq, code, obj):
    """Add an event (``keys`` rows: seq, code, object); returns the new size."""
    i = size
    times[i] = time
    keys[i, 0] = seq
    keys[i, 1] = code
    keys[i, 2] = obj
    while i > 0:
        parent = (i - 1) >> 1
        if not _event_before(times, keys, i, parent):
            break
        _event_swap(times, keys, i, parent)
        i = parent
    return size + 1


@njit(cache=True)
def event_pop(times, keys, size):
    """Move the earliest event to slot ``size - 1`` and restore the heap over the rest;
    returns the new size (the popped event's slot)."""
    last = size - 1
    _event_swap(times, keys, 0, last)
    i = 0
    while True:
        child = 2 * i + 1
        if child >= last:
            break
        if child + 1 < last and _event_before(times, keys, child + 1, child):
            child += 1
        if not _event_before(times, keys, child, i):
            break
        _event_swap(times, keys, i, child)
        i = child
    return last


@njit(cache=True, inline="always")
def _before(table, a, b):
    ta, tb = table[a], table[b]
    if ta.priority != tb.priority:
        return ta.priority < tb.priority
    if ta.ready != tb.ready:
        return ta.ready < tb.ready
    return ta.seq < tb.seq


@njit(cache=True)
def queue_push(heap, start, size, table, row):
    """Add ``row`` of ``table`` to the heap held in ``heap[start : start + size]``."""
    i = size
    heap[start + i] = row
    while i > 0:
        parent = (i - 1) >> 1
        if not _before(table, heap[start + i], heap[start + parent]):
            break
        heap[start + i], heap[start + parent] = heap[start + parent], heap[start + i]
        i = parent


@njit(cache=True)
def queue_pop(heap, start, size, table):
    """Remove and return the first row of the heap held in ``heap[start : start + size]``."""
    first = heap[start]
    last = size - 1
    heap[start] = heap[start + last]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= last:
            break
        if child + 1 < last and _before(table, heap[start + child + 1], heap[start + child]):
            child += 1
        if not _before(table, heap[start + child], heap[start + i]):
            break
        heap[start + i], heap[start + child] = heap[start + child], heap[start + i]
        i = child
    return first

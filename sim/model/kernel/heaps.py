"""Binary heaps in flat arrays: the event heap, ordered by (time, seq), and queues of rows
of a table (a pool's tasks, an intake's backlog of items), ordered by (priority, ready,
seq), which each entry of a queue carries beside its row (``state.QUEUE``: a comparison
reads the heap, not the table). Keys are unique (``seq`` is), so the order things leave
a heap does not depend on how the heap is laid out."""

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
def _before(priority, ready, seq, other_priority, other_ready, other_seq):
    """Whether the key (``priority``, ``ready``, ``seq``) goes before the other."""
    if priority != other_priority:
        return priority < other_priority
    if ready != other_ready:
        return ready < other_ready
    return seq < other_seq


@njit(cache=True, inline="always")
def _put(entry, priority, ready, seq, row):
    entry.priority = priority
    entry.ready = ready
    entry.seq = seq
    entry.row = row


@njit(cache=True)
def queue_push(heap, start, size, priority, ready, seq, row):
    """Add ``row`` with its key to the heap held in ``heap[start : start + size]``."""
    i = size
    while i > 0:
        parent = (i - 1) >> 1
        up = heap[start + parent]
        if not _before(priority, ready, seq, up.priority, up.ready, up.seq):
            break
        _put(heap[start + i], up.priority, up.ready, up.seq, up.row)
        i = parent
    _put(heap[start + i], priority, ready, seq, row)


@njit(cache=True)
def queue_pop(heap, start, size):
    """Remove and return the first row of the heap held in ``heap[start : start + size]``."""
    first = heap[start].row
    last = size - 1
    sinking = heap[start + last]  # the last entry sinks from the top to its place
    priority, ready, seq, row = sinking.priority, sinking.ready, sinking.seq, sinking.row
    i = 0
    while True:
        child = 2 * i + 1
        if child >= last:
            break
        down = heap[start + child]
        if child + 1 < last:
            right = heap[start + child + 1]
            if _before(right.priority, right.ready, right.seq, down.priority, down.ready, down.seq):
                child += 1
                down = right
        if not _before(down.priority, down.ready, down.seq, priority, ready, seq):
            break
        _put(heap[start + i], down.priority, down.ready, down.seq, down.row)
        i = child
    _put(heap[start + i], priority, ready, seq, row)
    return first

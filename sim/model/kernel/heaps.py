"""Binary heaps in flat arrays: the event heap, ordered by (time, seq), and queues of rows
of a table (a pool's tasks, an intake's backlog of items), ordered by (priority, ready,
seq), which each entry of a queue carries beside its row (``state.QUEUE``: a comparison
reads the heap, not the table). Keys are unique (``seq`` is), so the order things leave
a heap does not depend on how the heap is laid out."""

from __future__ import annotations

from numba import njit


# The event heap's loops read and write the arrays directly, with no helper calls: a call
# with array arguments costs reference counting (atomic operations) on every step.
@njit(cache=True)
def event_push(times, keys, size, time, seq, code, obj):
    """Add an event (``keys`` rows: seq, code, object); returns the new size."""
    i = size
    while i > 0:  # the later parents move down a level and the event rises to its place
        parent = (i - 1) >> 1
        if not (time < times[parent] or (time == times[parent] and seq < keys[parent, 0])):
            break
        times[i] = times[parent]
        keys[i, 0], keys[i, 1], keys[i, 2] = keys[parent, 0], keys[parent, 1], keys[parent, 2]
        i = parent
    times[i] = time
    keys[i, 0], keys[i, 1], keys[i, 2] = seq, code, obj
    return size + 1


@njit(cache=True)
def event_pop(times, keys, size):
    """Move the earliest event to slot ``size - 1`` and restore the heap over the rest;
    returns the new size (the popped event's slot)."""
    last = size - 1
    first_time, first_seq, first_code, first_obj = times[0], keys[0, 0], keys[0, 1], keys[0, 2]
    time, seq, code, obj = times[last], keys[last, 0], keys[last, 1], keys[last, 2]  # sinks from the top
    i = 0
    while True:
        child = 2 * i + 1
        if child >= last:
            break
        right = child + 1
        if right < last and (
            times[right] < times[child] or (times[right] == times[child] and keys[right, 0] < keys[child, 0])
        ):
            child = right
        if not (times[child] < time or (times[child] == time and keys[child, 0] < seq)):
            break
        times[i] = times[child]
        keys[i, 0], keys[i, 1], keys[i, 2] = keys[child, 0], keys[child, 1], keys[child, 2]
        i = child
    times[i] = time
    keys[i, 0], keys[i, 1], keys[i, 2] = seq, code, obj
    times[last] = first_time
    keys[last, 0], keys[last, 1], keys[last, 2] = first_seq, first_code, first_obj
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

"""Every work item that arrived: open ones as objects, released ones as packed rows.

A released item is final, so its row is packed into one array of floats and the object
can go; a long or large run then keeps ~130 bytes per item instead of the whole object."""

from __future__ import annotations

from array import array

import numpy as np
import pandas as pd

from sim.model.work import KIND_NAMES, WorkItem

# Column name and dtype, in the order rows are packed.
COLUMNS = (
    ("id", np.int64),
    ("kind", np.int8),
    ("origin", np.int8),
    ("service", np.int64),
    ("effort", float),
    ("arrival", float),
    ("completion", float),
    ("reworks", np.int64),
    ("escaped", bool),
    ("handoffs", np.int64),
    ("queue_wait", float),
    ("touch_time", float),
    ("dependency_wait", float),
    ("backlog_wait", float),
    ("desk_resolved", bool),
)
WIDTH = len(COLUMNS) + 1  # plus the arrival order


def _row(item: WorkItem) -> tuple[float, ...]:
    return (
        item.order,
        item.id,
        item.kind,
        item.origin,
        item.service,
        item.effort,
        item.arrival,
        item.completion,
        item.reworks,
        item.escaped,
        item.handoffs,
        item.queue_wait,
        item.touch_time,
        item.dependency_wait,
        item.backlog_wait,
        item.desk_resolved,
    )


class ItemLog:
    """Items in arrival order; ``table()`` gives one row per item, open or released.

    Every packed value is a whole number below 2**53, a bool or a float, so it round-trips
    exactly through a float64."""

    def __init__(self) -> None:
        self._open: dict[int, WorkItem] = {}
        self._released = array("d")
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def arrive(self, item: WorkItem) -> None:
        item.order = self._count
        self._count += 1
        self._open[item.order] = item

    def release(self, item: WorkItem) -> None:
        """``item`` is done and will not change again: keep its row, drop the object."""
        del self._open[item.order]
        self._released.extend(_row(item))

    def table(self) -> pd.DataFrame:
        """One row per item that arrived, in arrival order."""
        released = np.frombuffer(self._released, dtype=float).reshape(-1, WIDTH)
        still_open = np.array([_row(i) for i in self._open.values()], dtype=float).reshape(-1, WIDTH)

        def column(i: int) -> np.ndarray:  # one at a time: a large log is never copied whole
            return np.concatenate([released[:, i], still_open[:, i]])

        order = np.argsort(column(0), kind="stable")
        return item_table(lambda name, i: column(i + 1)[order])


def item_table(column) -> pd.DataFrame:
    """The item table from ``column(name, index)``, each of ``COLUMNS`` in arrival order: the
    columns in their dtypes, the kind as a category, and the lead time."""
    frame = pd.DataFrame({name: column(name, i).astype(dtype) for i, (name, dtype) in enumerate(COLUMNS)})
    frame["kind"] = pd.Categorical.from_codes(frame["kind"], categories=KIND_NAMES)
    frame["lead_time"] = frame["completion"] - frame["arrival"]
    return frame

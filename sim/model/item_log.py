"""The item table: one row per work item that arrived, its columns and their types."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from sim.model.work import KIND_NAMES

KIND = pd.CategoricalDtype(KIND_NAMES)  # the kind column's type, made once

# Column name and dtype, in table order.
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


def item_columns(column: Callable[[str], np.ndarray], own: bool) -> dict[str, np.ndarray]:
    """The item table's columns from ``column(name)``, each of ``COLUMNS`` in arrival order,
    in its dtype (the kind as its code), and the lead time. Arrays ``column`` returns that
    are their ``own`` (not views of another) are taken as they are where they have their dtype."""
    columns = {name: column(name).astype(dtype, copy=not own) for name, dtype in COLUMNS}
    columns["lead_time"] = columns["completion"] - columns["arrival"]
    return columns


def item_table(columns: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """The item table of ``item_columns`` (and any columns added to them), the kind as a
    category; the table takes the arrays (no copy)."""
    frame = pd.DataFrame(columns, copy=False)
    frame["kind"] = pd.Categorical.from_codes(frame["kind"], dtype=KIND)
    return frame

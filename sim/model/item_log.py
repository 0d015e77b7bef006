"""The item table: one row per work item that arrived, its columns and their types."""

from __future__ import annotations

from collections.abc import Callable

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


def item_table(column: Callable[[str], np.ndarray]) -> pd.DataFrame:
    """The item table from ``column(name)``, each of ``COLUMNS`` in arrival order: the columns
    in their dtypes, the kind as a category, and the lead time. The table takes the arrays
    ``column`` returns (no copy): each must be its own."""
    frame = pd.DataFrame({name: column(name).astype(dtype, copy=False) for name, dtype in COLUMNS}, copy=False)
    frame["kind"] = pd.Categorical.from_codes(frame["kind"], dtype=KIND)
    frame["lead_time"] = frame["completion"] - frame["arrival"]
    return frame

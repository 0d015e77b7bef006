"""Per-tick model series, accumulated in arrays (no per-agent reporters)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

# Where busy person-days go; idle is capacity minus their sum.
CATEGORIES = ("new", "dependency", "rework", "learning", "switching")


class TickRecorder:
    """Counts and person-days per tick; ``frame()`` turns them into a DataFrame."""

    def __init__(self, ticks: int, people: int) -> None:
        self.ticks = ticks
        self.people = people
        self._busy = [[0.0] * len(CATEGORIES) for _ in range(ticks)]
        self.arrivals = np.zeros(ticks, dtype=np.int64)
        self.completions = np.zeros(ticks, dtype=np.int64)
        self.wip = np.zeros(ticks, dtype=np.int64)
        self.queued_tasks = np.zeros(ticks, dtype=np.int64)
        self.adoption_share = np.zeros(ticks)

    def add_busy(self, start: float, finish: float, parts: tuple[float, ...]) -> None:
        """Book ``parts`` (person-days by category, spent over [start, finish)) to ticks."""
        if finish <= start or start >= self.ticks:
            return
        first = int(start)
        last = min(math.ceil(finish), self.ticks)
        busy = self._busy
        if last - first == 1:
            row = busy[first]
            for k, part in enumerate(parts):
                row[k] += part
            return
        span = finish - start
        for tick in range(first, last):
            share = (min(finish, tick + 1) - max(start, tick)) / span
            row = busy[tick]
            for k, part in enumerate(parts):
                row[k] += part * share

    @property
    def busy(self) -> np.ndarray:
        """Busy person-days, ticks x categories."""
        return np.array(self._busy, dtype=float).reshape(self.ticks, len(CATEGORIES))

    def frame(self) -> pd.DataFrame:
        matrix = self.busy
        busy = pd.DataFrame(matrix, columns=[f"busy_{c}_days" for c in CATEGORIES])
        capacity = float(self.people)
        total = matrix.sum(axis=1)
        frame = pd.DataFrame(
            {
                "tick": np.arange(self.ticks),
                "arrivals": self.arrivals,
                "completions": self.completions,
                "wip": self.wip,
                "queued_tasks": self.queued_tasks,
                "capacity_days": capacity,
                "idle_days": np.maximum(0.0, capacity - total),
                "utilisation": total / capacity,
                "adoption_share": self.adoption_share,
            }
        )
        return pd.concat([frame, busy], axis=1)

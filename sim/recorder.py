"""Per-tick model series, accumulated in arrays (no per-agent reporters)."""

from __future__ import annotations

from array import array

import numpy as np
import pandas as pd

# Where busy person-days go; idle is capacity minus their sum.
CATEGORIES = ("new", "dependency", "rework", "learning", "switching")


class TickRecorder:
    """Counts and person-days per tick; ``frame()`` turns them into a DataFrame."""

    def __init__(self, ticks: int, people: int) -> None:
        self.ticks = ticks
        self.people = people
        # One entry per busy interval: start, finish and person-days per category.
        self._intervals = array("d")
        self.arrivals = np.zeros(ticks, dtype=np.int64)
        self.completions = np.zeros(ticks, dtype=np.int64)
        self.wip = np.zeros(ticks, dtype=np.int64)
        self.queued_tasks = np.zeros(ticks, dtype=np.int64)
        self.adoption_share = np.zeros(ticks)

    def add_busy(self, start: float, finish: float, parts: tuple[float, ...]) -> None:
        """Record ``parts`` (person-days by category, spent evenly over [start, finish))."""
        if finish > start and start < self.ticks:
            self._intervals.extend((start, finish, *parts))

    @property
    def busy(self) -> np.ndarray:
        """Busy person-days, ticks x categories: each interval's person-days spread over
        the ticks it overlaps, in proportion to the overlap.

        With r the rate (person-days per tick) of an interval [s, f), the busy time up to
        tick T is C(T) = sum r (max(0, T - s) - max(0, T - f)) = T A(T) - M(T), where A and
        M sum r and r x time over the interval ends before T; busy in tick k is
        C(k + 1) - C(k)."""
        width = 2 + len(CATEGORIES)
        rows = np.frombuffer(self._intervals, dtype=float).reshape(-1, width)
        start, finish, parts = rows[:, 0], rows[:, 1], rows[:, 2:]
        rate = parts / (finish - start)[:, None]
        times = np.concatenate([start, finish])
        weights = np.concatenate([rate, -rate])
        slot = np.minimum(np.floor(times).astype(np.int64) + 1, self.ticks + 1)
        grid = np.arange(self.ticks + 2, dtype=float)[:, None]
        total = self._binned(slot, weights)
        moment = self._binned(slot, weights * times[:, None])
        cumulative = grid * np.cumsum(total, axis=0) - np.cumsum(moment, axis=0)
        return np.diff(cumulative[: self.ticks + 1], axis=0)

    def _binned(self, slot: np.ndarray, weights: np.ndarray) -> np.ndarray:
        columns = [np.bincount(slot, weights=w, minlength=self.ticks + 2) for w in weights.T]
        return np.stack(columns, axis=1)

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

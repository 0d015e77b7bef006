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
        self.knowledge_held = np.zeros(ticks)
        # Operating-model mechanisms; zero where switched off.
        self.tech_debt = np.zeros(ticks)
        self.ktlo_skipped = np.zeros(ticks, dtype=np.int64)
        self.backlog = np.zeros(ticks, dtype=np.int64)
        self.switches = np.zeros(ticks, dtype=np.int64)
        self.bought_days = np.zeros(ticks)
        # Series a mechanism adds only while it is on (the internal market's), by column name.
        self.extra: dict[str, np.ndarray] = {}

    def add_busy(self, start: float, finish: float, parts: tuple[float, ...]) -> None:
        """Record ``parts`` (person-days by category, spent evenly over [start, finish))."""
        if finish > start and start < self.ticks:
            self._intervals.extend((start, finish, *parts))

    def buy(self, now: float, effort: float) -> None:
        """Book ``effort`` person-days bought from an external provider at ``now``."""
        if now < self.ticks:
            self.bought_days[int(now)] += effort

    @property
    def busy(self) -> np.ndarray:
        """Busy person-days, ticks x categories: each interval's person-days spread over
        the ticks it overlaps, in proportion to the overlap. The partial first and last
        ticks are booked directly; the full ticks between get the interval's rate through
        a difference array, so idle ticks stay at zero. One category at a time, so the
        temporaries are a column of the intervals, not all of them."""
        width = 2 + len(CATEGORIES)
        rows = np.frombuffer(self._intervals, dtype=float).reshape(-1, width)
        start, finish = rows[:, 0], rows[:, 1]
        first = np.floor(start).astype(np.int64)
        last = np.floor(finish).astype(np.int64)
        same = first == last
        head = np.where(same, finish, first + 1) - start
        tail = np.where(same, 0.0, finish - last)
        del same
        full_from = np.minimum(first + 1, self.ticks)
        full_to = np.minimum(np.maximum(last, full_from), self.ticks)
        np.minimum(last, self.ticks, out=last)  # slot ``ticks`` collects what falls past the horizon
        length = finish - start
        busy = np.empty((self.ticks, len(CATEGORIES)))
        for c in range(len(CATEGORIES)):
            rate = rows[:, 2 + c] / length
            column = self._binned(first, rate * head) + self._binned(last, rate * tail)
            steps = self._binned(full_from, rate) - self._binned(full_to, rate)
            busy[:, c] = (column + np.clip(np.cumsum(steps), 0.0, None))[: self.ticks]
        return busy

    def _binned(self, slot: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Sum ``weights`` by ``slot`` (0 .. ticks)."""
        return np.bincount(slot, weights=weights, minlength=self.ticks + 1)

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
                "knowledge_held": self.knowledge_held,
                "tech_debt": self.tech_debt,
                "ktlo_skipped": self.ktlo_skipped,
                "intake_backlog": self.backlog,
                "provider_switches": self.switches,
                "bought_days": self.bought_days,
                **self.extra,
            }
        )
        return pd.concat([frame, busy], axis=1)

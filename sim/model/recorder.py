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
        self.run_knowledge = np.zeros(ticks)
        self.project_people = np.zeros(ticks, dtype=np.int64)
        # Improvement work (docs/ODD.md 7.10): its person-days, kept apart from the busy
        # categories; the services' mean factors (1 where nothing was improved); counts.
        self._improving = array("d")  # start, finish, person-days of each improvement task
        self.effort_factor = np.ones(ticks)
        self.defect_factor = np.ones(ticks)
        self.ktlo_factor = np.ones(ticks)
        self.improvements_done = np.zeros(ticks, dtype=np.int64)
        self.improvements_failed = np.zeros(ticks, dtype=np.int64)
        self.improvements_copied = np.zeros(ticks, dtype=np.int64)
        # Series a mechanism adds only while it is on (the internal market's), by column name.
        self.extra: dict[str, np.ndarray] = {}

    def add_busy(self, start: float, finish: float, parts: tuple[float, ...]) -> None:
        """Record ``parts`` (person-days by category, spent evenly over [start, finish))."""
        if finish > start and start < self.ticks:
            self._intervals.extend((start, finish, *parts))

    def set_busy(self, intervals: np.ndarray) -> None:
        """Take the busy intervals as rows (start, finish, person-days per category) at once."""
        self._intervals = np.ascontiguousarray(intervals, dtype=float).ravel()

    def set_improvement(self, intervals: np.ndarray) -> None:
        """Take the improvement work's intervals as rows (start, finish, person-days) at once."""
        self._improving = np.ascontiguousarray(intervals, dtype=float).ravel()

    def add_improvement(self, start: float, finish: float, days: float) -> None:
        """Record ``days`` person-days of improvement work, spent evenly over [start, finish)."""
        if finish > start and start < self.ticks:
            self._improving.extend((start, finish, days))

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
        return self._per_tick(self._intervals, len(CATEGORIES))

    @property
    def improvement_days(self) -> np.ndarray:
        """Person-days of improvement work per tick, spread like busy time."""
        return self._per_tick(self._improving, 1)[:, 0]

    def _per_tick(self, intervals: array, categories: int) -> np.ndarray:
        """Ticks x categories: the person-days of ``intervals`` (start, finish and one value per
        category each) spread over the ticks they overlap."""
        width = 2 + categories
        rows = np.frombuffer(intervals, dtype=float).reshape(-1, width)
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
        busy = np.empty((self.ticks, categories))
        for c in range(categories):
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
        improving = self.improvement_days
        total = matrix.sum(axis=1) + improving
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
                "run_knowledge": self.run_knowledge,
                "project_people": self.project_people,
                **self.extra,
            }
        )
        improvement = pd.DataFrame(
            {
                "improvement_days": improving,
                "effort_factor": self.effort_factor,
                "defect_factor": self.defect_factor,
                "ktlo_factor": self.ktlo_factor,
                "improvements_done": self.improvements_done,
                "improvements_failed": self.improvements_failed,
                "improvements_copied": self.improvements_copied,
            }
        )
        return pd.concat([frame, busy, improvement], axis=1)

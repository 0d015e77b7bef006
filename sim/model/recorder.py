"""Per-tick model series, accumulated in arrays (no per-agent reporters)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.model.kernel.records import per_tick

# Where busy person-days go; idle is capacity minus their sum.
CATEGORIES = ("new", "dependency", "rework", "learning", "switching")


class TickRecorder:
    """Counts and person-days per tick; ``frame()`` turns them into a DataFrame."""

    def __init__(self, ticks: int, people: int) -> None:
        self.ticks = ticks
        self.people = people
        # One row per busy interval: start, finish and person-days per category (the kernel's).
        self._intervals = np.zeros((0, 2 + len(CATEGORIES)))
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
        self._improving = np.zeros((0, 3))  # start, finish, person-days of each improvement task
        self.effort_factor = np.ones(ticks)
        self.defect_factor = np.ones(ticks)
        self.ktlo_factor = np.ones(ticks)
        self.improvements_done = np.zeros(ticks, dtype=np.int64)
        self.improvements_failed = np.zeros(ticks, dtype=np.int64)
        self.improvements_copied = np.zeros(ticks, dtype=np.int64)
        # Series a mechanism adds only while it is on (the internal market's), by column name.
        self.extra: dict[str, np.ndarray] = {}

    def set_busy(self, intervals: np.ndarray) -> None:
        """Take the busy intervals as rows (start, finish, person-days per category) at once."""
        self._intervals = np.ascontiguousarray(intervals, dtype=float)

    def set_improvement(self, intervals: np.ndarray) -> None:
        """Take the improvement work's intervals as rows (start, finish, person-days) at once."""
        self._improving = np.ascontiguousarray(intervals, dtype=float)

    @property
    def busy(self) -> np.ndarray:
        """Busy person-days, ticks x categories: each interval's person-days spread over
        the ticks it overlaps, in proportion to the overlap (``sim.model.kernel.records``)."""
        return per_tick(self._intervals, self.ticks)

    @property
    def improvement_days(self) -> np.ndarray:
        """Person-days of improvement work per tick, spread like busy time."""
        return per_tick(self._improving, self.ticks)[:, 0]

    def frame(self) -> pd.DataFrame:
        """The series as a data frame, a row per tick (``columns``)."""
        return pd.DataFrame(self.columns(), copy=False)

    def columns(self, copy: bool = True) -> dict[str, np.ndarray]:
        """The series by name, each an array over the ticks; with ``copy`` each its own (the
        recorder's arrays are the kernel's, which goes on: only a model that runs no more
        may share them)."""
        matrix = self.busy
        capacity = float(self.people)
        improving = self.improvement_days
        total = matrix.sum(axis=1) + improving
        series = {
            "tick": np.arange(self.ticks),
            "arrivals": self.arrivals,
            "completions": self.completions,
            "wip": self.wip,
            "queued_tasks": self.queued_tasks,
            "capacity_days": np.full(self.ticks, capacity),
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
            **{f"busy_{c}_days": matrix[:, i] for i, c in enumerate(CATEGORIES)},
            "improvement_days": improving,
            "effort_factor": self.effort_factor,
            "defect_factor": self.defect_factor,
            "ktlo_factor": self.ktlo_factor,
            "improvements_done": self.improvements_done,
            "improvements_failed": self.improvements_failed,
            "improvements_copied": self.improvements_copied,
        }
        return {name: np.array(values) if copy else np.asarray(values) for name, values in series.items()}

"""Spread of a practice between teams: imitation along a network, external influence,
central mandate, slowed by load (Bass 1969 on a network)."""

from __future__ import annotations

import numpy as np


class WorkTies:
    """Who actually exchanged work with whom: symmetric counts of handoffs and requests, each
    team's total exchanges and its exchanges with the adopters, which the kernel keeps up to
    date as counts grow and teams adopt (so the per-tick influence costs O(teams), not
    O(teams^2)). Counts are whole numbers, so every sum is exact whatever its order."""

    def __init__(self, teams: int) -> None:
        self.counts = np.zeros((teams, teams), dtype=np.int32)  # symmetric, zero diagonal
        self._weight = np.zeros(teams)  # exchanges per team
        self._reached = np.zeros(teams)  # exchanges with the adopters in ``_adopted``
        self._adopted = np.zeros(teams, dtype=bool)

    def arrays(self) -> tuple[np.ndarray, ...]:
        """Counts, exchanges per team, exchanges with adopters and the adopters they were
        counted for, for the compiled kernel, which keeps them up to date in place."""
        return self.counts, self._weight, self._reached, self._adopted

    def edges(self) -> int:
        """Number of distinct pairs of teams that exchanged work."""
        return int(np.count_nonzero(self.counts)) // 2


def crossing_tick(share: np.ndarray, level: float) -> int | None:
    """Ticks until ``share`` first reaches ``level`` (1 = after the first tick), or None."""
    hits = np.flatnonzero(share >= level - 1e-12)
    return int(hits[0]) + 1 if len(hits) else None

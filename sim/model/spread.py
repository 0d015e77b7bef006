"""Spread of a practice between teams: imitation along a network, external influence,
central mandate, slowed by load (Bass 1969 on a network)."""

from __future__ import annotations

import numpy as np

from sim.scenario.schema import Spread


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


def complete_influence(adopted: np.ndarray) -> np.ndarray:
    """Share of all *other* teams that adopted (a complete network)."""
    n = len(adopted)
    if n < 2:
        return np.zeros(n)
    return (adopted.sum() - adopted) / (n - 1)


def adoption_probability(spread: Spread, influence: np.ndarray, load: np.ndarray, mandated: bool) -> np.ndarray:
    """Per-tick adoption chance of each non-adopter: ``p + q F`` (Bass), combined with the
    mandate's compliance chance, and scaled by ``1 - load`` when capacity is coupled."""
    prob = np.minimum(1.0, spread.external_prob + spread.imitation_prob * influence)
    if mandated:
        prob = 1 - (1 - prob) * (1 - spread.mandate_compliance_prob)
    if spread.capacity_coupling:
        prob = prob * (1 - np.clip(load, 0.0, 1.0))
    return prob


def crossing_tick(share: np.ndarray, level: float) -> int | None:
    """Ticks until ``share`` first reaches ``level`` (1 = after the first tick), or None."""
    hits = np.flatnonzero(share >= level - 1e-12)
    return int(hits[0]) + 1 if len(hits) else None

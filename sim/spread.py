"""Spread of a practice between teams: imitation along a network, external influence,
central mandate, slowed by load (Bass 1969 on a network)."""

from __future__ import annotations

import numpy as np

from sim.config import Spread


class WorkTies:
    """Who actually exchanged work with whom: symmetric counts of handoffs and requests."""

    def __init__(self, teams: int) -> None:
        self.counts = np.zeros((teams, teams), dtype=np.float64)

    def add(self, a: int, b: int) -> None:
        if a != b:
            self.counts[a, b] += 1.0
            self.counts[b, a] += 1.0

    def forget(self, teams: np.ndarray) -> None:
        """Drop every tie of ``teams`` (their people left; the new ones know nobody yet)."""
        self.counts[teams, :] = 0.0
        self.counts[:, teams] = 0.0

    def influence(self, adopted: np.ndarray) -> np.ndarray:
        """Share of each team's work partners (weighted by exchanges) that adopted."""
        weight = self.counts.sum(axis=1)
        reached = self.counts @ adopted.astype(np.float64)
        return np.divide(reached, weight, out=np.zeros_like(weight), where=weight > 0)

    def edges(self) -> int:
        """Number of distinct pairs of teams that exchanged work."""
        return int(np.count_nonzero(np.triu(self.counts)))


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

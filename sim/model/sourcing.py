"""Make-or-buy between micro-providers: a consumer team watches how its providers serve
it (turnaround and defects, smoothed over their recent requests) and, at its periodic
review, buys a service's requests from an external provider when that looks better by
a margin, or brings them back inside when the internal provider looks better again.
Each switch costs the consumer effort. Providers' scores are public, so consumers react
to each other's moves; that is where churn can come from."""

from __future__ import annotations

import numpy as np

from sim.scenario.schema import Sourcing


class Market:
    """Who buys what outside, and each internal provider's public score."""

    def __init__(self, config: Sourcing, teams: int, services: int) -> None:
        self.config = config
        self.external = np.zeros((teams, services), dtype=bool)
        self.used = np.zeros((teams, services), dtype=bool)
        self.turnaround = np.zeros(teams)
        self.failure = np.zeros(teams)
        self.seen = np.zeros(teams, dtype=bool)
        self.external_score = config.external_lead_ticks + config.failure_weight * config.external_defect_prob

    def buys(self, consumer: int, service: int) -> bool:
        """Whether ``consumer`` buys ``service`` outside now (and note that it uses it)."""
        self.used[consumer, service] = True
        return bool(self.external[consumer, service])

    def observe(self, provider: int, turnaround: float, failed: bool) -> None:
        """A request to ``provider`` came back after ``turnaround`` ticks, ``failed`` or not."""
        if not self.seen[provider]:
            self.seen[provider] = True
            self.turnaround[provider] = turnaround
            self.failure[provider] = float(failed)
            return
        w = self.config.smoothing
        self.turnaround[provider] += w * (turnaround - self.turnaround[provider])
        self.failure[provider] += w * (float(failed) - self.failure[provider])

    def score(self, providers: np.ndarray) -> np.ndarray:
        """Expected cost of a request in ticks: turnaround plus the weighted defect rate."""
        return self.turnaround[providers] + self.config.failure_weight * self.failure[providers]

    def review(self, tick: int, owners: np.ndarray) -> list[tuple[int, int]]:
        """The (consumer, service) pairs that switch at ``tick``; consumers review in turn."""
        cfg = self.config
        consumers = np.arange(self.used.shape[0]) % cfg.review_ticks == tick % cfg.review_ticks
        due = self.used & consumers[:, None] & self.seen[owners][None, :]
        if not due.any():
            return []
        internal = self.score(owners)[None, :]
        outside = self.external_score
        leave = ~self.external & (internal > outside * (1 + cfg.switch_margin))
        back = self.external & (outside > internal * (1 + cfg.switch_margin))
        switch = due & (leave | back)
        self.external ^= switch
        return [(int(c), int(s)) for c, s in zip(*np.nonzero(switch), strict=True)]

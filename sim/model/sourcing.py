"""Make-or-buy between micro-providers: a consumer team watches how its providers serve
it (turnaround and defects, smoothed over their recent requests) and, at its periodic
review, buys a service's requests from an external provider when that looks better by
a margin, or brings them back inside when the internal provider looks better again.
Each switch costs the consumer effort. Providers' scores are public, so consumers react
to each other's moves; that is where churn can come from.

The rules run in the kernel (``sim.model.kernel.flow``: ``buy``, ``observe``, ``review``,
``migrate``); here are the arrays they work in, which the internal market
(``sim/model/market.py``) shares the shape of."""

from __future__ import annotations

import numpy as np

from sim.scenario.schema import Sourcing


class Scores:
    """How providers served, from the work received from them: per index (a provider, or a
    consumer, a piece of work and a provider) the smoothed turnaround, defect rate and price
    per person-day, and whether anything came back yet."""

    def __init__(self, shape: int | tuple[int, ...]) -> None:
        self.turnaround = np.zeros(shape)
        self.failure = np.zeros(shape)
        self.price = np.zeros(shape)
        self.seen = np.zeros(shape, dtype=bool)


class Market:
    """Who buys what outside, what each consumer uses, and each internal provider's public score."""

    def __init__(self, config: Sourcing, teams: int, services: int) -> None:
        self.external = np.zeros((teams, services), dtype=bool)
        self.used = np.zeros((teams, services), dtype=bool)
        self.scores = Scores(teams)

"""Make-or-buy between micro-providers: a consumer team watches how its providers serve
it (turnaround and defects, smoothed over their recent requests) and, at its periodic
review, buys a service's requests from an external provider when that looks better by
a margin, or brings them back inside when the internal provider looks better again.
Each switch costs the consumer effort. Providers' scores are public, so consumers react
to each other's moves; that is where churn can come from.

The pieces the internal market (``sim/model/market.py``) shares with it live here too:
the smoothed score of how a provider served (:class:`Scores`), the switching rule
(:func:`worse`) and the cost of a switch (:class:`Migration`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sim.model.work import FROM_DEMAND, KTLO, WorkItem
from sim.scenario.schema import Sourcing

if TYPE_CHECKING:
    from sim.model.org_model import OrgModel
    from sim.model.team import Pool
    from sim.model.work import Task


def worse(score: Any, than: Any, margin: float) -> Any:
    """The switching rule: ``score`` is worse than ``than`` by more than the relative ``margin``
    (scores are costs: lower is better). Works on numbers and arrays alike."""
    return score > than * (1 + margin)


class Scores:
    """How providers served, from the work received from them: per index (a provider, or a
    consumer, a piece of work and a provider) the smoothed turnaround, defect rate and price
    per person-day; the newest observation weighs ``smoothing``, the first sets the value."""

    def __init__(
        self, shape: int | tuple[int, ...], smoothing: float, failure_weight: float, price_weight: float = 0.0
    ) -> None:
        self.smoothing = smoothing
        self.failure_weight = failure_weight
        self.price_weight = price_weight
        self.turnaround = np.zeros(shape)
        self.failure = np.zeros(shape)
        self.price = np.zeros(shape)
        self.seen = np.zeros(shape, dtype=bool)

    def observe(self, index: Any, turnaround: float, failed: bool, price: float = 0.0) -> None:
        """A piece of work from ``index`` came back after ``turnaround`` ticks, ``failed`` or not."""
        if not self.seen[index]:
            self.seen[index] = True
            self.turnaround[index] = turnaround
            self.failure[index] = float(failed)
            self.price[index] = price
            return
        w = self.smoothing
        self.turnaround[index] += w * (turnaround - self.turnaround[index])
        self.failure[index] += w * (float(failed) - self.failure[index])
        self.price[index] += w * (price - self.price[index])

    def score(self, index: Any) -> Any:
        """Expected cost of a piece of work in ticks: turnaround plus the weighted defect rate
        (plus the weighted price, where price counts)."""
        cost = self.turnaround[index] + self.failure_weight * self.failure[index]
        if self.price_weight:
            cost = cost + self.price_weight * self.price[index]
        return cost


class Market:
    """Who buys what outside, and each internal provider's public score."""

    def __init__(self, config: Sourcing, teams: int, services: int) -> None:
        self.config = config
        self.external = np.zeros((teams, services), dtype=bool)
        self.used = np.zeros((teams, services), dtype=bool)
        self.scores = Scores(teams, config.smoothing, config.failure_weight)
        self.external_score = config.external_lead_ticks + config.failure_weight * config.external_defect_prob

    def buys(self, consumer: int, service: int) -> bool:
        """Whether ``consumer`` buys ``service`` outside now (and note that it uses it)."""
        self.used[consumer, service] = True
        return bool(self.external[consumer, service])

    def observe(self, provider: int, turnaround: float, failed: bool) -> None:
        """A request to ``provider`` came back after ``turnaround`` ticks, ``failed`` or not."""
        self.scores.observe(provider, turnaround, failed)

    def score(self, providers: np.ndarray) -> np.ndarray:
        """Expected cost of a request in ticks: turnaround plus the weighted defect rate."""
        return self.scores.score(providers)

    def review(self, tick: int, owners: np.ndarray) -> list[tuple[int, int]]:
        """The (consumer, service) pairs that switch at ``tick``; consumers review in turn."""
        cfg = self.config
        consumers = np.arange(self.used.shape[0]) % cfg.review_ticks == tick % cfg.review_ticks
        due = self.used & consumers[:, None] & self.scores.seen[owners][None, :]
        if not due.any():
            return []
        internal = self.score(owners)[None, :]
        outside = self.external_score
        leave = ~self.external & worse(internal, outside, cfg.switch_margin)
        back = self.external & worse(outside, internal, cfg.switch_margin)
        switch = due & (leave | back)
        self.external ^= switch
        return [(int(c), int(s)) for c, s in zip(*np.nonzero(switch), strict=True)]


class Migration:
    """Switching provider: the consumer's effort to move (booked as dependency work on the
    service, which the consumer learns on the way)."""

    def __init__(self, cost_days: float) -> None:
        self.cost_days = cost_days

    def start(self, model: OrgModel, pool: Pool | None, service: int, now: float) -> None:
        cost = self.cost_days
        if cost == 0:
            return
        item = WorkItem(0, KTLO, FROM_DEMAND, service, (), cost, now)
        task = model.new_task(item, pool, (service,), (cost,), (0.0, cost, 0.0), opens=False, handler=self)
        model.enqueue(task, now)

    def on_start(self, task: Task, now: float) -> None:
        """Nothing to do when a migration starts."""

    def on_done(self, task: Task, now: float) -> None:
        """Nothing to do when a migration is done: the consumer learnt the service on the way."""

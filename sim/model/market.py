"""Internal markets: several candidate providers for each piece of work, and a consumer who
judges them only by the work it received from them.

A *unit* is a piece of work a consumer sends out again and again: under micro-providers a
consumer team's requests on one service (the consumer is the requesting team); under
central IT one stage of the items on one primary service (the consumer is the central
organisation, which sends every stage of every item). Its candidates are its usual
provider (the service's owner, the stage's silo), ``market.internal_providers`` other
internal pools drawn at random from the run's generator (other teams, other silos; never
the consumer itself), and every external provider, which serves
``capacity_days_per_tick`` person-days a tick first come first served and then takes an
exponential turnaround. Each piece goes to the unit's chosen provider, except that with
chance ``market.explore_prob`` it goes to another candidate (a re-try, so a provider the
consumer left keeps being scored). The consumer scores each (unit, provider) from the pieces
it got back: smoothed turnaround (sent to done), defect rate and price per person-day
(internal 1), with the rule and the smoothing of make-or-buy (``sim/model/sourcing.py``).
At its review it moves a unit to the best-scored provider it has seen when the current one
is worse by more than ``market.switch_margin``; a switch costs it a migration."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.sourcing import Migration, Scores, worse
from sim.scenario.schema import Market

if TYPE_CHECKING:
    from sim.model.org_model import OrgModel
    from sim.model.team import Pool, Team
    from sim.model.work import Task

INTERNAL_PRICE = 1.0  # an internal person-day at cost: the unit of every price
# Per-tick series the market records (only when it is on).
SERIES = (
    "market_switches",
    "market_flipbacks",
    "market_default_days",
    "market_alternate_days",
    "market_external_days",
    "market_cost_days",
)


class External:
    """An external provider: a finite capacity per tick (a first-come first-served queue of
    work), then a random turnaround; a price and a defect chance per piece."""

    def __init__(self, capacity: float, lead: float, defect_prob: float, price: float) -> None:
        self.capacity = capacity
        self.lead = lead
        self.defect_prob = defect_prob
        self.price = price
        self.free_at = 0.0

    def serve(self, ready: float, effort: float, rng: np.random.Generator) -> float:
        """When a piece of ``effort`` person-days arriving at ``ready`` comes back."""
        start = max(ready, self.free_at)
        self.free_at = start + effort / self.capacity
        return self.free_at + (rng.exponential(self.lead) if self.lead > 0 else 0.0)


def draw_alternates(rng: np.random.Generator, defaults: np.ndarray, pools: int, k: int) -> list[tuple[int, ...]]:
    """For each unit, ``k`` internal pools other than its usual provider ``defaults[unit]``
    (fewer when there are not that many), drawn without replacement."""
    alternates = []
    for default in defaults.tolist():
        others = np.array([p for p in range(pools) if p != default], dtype=int)
        take = min(k, len(others))
        alternates.append(tuple(int(p) for p in rng.choice(others, size=take, replace=False)) if take else ())
    return alternates


class Exchange:
    """Every consumer's choice of provider per unit, its scores, and the external providers.

    Providers are numbered: internal pools 0 .. pools - 1 (the structure's pools), then the
    externals. ``defaults[unit]`` is the unit's usual provider; ``consumer_pool[c]`` the pool
    of consumer c (-1 for the central organisation), never a candidate of its own units."""

    def __init__(
        self,
        model: OrgModel,
        pools: list[Pool],
        defaults: np.ndarray,
        consumer_pool: list[int],
        services: int,
    ) -> None:
        cfg: Market = model.config.market
        self.model = model
        self.config = cfg
        self.pools = pools
        self.services = services
        self.consumer_pool = consumer_pool
        n_pools, n_units, n_consumers = len(pools), len(defaults), len(consumer_pool)
        self.externals = [
            External(e.capacity_days_per_tick, e.lead_ticks, e.defect_prob, e.price_factor) for e in cfg.externals
        ]
        external_ids = tuple(range(n_pools, n_pools + len(self.externals)))
        alternates = draw_alternates(model.rng, defaults, n_pools, cfg.internal_providers)
        self.defaults = defaults
        units = [(int(d), *alt, *external_ids) for d, alt in zip(defaults.tolist(), alternates, strict=True)]
        # Per consumer, the candidates of each unit without the consumer's own pool.
        self.candidates = [[tuple(p for p in unit if p != own) for unit in units] for own in consumer_pool]
        self.n_pools = n_pools
        self.current = np.tile(defaults.astype(int), (n_consumers, 1))
        self.previous = np.full((n_consumers, n_units), -1, dtype=int)
        self.used = np.zeros((n_consumers, n_units), dtype=bool)
        self.scores = Scores(
            (n_consumers, n_units, n_pools + len(self.externals)), cfg.smoothing, cfg.failure_weight, cfg.price_weight
        )
        self.migration = Migration(cfg.switch_cost_days)
        ticks = model.config.simulation.ticks
        # The series are rows of one array (the compiled kernel writes it).
        self.recorded = np.zeros((len(SERIES), ticks))
        self.series = dict(zip(SERIES, self.recorded, strict=True))

    # --- sending work -------------------------------------------------------------------
    def choose(self, consumer: int, unit: int) -> int:
        """The provider of ``consumer``'s next piece of ``unit``: its choice, or now and then
        (``explore_prob``) another candidate drawn at random."""
        self.used[consumer, unit] = True
        chosen = int(self.current[consumer, unit])
        rng = self.model.rng
        if self.config.explore_prob and rng.random() < self.config.explore_prob:
            others = [p for p in self.candidates[consumer][unit] if p != chosen]
            if others:
                return others[int(rng.integers(len(others)))]
        return chosen

    def pool_of(self, provider: int) -> Pool | None:
        """The internal pool of ``provider``; None for an external one."""
        return self.pools[provider] if provider < self.n_pools else None

    def label(self, task: Task, consumer: int, unit: int, provider: int) -> Task:
        """Mark ``task`` as a piece of ``unit`` for ``consumer`` from ``provider``."""
        task.consumer, task.unit, task.provider = consumer, unit, provider
        task.bought = provider >= self.n_pools
        return task

    def send(self, task: Task, from_team: Team | None, now: float, crossing: bool) -> None:
        """Send a labelled ``task`` to its provider now: across a team boundary (a handoff,
        ``crossing``) or straight in (an item entering its first stage). An external provider
        takes it when it arrives and returns it when served."""
        model = self.model
        task.sent = now
        self._book(task, now)
        if task.pool is not None:
            if crossing:
                model.handoff(task, from_team, now)
            else:
                model.enqueue(task, now)
            return
        if crossing:
            model.cross(task, from_team, now)
        else:
            task.ready = now
        external = self.externals[task.provider - self.n_pools]
        model.deliver_bought(task, external.serve(task.ready, task.effort, model.rng))

    def _book(self, task: Task, now: float) -> None:
        tick = int(now)
        if tick >= len(self.series["market_cost_days"]):
            return
        effort = task.effort
        if task.provider >= self.n_pools:
            price = self.externals[task.provider - self.n_pools].price
            self.series["market_external_days"][tick] += effort
            self.series["market_cost_days"][tick] += effort * price
            self.model.recorder.buy(now, effort)
        elif task.provider == self.defaults[task.unit]:
            self.series["market_default_days"][tick] += effort
        else:
            self.series["market_alternate_days"][tick] += effort

    # --- work coming back ---------------------------------------------------------------
    def returned(self, task: Task, now: float) -> None:
        """An internal provider finished ``task``: the consumer scores it."""
        self.scores.observe((task.consumer, task.unit, task.provider), now - task.sent, task.defective, INTERNAL_PRICE)

    def delivered(self, task: Task, now: float) -> None:
        """An external provider delivered ``task``: it may bring a defect; the consumer scores it."""
        external = self.externals[task.provider - self.n_pools]
        if self.model.rng.random() < external.defect_prob:
            task.item.defects += 1
            task.defective = True
        self.scores.observe((task.consumer, task.unit, task.provider), now - task.sent, task.defective, external.price)

    # --- reviews ------------------------------------------------------------------------
    def review(self, tick: int) -> list[tuple[int, int]]:
        """Consumers due at ``tick`` (consumer c at ticks = c mod ``review_ticks``) move each
        unit they use to the best-scored provider they have seen, if the current one is worse
        by more than the margin. Returns the (consumer, unit) pairs that switched."""
        cfg = self.config
        seen, margin = self.scores.seen, cfg.switch_margin
        switched = []
        for consumer in range(len(self.consumer_pool)):
            if consumer % cfg.review_ticks != tick % cfg.review_ticks:
                continue
            for unit in np.flatnonzero(self.used[consumer]).tolist():
                current = int(self.current[consumer, unit])
                known = [p for p in self.candidates[consumer][unit] if seen[consumer, unit, p]]
                if not seen[consumer, unit, current] or len(known) < 2:
                    continue
                scores = self.scores.score((consumer, unit, np.array(known)))
                best = known[int(np.argmin(scores))]
                if best != current and worse(self.scores.score((consumer, unit, current)), scores.min(), margin):
                    self.series["market_switches"][tick] += 1
                    if best == self.previous[consumer, unit]:
                        self.series["market_flipbacks"][tick] += 1
                    self.previous[consumer, unit] = current
                    self.current[consumer, unit] = best
                    switched.append((consumer, unit))
        return switched

    def service_of(self, unit: int) -> int:
        """The service a unit's work is on (units are numbered group x services + service)."""
        return unit % self.services

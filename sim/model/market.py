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

from sim.model.sourcing import Scores
from sim.scenario.schema import Market

if TYPE_CHECKING:
    from sim.model.org_model import OrgModel
    from sim.model.team import Pool

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


def draw_alternates(rng: np.random.Generator, defaults: np.ndarray, pools: int, k: int) -> list[tuple[int, ...]]:
    """For each unit, ``k`` internal pools other than its usual provider ``defaults[unit]``
    (fewer when there are not that many), drawn without replacement."""
    take = min(k, pools - 1)
    alternates = []
    for default in defaults.tolist():
        # Indices into the other pools (numpy draws the same ones as from their list), as pools.
        picks = rng.choice(pools - 1, size=take, replace=False).tolist() if take > 0 else []
        alternates.append(tuple(p + (p >= default) for p in picks))
    return alternates


class Exchange:
    """Every consumer's choice of provider per unit, its scores, and the external providers
    (the kernel chooses, scores and reviews in these arrays). Providers are numbered:
    internal pools 0 .. pools - 1 (the structure's pools), then the externals.
    ``defaults[unit]`` is the unit's usual provider, ``providers[unit]`` all of its providers
    (usual, alternates, externals), in the order its ``scores`` are kept;
    ``consumer_pool[c]`` the pool of consumer c (-1 for the central organisation): a unit's
    candidates for a consumer are its providers but that pool.

    A consumer keeps a place for each unit it may send (``units_of[c]``, ascending: under
    micro-providers the other teams' services its own depend on, a few of the organisation's):
    ``unit[first[c]:first[c + 1]]`` are its units, and ``current``, ``previous``, ``used``
    and the rows of ``scores`` are kept per place."""

    def __init__(
        self,
        model: OrgModel,
        pools: list[Pool],
        defaults: np.ndarray,
        consumer_pool: list[int],
        units_of: list[np.ndarray],
        services: int,
    ) -> None:
        cfg: Market = model.config.market
        self.services = services
        self.consumer_pool = consumer_pool
        n_pools = len(pools)
        self.externals = [
            External(e.capacity_days_per_tick, e.lead_ticks, e.defect_prob, e.price_factor) for e in cfg.externals
        ]
        external_ids = tuple(range(n_pools, n_pools + len(self.externals)))
        alternates = draw_alternates(model.rng, defaults, n_pools, cfg.internal_providers)
        self.defaults = defaults
        units = [(int(d), *alt, *external_ids) for d, alt in zip(defaults.tolist(), alternates, strict=True)]
        # Each unit's providers in a fixed order, padded with -1; a consumer's scores of a
        # unit's providers are kept in that order (a few per unit, not one per pool).
        self.providers = np.full((len(units), max(map(len, units), default=1)), -1, dtype=np.int64)
        for u, unit in enumerate(units):
            self.providers[u, : len(unit)] = unit
        self.first = np.zeros(len(consumer_pool) + 1, dtype=np.int64)
        self.first[1:] = np.cumsum([len(own) for own in units_of])
        self.unit = np.concatenate([np.asarray(own, dtype=np.int64) for own in units_of])
        self.current = self.defaults[self.unit].astype(np.int64)
        self.previous = np.full(len(self.unit), -1, dtype=np.int64)
        self.used = np.zeros(len(self.unit), dtype=bool)
        self.scores = Scores((len(self.unit), self.providers.shape[1]))
        ticks = model.config.simulation.ticks
        # The series are rows of one array (the compiled kernel writes it).
        self.recorded = np.zeros((len(SERIES), ticks))
        self.series = dict(zip(SERIES, self.recorded, strict=True))

    def make_room(self, consumer: int, wanted: list[int]) -> int:
        """Places for the units of ``wanted`` that ``consumer`` has none for (an item placed by
        hand may touch any service; the demand's touch only their service's dependencies),
        each fresh: the usual provider chosen, nothing seen. Returns how many were added."""
        first, last = self.first[consumer], self.first[consumer + 1]
        new = sorted(set(wanted) - set(self.unit[first:last].tolist()))
        if new:
            at = first + np.searchsorted(self.unit[first:last], new)
            self.unit = np.insert(self.unit, at, new)
            self.current = np.insert(self.current, at, self.defaults[new])
            self.previous = np.insert(self.previous, at, -1)
            self.used = np.insert(self.used, at, False)
            for name in ("turnaround", "failure", "price", "seen"):
                setattr(self.scores, name, np.insert(getattr(self.scores, name), at, 0, axis=0))
            self.first[consumer + 1 :] += len(new)
        return len(new)

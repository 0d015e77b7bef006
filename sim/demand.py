"""The demand stream: Poisson arrivals of work items with kinds, services and efforts.

It draws from its own generator, so both structures see the same stream for a seed."""

from __future__ import annotations

import numpy as np

from sim.config import Demand
from sim.organisation import Services
from sim.work import FROM_DEMAND, WorkItem


def effort_sampler(demand: Demand, rng: np.random.Generator):
    """Return ``draw(n) -> efforts`` for the configured distribution (mean ``mean_days``)."""
    spec = demand.effort
    if spec.distribution == "exponential":
        return lambda n: rng.exponential(spec.mean_days, n)
    if spec.distribution == "fixed" or spec.cv == 0:
        return lambda n: np.full(n, spec.mean_days)
    sigma2 = np.log1p(spec.cv**2)
    mu = np.log(spec.mean_days) - sigma2 / 2
    return lambda n: rng.lognormal(mu, np.sqrt(sigma2), n)


class DemandStream:
    """Generates each tick's arrivals, with arrival times spread uniformly within the tick.

    Draws are made in fixed blocks of ticks (vectorised), so the stream depends only on
    the seed and the demand parameters."""

    BLOCK_TICKS = 64

    def __init__(self, demand: Demand, services: Services, rng: np.random.Generator) -> None:
        self.demand = demand
        self.services = services
        self.rng = rng
        self.draw_effort = effort_sampler(demand, rng)
        kinds = demand.kinds
        self.kind_cdf = np.cumsum([kinds.feature, kinds.incident, kinds.ktlo])
        self.service_cdf = np.cumsum(services.demand_weights)
        self.next_id = 0
        self._block: list[list[WorkItem]] = []
        self._block_start = 0

    def arrivals(self, tick: int) -> list[WorkItem]:
        """The items arriving during ``tick`` (ticks must be asked for in order)."""
        offset = tick - self._block_start
        if not self._block or offset >= len(self._block):
            self._block_start = tick
            self._block = self._draw_block(tick, self.BLOCK_TICKS)
            offset = 0
        return self._block[offset]

    def _draw_block(self, first: int, ticks: int) -> list[list[WorkItem]]:
        rng = self.rng
        counts = rng.poisson(self.demand.arrival_rate, ticks)
        n = int(counts.sum())
        block: list[list[WorkItem]] = [[] for _ in range(ticks)]
        if n == 0:
            return block
        tick_of = np.repeat(np.arange(ticks), counts)
        times = first + tick_of + rng.random(n)
        order = np.lexsort((times,))
        kinds = np.minimum(np.searchsorted(self.kind_cdf, rng.random(n), side="right"), 2)
        services = np.minimum(np.searchsorted(self.service_cdf, rng.random(n), side="right"), self.services.count - 1)
        efforts = self.draw_effort(n)
        touch = rng.random((n, max(1, max(map(len, self.services.dependencies))))) < self.demand.dependency_touch_prob
        dependencies = self.services.dependencies
        columns = (tick_of[order], kinds[order], services[order], efforts[order], times[order], touch[order])
        for tick, kind, service, effort, time, touched in zip(*(c.tolist() for c in columns), strict=True):
            deps = dependencies[service]
            if deps:
                deps = tuple(d for d, hit in zip(deps, touched, strict=False) if hit)
            block[tick].append(self.new_item(kind, FROM_DEMAND, service, deps, effort, time))
        return block

    def new_item(
        self, kind: int, origin: int, service: int, deps: tuple[int, ...], effort: float, t: float
    ) -> WorkItem:
        """Create an item with the next id (also used for incidents that escaped defects cause)."""
        self.next_id += 1
        return WorkItem(self.next_id, kind, origin, service, deps, effort, t)

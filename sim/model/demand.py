"""The demand stream: Poisson arrivals of work items with kinds, services and efforts.

It draws from its own generator, so both structures see the same stream for a seed."""

from __future__ import annotations

import numpy as np

from sim.model.organisation import Services
from sim.scenario.schema import Demand


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


class Block:
    """A block of drawn arrivals, sorted by time, as columns; items are made as their tick comes."""

    def __init__(self, first_tick: int, first_id: int, per_tick: np.ndarray, columns: tuple[np.ndarray, ...]) -> None:
        self.first_tick = first_tick
        self.first_id = first_id
        self.starts = np.concatenate([[0], np.cumsum(per_tick)]).tolist()
        self.columns = columns  # kind, service, effort, arrival time, dependencies touched

    def __len__(self) -> int:
        return len(self.starts) - 1

    def arrays(self) -> tuple[np.ndarray, ...]:
        """The block as the kernel takes it: where each tick's rows start, then the columns."""
        starts = np.asarray(self.starts, dtype=np.int64)
        if not self.columns:
            empty = np.zeros(0, dtype=np.int64)
            return starts, empty, empty, np.zeros(0), np.zeros(0), np.zeros((0, 1), dtype=bool)
        return starts, *self.columns


class DemandStream:
    """Generates each tick's arrivals, with arrival times spread uniformly within the tick.

    Draws are made in fixed blocks of ticks (vectorised), so the stream depends only on
    the seed and the demand parameters; a block's items get their ids when it is drawn."""

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
        self._block: Block | None = None

    def block_of(self, tick: int) -> Block:
        """The block holding ``tick``'s arrivals, drawn when ``tick`` is past the last one."""
        block = self._block
        if block is None or tick - block.first_tick >= len(block):
            block = self._block = self._draw_block(tick, self.BLOCK_TICKS)
        return block

    def _draw_block(self, first: int, ticks: int) -> Block:
        rng = self.rng
        counts = rng.poisson(self.demand.arrival_rate, ticks)
        n = int(counts.sum())
        first_id = self.next_id + 1
        if n == 0:
            return Block(first, first_id, counts, ())
        tick_of = np.repeat(np.arange(ticks), counts)
        times = first + tick_of + rng.random(n)
        order = np.lexsort((times,))
        kinds = np.minimum(np.searchsorted(self.kind_cdf, rng.random(n), side="right"), 2)
        services = np.minimum(np.searchsorted(self.service_cdf, rng.random(n), side="right"), self.services.count - 1)
        efforts = self.draw_effort(n)
        touch = rng.random((n, max(1, max(map(len, self.services.dependencies))))) < self.demand.dependency_touch_prob
        self.next_id += n
        columns = (kinds[order], services[order], efforts[order], times[order], touch[order])
        return Block(first, first_id, counts, columns)

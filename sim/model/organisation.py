"""The organisation both structures share: services, their dependency network, demand
weights; and the two ways of grouping the same people (service ownership, functional silos)."""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import networkx as nx
import numpy as np

from sim.scenario.schema import Scenario


@dataclass(frozen=True)
class Services:
    """Services, who depends on whom, and how demand falls on them."""

    dependencies: tuple[tuple[int, ...], ...]
    demand_weights: np.ndarray
    self_service: np.ndarray

    @property
    def count(self) -> int:
        return len(self.dependencies)

    def expected_load(self, touch_prob: float, effort_share: float) -> np.ndarray:
        """Relative effort landing on each service: direct demand plus dependency work."""
        load = self.demand_weights.copy()
        for service, deps in enumerate(self.dependencies):
            for dep in deps:
                load[dep] += self.demand_weights[service] * touch_prob * effort_share
        return load


def build_services(config: Scenario, rng: np.random.Generator) -> Services:
    """Draw the service dependency network: directed G(n, p) with p set so that each
    service depends on ``dependencies_per_service`` others on average (seeded from ``rng``)."""
    org = config.organisation
    density = min(1.0, org.dependencies_per_service / (org.services - 1)) if org.services > 1 else 0.0
    if 0.0 < density < 1.0 and math.log(1.0 - density) == 0.0:
        density = 0.0  # too small to draw a single edge (networkx would divide by log(1 - p) = 0)
    graph = nx.fast_gnp_random_graph(org.services, density, seed=int(rng.integers(2**31)), directed=True)
    dependencies = tuple(tuple(sorted(graph.successors(s))) for s in range(org.services))
    ranks = np.arange(1, org.services + 1, dtype=float)
    weights = ranks**-org.demand_skew
    self_service = rng.random(org.services) < org.self_service_share
    return Services(dependencies, weights / weights.sum(), self_service)


def assign_owners(load: np.ndarray, teams: int) -> np.ndarray:
    """Give each service an owning team, balancing expected load (largest service first)."""
    owners = np.empty(len(load), dtype=np.int64)
    heap = [(0.0, team) for team in range(teams)]
    for service in np.argsort(-load, kind="stable"):
        assigned, team = heapq.heappop(heap)
        owners[service] = team
        heapq.heappush(heap, (assigned + float(load[service]), team))
    return owners


def assign_silos(shares: list[float], teams: int) -> list[list[int]]:
    """Split team indices across stages in proportion to effort share (at least one each)."""
    quotas = np.asarray(shares) * teams
    counts = np.maximum(1, np.floor(quotas).astype(int))
    while counts.sum() < teams:
        counts[np.argmax(quotas - counts)] += 1
    while counts.sum() > teams:
        counts[np.argmax(np.where(counts > 1, counts - quotas, -np.inf))] -= 1
    bounds = np.concatenate([[0], np.cumsum(counts)])
    return [list(range(bounds[i], bounds[i + 1])) for i in range(len(shares))]

"""The two structures, as layouts of the same teams, services and demand: which pools the
teams serve, who owns or runs each service, and who takes in the work. How work routes
through them (where it queues, where it crosses a team boundary, who verifies and reworks
it) is the kernel's (``sim.model.kernel.flow``: ``central_*`` and ``micro_*``).

They differ only in mechanisms; every rate and effect they use comes from the shared
scenario parameters."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.market import Exchange
from sim.model.organisation import assign_owners, assign_silos
from sim.model.sourcing import Market
from sim.model.team import Pool

if TYPE_CHECKING:
    from sim.model.org_model import OrgModel


class CentralIT:
    """Functional silos in a pipeline; one central intake; pooled capacity per silo.

    Every stage boundary is a handoff; nobody owns a service, so each silo's teams work on
    every service and their knowledge is spread thin. The last silo (operations) runs the
    services; a caught defect is reworked from the largest stage on."""

    def __init__(self, model: OrgModel) -> None:
        self.model = model
        stages = model.config.central_it.stages
        self.shares = np.array([s.effort_share for s in stages])
        groups = assign_silos(list(self.shares), len(model.teams))
        self.pools = [Pool(s.name, [model.teams[i] for i in g]) for s, g in zip(stages, groups, strict=True)]
        self.last = len(stages) - 1
        self.rework_stage = int(np.argmax(self.shares))
        self.runners = np.array([t.index for t in self.pools[self.last].teams], dtype=np.int64)
        self.exchange = None
        if model.config.market.enabled:
            # The central organisation is the one consumer; a unit is a stage of the items on
            # one primary service, and its usual provider is the stage's silo.
            services = model.config.organisation.services
            defaults = np.repeat(np.arange(len(stages)), services)
            self.exchange = Exchange(
                model, self.pools, defaults, consumer_pool=[-1], units_of=[np.arange(len(defaults))], services=services
            )

    def intake_people(self) -> list[int]:
        """People behind each intake: one central intake for the whole organisation."""
        return [sum(p.headcount for p in self.pools)]

    def improvement_units(self) -> list[tuple[int, list[int], list[int]]]:
        """Who decides on improvement: one centre, with everyone's capacity, every team's
        figures and every service (people, observing teams, services it may change)."""
        teams = self.model.teams
        return [
            (
                sum(t.headcount for t in teams),
                [t.index for t in teams],
                list(range(len(self.model.services.self_service))),
            )
        ]

    def improvable(self, team: int) -> np.ndarray:
        """Services a team may change when it copies an improvement: nobody owns one, so any."""
        return np.arange(len(self.model.services.self_service))


class MicroProvider:
    """Cross-functional teams owning services. An item goes to the owner of its primary
    service; work on services owned elsewhere becomes a request queued at their owner,
    unless the service is self-service, in which case the consumer does it itself. With
    make-or-buy on, a consumer may buy a service's requests from an external provider."""

    def __init__(self, model: OrgModel) -> None:
        self.model = model
        self.pools = [Pool(f"team-{t.index}", [t]) for t in model.teams]
        cfg = model.config.demand
        load = model.services.expected_load(cfg.dependency_touch_prob, cfg.dependency_effort_share)
        self.owners = assign_owners(load, len(model.teams))
        sourcing = model.config.sourcing
        self.market = Market(sourcing, len(model.teams), len(self.owners)) if sourcing.enabled else None
        # The internal market: each consumer team chooses, per service it requests (another
        # team's service its own depend on), among the owner, other teams and external
        # providers (a team's pool index is its index).
        self.exchange = None
        if model.config.market.enabled:
            teams = list(range(len(model.teams)))
            requested: list[set[int]] = [set() for _ in teams]
            for service, needs in enumerate(model.services.dependencies):
                requested[self.owners[service]].update(needs)
            units_of = [
                np.array(sorted(u for u in wanted if self.owners[u] != team)) for team, wanted in enumerate(requested)
            ]
            self.exchange = Exchange(
                model, self.pools, self.owners.copy(), consumer_pool=teams, units_of=units_of, services=len(self.owners)
            )

    def intake_people(self) -> list[int]:
        """People behind each intake: each owner team takes in its own items."""
        return [t.headcount for t in self.model.teams]

    def improvement_units(self) -> list[tuple[int, list[int], list[int]]]:
        """Who decides on improvement: every owner, with its own capacity, its own figures and
        its own services (people, observing teams, services it may change)."""
        return [(t.headcount, [t.index], self.improvable(t.index).tolist()) for t in self.model.teams]

    def improvable(self, team: int) -> np.ndarray:
        """Services a team may change: those it owns."""
        return np.flatnonzero(self.owners == team)


STRUCTURES: dict[str, type[CentralIT | MicroProvider]] = {"central_it": CentralIT, "micro_provider": MicroProvider}

"""The two structures, as routing strategies over the same teams, services and demand.

They differ only in mechanisms: which pool a piece of work queues at, where work crosses
a team boundary (a handoff), and so which teams take on an item. Every rate and effect they use
comes from the shared scenario parameters."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.market import Exchange
from sim.model.organisation import assign_owners, assign_silos
from sim.model.relationship import negotiation_delay
from sim.model.sourcing import Market, Migration
from sim.model.team import Pool, Team, pressure
from sim.model.work import FROM_ESCAPED_DEFECT, Task, WorkItem

if TYPE_CHECKING:
    from sim.model.org_model import OrgModel


def plan_item(model: OrgModel, item: WorkItem) -> None:
    """Set the services and efforts of a full pass over ``item``: its primary service plus
    dependency work on each touched dependency (cheaper where the dependency is self-service),
    each raised by the service's tech debt where debt is modelled."""
    demand = model.config.demand
    org = model.config.organisation
    self_service = model.self_service
    efforts = [item.effort]
    for dep in item.deps:
        factor = org.self_service_effort_factor if self_service[dep] else 1.0
        efforts.append(item.effort * demand.dependency_effort_share * factor)
    item.plan_services = (item.service, *item.deps)
    if model.debt is not None:
        efforts = [e * model.debt.effort_factor(s) for s, e in zip(item.plan_services, efforts, strict=True)]
    if model.improvement is not None:
        efforts = model.improvement.scale(item.kind, item.plan_services, efforts)
    item.plan_efforts = tuple(efforts)
    item.planned = sum(efforts)


def categorise(item: WorkItem, efforts: tuple[float, ...], rework: bool) -> tuple[float, float, float]:
    """Book the primary service's effort as new work (rework if the item fixes an escaped
    defect or is a rework pass) and the rest as dependency work (new, dependency, rework)."""
    rest = sum(efforts[1:], 0.0)
    if rework:
        return 0.0, 0.0, efforts[0] + rest
    if item.origin == FROM_ESCAPED_DEFECT:
        return 0.0, rest, efforts[0]
    return efforts[0], rest, 0.0


class CentralIT:
    """Functional silos in a pipeline; one central intake; pooled capacity per silo.

    Every stage boundary is a handoff; nobody owns a service, so each silo's teams work on
    every service and their knowledge is spread thin."""

    def __init__(self, model: OrgModel) -> None:
        self.model = model
        stages = model.config.central_it.stages
        self.shares = np.array([s.effort_share for s in stages])
        groups = assign_silos(list(self.shares), len(model.teams))
        self.pools = [Pool(s.name, [model.teams[i] for i in g]) for s, g in zip(stages, groups, strict=True)]
        self.last = len(stages) - 1
        self.rework_stage = int(np.argmax(self.shares))
        self._runners = [t.index for t in self.pools[self.last].teams]
        self.exchange = None
        if model.config.market.enabled:
            # The central organisation is the one consumer; a unit is a stage of the items on
            # one primary service, and its usual provider is the stage's silo.
            services = model.config.organisation.services
            defaults = np.repeat(np.arange(len(stages)), services)
            self.exchange = Exchange(model, self.pools, defaults, consumer_pool=[-1], services=services)

    def route(self, item: WorkItem, now: float) -> None:
        """Into the first silo. An incident the service desk escalates goes to operations
        first (diagnosis, its usual share); the fix then passes the whole pipeline."""
        plan_item(self.model, item)
        if item.escalated:
            self._send(self._stage_task(item, self.last, 1.0, rework=False), None, now, crossing=True)
        else:
            self._send(self._stage_task(item, 0, 1.0, rework=False), None, now, crossing=False)

    def _send(self, task: Task, from_team: Team | None, now: float, crossing: bool) -> None:
        """To the task's pool, across a silo boundary or straight in; through the market when on."""
        if task.provider >= 0:
            assert self.exchange is not None
            self.exchange.send(task, from_team, now, crossing)
        elif crossing:
            self.model.handoff(task, from_team, now)
        else:
            self.model.enqueue(task, now)

    def intake_pressure(self, item: WorkItem, horizon_ticks: float) -> float:
        """Work queued anywhere in the organisation, as the central intake sees it."""
        return pressure(sum(p.queued_effort for p in self.pools), self.intake_people()[0], horizon_ticks)

    def intake_unit(self, item: WorkItem) -> int:
        """One central intake for the whole organisation."""
        return 0

    def intake_people(self) -> list[int]:
        return [sum(p.headcount for p in self.pools)]

    def responsible(self, service: int) -> list[Team]:
        """Who runs a service: the operations silo."""
        return self.pools[self.last].teams

    def run_knowledge(self) -> float:
        """What the teams that run the services know of them: per service, the mean knowledge
        of the operations silo's teams, averaged over services."""
        rows = self.model.knowledge[self._runners]
        return float(rows.sum() / rows.size)

    def wrong_pool(self, item: WorkItem, rng: np.random.Generator) -> Pool:
        """A silo other than operations, where a misrouted incident lands."""
        return self.pools[int(rng.integers(self.last))] if self.last else self.pools[0]

    def end_tick(self, tick: int) -> None:
        """With the market on, the central organisation reviews its choices; its intake (the
        first silo) does the migration work of each switch."""
        if self.exchange is None:
            return
        for _, unit in self.exchange.review(tick):
            self.exchange.migration.start(self.model, self.pools[0], self.exchange.service_of(unit), float(tick + 1))

    def improvement_units(self) -> list[tuple[int, list[int], list[int]]]:
        """Who decides on improvement: one centre, with everyone's capacity, every team's
        figures and every service (people, observing teams, services it may change)."""
        teams = self.model.teams
        return [(sum(t.headcount for t in teams), [t.index for t in teams], list(range(len(self.model.self_service))))]

    def improvement_legs(self, service: int) -> list[tuple[Pool, float]]:
        """An improvement passes the silo pipeline like any item: each stage's pool and share."""
        return [(pool, float(share)) for pool, share in zip(self.pools, self.shares, strict=True)]

    def improvable(self, team: int) -> np.ndarray:
        """Services a team may change when it copies an improvement: nobody owns one, so any."""
        return np.arange(len(self.model.self_service))

    def on_start(self, task: Task, now: float) -> None:
        """Nothing to do when a silo starts a stage."""

    def on_done(self, task: Task, now: float) -> None:
        team = task.team
        assert team is not None
        if task.provider >= 0:
            assert self.exchange is not None
            self.exchange.returned(task, now)
        self._next(task, team, now)

    def on_bought(self, task: Task, now: float) -> None:
        """An external provider delivered a stage; the item goes on from there."""
        assert self.exchange is not None
        self.exchange.delivered(task, now)
        self._next(task, None, now)

    def _next(self, task: Task, team: Team | None, now: float) -> None:
        """After a stage: hand the item to the next stage, or back to the first after an
        escalated diagnosis, or verify it (the stage's team, else the operations silo)."""
        item = task.item
        if task.stage < self.last:
            self._send(self._stage_task(item, task.stage + 1, task.scale, task.rework), team, now, crossing=True)
        elif item.escalated:
            item.escalated = False
            self._send(self._stage_task(item, 0, 1.0, rework=False), team, now, crossing=True)
        elif self.model.verify(item, team if team is not None else self.pools[self.last].teams[0], now):
            self.rework(item, team, now)

    def rework(self, item: WorkItem, team: Team | None, now: float) -> None:
        """A defect caught at the end of a pass: a rework pass from the largest stage onward,
        handed off from ``team`` (none where an external provider did the last stage)."""
        rest = float(self.shares[self.rework_stage :].sum())
        scale = self.model.config.quality.rework_effort_fraction / rest
        self.model.handoff(self._stage_task(item, self.rework_stage, scale, rework=True), team, now)

    def _stage_task(self, item: WorkItem, stage: int, scale: float, rework: bool) -> Task:
        """A stage of ``item`` for the stage's silo; with the market on, a first pass goes to
        the provider the central organisation chose for this stage of the item's service
        (rework stays with the silos, as an owner reworks its own item)."""
        share = float(self.shares[stage]) * scale
        efforts = tuple([e * share for e in item.plan_efforts])
        exchange = self.exchange
        provider, unit = -1, -1
        pool: Pool | None = self.pools[stage]
        if exchange is not None and not rework:
            unit = stage * exchange.services + item.service
            provider = exchange.choose(0, unit)
            pool = exchange.pool_of(provider)
        task = self.model.new_task(
            item,
            pool,
            item.plan_services,
            efforts,
            categorise(item, efforts, rework),
            stage=stage,
            rework=rework,
            scale=scale,
        )
        if provider < 0:
            return task
        assert exchange is not None
        return exchange.label(task, 0, unit, provider)


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
        self._owner_of = self.owners.tolist()
        self._services = np.arange(len(self.owners))
        sourcing = model.config.sourcing
        self.market = Market(sourcing, len(model.teams), len(self.owners)) if sourcing.enabled else None
        self.migration = Migration(sourcing.switch_cost_days)
        # The internal market: each consumer team chooses, per service it requests, among the
        # owner, other teams and external providers (a team's pool index is its index).
        self.exchange = None
        if model.config.market.enabled:
            teams = list(range(len(model.teams)))
            self.exchange = Exchange(
                model, self.pools, self.owners.copy(), consumer_pool=teams, services=len(self.owners)
            )

    def owner(self, service: int) -> Team:
        return self.model.teams[self._owner_of[service]]

    def route(self, item: WorkItem, now: float) -> None:
        """To the owner of the item's service; the owner does its own and self-service
        dependency work, and requests the rest from their owners."""
        model = self.model
        owner = self._owner_of[item.service]
        self_service = model.self_service
        plan_item(model, item)
        services, efforts = item.plan_services, item.plan_efforts
        own_services, own_efforts = [services[0]], [efforts[0]]
        requests = []
        for service, effort in zip(services[1:], efforts[1:], strict=True):
            if self._owner_of[service] == owner or self_service[service]:
                own_services.append(service)
                own_efforts.append(effort)
            else:
                requests.append(self._request(item, owner, service, effort))
        item.requests = requests
        item.open_parts = 1 + len(requests)
        own = tuple(own_efforts)
        task = model.new_task(item, model.teams[owner].pool, tuple(own_services), own, categorise(item, own, False))
        if item.escalated:
            model.handoff(task, None, now)
        else:
            model.enqueue(task, now)

    def _request(self, item: WorkItem, consumer: int, service: int, effort: float) -> Task:
        """A request of ``consumer`` for ``service``: to the provider the market chose, or to
        the owner (None, bought outside, under make-or-buy)."""
        categories = categorise(item, (0.0, effort), False)
        if self.exchange is not None:
            provider = self.exchange.choose(consumer, service)
            pool = self.exchange.pool_of(provider)
            task = self.model.new_task(item, pool, (service,), (effort,), categories, is_request=True)
            return self.exchange.label(task, consumer, service, provider)
        bought = self.market is not None and self.market.buys(consumer, service)
        pool = None if bought else self.owner(service).pool
        return self.model.new_task(item, pool, (service,), (effort,), categories, is_request=True, bought=bought)

    def intake_pressure(self, item: WorkItem, horizon_ticks: float) -> float:
        """The owner team's own queue."""
        return self.owner(item.service).pool.pressure(horizon_ticks)

    def intake_unit(self, item: WorkItem) -> int:
        """Each owner team takes in its own items."""
        return self._owner_of[item.service]

    def intake_people(self) -> list[int]:
        return [t.headcount for t in self.model.teams]

    def responsible(self, service: int) -> list[Team]:
        """Who runs a service: its owner."""
        return [self.owner(service)]

    def run_knowledge(self) -> float:
        """What the teams that run the services know of them: per service, its owner's
        knowledge, averaged over services."""
        known = self.model.knowledge[self.owners, self._services]
        return float(known.sum() / known.size)

    def wrong_pool(self, item: WorkItem, rng: np.random.Generator) -> Pool:
        """Another team than the owner, where a misrouted incident lands."""
        owner = self._owner_of[item.service]
        n = len(self.pools)
        if n == 1:
            return self.pools[0]
        other = int(rng.integers(n - 1))
        return self.pools[other + (other >= owner)]

    def improvement_units(self) -> list[tuple[int, list[int], list[int]]]:
        """Who decides on improvement: every owner, with its own capacity, its own figures and
        its own services (people, observing teams, services it may change)."""
        return [(t.headcount, [t.index], self.improvable(t.index).tolist()) for t in self.model.teams]

    def improvement_legs(self, service: int) -> list[tuple[Pool, float]]:
        """An improvement is the owner's own work, in its queue."""
        return [(self.owner(service).pool, 1.0)]

    def improvable(self, team: int) -> np.ndarray:
        """Services a team may change: those it owns."""
        return np.flatnonzero(self.owners == team)

    def on_start(self, task: Task, now: float) -> None:
        """When the owner starts an item, it sends its requests to the providers (or buys them)."""
        item = task.item
        if not task.is_request and item.requests:
            for request in item.requests:
                if self.exchange is not None:
                    self.exchange.send(request, task.team, now, crossing=True)
                elif request.bought:
                    self._buy(request, now)
                else:
                    self.model.handoff(request, task.team, now)
            item.requests = []

    def _buy(self, request: Task, now: float) -> None:
        """An external provider delivers after a random turnaround, without internal capacity."""
        model = self.model
        turnaround = model.rng.exponential(model.config.sourcing.external_lead_ticks)
        model.recorder.buy(now, request.effort)
        request.ready = now
        model.deliver_bought(request, now + turnaround)

    def on_bought(self, request: Task, now: float) -> None:
        """An external provider delivered a request, perhaps with a defect."""
        if self.exchange is not None:
            self.exchange.delivered(request, now)
        elif self.model.rng.random() < self.model.config.sourcing.external_defect_prob:
            request.item.defects += 1
        self._part_done(request.item, now)

    def on_done(self, task: Task, now: float) -> None:
        item = task.item
        if task.is_request:
            if self.exchange is not None:
                self.exchange.returned(task, now)
            elif self.market is not None:
                config = self.model.config
                sent = task.ready - config.handoff.delay_ticks - negotiation_delay(config.relationship)
                self.market.observe(task.team.index, now - sent, task.defective)
        else:
            item.own_done = now
        self._part_done(item, now)

    def _part_done(self, item: WorkItem, now: float) -> None:
        """One part of ``item`` is done; when all are, the owner verifies it."""
        item.open_parts -= 1
        if item.open_parts:
            return
        item.dependency_wait += now - item.own_done
        owner = self.owner(item.service)
        if self.model.verify(item, owner, now):
            self.rework(item, owner, now)

    def rework(self, item: WorkItem, team: Team, now: float) -> None:
        """A defect caught at the end of a pass: the owner reworks the item (``team`` is the owner)."""
        owner = self.owner(item.service)
        scale = self.model.config.quality.rework_effort_fraction
        efforts = tuple(e * scale for e in item.plan_efforts)
        rework = self.model.new_task(
            item, owner.pool, item.plan_services, efforts, categorise(item, efforts, True), rework=True, opens=False
        )
        item.open_parts = 1
        self.model.enqueue(rework, now)

    def end_tick(self, tick: int) -> None:
        """Consumers due for review switch providers; each switch costs them a migration."""
        model = self.model
        if self.exchange is not None:
            for consumer, unit in self.exchange.review(tick):
                pool = model.teams[consumer].pool
                self.exchange.migration.start(model, pool, self.exchange.service_of(unit), float(tick + 1))
        if self.market is None:
            return
        for consumer, service in self.market.review(tick, self.owners):
            team = model.teams[consumer]
            self.migration.start(model, team.pool, service, float(tick + 1))
            model.recorder.switches[tick] += 1


STRUCTURES: dict[str, type[CentralIT | MicroProvider]] = {"central_it": CentralIT, "micro_provider": MicroProvider}

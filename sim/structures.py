"""The two structures, as routing strategies over the same teams, services and demand.

They differ only in mechanisms: which pool a piece of work queues at, where work crosses
a team boundary (a handoff), and who keeps an item open. Every rate and effect they use
comes from the shared scenario parameters."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.organisation import assign_owners, assign_silos
from sim.team import Pool
from sim.work import DEPENDENCY, FROM_ESCAPED_DEFECT, NEW, REWORK, Task, WorkItem

if TYPE_CHECKING:
    from sim.model import OrgModel


def plan_item(model: OrgModel, item: WorkItem) -> None:
    """Set the services and efforts of a full pass over ``item``: its primary service plus
    dependency work on each touched dependency (cheaper where the dependency is self-service)."""
    demand = model.config.demand
    org = model.config.organisation
    self_service = model.services.self_service
    efforts = [item.effort]
    for dep in item.deps:
        factor = org.self_service_effort_factor if self_service[dep] else 1.0
        efforts.append(item.effort * demand.dependency_effort_share * factor)
    item.plan_services = (item.service, *item.deps)
    item.plan_efforts = tuple(efforts)
    item.planned = sum(efforts)


def categorise(item: WorkItem, efforts: tuple[float, ...], rework: bool) -> tuple[float, float, float]:
    """Book the primary service's effort as new work (rework if the item fixes an escaped
    defect or is a rework pass) and the rest as dependency work."""
    categories = [0.0, 0.0, 0.0]
    primary_kind = REWORK if rework or item.origin == FROM_ESCAPED_DEFECT else NEW
    categories[primary_kind] += efforts[0]
    categories[REWORK if rework else DEPENDENCY] += sum(efforts[1:])
    return categories[0], categories[1], categories[2]


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

    def route(self, item: WorkItem, now: float) -> None:
        plan_item(self.model, item)
        self.model.enqueue(self._stage_task(item, 0, 1.0, rework=False), now)

    def on_start(self, task: Task, now: float) -> None:
        """Nothing to do when a silo starts a stage."""

    def on_done(self, task: Task, now: float) -> None:
        team = task.team
        assert team is not None
        team.open_items -= 1
        item = task.item
        if task.stage < self.last:
            self.model.handoff(self._stage_task(item, task.stage + 1, task.scale, task.rework), team, now)
        elif self.model.verify(item, team, now):
            rest = float(self.shares[self.rework_stage :].sum())
            scale = self.model.config.quality.rework_effort_fraction / rest
            self.model.handoff(self._stage_task(item, self.rework_stage, scale, rework=True), team, now)

    def _stage_task(self, item: WorkItem, stage: int, scale: float, rework: bool) -> Task:
        share = float(self.shares[stage]) * scale
        efforts = tuple(e * share for e in item.plan_efforts)
        return self.model.new_task(
            item,
            self.pools[stage],
            item.plan_services,
            efforts,
            categorise(item, efforts, rework),
            stage=stage,
            rework=rework,
            scale=scale,
        )


class MicroProvider:
    """Cross-functional teams owning services. An item goes to the owner of its primary
    service; work on services owned elsewhere becomes a request queued at their owner,
    unless the service is self-service, in which case the consumer does it itself."""

    def __init__(self, model: OrgModel) -> None:
        self.model = model
        self.pools = [Pool(f"team-{t.index}", [t]) for t in model.teams]
        cfg = model.config.demand
        load = model.services.expected_load(cfg.dependency_touch_prob, cfg.dependency_effort_share)
        self.owners = assign_owners(load, len(model.teams))

    def owner(self, service: int):
        return self.model.teams[int(self.owners[service])]

    def route(self, item: WorkItem, now: float) -> None:
        model = self.model
        owner = self.owner(item.service)
        self_service = model.services.self_service
        own_deps = tuple(d for d in item.deps if self.owners[d] == owner.index or self_service[d])
        plan_item(model, item)
        services, efforts = item.plan_services, item.plan_efforts
        own = [(s, e) for s, e in zip(services, efforts, strict=True) if s == item.service or s in own_deps]
        own_services = tuple(s for s, _ in own)
        own_efforts = tuple(e for _, e in own)
        item.requests = [
            model.new_task(item, self.owner(s).pool, (s,), (e,), categorise(item, (0.0, e), False), is_request=True)
            for s, e in zip(services[1:], efforts[1:], strict=True)
            if s not in own_deps
        ]
        item.open_parts = 1 + len(item.requests)
        task = model.new_task(item, owner.pool, own_services, own_efforts, categorise(item, own_efforts, False))
        model.enqueue(task, now)

    def on_start(self, task: Task, now: float) -> None:
        """When the owner starts an item, it sends its requests to the providers."""
        item = task.item
        if not task.is_request and item.requests:
            for request in item.requests:
                self.model.handoff(request, task.team, now)
            item.requests = []

    def on_done(self, task: Task, now: float) -> None:
        item = task.item
        item.open_parts -= 1
        if task.is_request:
            task.team.open_items -= 1
        else:
            item.own_done = now
        if item.open_parts:
            return
        item.dependency_wait += now - item.own_done
        owner = self.owner(item.service)
        if self.model.verify(item, owner, now):
            scale = self.model.config.quality.rework_effort_fraction
            efforts = tuple(e * scale for e in item.plan_efforts)
            rework = self.model.new_task(
                item, owner.pool, item.plan_services, efforts, categorise(item, efforts, True), rework=True, opens=False
            )
            item.open_parts = 1
            self.model.enqueue(rework, now)
        else:
            owner.open_items -= 1


STRUCTURES = {"central_it": CentralIT, "micro_provider": MicroProvider}

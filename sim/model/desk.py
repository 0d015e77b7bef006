"""The service desk: the feedback loop from users to the teams.

Incidents reach the desk first. It triages each one and resolves the simple ones itself
(known errors, up to ``resolve_max_days`` of effort); the rest it routes to the owner
(micro-providers) or the operations silo (central IT). A misrouted incident costs the
wrong team a triage and comes back through the desk. With feedback, the team
responsible for the service learns from the incidents the desk resolved."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.model.structures import categorise
from sim.model.team import Pool, Team
from sim.model.work import Task, WorkItem

if TYPE_CHECKING:
    from sim.model.org_model import OrgModel

DESK = -1
"""Team index of the desk: not one of the organisation's teams."""

TRIAGE, MISROUTED = 0, 1


class ServiceDesk:
    """The desk's people as one pool, and its routing of incidents."""

    def __init__(self, model: OrgModel) -> None:
        self.model = model
        self.config = model.config.service_desk
        self.team = Team(model, DESK, self.config.staff)
        self.pool = Pool("service_desk", [self.team])

    def receive(self, item: WorkItem, now: float) -> None:
        """Log the incident: one desk task, triage plus the fix if the desk can resolve it."""
        cfg = self.config
        effort = cfg.triage_days + (item.effort if self.resolves(item) else 0.0)
        self.model.enqueue(self._task(item, self.pool, effort, TRIAGE), now)

    def resolves(self, item: WorkItem) -> bool:
        return item.effort <= self.config.resolve_max_days

    def on_start(self, task: Task, now: float) -> None:
        """Nothing to do when a desk task starts."""

    def on_done(self, task: Task, now: float) -> None:
        model = self.model
        item = task.item
        if task.stage == TRIAGE and self.resolves(item):
            item.desk_resolved = True
            self._feed_back(item)
            model.release(item, now)
        elif task.stage == MISROUTED or model.rng.random() < self.config.routing_accuracy:
            item.escalated = True
            model.enter(item, now)
        else:
            wrong = model.structure.wrong_pool(item, model.rng)
            model.handoff(self._task(item, wrong, self.config.triage_days, MISROUTED), None, now)

    def _feed_back(self, item: WorkItem) -> None:
        """The service's team learns from a share of the fix the desk did."""
        share = self.config.feedback_share
        if share == 0:
            return
        teams = self.model.structure.responsible(item.service)
        effort = share * item.effort / len(teams)
        for team in teams:
            self.model.learn(team, (item.service,), (effort,))

    def _task(self, item: WorkItem, pool: Pool, effort: float, stage: int) -> Task:
        # Desk work draws on no service knowledge (scripts, known errors) and injects no defect.
        categories = categorise(item, (effort,), rework=False)
        return self.model.new_task(
            item, pool, (), (), categories, effort=effort, stage=stage, opens=False, handler=self
        )

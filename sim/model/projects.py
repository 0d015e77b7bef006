"""The project operating models. ``project``: each team re-forms at the end of every project
(staggered evenly over the project length); the next project's team starts with the
knowledge that stayed (``knowledge_kept``) and no work relationships, and loses capacity
while it forms. ``funded_projects``: features are funded as projects that start and end; a
team is assembled for each from the standing teams, builds the bundle, hands the services
over to the teams that run them and disbands. The product model (durable teams) needs none
of this."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from sim.model.structures import categorise, plan_item
from sim.model.team import Pool, Team
from sim.model.work import Task, WorkItem
from sim.scenario.schema import OperatingModel

if TYPE_CHECKING:
    from sim.model.org_model import OrgModel


class ProjectRotation:
    """When each team re-forms, and since when it is forming."""

    def __init__(self, config: OperatingModel, teams: int) -> None:
        self.config = config
        self.offset = (np.arange(teams) * config.project_ticks) // max(teams, 1)
        self.formed_at = np.full(teams, -np.inf)

    def due(self, tick: int) -> np.ndarray:
        """Teams whose project ends at the end of ``tick``."""
        return np.flatnonzero((tick + 1 + self.offset) % self.config.project_ticks == 0)

    def reform(self, teams: np.ndarray, knowledge: np.ndarray, initial: float, tick: int) -> None:
        """New people: keep ``knowledge_kept`` of what the team knew, the rest back to ``initial``."""
        kept = self.config.knowledge_kept
        knowledge[teams] = kept * knowledge[teams] + (1 - kept) * initial
        self.formed_at[teams] = tick + 1

    def onboarding_loss(self, team: int, now: float) -> float:
        cfg = self.config
        return cfg.onboarding_cost if now - self.formed_at.item(team) < cfg.onboarding_ticks else 0.0


# --- funded projects (``operating_model.kind = "funded_projects"``) --------------------
BUILD, HANDOVER = 0, 1
"""Stages of a project feature: built by the project team, then handed over to the team that runs its service."""


class ProjectTeam(Team):
    """A team assembled for one project: people lent by standing teams, its own knowledge row
    (the knowledge its people brought, plus what it learns), the practice and work ties of
    ``home``, the standing team that lent it most people."""

    def __init__(self, model: OrgModel, index: int, home: int, services: int, formed_at: float) -> None:
        super().__init__(model, index, 0)
        self.home = home
        self.row = np.zeros(services)
        self.formed_at = formed_at


@dataclass(eq=False)
class Project:
    """A funded bundle of features on a set of services, with its start, planned end and team."""

    number: int
    team: ProjectTeam
    start: float
    planned_end: float
    services: tuple[int, ...]
    items: list[WorkItem]
    unbuilt: int
    lent: dict[Team, int] = field(default_factory=dict)  # people who joined, by home team
    owed: dict[Team, int] = field(default_factory=dict)  # people still to join, by home team


class FundedProjects:
    """Features are funded as projects: they wait in the funding backlog until the next
    funding round, which bundles them into one project; a team is assembled for it from the
    standing teams (each keeps at least one person), builds every feature, hands each over
    to the team that runs its service (a handoff: delay and information loss; that team
    verifies the pass and fixes what it catches) and disbands: its people go back to their
    home teams and take what they learnt with them. Incidents and keep-the-lights-on work go
    to the standing teams as under the product model."""

    def __init__(self, model: OrgModel) -> None:
        self.model = model
        self.config = model.config.operating_model
        self.backlog: list[WorkItem] = []
        self.active: list[Project] = []
        self.project_of: dict[int, Project] = {}  # by the item's place in arrival order
        self.waiting: dict[Team, deque[Project]] = {}  # projects a busy person owes, in order
        self.count = 0
        self.people = model.config.organisation.teams * model.config.organisation.team_size

    # --- funding -----------------------------------------------------------------------
    def wait(self, item: WorkItem) -> None:
        """A feature arrives: it waits for the next funding round."""
        self.backlog.append(item)

    def end_tick(self, tick: int) -> None:
        """At the end of each funding period, fund the waiting features as one project."""
        if self.backlog and (tick + 1) % self.config.funding_ticks == 0:
            self.fund(float(tick + 1))

    def on_projects(self) -> int:
        """People on project teams or promised to one."""
        return sum(p.team.headcount + sum(p.owed.values()) for p in self.active)

    def team_size(self, effort: float) -> int:
        """People a bundle of ``effort`` person-days needs to finish in the planned length, as
        far as the cap on project people and the standing teams (one person each stays) allow."""
        wanted = max(1, math.ceil(effort / self.config.project_ticks))
        cap = int(self.config.project_people_share * self.people) - self.on_projects()
        lendable = sum(max(0, t.headcount - t.owed - 1) for t in self.model.teams)
        return max(0, min(wanted, cap, lendable))

    def fund(self, now: float) -> Project | None:
        """Bundle the waiting features into a project and assemble its team; None (the
        features keep waiting) if nobody can be lent."""
        model = self.model
        for item in self.backlog:
            if not item.plan_services:
                plan_item(model, item)
        effort = sum(item.planned for item in self.backlog)
        size = self.team_size(effort)
        if size == 0:
            return None
        items, self.backlog = self.backlog, []
        services = tuple(sorted({s for item in items for s in item.plan_services}))
        donors = self.donors(size, services)
        home = max(donors, key=donors.count)
        index = len(model.teams) + self.count
        team = ProjectTeam(model, index, home.index, len(model.knowledge[0]), now)
        Pool(f"project-{self.count}", [team])
        project = Project(self.count, team, now, now + self.config.project_ticks, services, items, len(items))
        self.count += 1
        self.active.append(project)
        for donor in donors:
            self.lend(donor, project, now)
        for item in items:
            item.backlog_wait = now - item.arrival
            self.project_of[item.order] = project
            efforts = item.plan_efforts
            task = model.new_task(
                item,
                team.pool,
                item.plan_services,
                efforts,
                categorise(item, efforts, False),
                stage=BUILD,
                handler=self,
            )
            model.enqueue(task, now)
        return project

    def donors(self, size: int, services: tuple[int, ...]) -> list[Team]:
        """The standing team each of ``size`` people comes from, one at a time, among the teams
        with at least two people at home (not lent, not promised: every team keeps one): the
        team with the most idle people (the people available); among equals the one with the
        most people at home, then the one that knows the project's services best, then the
        lowest index."""
        teams = self.model.teams
        home = [t.headcount - t.owed for t in teams]
        idle = dict.fromkeys(teams, 0)
        for pool in self.model.structure.pools:
            for team in pool.idle:
                idle[team] += 1
        free = [idle[t] for t in teams]
        known = self.model.knowledge[:, list(services)].mean(axis=1)
        chosen = []
        for _ in range(size):
            best = max(
                (i for i in range(len(teams)) if home[i] >= 2), key=lambda i: (free[i], home[i], known.item(i), -i)
            )
            home[best] -= 1
            free[best] = max(0, free[best] - 1)
            chosen.append(teams[best])
        return chosen

    # --- people --------------------------------------------------------------------------
    def lend(self, donor: Team, project: Project, now: float) -> None:
        """One person of ``donor`` joins ``project``: now if idle, else when their task is done."""
        pool = donor.pool
        assert pool is not None
        if donor in pool.idle:
            pool.idle.remove(donor)
            self.move(donor, project, now)
        else:
            donor.owed += 1
            project.owed[donor] = project.owed.get(donor, 0) + 1
            self.waiting.setdefault(donor, deque()).append(project)

    def depart(self, donor: Team, now: float) -> None:
        """A person ``donor`` owes a project has finished their task and leaves for it."""
        project = self.waiting[donor].popleft()
        donor.owed -= 1
        project.owed[donor] -= 1
        self.move(donor, project, now)

    def move(self, donor: Team, project: Project, now: float) -> None:
        """The person's capacity moves from ``donor`` to the project team, with their team's knowledge."""
        team = project.team
        self._resize(donor, -1)
        team.row[:] = (team.headcount * team.row + donor.row) / (team.headcount + 1)
        team.headcount += 1
        assert team.pool is not None
        team.pool.headcount += 1
        team.pool.idle.append(team)
        project.lent[donor] = project.lent.get(donor, 0) + 1
        self.model.dispatch(team.pool, now)

    def _resize(self, team: Team, change: int) -> None:
        team.headcount += change
        assert team.pool is not None
        team.pool.headcount += change
        self.model.headcount_changed(team)

    def disband(self, project: Project, now: float) -> None:
        """The people go back to their home teams and take the project's knowledge with them
        (each home team's knowledge becomes the headcount-weighted mean); promises are void."""
        team = project.team
        for donor, owed in project.owed.items():
            if owed:
                donor.owed -= owed
                queue = self.waiting[donor]
                self.waiting[donor] = deque(p for p in queue if p is not project)
        for donor, people in project.lent.items():
            donor.row[:] = (donor.headcount * donor.row + people * team.row) / (donor.headcount + people)
            self._resize(donor, people)
            assert donor.pool is not None
            donor.pool.idle.extend([donor] * people)
        team.headcount = 0
        assert team.pool is not None
        team.pool.headcount = 0
        team.pool.idle.clear()
        self.active.remove(project)
        team.remove()
        for donor in project.lent:
            assert donor.pool is not None
            self.model.dispatch(donor.pool, now)

    # --- work ----------------------------------------------------------------------------
    def on_start(self, task: Task, now: float) -> None:
        """Nothing to do when project work starts."""

    def on_done(self, task: Task, now: float) -> None:
        model = self.model
        item, team = task.item, task.team
        assert team is not None
        if task.stage == BUILD:
            # Built: it waits for the project's end and claims no attention meanwhile.
            team.drop(item)
            project = self.project_of.pop(item.order)
            project.unbuilt -= 1
            if project.unbuilt == 0:
                self.hand_over(project, now)
        elif model.verify(item, team, now):
            # The team that runs the service found a defect in the pass: the structure's rework rule.
            model.structure.rework(item, team, now)

    def hand_over(self, project: Project, now: float) -> None:
        """Every feature is handed to the team that runs its service, then the team disbands."""
        model = self.model
        share = self.config.handover_share
        for item in project.items:
            runner = model.structure.responsible(item.service)[0]
            efforts = tuple(e * share for e in item.plan_efforts)
            task = model.new_task(
                item, runner.pool, item.plan_services, efforts, categorise(item, efforts, False), stage=HANDOVER
            )
            task.handler = self
            model.handoff(task, project.team, now)
        self.disband(project, now)

    # --- state ---------------------------------------------------------------------------
    def forming_loss(self, team: Team, now: float) -> float:
        """Capacity a project team loses while it forms (a standing team loses none)."""
        cfg = self.config
        return cfg.onboarding_cost if now - team.formed_at < cfg.onboarding_ticks else 0.0

    def forget(self, rate: float) -> None:
        for project in self.active:
            project.team.row *= 1 - rate

    def knowledge_max(self, held: np.ndarray) -> np.ndarray:
        """Per service, the best knowledge of ``held`` (the standing teams) and the project teams."""
        for project in self.active:
            held = np.maximum(held, project.team.row)
        return held

    def people_on_projects(self) -> int:
        return sum(p.team.headcount for p in self.active)

    def queued_tasks(self) -> int:
        return sum(len(p.team.pool.heap) for p in self.active if p.team.pool is not None)

"""Teams (the agents) and pools (a queue served by the people of one or more teams)."""

from __future__ import annotations

import heapq
from collections import deque
from typing import TYPE_CHECKING

import mesa

if TYPE_CHECKING:
    from sim.model.org_model import OrgModel
    from sim.model.work import Task, WorkItem


class Team(mesa.Agent):
    """A team: headcount, the items it holds, its load; knowledge and practice live in
    the model's arrays (row ``index``) so that learning and spread are vectorised.

    ``open_items`` counts the items the team has worked on and that are not yet released,
    under either structure: in its hands, waiting on another team, handed on down a
    pipeline, or returned for rework. ``holding_in_hand`` counts those it is working on now."""

    model: OrgModel
    formed_at = -float("inf")  # a standing team never forms (see sim.model.projects.ProjectTeam)

    def __init__(self, model: OrgModel, index: int, headcount: int) -> None:
        super().__init__(model)
        self.index = index
        # ``home``: the team whose practice and work ties this one uses (itself, unless it is a
        # project team); ``row``: its knowledge of every service (a row of the model's matrix).
        self.home = index
        self.row = None
        self.owed = 0  # people promised to a project team, who leave when their task is done
        self.headcount = headcount
        self.pool: Pool | None = None
        self.busy = 0
        self.open_items = 0
        self.holding_in_hand = 0
        self.load = 0.0

    @property
    def knowledge(self):
        """This team's knowledge of every service, in [0, 1]."""
        return self.model.knowledge[self.index]

    @property
    def adopted(self) -> bool:
        return bool(self.model.adopted[self.index])

    def hold(self, item: WorkItem) -> None:
        """Take on ``item`` (once): the team carries it until the item is released."""
        if self not in item.holders:
            item.holders.append(self)
            self.open_items += 1

    def drop(self, item: WorkItem) -> None:
        """Stop carrying ``item`` before it is released (a project's built feature awaiting handover)."""
        if self in item.holders:
            item.holders.remove(self)
            self.open_items -= 1

    @property
    def waiting_items(self) -> int:
        """Items the team holds that are not in its people's hands."""
        return self.open_items - self.holding_in_hand

    @property
    def backlog(self) -> int:
        """Tasks waiting in the queue this team serves."""
        return len(self.pool.heap) if self.pool else 0


def pressure(queued_effort: float, people: int, horizon_ticks: float) -> float:
    """Queued work in ticks of ``people``'s capacity, relative to the horizon, in [0, 1]."""
    return min(1.0, max(0.0, queued_effort) / (people * horizon_ticks))


class Pool:
    """A priority queue of tasks served by every person of its teams (capacity is pooled)."""

    def __init__(self, name: str, teams: list[Team]) -> None:
        self.name = name
        self.teams = teams
        self.headcount = sum(t.headcount for t in teams)
        self.heap: list[tuple[int, float, int, Task]] = []
        self.queued_effort = 0.0
        # One entry per idle person, naming the team; served first-in first-out.
        self.idle: deque[Team] = deque(t for t in teams for _ in range(t.headcount))
        for team in teams:
            team.pool = self

    def push(self, task: Task) -> None:
        heapq.heappush(self.heap, (task.priority, task.ready, task.seq, task))
        self.queued_effort += task.effort

    def pop(self) -> Task:
        task = heapq.heappop(self.heap)[3]
        self.queued_effort -= task.effort
        return task

    def pressure(self, horizon_ticks: float) -> float:
        """Queued work in ticks of this pool's capacity, relative to the horizon, capped at 1."""
        return pressure(self.queued_effort, self.headcount, horizon_ticks)

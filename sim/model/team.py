"""Teams (the agents) and pools (the people of one or more teams serving one queue)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

if TYPE_CHECKING:
    from sim.model.org_model import OrgModel


class Team(mesa.Agent):
    """A team: its headcount and index; what it knows, whether it adopted the practice and the
    work in its hands are read from the model's and the kernel's arrays (row ``index``).

    ``open_items`` counts the items the team has worked on and that are not yet released,
    under either structure: in its hands, waiting on another team, handed on down a
    pipeline, or returned for rework. ``holding_in_hand`` counts those it is working on now."""

    model: OrgModel

    def __init__(self, model: OrgModel, index: int, headcount: int) -> None:
        super().__init__(model)
        self.index = index
        self.headcount = headcount
        self.pool: Pool | None = None

    @property
    def knowledge(self):
        """This team's knowledge of every service, in [0, 1]."""
        return self.model.knowledge[self.index]

    @property
    def adopted(self) -> bool:
        return bool(self.model.adopted[self.index])

    @property
    def busy(self) -> int:
        """People of the team at work now."""
        return int(self.model.kernel.state.team_busy[self.index])

    @property
    def open_items(self) -> int:
        return int(self.model.kernel.state.team_open[self.index])

    @property
    def holding_in_hand(self) -> int:
        return int(self.model.kernel.state.team_hold[self.index])

    @property
    def waiting_items(self) -> int:
        """Items the team holds that are not in its people's hands."""
        return self.open_items - self.holding_in_hand

    @property
    def backlog(self) -> int:
        """Tasks waiting in the queue this team serves."""
        state = self.model.kernel.state
        return int(state.pool_len[state.team_pool[self.index]])


class Pool:
    """A queue served by every person of its teams (capacity is pooled); the queue itself
    is the kernel's."""

    def __init__(self, name: str, teams: list[Team]) -> None:
        self.name = name
        self.teams = teams
        self.headcount = sum(t.headcount for t in teams)
        for team in teams:
            team.pool = self

    @property
    def backlog(self) -> int:
        """Tasks waiting in this pool's queue."""
        return self.teams[0].backlog

"""The project operating models. ``project``: each team re-forms at the end of every project
(staggered evenly over the project length); the next project's team starts with the
knowledge that stayed (``knowledge_kept``) and no work relationships, and loses capacity
while it forms. ``funded_projects``: features are funded as projects that start and end; a
team is assembled for each from the standing teams, builds the bundle, hands the services
over to the teams that run them and disbands. The product model (durable teams) needs none
of this.

The rules run in the kernel: re-forming in ``sim.model.kernel.ticks.reform`` and the loss
while forming in ``flow.capacity_loss``; funded projects in ``flow.wait``, ``flow.fund``,
``flow.team_size``, ``flow.donors``, ``flow.lend``, ``flow.depart``, ``flow.move``,
``flow.hand_over``, ``flow.disband`` and ``flow.forming_loss``, their teams in slots after the
standing teams (``sim.model.kernel.engine``). Here is when each team re-forms."""

from __future__ import annotations

import numpy as np

from sim.scenario.schema import OperatingModel


class ProjectRotation:
    """When each team re-forms (its offset in the project length), and since when it is forming."""

    def __init__(self, config: OperatingModel, teams: int) -> None:
        self.offset = (np.arange(teams) * config.project_ticks) // max(teams, 1)
        self.formed_at = np.full(teams, -np.inf)

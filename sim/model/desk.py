"""The service desk: the feedback loop from users to the teams.

Incidents reach the desk first. It triages each one and resolves the simple ones itself
(known errors, up to ``resolve_max_days`` of effort); the rest it routes to the owner
(micro-providers) or the operations silo (central IT). A misrouted incident costs the
wrong team a triage and comes back through the desk. With feedback, the team
responsible for the service learns from the incidents the desk resolved.

The desk's rules run in the kernel (``sim.model.kernel.flow``: ``desk_receive``, ``desk_on_done``,
``feed_back``, ``wrong_pool``); here are its people."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.model.team import Pool, Team

if TYPE_CHECKING:
    from sim.model.org_model import OrgModel

DESK = -1
"""Team index of the desk: not one of the organisation's teams (the kernel's row after them)."""


class ServiceDesk:
    """The desk's people as one team and pool, after the organisation's."""

    def __init__(self, model: OrgModel) -> None:
        self.team = Team(model, DESK, model.config.service_desk.staff)
        self.pool = Pool("service_desk", [self.team])

"""The project operating model: teams are assembled for a project, deliver it and
disband; the next project's team starts with the knowledge that stayed (``knowledge_kept``)
and no work relationships, and loses capacity while it forms. Re-formations are staggered
evenly over the project length. The product model (durable teams) needs none of this."""

from __future__ import annotations

import numpy as np

from sim.scenario.schema import OperatingModel


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

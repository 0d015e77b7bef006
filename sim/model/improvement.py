"""Improvement work and viral change: teams spend capacity improving services, and teams
that exchange work copy each other's improvements (docs/ODD.md 7.10).

Every service has three factors, each starting at 1: its effort factor (planned effort on
it), its defect factor (defect chance of work on it) and its KTLO-need factor (effort of
keep-the-lights-on work on it). An improvement targets one factor of one service and
removes ``gain`` of its distance to ``floor``.

Who decides, what they see, and how the improvement flows come from the structure:

- each *improvement unit* (a micro-provider team; central IT's one centre) sets aside
  ``effort_share`` of its people's capacity; each time its budget covers ``effort_days`` it
  picks the service and factor with the most person-days seen since that factor of that
  service was last chosen (work on it, rework and incidents, KTLO work), among the services
  it may change, from the figures of the teams it hears from (an owner: its own; the
  centre: every team's);
- the improvement is then work like any other item on the structure's path (the owner's
  queue; central IT's silo pipeline with its handoffs), and takes effect when its last
  part is done, unless it carries a defect (lost at a handoff, injected by unfamiliarity,
  pressure or switching): then its effort is spent and its gain lost.

An improvement made is an *idea* the teams that worked on it know. For ``copy_window_ticks``
after it was made, a team that does not know it copies it each tick with chance
``copy_prob`` x the share of its work partners (weighted by work exchanged) that know it,
slowed by load as any adoption; a copy applies the same factor's gain to the service the
copier may change with the most person-days of that kind seen, at once, and costs the
copier a learning dip.

The rules run in the kernel (``sim.model.kernel.flow``: ``improvement_end_tick``, ``decide``,
``improvement_start``, ``improvement_on_done``, ``observe_improvement``, ``copy_ideas``,
``copy_one``, ``improvement_scale``, ``improvement_defect_factor``, ``improvement_dip``); here
are the factors, figures and budgets they work in, and who decides."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.model.org_model import OrgModel

EFFORT, DEFECTS, KTLO_NEED = 0, 1, 2
TARGETS = ("effort", "defects", "ktlo")


@dataclass(frozen=True)
class Unit:
    """Who decides on improvement: its people (the budget), the teams whose figures it reads
    and the services it may change."""

    people: int
    observers: np.ndarray
    services: np.ndarray


class Improvements:
    """The services' factors, the figures teams see, the units' budgets, when each team last
    copied an improvement."""

    def __init__(self, model: OrgModel) -> None:
        teams, services = len(model.teams), model.config.organisation.services
        self.factors = np.ones((3, services))  # effort, defects, KTLO need
        self.figures = np.zeros((teams, services, 3))  # person-days seen since last chosen
        self.units = [
            Unit(p, np.asarray(o, dtype=np.int64), np.asarray(s, dtype=np.int64))
            for p, o, s in model.structure.improvement_units()
        ]
        self.budget = np.zeros(len(self.units))
        self.copied_at = np.full(teams, -np.inf)

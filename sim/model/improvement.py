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
copier a learning dip. The module does no I/O; every draw is the model's generator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.model.work import FEATURE, FROM_DEMAND, INCIDENT, KTLO, Task, WorkItem

if TYPE_CHECKING:
    from sim.model.org_model import OrgModel
    from sim.model.team import Team

EFFORT, DEFECTS, KTLO_NEED = 0, 1, 2
TARGETS = ("effort", "defects", "ktlo")


def improved(factor: float, gain: float, floor: float) -> float:
    """``factor`` after one improvement: ``gain`` of its distance to ``floor`` removed."""
    return floor + (factor - floor) * (1 - gain) if factor > floor else factor


def bucket(task: Task) -> int:
    """Which factor the person-days of a finished task speak for: defects for rework and
    incidents, KTLO need for keep-the-lights-on work, effort for the rest."""
    kind = task.item.kind
    if task.rework or kind == INCIDENT:
        return DEFECTS
    return KTLO_NEED if kind == KTLO else EFFORT


def choose(seen: np.ndarray) -> tuple[int, int] | None:
    """(row, target) of the largest figure in ``seen`` (rows x targets; first on ties), or
    None when nothing has been seen."""
    if not seen.size or seen.max() <= 0:
        return None
    row, target = np.unravel_index(int(np.argmax(seen)), seen.shape)
    return int(row), int(target)


@dataclass(slots=True, eq=False)
class ImprovementItem(WorkItem):
    """Improvement work on one factor of one service (not demand: never in the item log)."""

    target: int = EFFORT


@dataclass(frozen=True)
class Unit:
    """Who decides on improvement: its people (the budget), the teams whose figures it reads
    and the services it may change."""

    people: int
    observers: np.ndarray
    services: np.ndarray


class Improvements:
    """The services' factors, the figures teams see, the budgets, the ideas and their copies."""

    def __init__(self, model: OrgModel) -> None:
        self.model = model
        self.config = model.config.improvement
        teams, services = len(model.teams), model.config.organisation.services
        self.factors = np.ones((3, services))  # effort, defects, KTLO need
        self.figures = np.zeros((teams, services, 3))  # person-days seen since last chosen
        self.units = [
            Unit(p, np.asarray(o, dtype=np.int64), np.asarray(s, dtype=np.int64))
            for p, o, s in model.structure.improvement_units()
        ]
        self.budget = np.zeros(len(self.units))
        self.known = np.zeros((teams, 0), dtype=bool)  # teams x live ideas
        self.idea_target = np.zeros(0, dtype=np.int64)
        self.idea_made = np.zeros(0, dtype=np.int64)
        self.copied_at = np.full(teams, -np.inf)
        self.start = model.config.improvement_start_tick

    # --- what the factors do ----------------------------------------------------------
    def scale(self, kind: int, services: tuple[int, ...], efforts: list[float]) -> list[float]:
        """Planned efforts on ``services`` times their effort factor (and KTLO need for KTLO work)."""
        effort = self.factors[EFFORT]
        if kind == KTLO:
            need = self.factors[KTLO_NEED]
            return [e * effort.item(s) * need.item(s) for s, e in zip(services, efforts, strict=True)]
        return [e * effort.item(s) for s, e in zip(services, efforts, strict=True)]

    def defect_factor(self, services: tuple[int, ...]) -> float:
        """Defect chance multiplier of a task: the mean defect factor of its services."""
        if not services:
            return 1.0
        row = self.factors[DEFECTS]
        return sum([row.item(s) for s in services]) / len(services)

    def dip(self, team: int, now: float) -> float:
        """Capacity share ``team`` loses while learning a copied improvement."""
        if 0 <= now - self.copied_at.item(team) < self.config.copy_ticks:
            return self.config.copy_cost
        return 0.0

    # --- what teams see ---------------------------------------------------------------
    def observe(self, team: Team, task: Task) -> None:
        """``team`` finished ``task``: it has seen its person-days on each of its services."""
        if task.handler is not None or team.home < 0:  # improvement, desk and migration work
            return
        row = self.figures[team.home]  # a project team's figures are its home team's
        target = bucket(task)
        for service, effort in zip(task.services, task.service_efforts, strict=True):
            row[service, target] += effort

    # --- the tick ---------------------------------------------------------------------
    def end_tick(self, tick: int) -> None:
        """Budgets grow and buy improvements; teams copy their partners' ideas; record."""
        if tick >= self.start:
            self._decide(float(tick + 1))
            self._copy(tick)
        rec = self.model.recorder
        means = self.factors.sum(axis=1) / self.factors.shape[1]
        rec.effort_factor[tick], rec.defect_factor[tick], rec.ktlo_factor[tick] = means.tolist()

    def _decide(self, now: float) -> None:
        cfg = self.config
        for u, unit in enumerate(self.units):
            self.budget[u] += cfg.effort_share * unit.people
            while self.budget.item(u) >= cfg.effort_days:
                seen = self.figures[unit.observers][:, unit.services, :].sum(axis=0)
                choice = choose(seen)
                if choice is None:  # nothing seen yet: the budget waits, without banking more
                    self.budget[u] = cfg.effort_days
                    break
                row, target = choice
                service = int(unit.services[row])
                self.figures[:, service, target] = 0.0
                self.budget[u] -= cfg.effort_days
                self._start(service, target, now)

    def _start(self, service: int, target: int, now: float) -> None:
        """Start an improvement on the structure's path: the first leg queued, the rest handed on."""
        model = self.model
        effort = self.config.effort_days
        item = ImprovementItem(0, FEATURE, FROM_DEMAND, service, (), effort, now, target=target)
        item.plan_services, item.plan_efforts, item.planned = (service,), (effort,), effort
        model.enqueue(self._leg(item, 0), now)

    def _leg(self, item: ImprovementItem, leg: int) -> Task:
        pool, share = self.model.structure.improvement_legs(item.service)[leg]
        effort = item.effort * share
        return self.model.new_task(
            item, pool, (item.service,), (effort,), (0.0, 0.0, 0.0), stage=leg, handler=self, improving=True
        )

    def on_start(self, task: Task, now: float) -> None:
        """Nothing to do when improvement work starts."""

    def on_done(self, task: Task, now: float) -> None:
        """Hand the improvement to the next leg, or let it take effect (unless it is defective)."""
        model = self.model
        item = task.item
        assert isinstance(item, ImprovementItem)
        if task.stage + 1 < len(model.structure.improvement_legs(item.service)):
            model.handoff(self._leg(item, task.stage + 1), task.team, now)
            return
        for team in item.holders:
            team.open_items -= 1
        tick = min(int(now), model.recorder.ticks - 1)
        if item.defects:
            model.recorder.improvements_failed[tick] += 1
            return
        self._apply(item.service, item.target)
        model.recorder.improvements_done[tick] += 1
        self._new_idea(item.target, [t.home for t in item.holders], tick)

    def _apply(self, service: int, target: int) -> None:
        cfg = self.config
        self.factors[target, service] = improved(self.factors.item(target, service), cfg.gain, cfg.floor)

    # --- viral change -----------------------------------------------------------------
    def _new_idea(self, target: int, makers: list[int], tick: int) -> None:
        column = np.zeros((len(self.known), 1), dtype=bool)
        column[makers, 0] = True
        self.known = np.hstack([self.known, column])
        self.idea_target = np.append(self.idea_target, target)
        self.idea_made = np.append(self.idea_made, tick)

    def _copy(self, tick: int) -> None:
        cfg = self.config
        live = self.idea_made > tick - cfg.copy_window_ticks
        if not live.all():  # ideas too old to copy are forgotten
            self.known = self.known[:, live]
            self.idea_target, self.idea_made = self.idea_target[live], self.idea_made[live]
        if not len(self.idea_made) or cfg.copy_prob == 0:
            return
        model = self.model
        counts = model.ties.counts
        weight = np.maximum(counts.sum(axis=1), 1.0)
        prob = cfg.copy_prob * (counts @ self.known) / weight[:, None]
        if model.config.spread.capacity_coupling:
            prob *= 1 - np.clip(model.loads, 0.0, 1.0)[:, None]
        copies = (model.rng.random(prob.shape) < prob) & ~self.known
        for team, idea in zip(*np.nonzero(copies), strict=True):
            self._copy_one(int(team), int(idea), tick)

    def _copy_one(self, team: int, idea: int, tick: int) -> None:
        """``team`` copies ``idea`` onto the service it may change with most of its kind seen."""
        target = int(self.idea_target[idea])
        services = self.model.structure.improvable(team)
        self.known[team, idea] = True
        if not len(services):
            return
        row = int(np.argmax(self.figures[team, services, target]))
        service = int(services[row])
        self._apply(service, target)
        self.figures[:, service, target] = 0.0
        self.copied_at[team] = tick + 1  # copied at the end of the tick: the dip starts with the next
        self.model.recorder.improvements_copied[tick] += 1

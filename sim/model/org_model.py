"""The OrgSim model: teams as Mesa agents, work flowing through pools in continuous time.

Each ``step()`` is one tick. The work flow runs in the compiled kernel (``sim.model.kernel``):
within a tick, arrivals, task starts and completions are processed in time order from an
event heap, so queueing is exact (no rounding to ticks); learning, load, spread and recording
happen at tick boundaries. The model builds the organisation, holds the arrays the kernel
works on (knowledge, the practice, work ties, the recorder's series), and does no I/O."""

from __future__ import annotations

import mesa
import numpy as np

from sim.model.desk import ServiceDesk
from sim.model.improvement import Improvements
from sim.model.kernel.engine import Kernel
from sim.model.organisation import build_services
from sim.model.projects import ProjectRotation
from sim.model.recorder import TickRecorder
from sim.model.spread import WorkTies
from sim.model.structures import STRUCTURES
from sim.model.team import Team
from sim.scenario.schema import Scenario


class OrgModel(mesa.Model):
    """One organisation under one structure, driven by one seed."""

    def __init__(self, config: Scenario, seed: int) -> None:
        super().__init__(rng=seed)
        org_rng, demand_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
        self.config = config
        org = config.organisation
        self.services = build_services(config, org_rng)
        self.teams = [Team(self, i, org.team_size) for i in range(org.teams)]
        self._knowledge = np.full((org.teams, org.services), config.knowledge.initial)  # until the kernel's
        self.adopted = np.zeros(org.teams, dtype=bool)
        self.adopted_at = np.full(org.teams, -np.inf)
        self.adopted_count = 0
        self.loads = np.zeros(org.teams)
        self.ties = WorkTies(org.teams)
        self.demand_rng = demand_rng  # the demand stream's own (sim.model.kernel.arrivals)
        # Operating-model mechanisms, each None (absent) unless switched on in the scenario.
        self.debt = np.zeros(org.services) if config.tech_debt.enabled else None  # per service
        project = config.operating_model.kind == "project"
        self.rotation = ProjectRotation(config.operating_model, org.teams) if project else None
        self.structure = STRUCTURES[config.structure](self)
        self.improvement = Improvements(self) if config.improvement.enabled else None
        self.desk = ServiceDesk(self) if config.service_desk.enabled else None
        people = org.teams * org.team_size + (self.desk.team.headcount if self.desk else 0)
        self.recorder = TickRecorder(config.simulation.ticks, people)
        if self.structure.exchange is not None:
            self.recorder.extra.update(self.structure.exchange.series)
        self.open_count = 0
        self.kernel = Kernel(self)
        self.items = self.kernel  # the item table

    @property
    def knowledge(self) -> np.ndarray:
        """Each team's knowledge of each service (teams x services), as of the last tick run:
        a read-only copy; assign to it to change the teams' knowledge."""
        kernel = getattr(self, "kernel", None)
        return kernel.knowledge() if kernel is not None else self._knowledge

    @knowledge.setter
    def knowledge(self, values: np.ndarray) -> None:
        kernel = getattr(self, "kernel", None)
        if kernel is not None:
            kernel.set_knowledge(values)
        else:
            self._knowledge[:] = values

    # --- the tick -------------------------------------------------------------------
    def step(self) -> None:
        """One tick; none once the scenario's ticks have run (``running`` is then False)."""
        ticks = self.config.simulation.ticks
        self.kernel.run_until(min(self.steps, ticks))  # Mesa counts steps from 1: tick steps - 1 is run
        self.running = self.steps < ticks

    def run(self) -> None:
        """Every tick, a demand block per call into the kernel."""
        ticks = self.config.simulation.ticks
        self.kernel.run_until(ticks)
        self.steps = ticks

    def place(self, kind: int, service: int, effort: float, at: float, deps: tuple[int, ...] = ()) -> None:
        """An item of the business arriving at ``at`` (not before the current tick), besides
        the demand stream's: of ``kind`` on ``service``, touching the services ``deps``."""
        self.kernel.place(kind, service, deps, effort, at)

    # --- spread of a practice -------------------------------------------------------
    def seed_adopters(self, tick: int) -> None:
        """The spread's first tick: ``spread.initial_adopters`` teams drawn to adopt."""
        adopters = self.config.spread.initial_adopters
        if adopters:
            teams = self.rng.choice(len(self.teams), size=adopters, replace=False)
            self.adopted[teams] = True
            self.adopted_at[teams] = tick
            self.adopted_count = int(self.adopted.sum())

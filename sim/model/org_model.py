"""The OrgSim model: teams as Mesa agents, work flowing through pools in continuous time.

Each ``step()`` is one tick. Within a tick, arrivals, task starts and completions are
processed in time order from an event heap, so queueing is exact (no rounding to ticks);
learning, load, spread and recording happen at tick boundaries. The model does no I/O."""

from __future__ import annotations

import gc
import heapq
import itertools
import math

import mesa
import numpy as np

from sim.model.debt import DebtLedger
from sim.model.demand import DemandStream
from sim.model.desk import DESK, ServiceDesk
from sim.model.improvement import Improvements
from sim.model.intake import WipLimit
from sim.model.item_log import ItemLog
from sim.model.kernel.engine import Kernel, supports
from sim.model.organisation import build_services
from sim.model.projects import FundedProjects, ProjectRotation
from sim.model.quality import defect_probability, detection_probability, switching_loss
from sim.model.recorder import TickRecorder
from sim.model.relationship import Relationship
from sim.model.spread import WorkTies, adoption_probability, complete_influence
from sim.model.structures import STRUCTURES
from sim.model.team import Pool, Team
from sim.model.work import FEATURE, FROM_DEMAND, FROM_ESCAPED_DEFECT, INCIDENT, KIND_NAMES, KTLO, Task, WorkItem
from sim.scenario.schema import Scenario

ARRIVE, READY, DONE, BOUGHT = 0, 1, 2, 3


class OrgModel(mesa.Model):
    """One organisation under one structure, driven by one seed."""

    def __init__(self, config: Scenario, seed: int, compiled: bool | None = None) -> None:
        """``compiled``: run the work flow in the compiled kernel (``sim.model.kernel``); by
        default wherever the kernel has every mechanism ``config`` switches on, which is
        required. The object engine remains for the mechanisms not yet ported."""
        super().__init__(rng=seed)
        org_rng, demand_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
        self.config = config
        org = config.organisation
        self.services = build_services(config, org_rng)
        self.self_service: list[bool] = self.services.self_service.tolist()
        self.teams = [Team(self, i, org.team_size) for i in range(org.teams)]
        self.knowledge = np.full((org.teams, org.services), config.knowledge.initial)
        for team in self.teams:
            team.row = self.knowledge[team.index]
        self.adopted = np.zeros(org.teams, dtype=bool)
        self.adopted_at = np.full(org.teams, -np.inf)
        self.adopted_count = 0
        self.loads = np.zeros(org.teams)
        self.ties = WorkTies(org.teams)
        self.demand = DemandStream(config.demand, self.services, demand_rng)
        # Operating-model mechanisms, each None (absent) unless switched on in the scenario.
        self.debt = DebtLedger(config.tech_debt, org.services) if config.tech_debt.enabled else None
        project = config.operating_model.kind == "project"
        self.rotation = ProjectRotation(config.operating_model, org.teams) if project else None
        self.improvement: Improvements | None = None  # plan_item reads it while the structure is built
        self.structure = STRUCTURES[config.structure](self)
        funded = config.operating_model.kind == "funded_projects"
        self.projects = FundedProjects(self) if funded else None
        self.improvement = Improvements(self) if config.improvement.enabled else None
        self.desk = ServiceDesk(self) if config.service_desk.enabled else None
        self.relationship = Relationship(self) if config.relationship.mode != "none" else None
        wip_limited = config.intake.policy == "wip_limit"
        self.wip_limit = WipLimit(config.intake, self.structure.intake_people(), self._rank) if wip_limited else None
        self._accept_all = config.intake.policy == "accept_all"
        people = org.teams * org.team_size + (self.desk.team.headcount if self.desk else 0)
        self.recorder = TickRecorder(config.simulation.ticks, people)
        if self.structure.exchange is not None:
            self.recorder.extra.update(self.structure.exchange.series)
        self.items = ItemLog()
        self.open_count = 0
        self._events: list[tuple[float, int, int, object]] = []
        self._seq = itertools.count()
        rank = {kind: r for r, kind in enumerate(config.demand.priority)}
        self._kind_rank = [rank[name] for name in KIND_NAMES]
        self._request_rank = {"fifo": (1, 1), "own_first": (0, 2), "requests_first": (2, 0)}[
            config.micro_provider.request_priority
        ]
        self._load_alpha = 1 / config.spread.load_memory_ticks
        # Parameters read on every task, looked up once.
        self._switch_table = config.context_switching.loss_by_concurrency
        self._waiting_weight = config.context_switching.waiting_weight
        self._penalty = config.knowledge.unfamiliarity_penalty
        self._learning_rate = config.knowledge.learning_rate
        self._coupled = config.spread.capacity_coupling
        self._loses_capacity = (
            self._coupled or self.rotation is not None or self.projects is not None or self.improvement is not None
        )
        self._headcounts = np.array([t.headcount for t in self.teams], dtype=float)
        self._queues = [p.heap for p in self.structure.pools]
        # The compiled kernel runs the work flow where it has every mechanism switched on.
        if compiled is None:
            compiled = supports(config)
        elif compiled and not supports(config):
            raise ValueError("the compiled kernel does not have every mechanism this scenario switches on")
        self.kernel = Kernel(self) if compiled else None
        if self.kernel is not None:
            self.items = self.kernel

    # --- the tick -------------------------------------------------------------------
    def step(self) -> None:
        tick = self.steps - 1  # Mesa counts steps from 1
        if self.kernel is not None:
            self.kernel.run_until(tick + 1)
            return
        for item in self.demand.arrivals(tick):
            self._schedule(item.arrival, ARRIVE, item)
        start = self.config.spread_start_tick
        if tick >= start:
            self._spread(tick, seed=tick == start)
        self._process(until=tick + 1)
        self._end_tick(tick)

    def run(self) -> None:
        """Every tick: in the compiled kernel, a demand block per call; in the object engine,
        one step at a time with Python's cyclic garbage collector paused: the model's work
        frees itself by reference counting, and the collector's passes over a large heap cost
        more the larger the organisation (a sixth of a 400-team run). The few cycles left
        are collected once the run is over."""
        ticks = self.config.simulation.ticks
        if self.kernel is not None:
            self.kernel.run_until(ticks)
            self.steps = ticks
            return
        collecting = gc.isenabled()
        gc.disable()
        try:
            for _ in range(ticks):
                self.step()
        finally:
            if collecting:
                gc.enable()

    def _process(self, until: float) -> None:
        events = self._events
        while events and events[0][0] < until:
            now, _, code, obj = heapq.heappop(events)
            if code == DONE:
                self._finish(obj, now)
            elif code == READY:
                obj.pool.push(obj)
                self._dispatch(obj.pool, now)
            elif code == BOUGHT:
                self.structure.on_bought(obj, now)
            else:
                self._arrive(obj, now)

    def _end_tick(self, tick: int) -> None:
        rec = self.recorder
        forgetting = self.config.knowledge.forgetting_rate
        if forgetting:
            self.knowledge *= 1 - forgetting
            if self.projects is not None:
                self.projects.forget(forgetting)
        if self.rotation is not None:
            ending = self.rotation.due(tick)
            if len(ending):
                self.rotation.reform(ending, self.knowledge, self.config.knowledge.initial, tick)
                self.ties.forget(ending)
        if self.debt is not None:
            self.debt.age()
            rec.tech_debt[tick] = self.debt.debt.sum() / len(self.debt.debt)
        self.structure.end_tick(tick)
        if self.projects is not None:
            self.projects.end_tick(tick)
            rec.project_people[tick] = self.projects.people_on_projects()
        if self.config.spread.capacity_coupling:
            busy = np.array([t.busy for t in self.teams], dtype=float)
            self.loads += self._load_alpha * (busy / self._headcounts - self.loads)
        if self.improvement is not None:
            self.improvement.end_tick(tick)
        rec.wip[tick] = self.open_count
        rec.queued_tasks[tick] = sum(map(len, self._queues))
        rec.adoption_share[tick] = self.adopted_count / len(self.teams)
        held = self.knowledge.max(axis=0)
        rec.run_knowledge[tick] = self.structure.run_knowledge()
        if self.projects is not None:
            rec.queued_tasks[tick] += self.projects.queued_tasks()
            held = self.projects.knowledge_max(held)
        rec.knowledge_held[tick] = held.sum() / len(held)  # = held.mean(), without its Python-level overhead
        if self.wip_limit is not None:
            rec.backlog[tick] = self.wip_limit.waiting()

    # --- work flow ------------------------------------------------------------------
    def _schedule(self, time: float, code: int, obj: object) -> None:
        heapq.heappush(self._events, (time, next(self._seq), code, obj))

    def place(self, kind: int, service: int, effort: float, at: float, deps: tuple[int, ...] = ()) -> None:
        """An item of the business arriving at ``at`` (not before the current tick), besides
        the demand stream's: of ``kind`` on ``service``, touching the services ``deps``."""
        if self.kernel is not None:
            self.kernel.place(kind, service, deps, effort, at)
        else:
            self._schedule(at, ARRIVE, self.demand.new_item(kind, FROM_DEMAND, service, deps, effort, at))

    def deliver_bought(self, task: Task, at: float) -> None:
        """An externally bought ``task`` comes back at ``at``."""
        self._schedule(at, BOUGHT, task)

    def _arrive(self, item: WorkItem, now: float) -> None:
        tick = min(int(now), self.recorder.ticks - 1)
        if self._skips_upgrade(item):
            self.recorder.ktlo_skipped[tick] += 1
            return
        self.items.arrive(item)
        self.open_count += 1
        self.recorder.arrivals[tick] += 1
        if self.desk is not None and item.kind == INCIDENT:
            self.desk.receive(item, now)
        elif self.projects is not None and item.kind == FEATURE and item.origin == FROM_DEMAND:
            self.projects.wait(item)
        else:
            self.enter(item, now)

    def _skips_upgrade(self, item: WorkItem) -> bool:
        """Under tech debt: whether a KTLO item is skipped because its intake is under pressure."""
        if self.debt is None or item.kind != KTLO or item.origin != FROM_DEMAND:
            return False
        pressure = self.structure.intake_pressure(item, self.config.quality.pressure_horizon_ticks)
        return self.debt.skips(pressure, self.rng)

    def enter(self, item: WorkItem, now: float) -> None:
        """Let ``item`` into the teams' queues, or into its intake backlog while at the WIP limit."""
        if self.wip_limit is None or self.wip_limit.offer(item, self.structure.intake_unit(item), now):
            self.structure.route(item, now)

    def _rank(self, item: WorkItem) -> int:
        return self._kind_rank[item.kind]

    def new_task(
        self,
        item: WorkItem,
        pool: Pool | None,
        services: tuple[int, ...],
        efforts: tuple[float, ...],
        categories: tuple[float, float, float],
        effort: float | None = None,
        is_request: bool = False,
        **kw,
    ) -> Task:
        """A task for ``item`` at ``pool``, prioritised by kind (then own work vs requests);
        its effort is that of its services unless given (desk work uses no service)."""
        priority = self._kind_rank[item.kind] * 3 + self._request_rank[is_request]
        effort = sum(efforts) if effort is None else effort
        seq = next(self._seq)
        return Task(item, pool, services, efforts, categories, priority, effort, is_request=is_request, seq=seq, **kw)

    def enqueue(self, task: Task, now: float) -> None:
        """Queue ``task`` at its pool now, within the same team or silo (no handoff)."""
        task.ready = now
        task.pool.push(task)
        self._dispatch(task.pool, now)

    def handoff(self, task: Task, from_team: Team | None, now: float) -> None:
        """Pass ``task`` across a team boundary: a delay and a chance of losing information, and
        from one of the teams, what the relationship between them costs (relationship.py).
        A rework pass travels with the report of the defect it fixes, so it loses none: what
        a handoff lost is found and mended once, not lost again on every pass."""
        self.cross(task, from_team, now)
        if self.relationship is not None and from_team is not None:
            self.relationship.transfer(task, from_team)
        self._schedule(task.ready, READY, task)

    def cross(self, task: Task, from_team: Team | None, now: float) -> None:
        """What crossing a team boundary does to ``task`` (a handoff's count, its chance of
        losing information, its delay), wherever the task goes next (a pool, or outside)."""
        handoff = self.config.handoff
        task.item.handoffs += 1
        if not task.rework and self.rng.random() < handoff.loss_prob:
            task.item.defects += 1
        task.from_team = from_team
        task.ready = now + handoff.delay_ticks

    def _dispatch(self, pool: Pool, now: float) -> None:
        while pool.idle and pool.heap:
            self._start(pool.pop(), pool.idle.popleft(), now)

    def dispatch(self, pool: Pool, now: float) -> None:
        """Start what ``pool``'s idle people can (after people joined or came back to it)."""
        self._dispatch(pool, now)

    def headcount_changed(self, team: Team) -> None:
        """``team`` lent people to a project team or got them back."""
        self._headcounts[team.index] = team.headcount

    def _start(self, task: Task, team: Team, now: float) -> None:
        item = task.item
        task.team = team
        team.busy += 1
        if task.opens:
            team.hold(item)
        task.holds = team in item.holders
        team.holding_in_hand += task.holds
        if task.from_team is not None:
            self.ties.add(task.from_team.home, team.home)
        if not task.is_request:
            item.queue_wait += now - task.ready
        (task.handler or self.structure).on_start(task, now)
        effort = task.effort
        if effort > 0 and task.services:
            row = team.row
            unknown = 0.0
            for service, part in zip(task.services, task.service_efforts, strict=True):
                unknown += (1.0 - row.item(service)) * part
            task.unfamiliarity = unknown / effort
        per_person = self._load_per_person(team, task.pool)
        switch = self._switch_table[0] if per_person <= 1.0 else switching_loss(per_person, self._switch_table)
        task.switch_loss = switch
        learning = self._capacity_loss(team, now)
        stretch = 1 + self._penalty * task.unfamiliarity
        duration = effort * stretch / ((1 - switch) * (1 - learning))
        new, dependency, rework = task.category_efforts
        self.recorder.add_busy(
            now,
            now + duration,
            (
                new * stretch,
                dependency * stretch,
                rework * stretch,
                duration * (1 - switch) * learning,
                duration * switch,
            ),
        )
        if task.improving:
            self.recorder.add_improvement(now, now + duration, effort * stretch)
        if not task.is_request:
            item.touch_time += duration
        self._schedule(now + duration, DONE, task)

    def _load_per_person(self, team: Team, pool: Pool) -> float:
        """Open items per person, the same rule under both structures: the tasks in the team's
        hands count fully; items it holds but is not working on (waiting on another team,
        handed on and not yet released, back for rework) and, under ``accept_all``, its pool's
        accepted but unstarted tasks count ``context_switching.waiting_weight`` each."""
        per_person = (team.busy + self._waiting_weight * team.waiting_items) / team.headcount
        if self._accept_all:
            per_person += self._waiting_weight * len(pool.heap) / pool.headcount
        return per_person

    def _capacity_loss(self, team: Team, now: float) -> float:
        """Capacity share lost to learning the practice and, in a new project team, to forming."""
        if team.index == DESK or not self._loses_capacity:
            return 0.0
        loss = self._learning_loss(team.home, now) if self._coupled else 0.0
        if self.rotation is not None:
            loss = 1 - (1 - loss) * (1 - self.rotation.onboarding_loss(team.index, now))
        if self.projects is not None:
            loss = 1 - (1 - loss) * (1 - self.projects.forming_loss(team, now))
        if self.improvement is not None:
            dip = self.improvement.dip(team.home, now)
            if dip:
                loss = 1 - (1 - loss) * (1 - dip)
        return loss

    def _learning_loss(self, team: int, now: float) -> float:
        spread = self.config.spread
        if now - self.adopted_at.item(team) < spread.learning_ticks:
            return spread.learning_cost
        return 0.0

    def _finish(self, task: Task, now: float) -> None:
        team = task.team
        assert team is not None
        team.busy -= 1
        team.holding_in_hand -= task.holds
        leaving = team.owed > 0  # promised to a project team: leaves once this task is done
        if not leaving:
            task.pool.idle.append(team)
        self.learn(team, task.services, task.service_efforts)
        if self.improvement is not None:
            self.improvement.observe(team, task)
        self._inject_defect(task, team)
        (task.handler or self.structure).on_done(task, now)
        if leaving:
            assert self.projects is not None
            self.projects.depart(team, now)
        self._dispatch(task.pool, now)

    def learn(self, team: Team, services: tuple[int, ...], efforts: tuple[float, ...]) -> None:
        """``team`` learns from ``efforts`` person-days on ``services`` (shared by its people)."""
        rate = self._learning_rate / team.headcount
        if rate == 0 or not services:
            return
        row = team.row
        for service, effort in zip(services, efforts, strict=True):
            known = row.item(service)
            row[service] = known + (1 - known) * -math.expm1(-rate * effort)

    def _inject_defect(self, task: Task, team: Team) -> None:
        cfg = self.config
        item = task.item
        if item.planned <= 0 or cfg.quality.base_defect_prob == 0:
            return
        reduction = cfg.spread.defect_reduction if self.adopted.item(team.home) else 0.0
        factor = self.debt.defect_factor(task.services) if self.debt is not None else 1.0
        if self.improvement is not None:
            factor *= self.improvement.defect_factor(task.services)
        p = defect_probability(
            cfg.quality,
            task.unfamiliarity,
            task.pool.pressure(cfg.quality.pressure_horizon_ticks),
            task.switch_loss,
            reduction,
            task.effort / item.planned,
            factor,
        )
        if p > 0 and self.rng.random() < p:
            item.defects += 1
            task.defective = True

    def verify(self, item: WorkItem, team: Team, now: float) -> bool:
        """At the end of a pass: True if a defect is caught and the item needs rework,
        otherwise release the item (a hidden defect escapes as a failed change)."""
        if self.catches(item, team):
            return True
        self.release(item, now)
        return False

    def catches(self, item: WorkItem, team: Team) -> bool:
        """Whether ``team``, verifying ``item`` at the end of a pass, finds its defects (then
        they are gone and the item is counted reworked)."""
        if item.defects:
            quality = self.config.quality
            gain = self.config.spread.detection_gain if self.adopted.item(team.home) else 0.0
            if self.rng.random() < detection_probability(quality.early_detection_prob, gain):
                item.reworks += 1
                item.defects = 0
                return True
        return False

    def release(self, item: WorkItem, now: float) -> None:
        """``item`` is done: pay down debt (an upgrade), let the next item in, and turn a
        hidden defect into an incident reported at the next tick."""
        item.completion = now
        item.escaped = item.defects > 0
        for team in item.holders:
            team.open_items -= 1
        self.items.release(item)
        self.open_count -= 1
        self.recorder.completions[min(int(now), self.recorder.ticks - 1)] += 1
        if self.debt is not None and item.kind == KTLO:
            self.debt.pay_down(item.service)
        if self.wip_limit is not None and item.intake_unit >= 0:
            following = self.wip_limit.release(item, now)
            if following is not None:
                self.structure.route(following, now)
        if item.escaped:
            # A failed fix costs what the fix cost; only a demand item's failure is scaled,
            # so a chain of failing fixes advances time instead of shrinking to nothing.
            factor = 1.0 if item.origin == FROM_ESCAPED_DEFECT else self.config.quality.escaped_effort_factor
            # The failure shows in operation, reported from the next working day: a chain of
            # failing fixes advances at least a tick per link, however small their effort.
            noticed = math.floor(now) + 1
            incident = self.demand.new_item(
                INCIDENT, FROM_ESCAPED_DEFECT, item.service, (), factor * item.effort, noticed
            )
            self._schedule(noticed, ARRIVE, incident)

    # --- spread of a practice -------------------------------------------------------
    def _spread(self, tick: int, seed: bool) -> None:
        spread = self.config.spread
        n = len(self.teams)
        if seed:
            self.seed_adopters(tick)
        if self.adopted_count == n or not self._can_spread():
            return
        if spread.network == "complete":
            influence = complete_influence(self.adopted)
        else:
            influence = self.ties.influence(self.adopted)
        lag = spread.mandate_lag_ticks
        mandated = lag is not None and tick >= self.config.spread_start_tick + lag
        prob = adoption_probability(spread, influence, self.loads, mandated)
        new = ~self.adopted & (self.rng.random(n) < prob)
        self._adopt(np.flatnonzero(new), tick)

    def seed_adopters(self, tick: int) -> None:
        """The spread's first tick: ``spread.initial_adopters`` teams drawn to adopt."""
        adopters = self.config.spread.initial_adopters
        if adopters:
            self._adopt(self.rng.choice(len(self.teams), size=adopters, replace=False), tick)

    def _can_spread(self) -> bool:
        """False while no rule can make a team adopt (saves the draws, changes nothing)."""
        spread = self.config.spread
        lag = spread.mandate_lag_ticks
        return bool(
            spread.external_prob > 0
            or (spread.imitation_prob > 0 and self.adopted_count > 0)
            or (lag is not None and spread.mandate_compliance_prob > 0)
        )

    def _adopt(self, teams: np.ndarray, tick: int) -> None:
        if not len(teams):
            return
        self.adopted[teams] = True
        self.adopted_at[teams] = tick
        self.adopted_count = int(self.adopted.sum())

"""The model's side of the compiled kernel: builds its state from the model, runs it (the
kernel draws the demand itself), grows its arrays, and reads the results back."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numba.core import config

from sim.model.item_log import item_columns, item_table
from sim.model.kernel import arrivals, flow, ticks
from sim.model.kernel.state import ITEM, PARAMS, QUEUE, TASK, State, grown
from sim.model.work import KIND_NAMES

if TYPE_CHECKING:
    from sim.model.market import Exchange
    from sim.model.org_model import OrgModel

RECORDS = ("params", "items", "tasks", "pool_heap", "backlog_heap")  # the tables with a row type
# Priority ranks of a team's own work and of requests to it, per ``micro_provider.request_priority``.
REQUEST_RANK = {"fifo": (1, 1), "own_first": (0, 2), "requests_first": (2, 0)}


@contextlib.contextmanager
def small_pages() -> Iterator[None]:
    """numpy's arrays allocated meanwhile without transparent huge pages (numpy asks Linux
    for them on arrays of 4 MB and more: numpy.org's "global state"). The kernel's tables
    are sized ahead of the work and touched a row at a time, and every 2 MB page that one
    row touches is zeroed whole: at 1600 teams a third of a run went to the system zeroing
    pages it hardly used."""
    toggle = getattr(np._core.multiarray, "_set_madvise_hugepage", None)
    was = toggle(False) if toggle else None
    try:
        yield
    finally:
        if toggle:
            toggle(was)


class Kernel:
    """The work flow of one run in flat arrays (``sim.model.kernel.state.State``)."""

    @small_pages()
    def __init__(self, model: OrgModel) -> None:
        config = model.config
        structure = model.structure
        central = config.structure == "central_it"
        desk = model.desk
        # The service desk is one more pool and team, after the structure's; then, under funded
        # projects, a pool and team row per project slot (a project may hold at most as many
        # people as may be on projects at once, so there are no more active projects).
        pools = [*structure.pools, *([desk.pool] if desk else [])]
        teams = model.teams
        all_teams = [*teams, *([desk.team] if desk else [])]
        row = {team: k for k, team in enumerate(all_teams)}
        funded = config.operating_model.kind == "funded_projects"
        people = config.organisation.teams * config.organisation.team_size
        project_cap = int(config.operating_model.project_people_share * people) if funded else 0
        slots = max(1, project_cap) if funded else 0
        rows = len(all_teams) + slots
        deps = model.services.dependencies
        ties_counts, ties_weight, ties_reached, ties_adopted = model.ties.arrays()
        recorder = model.recorder
        units = len(structure.intake_people())
        pool_of = {id(pool): p for p, pool in enumerate(pools)}
        rotation = model.rotation
        market = getattr(structure, "market", None)
        width = max(1, max(map(len, deps)))
        headcounts = np.array([p.headcount for p in pools] + [0] * slots, dtype=np.int64)
        idle_cap = np.where(np.arange(len(headcounts)) < len(pools), headcounts, max(1, project_cap))
        idle = [row[t] for p in pools for t in p.teams for _ in range(t.headcount)]
        idle_buf = np.zeros(int(idle_cap.sum()), dtype=np.int64)  # the project pools' rings after the others'
        idle_buf[: len(idle)] = idle
        # The most one event or the end of a tick may take (flow.has_room): of every table
        # (``margin``), and of any one pool's queue (``queue_margin``: a review's migrations go
        # to each consumer's own pool, so one pool takes one consumer's at most).
        margin = queue_margin = (int(max(headcounts.max(), project_cap)) + 2) * (width + 3)
        sourcing = config.sourcing
        if sourcing.enabled:  # room for every migration one end of tick may start
            margin = max(margin, (-(-len(teams) // sourcing.review_ticks)) * len(deps) + 4)
            queue_margin = max(queue_margin, len(deps) + 4)
        exchange = structure.exchange
        if exchange is not None:  # the same for the market: every unit of every consumer due (its places)
            consumers, n_units = len(exchange.consumer_pool), int(np.diff(exchange.first).max(initial=0))
            margin = max(margin, (-(-consumers // config.market.review_ticks)) * n_units + 4)
            queue_margin = max(queue_margin, n_units + 4)
        if model.improvement is not None:  # and every improvement one end of tick may start
            margin += 3 * len(deps) + 4
            queue_margin += 3 * len(deps) + 4
        rows_expected = int(1.25 * config.demand.arrival_rate * config.simulation.ticks) + 4 * margin + 64
        self.state = State(
            params=self._params(model, margin, queue_margin, project_cap, slots),
            ctr=np.zeros(flow.COUNTERS, dtype=np.int64),
            kind_rank=np.array([config.demand.priority.index(name) for name in KIND_NAMES], dtype=np.int64),
            request_rank=np.array(REQUEST_RANK[config.micro_provider.request_priority], dtype=np.int64),
            switch_table=np.array(config.context_switching.loss_by_concurrency, dtype=float),
            shares=np.asarray(getattr(structure, "shares", [1.0]), dtype=float),
            owner_of=np.asarray(getattr(structure, "owners", [0]), dtype=np.int64),
            self_service=np.asarray(model.services.self_service, dtype=np.bool_),
            service_deps=np.array([list(d) + [-1] * (width - len(d)) for d in deps], dtype=np.int64),
            service_ndeps=np.array([len(d) for d in deps], dtype=np.int64),
            **_demand(model, width),
            # room for the items the demand is expected to bring and a quarter more (escaped defects
            # come back as items; rows never touched take no memory), grown if they are more
            items=np.zeros(rows_expected, dtype=ITEM),
            item_deps=np.zeros((rows_expected, width), dtype=np.int32),
            item_plan_services=np.zeros((rows_expected, width + 1), dtype=np.int32),
            item_plan_efforts=np.zeros((rows_expected, width + 1)),
            item_requests=np.zeros((rows_expected, width), dtype=np.int32),
            item_stage_wait=np.zeros((rows_expected, len(structure.shares) if central else 1)),
            tasks=np.zeros(0, dtype=TASK),
            task_services=np.zeros((0, width + 1), dtype=np.int32),
            task_efforts=np.zeros((0, width + 1)),
            ev_time=np.zeros(0),
            ev_keys=np.zeros((0, 3), dtype=np.int64),
            pool_heap=np.zeros(0, dtype=QUEUE),
            pool_start=np.zeros(len(headcounts), dtype=np.int64),
            pool_cap=np.zeros(len(headcounts), dtype=np.int64),
            pool_len=np.zeros(len(headcounts), dtype=np.int64),
            pool_effort=np.zeros(len(headcounts)),
            pool_headcount=headcounts,
            idle_buf=idle_buf,
            idle_start=np.concatenate([[0], np.cumsum(idle_cap)[:-1]]).astype(np.int64),
            idle_head=np.zeros(len(headcounts), dtype=np.int64),
            idle_len=headcounts.copy(),
            team_busy=np.zeros(rows, dtype=np.int64),
            team_open=np.zeros(rows, dtype=np.int64),
            team_hold=np.zeros(rows, dtype=np.int64),
            team_headcount=np.array([t.headcount for t in all_teams] + [0] * slots, dtype=np.int64),
            team_pool=np.array(
                [pool_of[id(t.pool)] for t in all_teams] + [len(pools) + k for k in range(slots)], dtype=np.int64
            ),
            knowledge=self._knowledge(model, rows) if funded else model.knowledge,
            known_at=np.zeros((len(teams), len(deps)), dtype=np.int32),
            forgotten=np.zeros(1, dtype=np.int64),
            powers=np.cumprod(np.r_[1.0, np.full(config.simulation.ticks, 1 - config.knowledge.forgetting_rate)]),
            most=np.zeros(len(deps)),  # taken by _knowledge_taken
            most_at=np.zeros(len(deps), dtype=np.int64),
            most_stale=np.zeros(len(deps), dtype=bool),
            run_total=np.zeros(1),
            runner_rows=np.isin(np.arange(len(teams)), structure.runners if central else []),
            runner_of=np.full(len(deps), -1) if central else np.asarray(structure.owners, dtype=np.int64),
            debt=model.debt if model.debt is not None else np.zeros(len(deps)),
            intake_open=np.zeros(units, dtype=np.int64),
            intake_limit=np.array([config.intake.wip_limit_per_person * p for p in structure.intake_people()]),
            backlog_heap=np.zeros(0, dtype=QUEUE),
            backlog_start=np.zeros(units, dtype=np.int64),
            backlog_cap=np.zeros(units, dtype=np.int64),
            backlog_len=np.zeros(units, dtype=np.int64),
            adopted=model.adopted,
            adopted_at=model.adopted_at,
            rotation_offset=np.asarray(rotation.offset if rotation else np.zeros(len(teams)), dtype=np.int64),
            formed_at=rotation.formed_at if rotation else np.full(len(teams), -np.inf),
            # make-or-buy's Market (micro-providers): its arrays, which the kernel keeps up to date
            market_external=market.external if market else np.zeros((len(teams), len(deps)), dtype=bool),
            market_used=market.used if market else np.zeros((len(teams), len(deps)), dtype=bool),
            score_turnaround=market.scores.turnaround if market else np.zeros(len(teams)),
            score_failure=market.scores.failure if market else np.zeros(len(teams)),
            score_seen=market.scores.seen if market else np.zeros(len(teams), dtype=bool),
            **self._exchange(exchange),
            hold_team=np.zeros(0, dtype=np.int64),
            hold_next=np.zeros(0, dtype=np.int64),
            # a busy interval per task: room for a task per stage and one more per expected item
            intervals=np.zeros((rows_expected * (len(structure.shares) + 1 if central else 2), 7)),
            ties_counts=ties_counts,
            ties_weight=ties_weight,
            ties_reached=ties_reached,
            ties_adopted=ties_adopted,
            loads=model.loads,
            influence=np.zeros(len(teams)),
            arrivals=recorder.arrivals,
            completions=recorder.completions,
            wip=recorder.wip,
            queued_tasks=recorder.queued_tasks,
            adoption_share=recorder.adoption_share,
            knowledge_held=recorder.knowledge_held,
            run_knowledge=recorder.run_knowledge,
            tech_debt=recorder.tech_debt,
            ktlo_skipped=recorder.ktlo_skipped,
            backlog=recorder.backlog,
            switches=recorder.switches,
            bought_days=recorder.bought_days,
            runners=np.asarray(getattr(structure, "runners", [0]), dtype=np.int64),
            held=np.zeros(len(deps)),
            gathered=np.zeros(width + 1),
            **self._projects(model, rows, slots, idle_cap),
            swarm_stack=np.zeros((int(headcounts.sum()) + 2, 2), dtype=np.int64),
            **self._improvement(model),
        )
        self.state.ctr[flow.TASK_FREE] = self.state.ctr[flow.HOLD_FREE] = self.state.ctr[flow.BLOCK_FIRST] = -1
        self._knowledge_taken()
        self.ref = None
        self.seeded = False  # the spread's seed adopters drawn
        self._grow(0)
        self._reserve_migration_item()
        self.model = model

    @staticmethod
    def _knowledge(model: OrgModel, rows: int) -> np.ndarray:
        """Funded projects: the knowledge matrix with a row per team row of the kernel (the
        project teams' after the standing teams' and the desk's)."""
        knowledge = np.zeros((rows, model.knowledge.shape[1]))
        knowledge[: len(model.teams)] = model.knowledge
        return knowledge

    @staticmethod
    def _projects(model: OrgModel, rows: int, slots: int, idle_cap: np.ndarray) -> dict[str, np.ndarray]:
        """The fields of funded projects (sized for none when off)."""
        teams = len(model.teams)
        services = model.config.organisation.services
        size = model.config.organisation.team_size
        return {
            "team_owed": np.zeros(rows, dtype=np.int64),
            "team_home": np.arange(rows, dtype=np.int64),
            "team_formed": np.full(rows, -np.inf),
            "idle_cap": idle_cap.astype(np.int64),
            "proj_active": np.zeros(slots, dtype=bool),
            **{name: np.zeros(slots, dtype=np.int64) for name in ("proj_unbuilt", "proj_items", "proj_nlent")},
            "proj_first": np.full(slots, -1, dtype=np.int64),
            "proj_nowed": np.zeros(slots, dtype=np.int64),
            **{
                name: np.zeros((slots, teams), dtype=np.int64)
                for name in ("proj_lent", "proj_lent_count", "proj_owed", "proj_owed_count")
            },
            "waiting": np.zeros((teams, max(1, size)), dtype=np.int64),
            "waiting_len": np.zeros(teams, dtype=np.int64),
            "fund_backlog": np.zeros(0, dtype=np.int64),
            "fund_planned": np.zeros(0),
            "fund_ctr": np.zeros(2, dtype=np.int64),
            "fund_home": np.zeros(teams, dtype=np.int64),
            "fund_free": np.zeros(teams, dtype=np.int64),
            "fund_known": np.zeros(teams),
            "fund_chosen": np.zeros(max(1, slots), dtype=np.int64),
            "fund_services": np.zeros(services, dtype=bool),
            "fund_gather": np.zeros(services),
            "project_people": model.recorder.project_people,
        }

    @staticmethod
    def _exchange(exchange: Exchange | None) -> dict[str, np.ndarray]:
        """The internal market's fields of the state: the Exchange's own arrays (the kernel
        keeps them up to date: a consumer's units' places, the choices and scores per place),
        each consumer's own pool, the externals."""
        if exchange is None:  # one consumer, one unit, one provider, no external
            return {
                "mk_first": np.zeros(2, dtype=np.int64),
                "mk_unit": np.zeros(1, dtype=np.int64),
                "mk_current": np.zeros(1, dtype=np.int64),
                "mk_previous": np.zeros(1, dtype=np.int64),
                "mk_used": np.zeros(1, dtype=bool),
                "mk_turnaround": np.zeros((1, 1)),
                "mk_failure": np.zeros((1, 1)),
                "mk_price": np.zeros((1, 1)),
                "mk_seen": np.zeros((1, 1), dtype=bool),
                "mk_series": np.zeros((6, 1)),
                "mk_defaults": np.zeros(1, dtype=np.int64),
                "mk_providers": np.zeros((1, 1), dtype=np.int64),
                "mk_consumer_pool": np.full(1, -1, dtype=np.int64),
                **{
                    name: np.zeros(0)
                    for name in ("ext_capacity", "ext_lead", "ext_defect_prob", "ext_price", "ext_free_at")
                },
            }
        externals = exchange.externals
        return {
            **Kernel._places(exchange),
            "mk_series": exchange.recorded,
            "mk_defaults": np.asarray(exchange.defaults, dtype=np.int64),
            "mk_providers": exchange.providers,
            "mk_consumer_pool": np.asarray(exchange.consumer_pool, dtype=np.int64),
            "ext_capacity": np.array([e.capacity for e in externals], dtype=float),
            "ext_lead": np.array([e.lead for e in externals], dtype=float),
            "ext_defect_prob": np.array([e.defect_prob for e in externals], dtype=float),
            "ext_price": np.array([e.price for e in externals], dtype=float),
            "ext_free_at": np.zeros(len(externals)),  # each external is free from the start
        }

    @staticmethod
    def _places(exchange: Exchange) -> dict[str, np.ndarray]:
        """The market's fields kept per place (a unit a consumer may send)."""
        scores = exchange.scores
        return {
            "mk_first": exchange.first,
            "mk_unit": exchange.unit,
            "mk_current": exchange.current,
            "mk_previous": exchange.previous,
            "mk_used": exchange.used,
            "mk_turnaround": scores.turnaround,
            "mk_failure": scores.failure,
            "mk_price": scores.price,
            "mk_seen": scores.seen,
        }

    @staticmethod
    def _improvement(model: OrgModel) -> dict[str, np.ndarray]:
        """Improvement's fields of the state: the Improvements' own factors, figures, budgets
        and copy times (the kernel keeps them up to date), its units and each team's services
        as padded rows, room for the live ideas (grown with them), the recorder's series."""
        recorder = model.recorder
        series = ("effort_factor", "defect_factor", "ktlo_factor")
        series += ("improvements_done", "improvements_failed", "improvements_copied")
        fields = {name: getattr(recorder, name) for name in series}
        improvement = model.improvement
        teams = len(model.teams)
        fields |= {  # the live ideas: none yet (grown from the first call, state.grown), no days booked
            "imp_known": np.zeros((teams, 0), dtype=bool),
            "imp_idea_target": np.zeros(0, dtype=np.int64),
            "imp_idea_made": np.zeros(0, dtype=np.int64),
            "imp_reach": np.zeros((0, teams), dtype=np.int64),
            "imp_ctr": np.zeros(2, dtype=np.int64),
            "imp_days": np.zeros((0, 3)),
        }
        if improvement is None:  # one unit, team and service, seeing nothing
            return {
                **fields,
                "imp_factors": np.ones((3, 1)),
                "imp_figures": np.zeros((1, 1, 3)),
                "imp_budget": np.zeros(0),
                "imp_copied_at": np.full(teams, -np.inf),
                "imp_people": np.zeros(0, dtype=np.int64),
                **_padded("imp_observers", [[]]),
                **_padded("imp_services", [[]]),
                **_padded("imp_improvable", [[]]),
            }
        units = improvement.units
        return {
            **fields,
            "imp_factors": improvement.factors,
            "imp_figures": improvement.figures,
            "imp_budget": improvement.budget,
            "imp_copied_at": improvement.copied_at,
            "imp_people": np.array([unit.people for unit in units], dtype=np.int64),
            **_padded("imp_observers", [unit.observers for unit in units]),
            **_padded("imp_services", [unit.services for unit in units]),
            **_padded("imp_improvable", [model.structure.improvable(team) for team in range(teams)]),
        }

    @staticmethod
    def _params(model: OrgModel, margin: int, queue_margin: int, project_cap: int, slots: int) -> np.ndarray:
        config = model.config
        quality, spread, knowledge, debt = config.quality, config.spread, config.knowledge, config.tech_debt
        sourcing = config.sourcing
        # The market's review reads the fields make-or-buy's does (the two exclude each other).
        review = config.market if config.market.enabled else sourcing
        desk = config.service_desk
        improvement = config.improvement
        structure = model.structure
        central = config.structure == "central_it"
        values = {
            "structure": flow.CENTRAL_IT if central else flow.MICRO_PROVIDER,
            "ticks": config.simulation.ticks,
            "margin": margin,
            "queue_margin": queue_margin,
            "last": structure.last if central else 0,
            "rework_stage": structure.rework_stage if central else 0,
            "rework_rest": float(structure.shares[structure.rework_stage :].sum()) if central else 1.0,
            "delay": config.handoff.delay_ticks,
            "loss_prob": config.handoff.loss_prob,
            "dependency_effort_share": config.demand.dependency_effort_share,
            "self_service_effort_factor": config.organisation.self_service_effort_factor,
            "penalty": knowledge.unfamiliarity_penalty,
            "learning_rate": knowledge.learning_rate,
            "waiting_weight": config.context_switching.waiting_weight,
            "accept_all": config.intake.policy == "accept_all",
            "coupled": spread.capacity_coupling,
            "learning_ticks": spread.learning_ticks,
            "learning_cost": spread.learning_cost,
            "defect_reduction": spread.defect_reduction,
            "detection_gain": spread.detection_gain,
            "base_defect_prob": quality.base_defect_prob,
            "familiarity_effect": quality.familiarity_effect,
            "pressure_effect": quality.pressure_effect,
            "horizon": quality.pressure_horizon_ticks,
            "switching_effect": quality.switching_effect,
            "early_detection_prob": quality.early_detection_prob,
            "rework_effort_fraction": quality.rework_effort_fraction,
            "escaped_effort_factor": quality.escaped_effort_factor,
            "forgetting_rate": knowledge.forgetting_rate,
            # central IT's operations teams run every service, each micro-provider its own
            "run_values": len(structure.runners) * config.organisation.services if central else len(structure.owners),
            "load_alpha": 1 / config.spread.load_memory_ticks,
            "spread_start": config.spread_start_tick,
            "mandate_lag": -1 if spread.mandate_lag_ticks is None else spread.mandate_lag_ticks,
            "external_prob": spread.external_prob,
            "imitation_prob": spread.imitation_prob,
            "mandate_compliance_prob": spread.mandate_compliance_prob,
            "complete_network": spread.network == "complete",
            "debt": config.tech_debt.enabled,
            "debt_aging": debt.aging_per_tick,
            "debt_paydown": debt.upgrade_paydown,
            "debt_effort_effect": debt.effort_effect,
            "debt_defect_effect": debt.defect_effect,
            "skip_pressure": debt.skip_pressure,
            "protected_share": debt.protected_share,
            "intake_people": sum(structure.intake_people()),
            "wip_limited": config.intake.policy == "wip_limit",
            "provider_customer": config.relationship.mode == "provider_customer",
            "negotiation_ticks": config.relationship.negotiation_ticks,
            "over_ask_factor": config.relationship.over_ask_factor,
            "sourcing": sourcing.enabled and not central,
            "market": config.market.enabled,
            "review_ticks": review.review_ticks,
            "external_lead_ticks": sourcing.external_lead_ticks,
            "external_defect_prob": sourcing.external_defect_prob,
            "external_score": sourcing.external_lead_ticks + sourcing.failure_weight * sourcing.external_defect_prob,
            "switch_cost_days": review.switch_cost_days,
            "switch_margin": review.switch_margin,
            "failure_weight": review.failure_weight,
            "smoothing": review.smoothing,
            "price_weight": config.market.price_weight,
            "explore_prob": config.market.explore_prob,
            "services": config.organisation.services,
            "rotation": model.rotation is not None,
            "project_ticks": config.operating_model.project_ticks,
            "knowledge_kept": config.operating_model.knowledge_kept,
            "onboarding_ticks": config.operating_model.onboarding_ticks,
            "onboarding_cost": config.operating_model.onboarding_cost,
            "initial_knowledge": knowledge.initial,
            "swarm_share": config.relationship.swarm_share if config.relationship.mode == "collaboration" else 0.0,
            "pools": len(structure.pools),
            "desk": desk.enabled,
            "desk_pool": len(structure.pools) if desk.enabled else -1,
            "desk_team": len(model.teams) if desk.enabled else -1,
            "triage_days": desk.triage_days,
            "resolve_max_days": desk.resolve_max_days,
            "routing_accuracy": desk.routing_accuracy,
            "feedback_share": desk.feedback_share,
            "funded": config.operating_model.kind == "funded_projects",
            "funding_ticks": config.operating_model.funding_ticks,
            "handover_share": config.operating_model.handover_share,
            "project_cap": project_cap,
            "standing_teams": len(model.teams),
            "slots": slots,
            "slot_team": len(model.teams) + (1 if desk.enabled else 0),
            "slot_pool": len(structure.pools) + (1 if desk.enabled else 0),
            "improvement": improvement.enabled,
            "improvement_start": config.improvement_start_tick,
            "effort_share": improvement.effort_share,
            "effort_days": improvement.effort_days,
            "gain": improvement.gain,
            "floor": improvement.floor,
            "copy_prob": improvement.copy_prob,
            "copy_window_ticks": improvement.copy_window_ticks,
            "copy_cost": improvement.copy_cost,
            "copy_ticks": improvement.copy_ticks,
            **arrivals.effort_law(config.demand),
            "arrival_rate": config.demand.arrival_rate,
            "touch_prob": config.demand.dependency_touch_prob,
        }
        params = np.zeros(1, dtype=PARAMS)
        for name, value in values.items():
            params[name] = value
        return params

    # --- running ------------------------------------------------------------------------
    def run_until(self, last: int) -> None:
        """Run ticks up to ``last`` (exclusive) in one call into the kernel, stopping at the
        spread's first tick to draw the seed adopters and wherever the arrays must grow."""
        model = self.model
        start = model.config.spread_start_tick
        while self.state.ctr[flow.TICK] < last:
            s = self.state
            tick = int(s.ctr[flow.TICK])
            if tick == start and not self.seeded:
                self.seeded = True
                model.seed_adopters(tick)
                s.ctr[flow.ADOPTED] = model.adopted_count
            self._grow(self._due())
            ticks.run_ticks(self.ref, model.rng, model.demand_rng, start if tick < start < last else last)
        model.recorder.set_busy(self.state.intervals[: self.state.ctr[flow.INTERVALS]])
        model.recorder.set_improvement(self.state.imp_days[: self.state.imp_ctr[flow.IMPROVING]])
        if self.state.ctr[flow.ERROR]:
            raise RuntimeError("kernel: a consumer sent work on a unit it has no place for (report this as a bug)")
        model.adopted_count = int(self.state.ctr[flow.ADOPTED])
        model.open_count = int(self.state.ctr[flow.OPEN])
        teams = model.teams  # the project teams' rows follow
        for team, headcount in zip(teams, self.state.team_headcount[: len(teams)].tolist(), strict=True):
            team.headcount = headcount  # less those lent to projects

    def _due(self) -> int:
        """The items still to arrive from the demand block being run (none if none is)."""
        s = self.state
        k = int(s.ctr[flow.TICK] - s.ctr[flow.BLOCK_FIRST])
        return int(s.dm_starts[-1] - s.dm_starts[k]) if 0 <= k < arrivals.BLOCK_TICKS else 0

    def place(self, kind: int, service: int, deps: tuple[int, ...], effort: float, at: float) -> None:
        """A demand item of ``kind`` on ``service`` touching ``deps``, arriving at ``at``."""
        if len(deps) > self.state.item_deps.shape[1]:
            raise ValueError(f"an item touches at most {self.state.item_deps.shape[1]} services here, not {len(deps)}")
        self._grow(1)
        self._give_places(service, deps)
        s = self.state
        s.ctr[flow.NEXT_ID] += 1
        item = flow.new_item(self.ref, s.ctr[flow.NEXT_ID], kind, flow.FROM_DEMAND, service, effort, at)
        s.item_deps[item, : len(deps)] = deps
        s.items[item]["ndeps"] = len(deps)
        flow.schedule(self.ref, at, flow.ARRIVE, item)

    def _give_places(self, service: int, deps: tuple[int, ...]) -> None:
        """Under micro-providers with the market on, places for the requests of an item placed
        by hand (its owner sends them; ``Exchange.make_room``), and room for one more
        migration each at a review; the tables get a new handle."""
        exchange = self.model.structure.exchange
        if exchange is None or self.state.params[0]["structure"] != flow.MICRO_PROVIDER:
            return
        owner = int(self.state.owner_of[service])
        added = exchange.make_room(owner, [d for d in deps if self.state.owner_of[d] != owner])
        if added:
            params = self.state.params[0]
            params["margin"] += added
            params["queue_margin"] += added
            self.state, self.ref = self.state._replace(**self._places(exchange)), None
            self._grow(0)

    def _reserve_migration_item(self) -> None:
        """Row ``flow.MIGRATION``: the item of every migration task (an upgrade, never logged)."""
        row = self.state.items[flow.MIGRATION]
        row["kind"], row["order"], row["holders"], row["intake_unit"] = flow.KTLO, -1, -1, -1
        self.state.ctr[flow.ITEMS] = flow.MIGRATION + 1

    @small_pages()
    def _grow(self, arriving: int) -> None:
        """Make room (``grown``), and a new handle for the kernel when an array was replaced.
        Under ``NUMBA_DISABLE_JIT=1`` the kernel runs as Python on the named tuple itself,
        its tables as record arrays (whose rows take attribute access as the compiled code's do)."""
        state = grown(self.state, arriving)
        if self.ref is not None and state is self.state:
            return
        if config.DISABLE_JIT:
            state = state._replace(**{name: getattr(state, name).view(np.recarray) for name in RECORDS})
            self.state = self.ref = state
        else:
            self.state, self.ref = state, ticks.new_ref(state)

    # --- what the model reads ---------------------------------------------------------------
    def knowledge(self) -> np.ndarray:
        """The standing teams' knowledge now (teams x services), a read-only copy."""
        s = self.state
        teams = len(self.model.teams)
        values = s.knowledge[:teams] * s.powers[s.forgotten[0] - s.known_at]
        values.flags.writeable = False
        return values

    def set_knowledge(self, values: np.ndarray) -> None:
        """The standing teams' knowledge from now on (teams x services)."""
        self.state.knowledge[: len(self.state.known_at)] = values
        self._knowledge_taken()

    def _knowledge_taken(self) -> None:
        """The standing teams' values taken as stored, now (at the start, or just set): their
        stamps, each service's most known (a row at a time) and the running teams' total."""
        s = self.state
        rows = s.knowledge[: len(s.known_at)]
        s.known_at[:] = s.forgotten[0]
        s.most[:] = rows.max(axis=0)
        s.most_at[:] = s.forgotten[0]
        s.most_stale[:] = False
        ran = np.flatnonzero(s.runner_of >= 0)
        s.run_total[0] = rows[s.runner_rows].sum() + s.knowledge[s.runner_of[ran], ran].sum()

    def __len__(self) -> int:
        """Items that arrived."""
        return int(self.state.ctr[flow.ORDER])

    def _logged(self) -> np.ndarray:
        """The rows of the items that arrived, in arrival order."""
        order = self.state.items["order"][: self.state.ctr[flow.ITEMS]]
        rows = np.flatnonzero(order >= 0)
        ranks = order[rows]
        return rows if (ranks[1:] > ranks[:-1]).all() else rows[np.argsort(ranks, kind="stable")]

    def columns(self) -> dict[str, np.ndarray]:
        """The item table's columns (``sim.model.item_log.item_columns``): a row per item that
        arrived, in arrival order."""
        rows, items = self._logged(), self.state.items
        if len(rows) and (np.diff(rows) == 1).all():  # a run of rows: slices, copied once
            first, end = rows[0], rows[-1] + 1
            return item_columns(lambda name: items[name][first:end], own=False)
        return item_columns(lambda name: items[name][rows], own=True)  # column by column, not whole records

    def table(self) -> pd.DataFrame:
        """One row per item that arrived, in arrival order (``sim.model.item_log.COLUMNS``, the lead time)."""
        return item_table(self.columns())

    def stage_waits(self) -> np.ndarray:
        """Each item's queue wait at each stage (central IT's silos in pipeline order; one column
        under micro-providers), rows as in ``table()``: where the item waited."""
        return self.state.item_stage_wait[self._logged()]


def _demand(model: OrgModel, width: int) -> dict[str, np.ndarray]:
    """The demand's fields of the state: its cumulative kind and service shares, and room for
    a block's rows (grown in the rare block that brings more)."""
    demand = model.config.demand
    kinds = demand.kinds
    per_block = arrivals.BLOCK_TICKS * demand.arrival_rate
    rows = int(per_block + 8 * np.sqrt(per_block)) + 16
    return {
        "kind_cdf": np.cumsum([kinds.feature, kinds.incident, kinds.ktlo]),
        "service_cdf": np.cumsum(model.services.demand_weights),
        "dm_starts": np.zeros(arrivals.BLOCK_TICKS + 1, dtype=np.int64),
        "dm_kind": np.zeros(rows, dtype=np.int64),
        "dm_service": np.zeros(rows, dtype=np.int64),
        "dm_effort": np.zeros(rows),
        "dm_time": np.zeros(rows),
        "dm_touch": np.zeros((rows, width), dtype=bool),
    }


def _padded(name: str, rows: list) -> dict[str, np.ndarray]:
    """``rows`` of integers as the field ``name`` (a row each, padded with -1) and their
    lengths as its count field (``imp_services``: ``imp_nservices``)."""
    width = max(1, max(map(len, rows)))
    table = np.full((len(rows), width), -1, dtype=np.int64)
    for k, row in enumerate(rows):
        table[k, : len(row)] = row
    counts = np.array([len(row) for row in rows], dtype=np.int64)
    return {name: table, f"imp_n{name.removeprefix('imp_')}": counts}

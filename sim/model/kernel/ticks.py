"""The tick, compiled: each tick's arrivals, the spread of the practice (docs/ODD.md 7.6),
the events of the tick (``flow.process``), and what the tick ends with (forgetting, load,
recording). ``run_ticks`` runs a stretch of ticks in one call, drawing the demand as it
goes, so a run crosses from Python into the kernel only where its arrays must grow (and at
the spread's first tick, whose seed adopters are drawn in Python).

Sums are computed as numpy computes them (``sums.pairwise_sum``), so the records equal
those of the object-based engine the kernel replaced, to rounding: the knowledge records
round differently, as forgetting is applied as a power when a value is read and the
running teams' knowledge is kept as a total (``sim.model.kernel.knowledge``)."""

from __future__ import annotations

from numba import njit
from numba.experimental import structref

from sim.model.kernel.arrivals import BLOCK_TICKS, arrive_at, draw_block
from sim.model.kernel.flow import (
    ADOPTED,
    BLOCK_FIRST,
    BLOCK_ID,
    EVENTS,
    FUND_BACKLOG,
    GROW,
    ITEMS,
    OPEN,
    PHASE,
    TICK,
    fund,
    has_room,
    improvement_end_tick,
    market_review,
    people_on_projects,
    process,
    review,
)
from sim.model.kernel.generator import borrow_generator
from sim.model.kernel.knowledge import forget, known, learned, most_known
from sim.model.kernel.state import STATE_REF, borrow
from sim.model.kernel.sums import pairwise_sum

STARTING, PROCESSING, ENDING = 0, 1, 2  # how far the tick ``s.ctr[TICK]`` got


# --- spread of a practice ---------------------------------------------------------------
@njit(cache=True)
def influence(s):
    """Share of each team's work partners (weighted by exchanges) that adopted; on the
    complete network, the share of all other teams."""
    n = len(s.adopted)
    out = s.influence
    if s.params[0].complete_network:
        adopters = s.ctr[ADOPTED]
        for t in range(n):
            out[t] = (adopters - s.adopted[t]) / (n - 1) if n >= 2 else 0.0
        return out
    for t in range(n):
        if s.adopted[t] != s.ties_adopted[t]:
            sign = 1.0 if s.adopted[t] else -1.0
            for u in range(n):  # the counts are symmetric (flow.exchange): t's row, read in order
                s.ties_reached[u] += s.ties_counts[t, u] * sign
            s.ties_adopted[t] = s.adopted[t]
    for t in range(n):
        out[t] = s.ties_reached[t] / max(s.ties_weight[t], 1.0)
    return out


@njit(cache=True)
def spread(s, rng, tick):
    """Bass on the network: each non-adopter adopts with ``p + q F`` (with the mandate's
    compliance after its lag), scaled by ``1 - load`` when capacity is coupled."""
    p = s.params[0]
    n = len(s.adopted)
    if s.ctr[ADOPTED] == n or not can_spread(s):
        return
    share = influence(s)
    mandated = p.mandate_lag >= 0 and tick >= p.spread_start + p.mandate_lag
    draws = rng.random(n)
    for t in range(n):
        if not s.adopted[t] and draws[t] < adoption_probability(p, share[t], s.loads[t], mandated):
            s.adopted[t] = True
            s.adopted_at[t] = tick
            s.ctr[ADOPTED] += 1


@njit(cache=True)
def adoption_probability(p, influence, load, mandated):
    """Per-tick adoption chance of a non-adopter: ``p + q F`` (Bass; ``F`` its influence),
    combined with the mandate's compliance chance, scaled by ``1 - load`` when capacity is coupled."""
    prob = min(1.0, p.external_prob + p.imitation_prob * influence)
    if mandated:
        prob = 1 - (1 - prob) * (1 - p.mandate_compliance_prob)
    if p.coupled:
        prob = prob * (1 - min(max(load, 0.0), 1.0))
    return prob


@njit(cache=True)
def can_spread(s):
    """False while no rule can make a team adopt (saves the draws, changes nothing)."""
    p = s.params[0]
    return (
        p.external_prob > 0
        or (p.imitation_prob > 0 and s.ctr[ADOPTED] > 0)
        or (p.mandate_lag >= 0 and p.mandate_compliance_prob > 0)
    )


# --- the end of a tick ---------------------------------------------------------------------------
@njit(cache=True)
def end_tick(s, rng, tick):
    """Forgetting, project teams re-forming, debt ageing, the market's or make-or-buy's
    reviews, the teams' load, improvement work and its copies, and the tick's records."""
    p = s.params[0]
    teams, services = len(s.adopted), len(s.most)  # the standing teams (project teams' rows follow)
    if p.forgetting_rate:
        forget(s)
    if p.rotation:
        reform(s, tick)
    if p.debt:
        for v in range(services):
            s.debt[v] += p.debt_aging
        s.tech_debt[tick] = pairwise_sum(s.debt, 0, services) / services
    if p.market:
        market_review(s, rng, tick)
    if p.sourcing:
        review(s, rng, tick)
    if p.funded:
        if s.fund_ctr[FUND_BACKLOG] and (tick + 1) % p.funding_ticks == 0:
            fund(s, rng, float(tick + 1))
        s.project_people[tick] = people_on_projects(s)
    if p.coupled:
        for t in range(teams):
            s.loads[t] += p.load_alpha * (s.team_busy[t] / s.team_headcount[t] - s.loads[t])
    if p.improvement:
        improvement_end_tick(s, rng, tick)
    s.wip[tick] = s.ctr[OPEN]
    s.queued_tasks[tick] = s.pool_len[: p.pools].sum()  # not the service desk's queue
    s.adoption_share[tick] = s.ctr[ADOPTED] / teams
    if p.funded:  # and the project teams' queues
        for slot in range(p.slots):
            if s.proj_active[slot]:
                s.queued_tasks[tick] += s.pool_len[p.slot_pool + slot]
    most_known(s, s.held)
    s.run_knowledge[tick] = s.run_total[0] / p.run_values  # knowledge.learned keeps the total
    s.knowledge_held[tick] = pairwise_sum(s.held, 0, services) / services
    if p.wip_limited:
        s.backlog[tick] = s.backlog_len.sum()


@njit(cache=True)
def reform(s, tick):
    """The project model: the teams whose project ends with this tick re-form with new
    people, who keep ``knowledge_kept`` of what the team knew (the rest back to the initial
    level) and know nobody yet (their work ties are dropped)."""
    p = s.params[0]
    for team in range(len(s.formed_at)):
        if (tick + 1 + s.rotation_offset[team]) % p.project_ticks != 0:
            continue
        for v in range(len(s.most)):
            kept = p.knowledge_kept * known(s, team, v)
            learned(s, team, v, kept + (1 - p.knowledge_kept) * p.initial_knowledge)
        s.formed_at[team] = tick + 1
        forget_ties(s, team)


@njit(cache=True)
def forget_ties(s, team):
    """Drop every work tie of ``team`` (exchange counts are whole numbers: any order is exact)."""
    counts = s.ties_counts
    for u in range(len(counts)):
        lost = counts[team, u]  # = counts[u, team] (flow.exchange counts both ways)
        s.ties_weight[u] -= lost
        if s.ties_adopted[team]:
            s.ties_reached[u] -= lost
        counts[u, team] = 0
        counts[team, u] = 0
    s.ties_weight[team] = 0.0
    s.ties_reached[team] = 0.0


@njit(cache=True)
def new_ref(s):  # pragma: no cover  (under NUMBA_DISABLE_JIT the kernel runs on ``s`` itself)
    """The kernel's handle on the arrays of ``s`` (a ``State``; they are shared, not copied)."""
    ref = structref.new(STATE_REF)
    ref.params = s.params
    ref.ctr = s.ctr
    ref.kind_rank = s.kind_rank
    ref.request_rank = s.request_rank
    ref.switch_table = s.switch_table
    ref.shares = s.shares
    ref.owner_of = s.owner_of
    ref.self_service = s.self_service
    ref.service_deps = s.service_deps
    ref.service_ndeps = s.service_ndeps
    ref.kind_cdf = s.kind_cdf
    ref.service_cdf = s.service_cdf
    ref.dm_starts = s.dm_starts
    ref.dm_kind = s.dm_kind
    ref.dm_service = s.dm_service
    ref.dm_effort = s.dm_effort
    ref.dm_time = s.dm_time
    ref.dm_touch = s.dm_touch
    ref.items = s.items
    ref.item_deps = s.item_deps
    ref.item_plan_services = s.item_plan_services
    ref.item_plan_efforts = s.item_plan_efforts
    ref.item_requests = s.item_requests
    ref.item_stage_wait = s.item_stage_wait
    ref.tasks = s.tasks
    ref.task_services = s.task_services
    ref.task_efforts = s.task_efforts
    ref.ev_time = s.ev_time
    ref.ev_keys = s.ev_keys
    ref.pool_heap = s.pool_heap
    ref.pool_start = s.pool_start
    ref.pool_cap = s.pool_cap
    ref.pool_len = s.pool_len
    ref.pool_effort = s.pool_effort
    ref.pool_headcount = s.pool_headcount
    ref.idle_buf = s.idle_buf
    ref.idle_start = s.idle_start
    ref.idle_head = s.idle_head
    ref.idle_len = s.idle_len
    ref.team_busy = s.team_busy
    ref.team_open = s.team_open
    ref.team_hold = s.team_hold
    ref.team_headcount = s.team_headcount
    ref.team_pool = s.team_pool
    ref.knowledge = s.knowledge
    ref.known_at = s.known_at
    ref.forgotten = s.forgotten
    ref.powers = s.powers
    ref.most = s.most
    ref.most_at = s.most_at
    ref.most_stale = s.most_stale
    ref.run_total = s.run_total
    ref.runner_rows = s.runner_rows
    ref.runner_of = s.runner_of
    ref.debt = s.debt
    ref.intake_open = s.intake_open
    ref.intake_limit = s.intake_limit
    ref.backlog_heap = s.backlog_heap
    ref.backlog_start = s.backlog_start
    ref.backlog_cap = s.backlog_cap
    ref.backlog_len = s.backlog_len
    ref.adopted = s.adopted
    ref.adopted_at = s.adopted_at
    ref.rotation_offset = s.rotation_offset
    ref.formed_at = s.formed_at
    ref.market_external = s.market_external
    ref.market_used = s.market_used
    ref.score_turnaround = s.score_turnaround
    ref.score_failure = s.score_failure
    ref.score_seen = s.score_seen
    ref.mk_first = s.mk_first
    ref.mk_unit = s.mk_unit
    ref.mk_current = s.mk_current
    ref.mk_previous = s.mk_previous
    ref.mk_used = s.mk_used
    ref.mk_turnaround = s.mk_turnaround
    ref.mk_failure = s.mk_failure
    ref.mk_price = s.mk_price
    ref.mk_seen = s.mk_seen
    ref.mk_series = s.mk_series
    ref.mk_defaults = s.mk_defaults
    ref.mk_providers = s.mk_providers
    ref.mk_consumer_pool = s.mk_consumer_pool
    ref.ext_capacity = s.ext_capacity
    ref.ext_lead = s.ext_lead
    ref.ext_defect_prob = s.ext_defect_prob
    ref.ext_price = s.ext_price
    ref.ext_free_at = s.ext_free_at
    ref.hold_team = s.hold_team
    ref.hold_next = s.hold_next
    ref.intervals = s.intervals
    ref.ties_counts = s.ties_counts
    ref.ties_weight = s.ties_weight
    ref.ties_reached = s.ties_reached
    ref.ties_adopted = s.ties_adopted
    ref.loads = s.loads
    ref.influence = s.influence
    ref.arrivals = s.arrivals
    ref.completions = s.completions
    ref.wip = s.wip
    ref.queued_tasks = s.queued_tasks
    ref.adoption_share = s.adoption_share
    ref.knowledge_held = s.knowledge_held
    ref.run_knowledge = s.run_knowledge
    ref.tech_debt = s.tech_debt
    ref.ktlo_skipped = s.ktlo_skipped
    ref.backlog = s.backlog
    ref.switches = s.switches
    ref.bought_days = s.bought_days
    ref.runners = s.runners
    ref.held = s.held
    ref.gathered = s.gathered
    ref.team_owed = s.team_owed
    ref.team_home = s.team_home
    ref.team_formed = s.team_formed
    ref.idle_cap = s.idle_cap
    ref.proj_active = s.proj_active
    ref.proj_unbuilt = s.proj_unbuilt
    ref.proj_items = s.proj_items
    ref.proj_first = s.proj_first
    ref.proj_lent = s.proj_lent
    ref.proj_lent_count = s.proj_lent_count
    ref.proj_nlent = s.proj_nlent
    ref.proj_owed = s.proj_owed
    ref.proj_owed_count = s.proj_owed_count
    ref.proj_nowed = s.proj_nowed
    ref.waiting = s.waiting
    ref.waiting_len = s.waiting_len
    ref.fund_backlog = s.fund_backlog
    ref.fund_planned = s.fund_planned
    ref.fund_ctr = s.fund_ctr
    ref.fund_home = s.fund_home
    ref.fund_free = s.fund_free
    ref.fund_known = s.fund_known
    ref.fund_chosen = s.fund_chosen
    ref.fund_services = s.fund_services
    ref.fund_gather = s.fund_gather
    ref.project_people = s.project_people
    ref.swarm_stack = s.swarm_stack
    ref.imp_factors = s.imp_factors
    ref.imp_figures = s.imp_figures
    ref.imp_budget = s.imp_budget
    ref.imp_copied_at = s.imp_copied_at
    ref.imp_people = s.imp_people
    ref.imp_observers = s.imp_observers
    ref.imp_nobservers = s.imp_nobservers
    ref.imp_services = s.imp_services
    ref.imp_nservices = s.imp_nservices
    ref.imp_improvable = s.imp_improvable
    ref.imp_nimprovable = s.imp_nimprovable
    ref.imp_known = s.imp_known
    ref.imp_idea_target = s.imp_idea_target
    ref.imp_idea_made = s.imp_idea_made
    ref.imp_reach = s.imp_reach
    ref.imp_ctr = s.imp_ctr
    ref.imp_days = s.imp_days
    ref.effort_factor = s.effort_factor
    ref.defect_factor = s.defect_factor
    ref.ktlo_factor = s.ktlo_factor
    ref.improvements_done = s.improvements_done
    ref.improvements_failed = s.improvements_failed
    ref.improvements_copied = s.improvements_copied
    return ref


# --- a stretch of ticks ----------------------------------------------------------------------------
@njit(cache=True)
def run_ticks(ref, rng, demand_rng, last):
    """Ticks from ``ctr[TICK]`` up to ``last``, the demand drawn block by block from
    ``demand_rng``. Returns True if it stopped early for arrays to grow (call it again)."""
    s = borrow(ref)
    g, demand_g = borrow_generator(rng), borrow_generator(demand_rng)
    p = s.params[0]
    while s.ctr[TICK] < last:
        tick = s.ctr[TICK]
        if s.ctr[PHASE] == STARTING:
            if (tick % BLOCK_TICKS == 0 and s.ctr[BLOCK_FIRST] != tick) and not draw_block(s, demand_g, tick):
                return True  # no room for the block's rows: grow first
            k = tick - s.ctr[BLOCK_FIRST]
            first, end = s.dm_starts[k], s.dm_starts[k + 1]
            due = end - first + p.margin
            if s.ctr[ITEMS] + due > len(s.items) or s.ctr[EVENTS] + due > len(s.ev_time):
                s.ctr[GROW] = 1  # no room for the tick's arrivals: grow first
                return True
            for j in range(first, end):
                arrive_at(s, s.ctr[BLOCK_ID] + j, j)
            if tick >= p.spread_start:
                spread(s, g, tick)
            s.ctr[PHASE] = PROCESSING
        if s.ctr[PHASE] == PROCESSING:
            if process(s, g, tick + 1.0):
                return True
            s.ctr[PHASE] = ENDING
        if not has_room(s):
            s.ctr[GROW] = 1
            return True
        end_tick(s, g, tick)
        s.ctr[TICK] = tick + 1
        s.ctr[PHASE] = STARTING
        if s.ctr[GROW]:
            return True
    return False

"""The work-flow rules of docs/ODD.md 7.1-7.5, compiled: arrivals, routing under either
structure, queueing by priority, starting and finishing tasks, handoffs, requests between
teams, defects, detection, rework, release and learning; of 7.7, the service desk; of 7.11,
the internal market (its candidates are drawn in Python when the structure is built).

Every function takes the run's state ``s`` (``sim.model.kernel.state.State``: flat arrays,
one row per item, task, event, pool and team) and ``rng``, the model's seeded generator,
each as a view ``run_ticks`` borrows (``state.borrow``, ``generator.borrow_generator``).
Each rule is named as in docs/ODD.md; the draws are those, in the same order, of the
object-based engine this kernel replaced, so a seed gives the runs stored from it
(tests/test_docking.py)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim.model.improvement import DEFECTS, EFFORT, KTLO_NEED
from sim.model.kernel.heaps import event_pop, event_push, queue_pop, queue_push
from sim.model.kernel.knowledge import known, learned
from sim.model.kernel.sums import pairwise_sum, py_sum
from sim.model.work import FEATURE, FROM_DEMAND, FROM_ESCAPED_DEFECT, INCIDENT, KTLO

ARRIVE, READY, DONE, BOUGHT = 0, 1, 2, 3
MIGRATION = 0  # the item row every migration task is on: an upgrade with no plan, never logged
HELPER_PRIORITY = -1  # a swarm's helper task goes ahead of every queued task (priorities are >= 0)
CENTRAL_IT, MICRO_PROVIDER = 0, 1
TRIAGE, MISROUTED = 0, 1  # the stages of a service desk's task
# Rows of ``s.mk_series``, in the order of ``sim.model.market.SERIES``.
SERIES_SWITCHES, SERIES_FLIPBACKS, SERIES_DEFAULT, SERIES_ALTERNATE, SERIES_EXTERNAL, SERIES_COST = range(6)
# Slots of the counters array ``s.ctr``.
EVENTS, SEQ, NEXT_ID, ITEMS, TASK_FREE, HOLD_FREE, INTERVALS, OPEN, ORDER, GROW, TASKS_FREE, HOLDS_FREE = range(12)
TICK, PHASE, ADOPTED, BACKLOG_SEQ, ERROR = range(12, 17)  # the tick being run, how far it got, adopters
# The demand block being run (``sim.model.kernel.arrivals``): its first tick, its first item's
# id, the rows it needs when they did not fit yet (0 once drawn).
BLOCK_FIRST, BLOCK_ID, BLOCK_NEED = range(17, 20)
COUNTERS = 20
# Funded projects: slots of ``s.fund_ctr`` (features waiting for funding, features of active
# projects not yet handed over), and the stages of a project's feature.
FUND_BACKLOG, FUND_PENDING = 0, 1
BUILD, HANDOVER = 0, 1
# Improvement (docs/ODD.md 7.10): the slots of its counters ``s.imp_ctr`` (live ideas, rows of
# ``s.imp_days``).
IDEAS, IMPROVING = 0, 1


# --- allocation ---------------------------------------------------------------------
@njit(cache=True)
def next_seq(s):
    seq = s.ctr[SEQ]
    s.ctr[SEQ] = seq + 1
    return seq


@njit(cache=True)
def schedule(s, time, code, obj):
    s.ctr[EVENTS] = event_push(s.ev_time, s.ev_keys, s.ctr[EVENTS], time, next_seq(s), code, obj)
    if s.ctr[EVENTS] + s.params[0].margin > len(s.ev_time):
        s.ctr[GROW] = 1


@njit(cache=True)
def new_item(s, id_, kind, origin, service, effort, time):
    """A new item (not yet arrived); returns its row."""
    i = s.ctr[ITEMS]
    s.ctr[ITEMS] = i + 1
    if s.ctr[ITEMS] + 4 > len(s.items):
        s.ctr[GROW] = 1
    it = s.items[i]
    it.id = id_
    it.kind = kind
    it.origin = origin
    it.service = service
    it.ndeps = 0
    it.effort = effort
    it.arrival = time
    it.nplan = 0
    it.planned = 0.0
    it.completion = math.nan
    it.defects = 0
    it.reworks = 0
    it.escaped = False
    it.handoffs = 0
    it.queue_wait = 0.0
    it.touch_time = 0.0
    it.dependency_wait = 0.0
    it.open_parts = 0
    it.own_done = 0.0
    it.nreq = 0
    it.order = -1
    it.holders = -1
    it.intake_unit = -1
    it.backlog_since = 0.0
    it.backlog_wait = 0.0
    it.escalated = False
    it.desk_resolved = False
    it.target = 0
    s.item_stage_wait[i, :] = 0.0
    return i


@njit(cache=True)
def new_task(s, item, pool, nserv, categories_new, categories_dep, categories_rework, is_request, stage, rework, scale):
    """A task for ``item`` at ``pool`` whose services and efforts are already in its row of
    ``s.task_services`` / ``s.task_efforts`` (filled by the caller through ``task_slot``)."""
    t = s.ctr[TASK_FREE]
    tk = s.tasks[t]
    s.ctr[TASK_FREE] = tk.next_free
    s.ctr[TASKS_FREE] -= 1
    if s.ctr[TASKS_FREE] < s.params[0].margin:
        s.ctr[GROW] = 1
    tk.of_item = item
    tk.pool = pool
    tk.nserv = nserv
    tk.cat_new = categories_new
    tk.cat_dependency = categories_dep
    tk.cat_rework = categories_rework
    tk.priority = s.kind_rank[s.items[item].kind] * 3 + s.request_rank[1 if is_request else 0]
    tk.effort = py_sum(s.task_efforts[t], 0, nserv)
    tk.stage = stage
    tk.is_request = is_request
    tk.opens = True
    tk.holds = False
    tk.rework = rework
    tk.scale = scale
    tk.ready = 0.0
    tk.seq = next_seq(s)
    tk.from_team = -1
    tk.team = -1
    tk.switch_loss = 0.0
    tk.unfamiliarity = 0.0
    tk.defective = False
    tk.bought = False
    tk.migration = False
    tk.swarm_sender = -1
    tk.swarm_of = -1
    tk.swarm_parts = 0
    tk.desk = False
    tk.consumer = -1
    tk.unit = -1
    tk.provider = -1
    tk.sent = 0.0
    tk.next_free = -1
    tk.funded = False
    tk.improving = False
    return t


@njit(cache=True)
def task_slot(s):
    """The row the next ``new_task`` will use (to fill its services and efforts first)."""
    return s.ctr[TASK_FREE]


@njit(cache=True)
def free_task(s, t):
    s.tasks[t].next_free = s.ctr[TASK_FREE]
    s.ctr[TASK_FREE] = t
    s.ctr[TASKS_FREE] += 1


@njit(cache=True)
def categorise(s, item, efforts_row, n, rework):
    """(new, dependency, rework) person-days of a task whose efforts are ``efforts_row[:n]``."""
    rest = py_sum(efforts_row, 1, n)
    if rework:
        return 0.0, 0.0, efforts_row[0] + rest
    if s.items[item].origin == FROM_ESCAPED_DEFECT:
        return 0.0, rest, efforts_row[0]
    return efforts_row[0], rest, 0.0


# --- pools ----------------------------------------------------------------------------
@njit(cache=True)
def push(s, pool, t):
    n = s.pool_len[pool]
    tk = s.tasks[t]
    queue_push(s.pool_heap, s.pool_start[pool], n, tk.priority, tk.ready, tk.seq, t)
    s.pool_len[pool] = n + 1
    s.pool_effort[pool] += s.tasks[t].effort
    if n + 1 + 4 > s.pool_cap[pool]:
        s.ctr[GROW] = 1


@njit(cache=True)
def pop(s, pool):
    n = s.pool_len[pool]
    t = queue_pop(s.pool_heap, s.pool_start[pool], n)
    s.pool_len[pool] = n - 1
    s.pool_effort[pool] -= s.tasks[t].effort
    return t


@njit(cache=True)
def pool_pressure(s, pool, horizon):
    return min(1.0, max(0.0, s.pool_effort[pool]) / (s.pool_headcount[pool] * horizon))


@njit(cache=True)
def idle_take(s, pool):
    head = s.idle_head[pool]
    team = s.idle_buf[s.idle_start[pool] + head]
    s.idle_head[pool] = (head + 1) % s.idle_cap[pool]
    s.idle_len[pool] -= 1
    return team


@njit(cache=True)
def idle_return(s, pool, team):
    cap = s.idle_cap[pool]
    s.idle_buf[s.idle_start[pool] + (s.idle_head[pool] + s.idle_len[pool]) % cap] = team
    s.idle_len[pool] += 1


@njit(cache=True)
def dispatch(s, rng, pool, now):
    while s.idle_len[pool] > 0 and s.pool_len[pool] > 0:
        t = pop(s, pool)
        start(s, rng, t, idle_take(s, pool), now)


@njit(cache=True)
def enqueue(s, rng, t, now):
    """Queue a task at its pool now, within the same team or silo (no handoff)."""
    s.tasks[t].ready = now
    pool = s.tasks[t].pool
    push(s, pool, t)
    dispatch(s, rng, pool, now)


@njit(cache=True)
def handoff(s, rng, t, from_team, now):
    """Pass a task across a team boundary: a delay and a chance of losing information, and
    from one of the teams, what the relationship between them costs."""
    p = s.params[0]
    tk = s.tasks[t]
    cross(s, rng, t, from_team, now)
    if p.provider_customer and from_team >= 0:
        transfer(s, t)
    elif p.swarm_share > 0 and from_team >= 0:
        tk.swarm_sender = from_team  # collaboration: the sender will join the work
    schedule(s, tk.ready, READY, t)


@njit(cache=True)
def cross(s, rng, t, from_team, now):
    """What crossing a team boundary does to a task (a handoff's count, its chance of losing
    information, its delay), wherever it goes next (a pool, or an external provider)."""
    p = s.params[0]
    tk = s.tasks[t]
    it = s.items[tk.of_item]
    it.handoffs += 1
    if not tk.rework and rng.random() < p.loss_prob:
        it.defects += 1
    tk.from_team = from_team
    tk.ready = now + p.delay


@njit(cache=True)
def transfer(s, t):
    """Provider and customer (docs/ODD.md 7.9): the receiver negotiates before it can start,
    and the sender over-asks (a rework pass is scoped by its defect, not inflated)."""
    p = s.params[0]
    tk = s.tasks[t]
    tk.ready += p.negotiation_ticks
    if p.over_ask_factor != 1.0 and not tk.rework:
        factor = p.over_ask_factor
        for k in range(tk.nserv):
            s.task_efforts[t, k] *= factor
        tk.cat_new *= factor
        tk.cat_dependency *= factor
        tk.cat_rework *= factor
        tk.effort *= factor


# --- collaboration (docs/ODD.md 7.9) ------------------------------------------------------------
@njit(cache=True)
def swarm(s, rng, t, now):
    """The receiver starts a swarmed transfer: it keeps 1/(1+s) of the work and s/(1+s) goes
    as a helper task to the front of the sender's queue, where an idle person starts it at
    once. Usually only the helper starts there (the sender's queue had no idle person or
    nothing queued); but people who came back from a disbanded project team and are not yet
    dispatched start what else waits there too, swarmed transfers among it, each of which
    splits in turn: a stack of the splits whose own work is still to be timed (no recursion)."""
    pool = split(s, rng, t, now)
    depth = 0
    s.swarm_stack[0, 0] = -1  # ``t``'s own work: timed by the caller
    s.swarm_stack[0, 1] = pool
    while depth >= 0:
        pool = s.swarm_stack[depth, 1]
        if s.idle_len[pool] > 0 and s.pool_len[pool] > 0:
            next_task = pop(s, pool)
            team = idle_take(s, pool)
            take_on(s, rng, next_task, team, now)
            if s.tasks[next_task].swarm_sender >= 0:
                depth += 1
                s.swarm_stack[depth, 0] = next_task
                s.swarm_stack[depth, 1] = split(s, rng, next_task, now)
                continue
            work_on(s, next_task, team, now)
        else:
            done_splitting = s.swarm_stack[depth, 0]
            if done_splitting >= 0:
                work_on(s, done_splitting, s.tasks[done_splitting].team, now)
            depth -= 1


@njit(cache=True)
def split(s, rng, t, now):
    """Split a swarmed transfer as it starts: the helper's part to the front of the sender's
    queue; returns the sender's pool."""
    p = s.params[0]
    tk = s.tasks[t]
    lent = p.swarm_share / (1 + p.swarm_share)
    helper = task_slot(s)
    for k in range(tk.nserv):
        s.task_services[helper, k] = s.task_services[t, k]
        s.task_efforts[helper, k] = s.task_efforts[t, k] * lent
    sender_pool = s.team_pool[tk.swarm_sender]
    cats = (tk.cat_new * lent, tk.cat_dependency * lent, tk.cat_rework * lent)
    helper = new_task(s, tk.of_item, sender_pool, tk.nserv, cats[0], cats[1], cats[2], True, 0, tk.rework, 1.0)
    hk = s.tasks[helper]
    hk.effort = tk.effort * lent
    hk.priority = HELPER_PRIORITY
    hk.swarm_of = t
    hk.improving = tk.improving  # help with an improvement is improvement work (booked as such)
    hk.funded = tk.funded
    kept = 1 / (1 + p.swarm_share)
    for k in range(tk.nserv):
        s.task_efforts[t, k] *= kept
    tk.cat_new *= kept
    tk.cat_dependency *= kept
    tk.cat_rework *= kept
    tk.effort *= kept
    tk.swarm_parts = 2
    hk.ready = now
    push(s, sender_pool, helper)
    return sender_pool


@njit(cache=True)
def swarm_part_done(s, rng, t, now):
    """One part of a swarmed transfer is done; when both are, so is the transfer."""
    tk = s.tasks[t]
    original = tk.swarm_of if tk.swarm_of >= 0 else t
    s.tasks[original].swarm_parts -= 1
    if tk.swarm_of >= 0:
        free_task(s, t)
    if s.tasks[original].swarm_parts == 0:
        done(s, rng, original, now)


# --- holders of an item ----------------------------------------------------------------
@njit(cache=True)
def holds(s, item, team):
    node = s.items[item].holders
    while node >= 0:
        if s.hold_team[node] == team:
            return True
        node = s.hold_next[node]
    return False


@njit(cache=True)
def hold(s, item, team):
    """``team`` takes on ``item`` (once) and carries it until it is released."""
    if holds(s, item, team):
        return
    node = s.ctr[HOLD_FREE]
    s.ctr[HOLD_FREE] = s.hold_next[node]
    s.ctr[HOLDS_FREE] -= 1
    if s.ctr[HOLDS_FREE] < s.params[0].margin:
        s.ctr[GROW] = 1
    s.hold_team[node] = team
    s.hold_next[node] = s.items[item].holders
    s.items[item].holders = node
    s.team_open[team] += 1


@njit(cache=True)
def exchange(s, a, b):
    """Teams ``a`` and ``b`` exchanged work: a work tie, counted both ways, and each one's
    count of exchanges with adopters (as of the last time the spread read them)."""
    s.ties_counts[a, b] += 1
    s.ties_counts[b, a] += 1
    s.ties_weight[a] += 1.0
    s.ties_weight[b] += 1.0
    s.ties_reached[a] += s.ties_adopted[b]
    s.ties_reached[b] += s.ties_adopted[a]


# --- the rules ----------------------------------------------------------------------------
@njit(cache=True)
def switching_loss(per_person, table):
    if per_person <= 1.0:
        return table[0]
    last = len(table)
    if per_person >= last:
        return table[last - 1]
    low = int(per_person)
    frac = per_person - low
    return table[low - 1] * (1 - frac) + table[low] * frac


@njit(cache=True)
def capacity_loss(s, team, now):
    """Capacity share lost to learning the practice, in a team re-formed for a new project or
    a project team to forming, and to learning a copied improvement (they compound); none at
    the service desk."""
    p = s.params[0]
    if team == p.desk_team or not (p.coupled or p.rotation or p.funded or p.improvement):
        return 0.0
    loss = 0.0
    if p.coupled and now - s.adopted_at[s.team_home[team]] < p.learning_ticks:
        loss = p.learning_cost
    if p.rotation:
        onboarding = p.onboarding_cost if now - s.formed_at[team] < p.onboarding_ticks else 0.0
        loss = 1 - (1 - loss) * (1 - onboarding)
    if p.funded:
        loss = 1 - (1 - loss) * (1 - forming_loss(s, team, now))
    if p.improvement:
        dip = improvement_dip(s, s.team_home[team], now)  # a project team's is its home team's
        if dip:
            loss = 1 - (1 - loss) * (1 - dip)
    return loss


@njit(cache=True)
def start(s, rng, t, team, now):
    """``team``'s person takes up task ``t``: it takes the task on, a swarmed transfer is split
    with its sender (collaboration), and the work is timed."""
    take_on(s, rng, t, team, now)
    if s.tasks[t].swarm_sender >= 0:
        swarm(s, rng, t, now)
    work_on(s, t, team, now)


@njit(cache=True)
def take_on(s, rng, t, team, now):
    """The team holds the item, ties with the sender, the item's wait ends, and the structure
    acts on the start (a micro-provider owner sends its requests)."""
    p = s.params[0]
    tk = s.tasks[t]
    item = tk.of_item
    it = s.items[item]
    tk.team = team
    s.team_busy[team] += 1
    if tk.opens:
        hold(s, item, team)
    tk.holds = holds(s, item, team)
    s.team_hold[team] += 1 if tk.holds else 0
    if tk.from_team >= 0 and tk.from_team != team:
        exchange(s, tk.from_team, team)
    if not tk.is_request:
        it.queue_wait += now - tk.ready
        if not (tk.desk or tk.migration or tk.funded):  # a stage of the structure's pipeline
            s.item_stage_wait[item, tk.stage] += now - tk.ready
    if p.structure == MICRO_PROVIDER and tk.swarm_of < 0 and not tk.migration and not tk.desk:
        micro_on_start(s, rng, t, now)


@njit(cache=True)
def work_on(s, t, team, now):
    """How long the task takes (unfamiliarity, context switching, capacity lost), its busy
    time by category, and its completion event."""
    p = s.params[0]
    tk = s.tasks[t]
    it = s.items[tk.of_item]
    effort = tk.effort
    if effort > 0 and tk.nserv > 0:
        unknown = 0.0
        for k in range(tk.nserv):
            unknown += (1.0 - known(s, team, s.task_services[t, k])) * s.task_efforts[t, k]
        tk.unfamiliarity = unknown / effort
    pool = tk.pool
    per_person = (s.team_busy[team] + p.waiting_weight * (s.team_open[team] - s.team_hold[team])) / s.team_headcount[
        team
    ]
    if p.accept_all:
        per_person += p.waiting_weight * s.pool_len[pool] / s.pool_headcount[pool]
    switch = s.switch_table[0] if per_person <= 1.0 else switching_loss(per_person, s.switch_table)
    tk.switch_loss = switch
    learning = capacity_loss(s, team, now)
    stretch = 1 + p.penalty * tk.unfamiliarity
    duration = effort * stretch / ((1 - switch) * (1 - learning))
    finish_at = now + duration
    if finish_at > now and now < p.ticks:
        n = s.ctr[INTERVALS]
        row = s.intervals[n]
        row[0] = now
        row[1] = finish_at
        row[2] = tk.cat_new * stretch
        row[3] = tk.cat_dependency * stretch
        row[4] = tk.cat_rework * stretch
        row[5] = duration * (1 - switch) * learning
        row[6] = duration * switch
        s.ctr[INTERVALS] = n + 1
        if n + 1 + p.margin > len(s.intervals):
            s.ctr[GROW] = 1
        if tk.improving:
            book_improvement(s, now, finish_at, effort * stretch)
    if not tk.is_request:
        it.touch_time += duration
    schedule(s, finish_at, DONE, t)


@njit(cache=True)
def finish(s, rng, t, now):
    tk = s.tasks[t]
    team = tk.team
    pool = tk.pool
    s.team_busy[team] -= 1
    s.team_hold[team] -= 1 if tk.holds else 0
    leaving = s.team_owed[team] > 0  # promised to a project team: leaves once this task is done
    if not leaving:
        idle_return(s, pool, team)
    learn(s, team, t)
    if s.params[0].improvement:
        observe_improvement(s, team, t)
    inject_defect(s, rng, t, team)
    if tk.swarm_of >= 0 or tk.swarm_sender >= 0:
        swarm_part_done(s, rng, t, now)
    else:
        done(s, rng, t, now)
    if leaving:
        depart(s, rng, team, now)
    dispatch(s, rng, pool, now)


@njit(cache=True)
def done(s, rng, t, now):
    """Task ``t`` is done: the structure takes the item on from there; the task's row is free."""
    tk = s.tasks[t]
    if tk.desk:
        desk_on_done(s, rng, t, now)
    elif tk.migration:
        pass  # the consumer learnt the service on the way; nothing else follows
    elif tk.funded:
        project_on_done(s, rng, t, now)
    elif tk.improving:
        improvement_on_done(s, rng, t, now)
    elif s.params[0].structure == CENTRAL_IT:
        if tk.provider >= 0:
            returned(s, t, now)
        central_next(s, rng, t, tk.team, now)
    else:
        micro_on_done(s, rng, t, now)
    free_task(s, t)


@njit(cache=True)
def learn(s, team, t):
    """``team`` learns from the task's person-days on its services."""
    for k in range(s.tasks[t].nserv):
        learn_service(s, team, s.task_services[t, k], s.task_efforts[t, k])


@njit(cache=True)
def learn_service(s, team, service, effort):
    """``team`` learns from ``effort`` person-days on ``service`` (shared by its people)."""
    rate = s.params[0].learning_rate / s.team_headcount[team]
    if rate == 0:
        return
    before = known(s, team, service)
    learned(s, team, service, before + (1 - before) * -math.expm1(-rate * effort))


@njit(cache=True)
def inject_defect(s, rng, t, team):
    """Whether ``team``'s work on task ``t`` leaves a defect in its item (docs/ODD.md 7.5)."""
    p = s.params[0]
    tk = s.tasks[t]
    it = s.items[tk.of_item]
    if it.planned <= 0 or p.base_defect_prob == 0:
        return
    reduction = p.defect_reduction if s.adopted[s.team_home[team]] else 0.0
    factor = debt_defect_factor(s, t) if p.debt else 1.0
    if p.improvement:
        factor *= improvement_defect_factor(s, t)
    pressure = pool_pressure(s, tk.pool, p.horizon)
    prob = defect_probability(p, tk.unfamiliarity, pressure, tk.switch_loss, reduction, tk.effort / it.planned, factor)
    if prob > 0 and rng.random() < prob:
        it.defects += 1
        tk.defective = True


@njit(cache=True)
def defect_probability(p, unfamiliarity, pressure, switch_loss, reduction, weight, factor):
    """Chance that a task injects a defect into its item: ``base x (1 + f_fam unfamiliarity)
    x (1 + f_press pressure) x (1 + f_switch loss) x (1 - practice reduction) x weight x factor``,
    at most 1. ``weight`` is the task's share of the item's effort, so an item split over several
    tasks carries the same base risk; ``factor`` the debt and improvement factors of its services."""
    prob = (
        p.base_defect_prob
        * (1 + p.familiarity_effect * unfamiliarity)
        * (1 + p.pressure_effect * pressure)
        * (1 + p.switching_effect * switch_loss)
        * (1 - reduction)
        * weight
        * factor
    )
    return min(1.0, prob)


@njit(cache=True)
def detection_probability(p, adopted):
    """Chance a defect is caught at the end of a pass; the practice's ``detection_gain`` catches
    that share of the rest."""
    gain = p.detection_gain if adopted else 0.0
    return p.early_detection_prob + (1 - p.early_detection_prob) * gain


@njit(cache=True)
def verify(s, rng, item, team, now):
    """At the end of a pass: True if a defect is caught and the item needs rework,
    otherwise release the item (a hidden defect escapes as a failed change)."""
    p = s.params[0]
    it = s.items[item]
    if it.defects:
        if rng.random() < detection_probability(p, s.adopted[team]):
            it.reworks += 1
            it.defects = 0
            return True
    release(s, rng, item, now)
    return False


@njit(cache=True)
def release(s, rng, item, now):
    """``item`` is done: its holders let go, an upgrade pays down its service's debt, the
    next item of its intake's backlog comes in, and a hidden defect becomes an incident
    reported at the next tick."""
    p = s.params[0]
    it = s.items[item]
    it.completion = now
    it.escaped = it.defects > 0
    node = it.holders
    while node >= 0:
        s.team_open[s.hold_team[node]] -= 1
        following = s.hold_next[node]
        s.hold_next[node] = s.ctr[HOLD_FREE]
        s.ctr[HOLD_FREE] = node
        s.ctr[HOLDS_FREE] += 1
        node = following
    it.holders = -1
    s.ctr[OPEN] -= 1
    s.completions[min(int(now), p.ticks - 1)] += 1
    if p.debt and it.kind == KTLO:
        s.debt[it.service] *= 1 - p.debt_paydown
    if p.wip_limited and it.intake_unit >= 0:
        following = backlog_release(s, item, now)
        if following >= 0:
            route(s, rng, following, now)
    if it.escaped:
        factor = 1.0 if it.origin == FROM_ESCAPED_DEFECT else p.escaped_effort_factor
        noticed = math.floor(now) + 1
        s.ctr[NEXT_ID] += 1
        incident = new_item(s, s.ctr[NEXT_ID], INCIDENT, FROM_ESCAPED_DEFECT, it.service, factor * it.effort, noticed)
        schedule(s, noticed, ARRIVE, incident)


@njit(cache=True)
def arrive(s, rng, item, now):
    p = s.params[0]
    it = s.items[item]
    tick = min(int(now), p.ticks - 1)
    if p.debt and it.kind == KTLO and it.origin == FROM_DEMAND and skips_upgrade(s, rng, item):
        s.ktlo_skipped[tick] += 1
        return
    it.order = s.ctr[ORDER]
    s.ctr[ORDER] += 1
    s.ctr[OPEN] += 1
    s.arrivals[tick] += 1
    if p.desk and it.kind == INCIDENT:
        desk_receive(s, rng, item, now)
    elif p.funded and it.kind == FEATURE and it.origin == FROM_DEMAND:
        wait(s, item)
    else:
        enter(s, rng, item, now)


@njit(cache=True)
def enter(s, rng, item, now):
    """Let ``item`` into the teams' queues, or into its intake's backlog while at the WIP limit."""
    if not s.params[0].wip_limited or offer(s, item, intake_unit(s, item), now):
        route(s, rng, item, now)


@njit(cache=True)
def route(s, rng, item, now):
    """Into the teams' queues: central IT's first silo (an incident the service desk
    escalates: the operations silo first, for diagnosis), or the owner of the item's service."""
    p = s.params[0]
    plan_item(s, item)
    if p.structure == CENTRAL_IT:
        if s.items[item].escalated:
            central_send(s, rng, central_stage_task(s, rng, item, p.last, 1.0, False), -1, now, True)
        else:
            central_send(s, rng, central_stage_task(s, rng, item, 0, 1.0, False), -1, now, False)
    else:
        micro_route(s, rng, item, now)


@njit(cache=True)
def plan_item(s, item):
    """The services and efforts of a full pass: the primary service plus dependency work on
    each touched dependency (cheaper where the dependency is self-service), raised by debt
    and scaled by the services' improvement factors where those are modelled."""
    p = s.params[0]
    it = s.items[item]
    s.item_plan_services[item, 0] = it.service
    s.item_plan_efforts[item, 0] = it.effort
    for k in range(it.ndeps):
        dep = s.item_deps[item, k]
        factor = p.self_service_effort_factor if s.self_service[dep] else 1.0
        effort = it.effort * p.dependency_effort_share * factor
        s.item_plan_services[item, k + 1] = dep
        s.item_plan_efforts[item, k + 1] = effort
    it.nplan = it.ndeps + 1
    if p.debt:
        for k in range(it.nplan):
            s.item_plan_efforts[item, k] *= 1 + p.debt_effort_effect * s.debt[s.item_plan_services[item, k]]
    if p.improvement:
        improvement_scale(s, item)
    it.planned = py_sum(s.item_plan_efforts[item], 0, it.nplan)


# --- tech debt (docs/ODD.md 7.7) ------------------------------------------------------------
@njit(cache=True)
def skips_upgrade(s, rng, item):
    """Whether an upgrade arriving at an intake under pressure is skipped (unless protected)."""
    p = s.params[0]
    pressure = intake_pressure(s, item)
    return pressure >= p.skip_pressure and p.protected_share < 1 and rng.random() >= p.protected_share


@njit(cache=True)
def intake_pressure(s, item):
    """Work queued where the item would enter: anywhere (central IT's one intake), or at the
    owner's own queue."""
    p = s.params[0]
    if p.structure == CENTRAL_IT:
        queued = py_sum(s.pool_effort, 0, p.pools)
        people = s.pool_headcount[: p.pools].sum() if p.funded else p.intake_people  # less those on projects
        return min(1.0, max(0.0, queued) / (people * p.horizon))
    return pool_pressure(s, s.owner_of[s.items[item].service], p.horizon)


@njit(cache=True)
def debt_defect_factor(s, t):
    """Defect risk multiplier of a task: 1 + effect x the mean debt of its services."""
    n = s.tasks[t].nserv
    if n == 0:
        return 1.0
    for k in range(n):
        s.gathered[k] = s.debt[s.task_services[t, k]]
    return 1 + s.params[0].debt_defect_effect * pairwise_sum(s.gathered, 0, n) / n


# --- the intake under a WIP limit (docs/ODD.md 7.7) ---------------------------------------------
@njit(cache=True)
def intake_unit(s, item):
    """Central IT has one intake; under micro-providers each owner takes in its own items."""
    if s.params[0].structure == CENTRAL_IT:
        return 0
    return s.owner_of[s.items[item].service]


@njit(cache=True)
def offer(s, item, unit, now):
    """True if ``item`` may enter now (and count it), otherwise keep it in the backlog,
    by priority, then arrival."""
    it = s.items[item]
    it.intake_unit = unit
    if s.intake_open[unit] < s.intake_limit[unit]:
        s.intake_open[unit] += 1
        return True
    it.priority = s.kind_rank[it.kind]
    it.ready = it.arrival
    it.seq = s.ctr[BACKLOG_SEQ]
    s.ctr[BACKLOG_SEQ] += 1
    it.backlog_since = now
    n = s.backlog_len[unit]
    queue_push(s.backlog_heap, s.backlog_start[unit], n, it.priority, it.ready, it.seq, item)
    s.backlog_len[unit] = n + 1
    if n + 1 + 4 > s.backlog_cap[unit]:
        s.ctr[GROW] = 1
    return False


@njit(cache=True)
def backlog_release(s, item, now):
    """``item`` left its intake: the next backlog item enters in its place (-1: none waits)."""
    unit = s.items[item].intake_unit
    n = s.backlog_len[unit]
    if n == 0:
        s.intake_open[unit] -= 1
        return -1
    following = queue_pop(s.backlog_heap, s.backlog_start[unit], n)
    s.backlog_len[unit] = n - 1
    s.items[following].backlog_wait = now - s.items[following].backlog_since
    return following


# --- central IT ------------------------------------------------------------------------------
@njit(cache=True)
def central_stage_task(s, rng, item, stage, scale, rework):
    """A stage of ``item`` for the stage's silo; with the market on, a first pass goes to the
    provider the central organisation chose for this stage of the item's service (rework
    stays with the silos)."""
    p = s.params[0]
    share = s.shares[stage] * scale
    t = task_slot(s)
    n = s.items[item].nplan
    for k in range(n):
        s.task_services[t, k] = s.item_plan_services[item, k]
        s.task_efforts[t, k] = s.item_plan_efforts[item, k] * share
    new, dep, rw = categorise(s, item, s.task_efforts[t], n, rework)
    if not p.market or rework:
        return new_task(s, item, stage, n, new, dep, rw, False, stage, rework, scale)
    unit = stage * p.services + s.items[item].service
    provider = choose(s, rng, 0, unit)
    t = new_task(s, item, pool_of(s, provider), n, new, dep, rw, False, stage, rework, scale)
    label(s, t, 0, unit, provider)
    return t


@njit(cache=True)
def central_send(s, rng, t, from_team, now, crossing):
    """To the task's pool, across a silo boundary or straight in; through the market when on
    (which leaves a piece going straight into a silo to be queued here)."""
    if s.tasks[t].provider >= 0 and market_send(s, rng, t, from_team, now, crossing):
        return
    if crossing:
        handoff(s, rng, t, from_team, now)
    else:
        enqueue(s, rng, t, now)


@njit(cache=True)
def central_next(s, rng, t, team, now):
    """After a stage: hand the item to the next stage, or back to the first after an
    escalated diagnosis, or verify it (the stage's team, else, after an external provider
    (``team`` -1), the operations silo's first team)."""
    p = s.params[0]
    tk = s.tasks[t]
    item = tk.of_item
    if tk.stage < p.last:
        central_send(s, rng, central_stage_task(s, rng, item, tk.stage + 1, tk.scale, tk.rework), team, now, True)
    elif s.items[item].escalated:
        s.items[item].escalated = False
        central_send(s, rng, central_stage_task(s, rng, item, 0, 1.0, False), team, now, True)
    elif verify(s, rng, item, team if team >= 0 else s.runners[0], now):
        scale = p.rework_effort_fraction / p.rework_rest
        handoff(s, rng, central_stage_task(s, rng, item, p.rework_stage, scale, True), team, now)


# --- micro-providers -------------------------------------------------------------------------
@njit(cache=True)
def micro_route(s, rng, item, now):
    """To the owner of the item's service (handed off, if the service desk escalated it); the
    owner does its own and self-service dependency work, and requests the rest from their owners."""
    it = s.items[item]
    owner = s.owner_of[it.service]
    nreq = 0
    # The requests take their rows (and sequence numbers) before the owner's task.
    for k in range(1, it.nplan):
        service = s.item_plan_services[item, k]
        if s.owner_of[service] == owner or s.self_service[service]:
            continue
        effort = s.item_plan_efforts[item, k]
        r = task_slot(s)
        s.task_services[r, 0] = service
        s.task_efforts[r, 0] = effort
        # categorise(item, (0, effort)): a request's effort is dependency work, whatever the item
        if s.params[0].market:  # to the provider the market chose
            provider = choose(s, rng, owner, service)
            request = new_task(s, item, pool_of(s, provider), 1, 0.0, effort, 0.0, True, 0, False, 1.0)
            label(s, request, owner, service, provider)
        else:
            request = new_task(s, item, s.owner_of[service], 1, 0.0, effort, 0.0, True, 0, False, 1.0)
        if s.params[0].sourcing:
            s.market_used[owner, service] = True
            s.tasks[request].bought = s.market_external[owner, service]
        s.item_requests[item, nreq] = request
        nreq += 1
    own = task_slot(s)
    n = 1
    s.task_services[own, 0] = s.item_plan_services[item, 0]
    s.task_efforts[own, 0] = s.item_plan_efforts[item, 0]
    for k in range(1, it.nplan):
        service = s.item_plan_services[item, k]
        if s.owner_of[service] == owner or s.self_service[service]:
            s.task_services[own, n] = service
            s.task_efforts[own, n] = s.item_plan_efforts[item, k]
            n += 1
    it.nreq = nreq
    it.open_parts = 1 + nreq
    new, dep, rw = categorise(s, item, s.task_efforts[own], n, False)
    task = new_task(s, item, owner, n, new, dep, rw, False, 0, False, 1.0)
    if it.escalated:
        handoff(s, rng, task, -1, now)
    else:
        enqueue(s, rng, task, now)


@njit(cache=True)
def micro_on_start(s, rng, t, now):
    """When the owner starts an item, it sends its requests to the providers (through the
    market, or bought outside under make-or-buy)."""
    tk = s.tasks[t]
    it = s.items[tk.of_item]
    if not tk.is_request and it.nreq:
        for k in range(it.nreq):
            request = s.item_requests[tk.of_item, k]
            if s.tasks[request].provider >= 0:
                market_send(s, rng, request, tk.team, now, True)
            elif s.tasks[request].bought:
                buy(s, rng, request, now)
            else:
                handoff(s, rng, request, tk.team, now)
        it.nreq = 0


@njit(cache=True)
def micro_on_done(s, rng, t, now):
    p = s.params[0]
    tk = s.tasks[t]
    item = tk.of_item
    if not tk.is_request:
        s.items[item].own_done = now
    elif p.market:
        returned(s, t, now)
    elif p.sourcing:
        sent = tk.ready - p.delay - (p.negotiation_ticks if p.provider_customer else 0.0)
        observe(s, tk.team, now - sent, tk.defective)
    micro_part_done(s, rng, item, now)


@njit(cache=True)
def micro_part_done(s, rng, item, now):
    """One part of ``item`` is done; when all are, the owner verifies it."""
    it = s.items[item]
    it.open_parts -= 1
    if it.open_parts:
        return
    it.dependency_wait += now - it.own_done
    owner = s.owner_of[it.service]
    if verify(s, rng, item, owner, now):
        scale = s.params[0].rework_effort_fraction
        t = task_slot(s)
        n = it.nplan
        for k in range(n):
            s.task_services[t, k] = s.item_plan_services[item, k]
            s.task_efforts[t, k] = s.item_plan_efforts[item, k] * scale
        new, dep, rw = categorise(s, item, s.task_efforts[t], n, True)
        rework = new_task(s, item, owner, n, new, dep, rw, False, 0, True, 1.0)
        s.tasks[rework].opens = False
        it.open_parts = 1
        enqueue(s, rng, rework, now)


# --- make-or-buy (sim/model/sourcing.py) ----------------------------------------------------------
@njit(cache=True)
def buy(s, rng, t, now):
    """An external provider delivers after a random turnaround, without internal capacity."""
    p = s.params[0]
    turnaround = rng.exponential(p.external_lead_ticks)
    if now < p.ticks:
        s.bought_days[int(now)] += s.tasks[t].effort
    s.tasks[t].ready = now
    schedule(s, now + turnaround, BOUGHT, t)


@njit(cache=True)
def on_bought(s, rng, t, now):
    """An external provider delivered a piece of work (the market's: its consumer scores it),
    perhaps with a defect; the structure takes the item on from there."""
    item = s.tasks[t].of_item
    if s.tasks[t].provider >= 0:
        delivered(s, rng, t, now)
    elif rng.random() < s.params[0].external_defect_prob:
        s.items[item].defects += 1
    if s.params[0].structure == CENTRAL_IT:
        central_next(s, rng, t, -1, now)
        free_task(s, t)
    else:
        free_task(s, t)
        micro_part_done(s, rng, item, now)


@njit(cache=True)
def observe(s, provider, turnaround, failed):
    """A request to ``provider`` came back after ``turnaround`` ticks, ``failed`` or not."""
    failure = 1.0 if failed else 0.0
    if not s.score_seen[provider]:
        s.score_seen[provider] = True
        s.score_turnaround[provider] = turnaround
        s.score_failure[provider] = failure
        return
    w = s.params[0].smoothing
    s.score_turnaround[provider] += w * (turnaround - s.score_turnaround[provider])
    s.score_failure[provider] += w * (failure - s.score_failure[provider])


@njit(cache=True)
def review(s, rng, tick):
    """Consumers due for review switch a service's requests outside when the owner scores
    worse than the external provider by the margin, or back when it scores better; each
    switch costs the consumer a migration."""
    p = s.params[0]
    teams, services = s.market_used.shape
    for consumer in range(teams):
        if consumer % p.review_ticks != tick % p.review_ticks:
            continue
        for service in range(services):
            owner = s.owner_of[service]
            if not (s.market_used[consumer, service] and s.score_seen[owner]):
                continue
            internal = s.score_turnaround[owner] + p.failure_weight * s.score_failure[owner]
            outside = p.external_score
            if s.market_external[consumer, service]:
                switch = outside > internal * (1 + p.switch_margin)
            else:
                switch = internal > outside * (1 + p.switch_margin)
            if switch:
                s.market_external[consumer, service] = not s.market_external[consumer, service]
                migrate(s, rng, consumer, service, float(tick + 1))
                s.switches[tick] += 1


@njit(cache=True)
def migrate(s, rng, pool, service, now):
    """Switching provider: the consumer's effort to move, at its ``pool``, booked as dependency
    work on the service (ranked as an upgrade; its item, row ``MIGRATION``, is outside the item log)."""
    cost = s.params[0].switch_cost_days
    if cost == 0:
        return
    item = MIGRATION
    t = task_slot(s)
    s.task_services[t, 0] = service
    s.task_efforts[t, 0] = cost
    t = new_task(s, item, pool, 1, 0.0, cost, 0.0, False, 0, False, 1.0)
    s.tasks[t].opens = False
    s.tasks[t].migration = True
    enqueue(s, rng, t, now)


# --- the internal market (sim/model/market.py, docs/ODD.md 7.11) -----------------------------
@njit(cache=True)
def choose(s, rng, consumer, unit):
    """The provider of ``consumer``'s next piece of ``unit``: its choice, or now and then
    (``explore_prob``) another candidate drawn at random."""
    p = s.params[0]
    place = market_place(s, consumer, unit)
    if place == s.mk_first[consumer + 1] or s.mk_unit[place] != unit:
        s.ctr[ERROR] = 1  # by construction a consumer has a place for every unit it sends
        return s.mk_defaults[unit]
    s.mk_used[place] = True
    chosen = s.mk_current[place]
    if p.explore_prob and rng.random() < p.explore_prob:
        width = s.mk_providers.shape[1]
        others = 0
        for k in range(width):
            candidate = market_candidate(s, consumer, unit, k)
            if candidate >= 0 and candidate != chosen:
                others += 1
        if others:
            pick = rng.integers(0, others)
            for k in range(width):
                candidate = market_candidate(s, consumer, unit, k)
                if candidate >= 0 and candidate != chosen:
                    if pick == 0:
                        return candidate
                    pick -= 1
    return chosen


@njit(cache=True)
def market_place(s, consumer, unit):
    """Where ``consumer``'s choice and scores of ``unit`` are kept: the unit's place among the
    consumer's units (ascending, ``mk_unit[mk_first[consumer] : mk_first[consumer + 1]]``)."""
    low, high = s.mk_first[consumer], s.mk_first[consumer + 1]
    while low < high:
        middle = (low + high) >> 1
        if s.mk_unit[middle] < unit:
            low = middle + 1
        else:
            high = middle
    return low


@njit(cache=True)
def market_candidate(s, consumer, unit, k):
    """The ``k``-th of ``unit``'s providers, if it is a candidate for ``consumer`` (any but the
    consumer's own pool); else -1, as past the unit's last provider."""
    provider = s.mk_providers[unit, k]
    return -1 if provider == s.mk_consumer_pool[consumer] else provider


@njit(cache=True)
def pool_of(s, provider):
    """The internal pool of ``provider``; -1 for an external one."""
    return provider if provider < s.params[0].pools else -1


@njit(cache=True)
def label(s, t, consumer, unit, provider):
    """Mark task ``t`` as a piece of ``unit`` for ``consumer`` from ``provider``."""
    tk = s.tasks[t]
    tk.consumer = consumer
    tk.unit = unit
    tk.provider = provider


@njit(cache=True)
def market_send(s, rng, t, from_team, now, crossing):
    """Send a labelled piece to its provider now: across a team boundary (a handoff,
    ``crossing``) or straight in. An external provider takes it when it arrives and returns
    it when served. Returns False for a piece going straight into an internal pool, which
    the caller queues (queueing here would make a cycle of calls: no recursion in the kernel)."""
    tk = s.tasks[t]
    tk.sent = now
    book(s, t, now)
    if tk.pool >= 0:
        if crossing:
            handoff(s, rng, t, from_team, now)
        return crossing
    if crossing:
        cross(s, rng, t, from_team, now)
    else:
        tk.ready = now
    schedule(s, serve(s, rng, tk.provider - s.params[0].pools, tk.ready, tk.effort), BOUGHT, t)
    return True


@njit(cache=True)
def serve(s, rng, external, ready, effort):
    """When a piece of ``effort`` person-days arriving at ``ready`` comes back from an external
    provider: its capacity serves first come first served, then a random turnaround."""
    start = max(ready, s.ext_free_at[external])
    s.ext_free_at[external] = start + effort / s.ext_capacity[external]
    lead = s.ext_lead[external]
    return s.ext_free_at[external] + (rng.exponential(lead) if lead > 0 else 0.0)


@njit(cache=True)
def book(s, t, now):
    """The market's series: the person-days sent to the usual, another internal or an external
    provider (and what the external ones cost; bought days)."""
    tick = int(now)
    if tick >= s.mk_series.shape[1]:
        return
    tk = s.tasks[t]
    effort = tk.effort
    pools = s.params[0].pools
    if tk.provider >= pools:
        s.mk_series[SERIES_EXTERNAL, tick] += effort
        s.mk_series[SERIES_COST, tick] += effort * s.ext_price[tk.provider - pools]
        s.bought_days[tick] += effort
    elif tk.provider == s.mk_defaults[tk.unit]:
        s.mk_series[SERIES_DEFAULT, tick] += effort
    else:
        s.mk_series[SERIES_ALTERNATE, tick] += effort


@njit(cache=True)
def returned(s, t, now):
    """An internal provider finished a piece: the consumer scores it (at the internal price, 1)."""
    tk = s.tasks[t]
    market_observe(s, tk.consumer, tk.unit, tk.provider, now - tk.sent, tk.defective, 1.0)


@njit(cache=True)
def delivered(s, rng, t, now):
    """An external provider delivered a piece: it may bring a defect; the consumer scores it."""
    tk = s.tasks[t]
    external = tk.provider - s.params[0].pools
    if rng.random() < s.ext_defect_prob[external]:
        s.items[tk.of_item].defects += 1
        tk.defective = True
    market_observe(s, tk.consumer, tk.unit, tk.provider, now - tk.sent, tk.defective, s.ext_price[external])


@njit(cache=True)
def market_observe(s, consumer, unit, provider, turnaround, failed, price):
    """The newest piece weighs ``smoothing``, the first sets the value."""
    failure = 1.0 if failed else 0.0
    place, j = market_place(s, consumer, unit), market_slot(s, unit, provider)
    if not s.mk_seen[place, j]:
        s.mk_seen[place, j] = True
        s.mk_turnaround[place, j] = turnaround
        s.mk_failure[place, j] = failure
        s.mk_price[place, j] = price
        return
    w = s.params[0].smoothing
    s.mk_turnaround[place, j] += w * (turnaround - s.mk_turnaround[place, j])
    s.mk_failure[place, j] += w * (failure - s.mk_failure[place, j])
    s.mk_price[place, j] += w * (price - s.mk_price[place, j])


@njit(cache=True)
def market_slot(s, unit, provider):
    """Where a consumer's scores of ``provider`` for ``unit`` are kept: its place among the
    unit's providers (one of them: a consumer deals only with its units' providers)."""
    for j in range(s.mk_providers.shape[1]):
        if s.mk_providers[unit, j] == provider:
            return j
    return -1


@njit(cache=True)
def market_score(s, place, j):
    """The score of the unit's provider ``j`` (its slot) by the consumer's scores at ``place``:
    turnaround plus the weighted defect rate (plus the weighted price)."""
    p = s.params[0]
    value = s.mk_turnaround[place, j] + p.failure_weight * s.mk_failure[place, j]
    if p.price_weight:
        value = value + p.price_weight * s.mk_price[place, j]
    return value


@njit(cache=True)
def market_review(s, rng, tick):
    """Consumers due at ``tick`` move each unit they use to the best-scored provider they have
    seen, if the current one is worse by more than the margin; each switch costs the consumer
    a migration (at its own pool: central IT's intake, the first silo)."""
    p = s.params[0]
    for consumer in range(len(s.mk_consumer_pool)):
        if consumer % p.review_ticks != tick % p.review_ticks:
            continue
        for place in range(s.mk_first[consumer], s.mk_first[consumer + 1]):  # its units, ascending
            if not s.mk_used[place]:
                continue
            unit = s.mk_unit[place]
            current = s.mk_current[place]
            now = market_slot(s, unit, current)
            if not s.mk_seen[place, now]:
                continue
            known, best, lowest = 0, -1, 0.0
            for k in range(s.mk_providers.shape[1]):  # a candidate's slot is its place k
                candidate = market_candidate(s, consumer, unit, k)
                if candidate >= 0 and s.mk_seen[place, k]:
                    value = market_score(s, place, k)
                    if known == 0 or value < lowest:
                        best, lowest = candidate, value
                    known += 1
            if known < 2 or best == current:
                continue
            if not market_score(s, place, now) > lowest * (1 + p.switch_margin):  # sourcing.worse
                continue
            s.mk_series[SERIES_SWITCHES, tick] += 1
            if best == s.mk_previous[place]:
                s.mk_series[SERIES_FLIPBACKS, tick] += 1
            s.mk_previous[place] = current
            s.mk_current[place] = best
            pool = 0 if p.structure == CENTRAL_IT else consumer
            migrate(s, rng, pool, unit % p.services, float(tick + 1))


# --- improvement work and viral change (sim/model/improvement.py, docs/ODD.md 7.10) ----------
@njit(cache=True)
def improvement_scale(s, item):
    """The planned efforts of ``item`` times their service's effort
    factor (and KTLO-need factor, for KTLO work)."""
    it = s.items[item]
    for k in range(it.nplan):
        service = s.item_plan_services[item, k]
        effort = s.item_plan_efforts[item, k] * s.imp_factors[EFFORT, service]
        if it.kind == KTLO:
            effort = effort * s.imp_factors[KTLO_NEED, service]
        s.item_plan_efforts[item, k] = effort


@njit(cache=True)
def improvement_defect_factor(s, t):
    """The mean defect factor of the task's services."""
    n = s.tasks[t].nserv
    if n == 0:
        return 1.0
    for k in range(n):
        s.gathered[k] = s.imp_factors[DEFECTS, s.task_services[t, k]]
    return py_sum(s.gathered, 0, n) / n


@njit(cache=True)
def improvement_dip(s, team, now):
    """The capacity share ``team`` loses while learning a copied improvement."""
    p = s.params[0]
    if 0 <= now - s.imp_copied_at[team] < p.copy_ticks:
        return p.copy_cost
    return 0.0


@njit(cache=True)
def book_improvement(s, start, finish, days):
    """Book ``days`` person-days of improvement work over [start, finish)."""
    n = s.imp_ctr[IMPROVING]
    s.imp_days[n, 0] = start
    s.imp_days[n, 1] = finish
    s.imp_days[n, 2] = days
    s.imp_ctr[IMPROVING] = n + 1
    if n + 1 + s.params[0].margin > len(s.imp_days):
        s.ctr[GROW] = 1


@njit(cache=True)
def observe_improvement(s, team, t):
    """``team`` finished ``t`` and has seen its person-days on each of its services, as defects
    (rework, incidents), KTLO need or effort; each part of a swarmed transfer by the team that
    did it. Improvement, desk and migration work and a funded project's build and hand-over are
    not seen (until issue 16 neither were the parts of a swarmed transfer)."""
    tk = s.tasks[t]
    if tk.improving or tk.desk or tk.migration or tk.funded:
        return
    if team == s.params[0].desk_team:
        return
    kind = s.items[tk.of_item].kind
    if tk.rework or kind == INCIDENT:
        target = DEFECTS
    elif kind == KTLO:
        target = KTLO_NEED
    else:
        target = EFFORT
    for k in range(tk.nserv):
        s.imp_figures[team, s.task_services[t, k], target] += s.task_efforts[t, k]


@njit(cache=True)
def improvement_start(s, rng, service, target, now):
    """An improvement item (never logged) whose first leg is queued now."""
    effort = s.params[0].effort_days
    item = new_item(s, 0, FEATURE, FROM_DEMAND, service, effort, now)
    it = s.items[item]
    it.target = target
    s.item_plan_services[item, 0] = service
    s.item_plan_efforts[item, 0] = effort
    it.nplan = 1
    it.planned = effort
    enqueue(s, rng, improvement_leg(s, item, 0), now)


@njit(cache=True)
def improvement_leg(s, item, leg):
    """The task of an improvement's ``leg`` (central IT: every silo with its stage's share;
    micro-providers: the owner, all of it)."""
    p = s.params[0]
    it = s.items[item]
    if p.structure == CENTRAL_IT:
        pool, share = leg, s.shares[leg]
    else:
        pool, share = s.owner_of[it.service], 1.0
    t = task_slot(s)
    s.task_services[t, 0] = it.service
    s.task_efforts[t, 0] = it.effort * share
    t = new_task(s, item, pool, 1, 0.0, 0.0, 0.0, False, leg, False, 1.0)
    s.tasks[t].improving = True
    return t


@njit(cache=True)
def improvement_on_done(s, rng, t, now):
    """Hand the improvement to the next leg, or let it take effect
    (unless it carries a defect) and become an idea its holders know; its holders let go."""
    p = s.params[0]
    tk = s.tasks[t]
    item = tk.of_item
    it = s.items[item]
    legs = p.last + 1 if p.structure == CENTRAL_IT else 1
    if tk.stage + 1 < legs:
        handoff(s, rng, improvement_leg(s, item, tk.stage + 1), tk.team, now)
        return
    tick = min(int(now), p.ticks - 1)
    idea = -1
    if it.defects:
        s.improvements_failed[tick] += 1
    else:
        apply_improvement(s, it.service, it.target)
        s.improvements_done[tick] += 1
        idea = new_idea(s, it.target, tick)
    node = it.holders
    while node >= 0:
        team = s.hold_team[node]
        s.team_open[team] -= 1
        if idea >= 0:
            s.imp_known[s.team_home[team], idea] = True  # the makers (a project team's home team)
        following = s.hold_next[node]
        s.hold_next[node] = s.ctr[HOLD_FREE]
        s.ctr[HOLD_FREE] = node
        s.ctr[HOLDS_FREE] += 1
        node = following
    it.holders = -1


@njit(cache=True)
def apply_improvement(s, service, target):
    """Remove ``gain`` of the factor's distance to ``floor``."""
    p = s.params[0]
    factor = s.imp_factors[target, service]
    if factor > p.floor:
        s.imp_factors[target, service] = p.floor + (factor - p.floor) * (1 - p.gain)


@njit(cache=True)
def new_idea(s, target, tick):
    """A new column of the live ideas, known by nobody yet; returns it.
    Asks for growth while room for one more is left (an event makes at most one)."""
    idea = s.imp_ctr[IDEAS]
    s.imp_known[:, idea] = False
    s.imp_idea_target[idea] = target
    s.imp_idea_made[idea] = tick
    s.imp_ctr[IDEAS] = idea + 1
    if idea + 2 >= s.imp_known.shape[1]:
        s.ctr[GROW] = 1
    return idea


@njit(cache=True)
def improvement_has_room(s):
    """Whether the end of a tick can start every improvement its units may buy (``params.margin``
    items) and book their intervals."""
    margin = s.params[0].margin
    return s.ctr[ITEMS] + margin <= len(s.items) and s.imp_ctr[IMPROVING] + margin <= len(s.imp_days)


@njit(cache=True)
def improvement_end_tick(s, rng, tick):
    """From the start tick, the units' budgets buy improvements and
    teams copy their partners' ideas; the services' mean factors are recorded."""
    p = s.params[0]
    if tick >= p.improvement_start:
        decide(s, rng, float(tick + 1))
        copy_ideas(s, rng, tick)
    services = s.imp_factors.shape[1]
    s.effort_factor[tick] = pairwise_sum(s.imp_factors[EFFORT], 0, services) / services
    s.defect_factor[tick] = pairwise_sum(s.imp_factors[DEFECTS], 0, services) / services
    s.ktlo_factor[tick] = pairwise_sum(s.imp_factors[KTLO_NEED], 0, services) / services


@njit(cache=True)
def decide(s, rng, now):
    """Each unit's budget grows by ``effort_share`` x its people and,
    each time it covers ``effort_days``, buys an improvement of the largest figure it sees
    (whose figures then restart from zero); a unit that has seen nothing waits, its budget
    held at one improvement."""
    p = s.params[0]
    teams = s.imp_figures.shape[0]
    for u in range(len(s.imp_budget)):
        s.imp_budget[u] += p.effort_share * s.imp_people[u]
        if s.imp_budget[u] < p.effort_days:
            continue
        seen = unit_seen(s, u)  # taken once: only the choices below change it, as they zero it
        while s.imp_budget[u] >= p.effort_days:
            row, target = improvement_choose(seen)
            if row < 0:
                s.imp_budget[u] = p.effort_days
                break
            service = s.imp_services[u, row]
            for team in range(teams):
                s.imp_figures[team, service, target] = 0.0
            for other in range(len(seen)):  # every row of the service: a sum of zeros, 0
                if s.imp_services[u, other] == service:
                    seen[other, target] = 0.0
            s.imp_budget[u] -= p.effort_days
            improvement_start(s, rng, service, target, now)


@njit(cache=True)
def unit_seen(s, u):
    """What unit ``u`` sees of each of its services (rows) and targets: its observers' figures
    summed in order, as numpy sums the rows, one observer's figures after the other."""
    n = s.imp_nservices[u]
    seen = np.zeros((n, 3))  # 0.0 + x is x: the same bits as starting from the first observer's
    for k in range(s.imp_nobservers[u]):
        figures = s.imp_figures[s.imp_observers[u, k]]
        for row in range(n):
            service = s.imp_services[u, row]
            for target in range(3):
                seen[row, target] += figures[service, target]
    return seen


@njit(cache=True)
def improvement_choose(seen):
    """``improvement.choose`` over what a unit sees (``unit_seen``): (row of its services,
    target) of the largest figure, first on ties; (-1, -1) when nothing has been seen."""
    best_row, best_target, best = -1, -1, 0.0
    for row in range(len(seen)):
        for target in range(3):
            if seen[row, target] > best:
                best_row, best_target, best = row, target, seen[row, target]
    return best_row, best_target


@njit(cache=True)
def copy_ideas(s, rng, tick):
    """Ideas older than the window are forgotten; every team draws, for
    every live idea (teams x ideas, in that order), whether it copies it: with ``copy_prob`` x
    the share of its work partners (weighted by exchanges) that knew it at the start, slowed
    by load when capacity is coupled."""
    p = s.params[0]
    kept = 0
    for idea in range(s.imp_ctr[IDEAS]):
        if s.imp_idea_made[idea] > tick - p.copy_window_ticks:
            if kept != idea:
                s.imp_known[:, kept] = s.imp_known[:, idea]
                s.imp_idea_target[kept] = s.imp_idea_target[idea]
                s.imp_idea_made[kept] = s.imp_idea_made[idea]
            kept += 1
    s.imp_ctr[IDEAS] = kept
    if kept == 0 or p.copy_prob == 0:
        return
    counts = s.ties_counts
    teams = len(counts)
    reach = s.imp_reach
    reach[:kept] = 0
    for idea in range(kept):
        for other in range(teams):
            if s.imp_known[other, idea]:
                for team in range(teams):  # the counts are symmetric (flow.exchange): other's row, in order
                    reach[idea, team] += counts[other, team]
    for team in range(teams):
        weight = max(s.ties_weight[team], 1.0)  # its exchanges (the counts' row sum, exact: whole numbers)
        for idea in range(kept):
            prob = p.copy_prob * float(reach[idea, team]) / weight
            if p.coupled:
                prob *= 1 - min(max(s.loads[team], 0.0), 1.0)
            if rng.random() < prob and not s.imp_known[team, idea]:
                copy_one(s, team, idea, tick)


@njit(cache=True)
def copy_one(s, team, idea, tick):
    """``team`` knows ``idea`` and applies its gain to the service it
    may change with the largest figure of the idea's kind (first on ties), at once; the
    copy costs it a learning dip from the next tick."""
    target = s.imp_idea_target[idea]
    s.imp_known[team, idea] = True
    n = s.imp_nimprovable[team]
    if n == 0:
        return
    figures = s.imp_figures[team]
    best = 0
    for row in range(1, n):
        if figures[s.imp_improvable[team, row], target] > figures[s.imp_improvable[team, best], target]:
            best = row
    service = s.imp_improvable[team, best]
    apply_improvement(s, service, target)
    for other in range(s.imp_figures.shape[0]):
        s.imp_figures[other, service, target] = 0.0
    s.imp_copied_at[team] = tick + 1
    s.improvements_copied[tick] += 1


# --- the service desk (docs/ODD.md 7.7) ------------------------------------------------------
@njit(cache=True)
def desk_receive(s, rng, item, now):
    """Log the incident: one desk task, triage plus the fix if the desk can resolve it."""
    p = s.params[0]
    effort = p.triage_days + (s.items[item].effort if desk_resolves(s, item) else 0.0)
    enqueue(s, rng, desk_task(s, item, p.desk_pool, effort, TRIAGE), now)


@njit(cache=True)
def desk_resolves(s, item):
    """Whether the desk fixes the incident itself (a known error, within ``resolve_max_days``)."""
    return s.items[item].effort <= s.params[0].resolve_max_days


@njit(cache=True)
def desk_on_done(s, rng, t, now):
    """After triage: release what the desk resolved, or route the incident on (right with
    ``routing_accuracy``, else to a wrong team or silo, whence it comes back routed right)."""
    p = s.params[0]
    tk = s.tasks[t]
    item = tk.of_item
    it = s.items[item]
    if tk.stage == TRIAGE and desk_resolves(s, item):
        it.desk_resolved = True
        feed_back(s, item)
        release(s, rng, item, now)
    elif tk.stage == MISROUTED or rng.random() < p.routing_accuracy:
        it.escalated = True
        enter(s, rng, item, now)
    else:
        wrong = wrong_pool(s, rng, item)
        handoff(s, rng, desk_task(s, item, wrong, p.triage_days, MISROUTED), -1, now)


@njit(cache=True)
def feed_back(s, item):
    """The service's team (the operations silo's teams, or the owner) learns from a share of
    the fix the desk did."""
    p = s.params[0]
    if p.feedback_share == 0:
        return
    it = s.items[item]
    if p.structure == CENTRAL_IT:
        effort = p.feedback_share * it.effort / len(s.runners)
        for team in s.runners:
            learn_service(s, team, it.service, effort)
    else:
        learn_service(s, s.owner_of[it.service], it.service, p.feedback_share * it.effort)


@njit(cache=True)
def wrong_pool(s, rng, item):
    """Where a misrouted incident lands: a silo other than operations, or a team other than
    the owner."""
    p = s.params[0]
    if p.structure == CENTRAL_IT:
        return rng.integers(0, p.last) if p.last else 0
    if p.pools == 1:
        return 0
    owner = s.owner_of[s.items[item].service]
    other = rng.integers(0, p.pools - 1)
    return other + 1 if other >= owner else other


@njit(cache=True)
def desk_task(s, item, pool, effort, stage):
    """Desk work at ``pool``: it draws on no service knowledge (scripts, known errors),
    injects no defect, and the team doing it does not take on the item."""
    t = task_slot(s)
    s.task_efforts[t, 0] = effort
    new, dep, rw = categorise(s, item, s.task_efforts[t], 1, False)
    new_task(s, item, pool, 0, new, dep, rw, False, stage, False, 1.0)
    tk = s.tasks[t]
    tk.effort = effort
    tk.opens = False
    tk.desk = True
    return t


# --- funded projects (sim/model/projects.py, docs/ODD.md 7.12) -----------------------------------
@njit(cache=True)
def wait(s, item):
    """A feature arrives: it waits for the next funding round."""
    n = s.fund_ctr[FUND_BACKLOG]
    s.fund_backlog[n] = item
    s.fund_ctr[FUND_BACKLOG] = n + 1


@njit(cache=True)
def people_on_projects(s):
    """People on project teams (the record)."""
    p = s.params[0]
    people = 0
    for slot in range(p.slots):
        if s.proj_active[slot]:
            people += s.team_headcount[p.slot_team + slot]
    return people


@njit(cache=True)
def on_projects(s):
    """People on project teams or promised to one."""
    people = people_on_projects(s)
    for slot in range(s.params[0].slots):
        if s.proj_active[slot]:
            for k in range(s.proj_nowed[slot]):
                people += s.proj_owed_count[slot, k]
    return people


@njit(cache=True)
def team_size(s, effort):
    """People a bundle of ``effort`` person-days needs to finish in the planned length, as far
    as the cap on project people and the standing teams (one person each stays) allow."""
    p = s.params[0]
    wanted = max(1, math.ceil(effort / p.project_ticks))
    cap = p.project_cap - on_projects(s)
    lendable = 0
    for team in range(p.standing_teams):
        lendable += max(0, s.team_headcount[team] - s.team_owed[team] - 1)
    return max(0, min(wanted, cap, lendable))


@njit(cache=True)
def fund(s, rng, now):
    """Bundle the waiting features into a project and assemble its team in a free slot; the
    features keep waiting if nobody can be lent."""
    p = s.params[0]
    n = s.fund_ctr[FUND_BACKLOG]
    for j in range(n):
        item = s.fund_backlog[j]
        if s.items[item].nplan == 0:
            plan_item(s, item)
        s.fund_planned[j] = s.items[item].planned
    size = team_size(s, py_sum(s.fund_planned, 0, n))
    if size == 0:
        return
    s.fund_ctr[FUND_BACKLOG] = 0
    s.fund_services[:] = False
    for j in range(n):
        item = s.fund_backlog[j]
        for k in range(s.items[item].nplan):
            s.fund_services[s.item_plan_services[item, k]] = True
    donors(s, size)
    slot = 0
    while s.proj_active[slot]:
        slot += 1
    row = p.slot_team + slot
    pool = p.slot_pool + slot
    s.proj_active[slot] = True
    s.team_home[row] = project_home(s, size)
    s.team_formed[row] = now
    s.team_busy[row] = 0
    s.team_open[row] = 0
    s.team_hold[row] = 0
    s.knowledge[row, :] = 0.0
    s.proj_unbuilt[slot] = n
    s.proj_items[slot] = n
    s.fund_ctr[FUND_PENDING] += n
    s.proj_nlent[slot] = 0
    s.proj_nowed[slot] = 0
    for j in range(size):
        lend(s, rng, s.fund_chosen[j], slot, now)
    last = -1
    for j in range(n):
        item = s.fund_backlog[j]
        it = s.items[item]
        it.backlog_wait = now - it.arrival
        it.project = slot
        it.project_next = -1
        if last < 0:
            s.proj_first[slot] = item
        else:
            s.items[last].project_next = item
        last = item
        t = task_slot(s)
        m = it.nplan
        for k in range(m):
            s.task_services[t, k] = s.item_plan_services[item, k]
            s.task_efforts[t, k] = s.item_plan_efforts[item, k]
        new, dep, rw = categorise(s, item, s.task_efforts[t], m, False)
        new_task(s, item, pool, m, new, dep, rw, False, BUILD, False, 1.0)
        s.tasks[t].funded = True
        enqueue(s, rng, t, now)


@njit(cache=True)
def donors(s, size):
    """The standing team each of ``size`` people comes from (``s.fund_chosen``), one at a time,
    among the teams with at least two people at home (not lent, not promised): the most idle
    people; among equals the most people at home, then the best mean knowledge of the
    bundle's services, then the lowest index."""
    p = s.params[0]
    home, free, mean_known = s.fund_home, s.fund_free, s.fund_known
    for team in range(p.standing_teams):
        home[team] = s.team_headcount[team] - s.team_owed[team]
        free[team] = 0
    for pool in range(p.pools):
        for k in range(s.idle_len[pool]):
            free[s.idle_buf[s.idle_start[pool] + (s.idle_head[pool] + k) % s.idle_cap[pool]]] += 1
    # ``knowledge[:, services].mean(axis=1)`` as numpy computes it: with two teams or more,
    # column by column into each team's total; with one, the row's pairwise sum.
    for team in range(p.standing_teams):
        n = 0
        total = 0.0
        for v in range(p.services):
            if s.fund_services[v]:
                s.fund_gather[n] = known(s, team, v)
                total = s.fund_gather[n] if n == 0 else total + s.fund_gather[n]
                n += 1
        mean_known[team] = (pairwise_sum(s.fund_gather, 0, n) if p.standing_teams == 1 else total) / n
    for j in range(size):
        best = -1
        for i in range(p.standing_teams):
            if home[i] < 2:
                continue
            # the greatest (idle, at home, knowledge, -index): ties go to the lower index
            if best < 0:
                best = i
            elif free[i] != free[best]:
                if free[i] > free[best]:
                    best = i
            elif home[i] != home[best]:
                if home[i] > home[best]:
                    best = i
            elif mean_known[i] > mean_known[best]:
                best = i
        home[best] -= 1
        free[best] = max(0, free[best] - 1)
        s.fund_chosen[j] = best


@njit(cache=True)
def project_home(s, size):
    """The team whose practice and work ties the project team uses: the first of the donors
    that lends the most people."""
    home, most = -1, 0
    for j in range(size):
        count = 0
        for k in range(size):
            count += s.fund_chosen[k] == s.fund_chosen[j]
        if count > most:
            home, most = s.fund_chosen[j], count
    return home


@njit(cache=True)
def lend(s, rng, donor, slot, now):
    """One person of ``donor`` joins the project: now if idle, else when their task is done."""
    if idle_remove(s, s.team_pool[donor], donor):
        move(s, rng, donor, slot, now)
        return
    s.team_owed[donor] += 1
    add_person(s.proj_owed[slot], s.proj_owed_count[slot], s.proj_nowed, slot, donor, 1)
    s.waiting[donor, s.waiting_len[donor]] = slot
    s.waiting_len[donor] += 1


@njit(cache=True)
def add_person(teams, counts, sizes, slot, team, change):
    """Add ``change`` to ``team``'s count in a slot's list of (team, count), in order of first entry."""
    for k in range(sizes[slot]):
        if teams[k] == team:
            counts[k] += change
            return
    k = sizes[slot]
    teams[k] = team
    counts[k] = change
    sizes[slot] = k + 1


@njit(cache=True)
def idle_remove(s, pool, team):
    """Take ``team``'s first idle person out of ``pool``'s idle ring; False if none is idle."""
    cap, start, head, n = s.idle_cap[pool], s.idle_start[pool], s.idle_head[pool], s.idle_len[pool]
    for k in range(n):
        if s.idle_buf[start + (head + k) % cap] == team:
            for j in range(k, n - 1):
                s.idle_buf[start + (head + j) % cap] = s.idle_buf[start + (head + j + 1) % cap]
            s.idle_len[pool] = n - 1
            return True
    return False


@njit(cache=True)
def depart(s, rng, donor, now):
    """A person ``donor`` owes a project has finished their task and leaves for it."""
    slot = s.waiting[donor, 0]
    n = s.waiting_len[donor]
    for k in range(n - 1):
        s.waiting[donor, k] = s.waiting[donor, k + 1]
    s.waiting_len[donor] = n - 1
    s.team_owed[donor] -= 1
    add_person(s.proj_owed[slot], s.proj_owed_count[slot], s.proj_nowed, slot, donor, -1)
    move(s, rng, donor, slot, now)


@njit(cache=True)
def move(s, rng, donor, slot, now):
    """The person's capacity moves from ``donor`` to the project team, with their team's knowledge."""
    p = s.params[0]
    row = p.slot_team + slot
    pool = p.slot_pool + slot
    resize(s, donor, -1)
    people = s.team_headcount[row]
    for v in range(p.services):
        s.knowledge[row, v] = (people * s.knowledge[row, v] + known(s, donor, v)) / (people + 1)
    s.team_headcount[row] = people + 1
    s.pool_headcount[pool] += 1
    idle_return(s, pool, row)
    add_person(s.proj_lent[slot], s.proj_lent_count[slot], s.proj_nlent, slot, donor, 1)
    dispatch(s, rng, pool, now)


@njit(cache=True)
def resize(s, team, change):
    s.team_headcount[team] += change
    s.pool_headcount[s.team_pool[team]] += change


@njit(cache=True)
def disband(s, rng, slot, now):
    """The people go back to their home teams and take the project's knowledge with them (each
    home team's knowledge becomes the headcount-weighted mean); promises are void."""
    p = s.params[0]
    row = p.slot_team + slot
    for k in range(s.proj_nowed[slot]):
        donor, owed = s.proj_owed[slot, k], s.proj_owed_count[slot, k]
        if owed:
            s.team_owed[donor] -= owed
            kept = 0
            for j in range(s.waiting_len[donor]):
                if s.waiting[donor, j] != slot:
                    s.waiting[donor, kept] = s.waiting[donor, j]
                    kept += 1
            s.waiting_len[donor] = kept
    for k in range(s.proj_nlent[slot]):
        donor, people = s.proj_lent[slot, k], s.proj_lent_count[slot, k]
        home = s.team_headcount[donor]
        for v in range(p.services):
            mixed = home * known(s, donor, v) + people * s.knowledge[row, v]
            learned(s, donor, v, mixed / (home + people))
        resize(s, donor, people)
        for _ in range(people):
            idle_return(s, s.team_pool[donor], donor)
    pool = p.slot_pool + slot
    s.team_headcount[row] = 0
    s.pool_headcount[pool] = 0
    s.idle_len[pool] = 0
    s.idle_head[pool] = 0
    s.proj_active[slot] = False
    s.fund_ctr[FUND_PENDING] -= s.proj_items[slot]
    for k in range(s.proj_nlent[slot]):
        dispatch(s, rng, s.team_pool[s.proj_lent[slot, k]], now)


@njit(cache=True)
def project_on_done(s, rng, t, now):
    """A feature is built: it waits for the project's end (and claims no attention meanwhile),
    the last one hands them all over; a hand-over is done: the team that runs the service
    verifies it and reworks what it catches."""
    tk = s.tasks[t]
    item, team = tk.of_item, tk.team
    if tk.stage == BUILD:
        drop(s, item, team)
        slot = s.items[item].project
        s.proj_unbuilt[slot] -= 1
        if s.proj_unbuilt[slot] == 0:
            hand_over(s, rng, slot, now)
    elif verify(s, rng, item, team, now):
        rework(s, rng, item, team, now)


@njit(cache=True)
def hand_over(s, rng, slot, now):
    """Every feature is handed to the team that runs its service, then the team disbands."""
    p = s.params[0]
    row = p.slot_team + slot
    item = s.proj_first[slot]
    while item >= 0:
        it = s.items[item]
        runner = s.runners[0] if p.structure == CENTRAL_IT else s.owner_of[it.service]
        t = task_slot(s)
        m = it.nplan
        for k in range(m):
            s.task_services[t, k] = s.item_plan_services[item, k]
            s.task_efforts[t, k] = s.item_plan_efforts[item, k] * p.handover_share
        new, dep, rw = categorise(s, item, s.task_efforts[t], m, False)
        new_task(s, item, s.team_pool[runner], m, new, dep, rw, False, HANDOVER, False, 1.0)
        s.tasks[t].funded = True
        handoff(s, rng, t, row, now)
        s.tasks[t].from_team = s.team_home[row]  # the work tie is the home team's
        if s.tasks[t].swarm_sender >= 0:  # collaboration: the builders help, from their home team
            s.tasks[t].swarm_sender = s.team_home[row]
        item = it.project_next
    disband(s, rng, slot, now)


@njit(cache=True)
def rework(s, rng, item, team, now):
    """A defect caught at the end of a hand-over: the structure's rework (central IT: a pass
    from the largest stage onward, handed off from ``team``; micro-providers: the owner's)."""
    p = s.params[0]
    if p.structure == CENTRAL_IT:
        scale = p.rework_effort_fraction / p.rework_rest
        handoff(s, rng, central_stage_task(s, rng, item, p.rework_stage, scale, True), team, now)
        return
    it = s.items[item]
    owner = s.owner_of[it.service]
    t = task_slot(s)
    n = it.nplan
    for k in range(n):
        s.task_services[t, k] = s.item_plan_services[item, k]
        s.task_efforts[t, k] = s.item_plan_efforts[item, k] * p.rework_effort_fraction
    new, dep, rw = categorise(s, item, s.task_efforts[t], n, True)
    new_task(s, item, owner, n, new, dep, rw, False, 0, True, 1.0)
    s.tasks[t].opens = False
    it.open_parts = 1
    enqueue(s, rng, t, now)


@njit(cache=True)
def drop(s, item, team):
    """``team`` stops carrying ``item`` before it is released (a built feature awaiting hand-over)."""
    previous = -1
    node = s.items[item].holders
    while node >= 0:
        following = s.hold_next[node]
        if s.hold_team[node] == team:
            if previous < 0:
                s.items[item].holders = following
            else:
                s.hold_next[previous] = following
            s.hold_next[node] = s.ctr[HOLD_FREE]
            s.ctr[HOLD_FREE] = node
            s.ctr[HOLDS_FREE] += 1
            s.team_open[team] -= 1
            return
        previous = node
        node = following


@njit(cache=True)
def forming_loss(s, team, now):
    """Capacity a project team loses while it forms (a standing team loses none)."""
    p = s.params[0]
    return p.onboarding_cost if now - s.team_formed[team] < p.onboarding_ticks else 0.0


@njit(cache=True)
def fund_room(s):
    """Room for a funding round of every waiting feature and the hand-over of every feature
    of the active projects, besides the margin."""
    margin = s.params[0].margin + s.fund_ctr[FUND_BACKLOG] + s.fund_ctr[FUND_PENDING]
    return (
        s.ctr[TASKS_FREE] >= margin
        and s.ctr[HOLDS_FREE] >= margin
        and s.ctr[EVENTS] + margin <= len(s.ev_time)
        and s.ctr[INTERVALS] + margin <= len(s.intervals)
    )


# --- the tick -----------------------------------------------------------------------------------
@njit(cache=True)
def has_room(s):
    """Whether every table has a margin free (what the end of a tick may take at most), every
    pool's queue its own (``queue_margin``: one consumer's review migrations, the improvements
    bought, may all go to one pool; ``state.grown`` gives each that room)."""
    p = s.params[0]
    margin = p.margin
    for pool in range(len(s.pool_len)):
        # a project's pool: room besides for the funding round's features, which all go to one
        waiting = s.fund_ctr[FUND_BACKLOG] if p.funded and pool >= p.slot_pool else 0
        if s.pool_len[pool] + 8 + p.queue_margin + waiting > s.pool_cap[pool]:
            return False
    if p.funded and not fund_room(s):
        return False
    return (
        s.ctr[TASKS_FREE] >= margin
        and s.ctr[HOLDS_FREE] >= margin
        and s.ctr[EVENTS] + margin <= len(s.ev_time)
        and s.ctr[INTERVALS] + margin <= len(s.intervals)
        and (not s.params[0].improvement or improvement_has_room(s))
    )


@njit(cache=True)
def process(s, rng, until):
    """Every event before ``until`` in time order; returns early (True) when an array is
    nearly full, to be grown and called again."""
    s.ctr[GROW] = 0
    while s.ctr[EVENTS] > 0 and s.ev_time[0] < until:
        slot = event_pop(s.ev_time, s.ev_keys, s.ctr[EVENTS])
        s.ctr[EVENTS] = slot
        now = s.ev_time[slot]
        code = s.ev_keys[slot, 1]
        obj = s.ev_keys[slot, 2]
        if code == DONE:
            finish(s, rng, obj, now)
        elif code == READY:
            pool = s.tasks[obj].pool
            push(s, pool, obj)
            dispatch(s, rng, pool, now)
        elif code == BOUGHT:
            on_bought(s, rng, obj, now)
        else:
            arrive(s, rng, obj, now)
        if s.ctr[GROW] or (s.params[0].funded and not fund_room(s)):
            return True
    return False

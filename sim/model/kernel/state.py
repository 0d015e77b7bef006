"""The kernel's state: flat arrays (one row per item, task, event, pool and team) bundled in
a named tuple, the constants it reads, and how the arrays grow between calls."""

from __future__ import annotations

import hashlib
from typing import NamedTuple

import numpy as np
from numba import from_dtype, types
from numba.core import cgutils, imputils
from numba.core.datamodel import models
from numba.core.extending import intrinsic, lower_getattr_generic, overload, register_model
from numba.core.typing.templates import AttributeTemplate, infer_getattr
from numba.experimental import structref

from sim.model.kernel.flow import (
    BLOCK_NEED,
    EVENTS,
    FUND_BACKLOG,
    FUND_PENDING,
    HOLD_FREE,
    HOLDS_FREE,
    IDEAS,
    IMPROVING,
    INTERVALS,
    ITEMS,
    TASK_FREE,
    TASKS_FREE,
)

# Records: int32 for every whole number (ids, counts, rows, sequence numbers: the largest,
# about 15 an item, reach 2**31 only past 140 million items, which the memory check of
# sim.scenario.budget refuses long before) and fields ordered so that no padding is
# needed: an item is 168 bytes, a task 144.
ITEM = np.dtype(
    [
        ("id", np.int32),
        ("kind", np.int32),
        ("origin", np.int32),
        ("service", np.int32),
        ("ndeps", np.int32),
        ("nplan", np.int32),
        ("effort", np.float64),
        ("arrival", np.float64),
        ("planned", np.float64),
        ("completion", np.float64),
        ("defects", np.int32),
        ("reworks", np.int32),
        ("handoffs", np.int32),
        ("open_parts", np.int32),
        ("queue_wait", np.float64),
        ("touch_time", np.float64),
        ("dependency_wait", np.float64),
        ("own_done", np.float64),
        ("nreq", np.int32),
        ("order", np.int32),
        ("holders", np.int32),  # first node of the list of teams that hold it (-1: none)
        ("intake_unit", np.int32),  # under a WIP limit: the intake that let it in
        ("backlog_since", np.float64),
        ("backlog_wait", np.float64),
        # Its place in an intake's backlog (the key a pool's queue orders tasks by).
        ("priority", np.int32),
        ("seq", np.int32),
        ("ready", np.float64),
        # Funded projects: the project slot that builds it, and the next item of that project.
        ("project", np.int32),
        ("project_next", np.int32),
        ("target", np.int32),  # an improvement: the factor it improves (improvement.EFFORT ...)
        ("escaped", np.bool_),
        ("escalated", np.bool_),  # routed on by the service desk: a handoff into the teams
        ("desk_resolved", np.bool_),
    ],
    align=True,
)

TASK = np.dtype(
    [
        ("of_item", np.int32),  # not "item": numpy records have an item() method
        ("pool", np.int32),
        ("nserv", np.int32),
        ("priority", np.int32),
        ("cat_new", np.float64),
        ("cat_dependency", np.float64),
        ("cat_rework", np.float64),
        ("effort", np.float64),
        ("stage", np.int32),
        ("seq", np.int32),
        ("scale", np.float64),
        ("ready", np.float64),
        ("from_team", np.int32),
        ("team", np.int32),
        ("switch_loss", np.float64),
        ("unfamiliarity", np.float64),
        # Collaboration: the team that sent a swarmed transfer, the helper's original task,
        # and how many parts of the original are still being worked on.
        ("swarm_sender", np.int32),
        ("swarm_of", np.int32),
        ("swarm_parts", np.int32),
        ("next_free", np.int32),
        # The internal market: the piece's consumer, unit and provider (-1: not a piece), when sent.
        ("consumer", np.int32),
        ("unit", np.int32),
        ("sent", np.float64),
        ("provider", np.int32),
        ("is_request", np.bool_),
        ("opens", np.bool_),
        ("holds", np.bool_),
        ("rework", np.bool_),
        ("defective", np.bool_),
        ("bought", np.bool_),  # make-or-buy: a request bought from an external provider
        ("migration", np.bool_),  # make-or-buy: a consumer's work to switch provider
        ("desk", np.bool_),  # the service desk's work: its finish goes to the desk's rule
        ("funded", np.bool_),  # funded projects: a build or hand-over task (its finish goes to the projects' rule)
        ("improving", np.bool_),  # improvement work: booked as such, its end goes to improvement_on_done
    ],
    align=True,
)

# An entry of a pool's or an intake's queue (``heaps.queue_push``): its row's key and the row.
QUEUE = np.dtype([("priority", np.int64), ("ready", np.float64), ("seq", np.int64), ("row", np.int64)])

PARAMS = np.dtype(
    [
        ("structure", np.int64),
        ("ticks", np.int64),
        ("margin", np.int64),
        ("queue_margin", np.int64),
        ("last", np.int64),
        ("rework_stage", np.int64),
        ("rework_rest", np.float64),
        ("delay", np.float64),
        ("loss_prob", np.float64),
        ("dependency_effort_share", np.float64),
        ("self_service_effort_factor", np.float64),
        ("penalty", np.float64),
        ("learning_rate", np.float64),
        ("waiting_weight", np.float64),
        ("accept_all", np.bool_),
        ("coupled", np.bool_),
        ("learning_ticks", np.float64),
        ("learning_cost", np.float64),
        ("defect_reduction", np.float64),
        ("detection_gain", np.float64),
        ("base_defect_prob", np.float64),
        ("familiarity_effect", np.float64),
        ("pressure_effect", np.float64),
        ("horizon", np.float64),
        ("switching_effect", np.float64),
        ("early_detection_prob", np.float64),
        ("rework_effort_fraction", np.float64),
        ("escaped_effort_factor", np.float64),
        ("forgetting_rate", np.float64),
        ("run_values", np.int64),  # the values the running teams' knowledge is the mean of
        ("load_alpha", np.float64),
        ("spread_start", np.int64),
        ("mandate_lag", np.int64),  # -1: no mandate
        ("external_prob", np.float64),
        ("imitation_prob", np.float64),
        ("mandate_compliance_prob", np.float64),
        ("complete_network", np.bool_),
        ("debt", np.bool_),
        ("debt_aging", np.float64),
        ("debt_paydown", np.float64),
        ("debt_effort_effect", np.float64),
        ("debt_defect_effect", np.float64),
        ("skip_pressure", np.float64),
        ("protected_share", np.float64),
        ("intake_people", np.int64),  # central IT's one intake: everyone
        ("wip_limited", np.bool_),
        ("provider_customer", np.bool_),
        ("negotiation_ticks", np.float64),
        ("over_ask_factor", np.float64),
        ("sourcing", np.bool_),
        ("market", np.bool_),  # the internal market (it excludes make-or-buy: they share the review's fields)
        ("review_ticks", np.int64),
        ("external_lead_ticks", np.float64),
        ("external_defect_prob", np.float64),
        ("external_score", np.float64),
        ("switch_cost_days", np.float64),
        ("switch_margin", np.float64),
        ("failure_weight", np.float64),
        ("smoothing", np.float64),
        ("price_weight", np.float64),
        ("explore_prob", np.float64),
        ("services", np.int64),
        ("rotation", np.bool_),
        ("project_ticks", np.int64),
        ("knowledge_kept", np.float64),
        ("onboarding_ticks", np.float64),
        ("onboarding_cost", np.float64),
        ("initial_knowledge", np.float64),
        ("swarm_share", np.float64),  # collaboration (0: no swarming)
        ("pools", np.int64),  # the structure's pools (the desk's pool comes after them)
        ("desk", np.bool_),
        ("desk_pool", np.int64),  # -1: no desk
        ("desk_team", np.int64),  # the desk's row of the team arrays (-1: no desk)
        ("triage_days", np.float64),
        ("resolve_max_days", np.float64),
        ("routing_accuracy", np.float64),
        ("feedback_share", np.float64),
        # Funded projects (sim/model/projects.py): each project takes a slot, a row of the team
        # arrays (from ``slot_team``) and a pool (from ``slot_pool``), free again once it disbands.
        ("funded", np.bool_),
        ("funding_ticks", np.int64),
        ("handover_share", np.float64),
        ("project_cap", np.int64),  # most people on projects at once (project_people_share x people)
        ("standing_teams", np.int64),
        ("slots", np.int64),
        ("slot_team", np.int64),
        ("slot_pool", np.int64),
        # Improvement work and viral change (docs/ODD.md 7.10).
        ("improvement", np.bool_),
        ("improvement_start", np.int64),
        ("effort_share", np.float64),
        ("effort_days", np.float64),
        ("gain", np.float64),
        ("floor", np.float64),
        ("copy_prob", np.float64),
        ("copy_window_ticks", np.int64),
        ("copy_cost", np.float64),
        ("copy_ticks", np.float64),
        # The demand (docs/ODD.md 7.1; sim/model/kernel/arrivals.py).
        ("arrival_rate", np.float64),
        ("effort_law", np.int64),
        ("effort_mean", np.float64),
        ("effort_mu", np.float64),
        ("effort_sigma", np.float64),
        ("touch_prob", np.float64),
    ],
    align=True,
)


class State(NamedTuple):
    """Everything the kernel reads and writes (see ``sim.model.kernel.flow``)."""

    params: np.ndarray  # one PARAMS row
    ctr: np.ndarray  # counters (flow.EVENTS, flow.SEQ, ...)
    kind_rank: np.ndarray
    request_rank: np.ndarray
    switch_table: np.ndarray
    shares: np.ndarray  # central IT: each stage's effort share
    owner_of: np.ndarray  # micro-providers: each service's owner
    self_service: np.ndarray
    service_deps: np.ndarray  # services x most dependencies, padded with -1
    service_ndeps: np.ndarray
    # The demand (sim.model.kernel.arrivals): the cumulative shares of the kinds and of the
    # services; the block being run, as columns (its tick k's rows from ``dm_starts[k]``).
    kind_cdf: np.ndarray
    service_cdf: np.ndarray
    dm_starts: np.ndarray
    dm_kind: np.ndarray
    dm_service: np.ndarray
    dm_effort: np.ndarray
    dm_time: np.ndarray
    dm_touch: np.ndarray
    items: np.ndarray
    item_deps: np.ndarray
    item_plan_services: np.ndarray
    item_plan_efforts: np.ndarray
    item_requests: np.ndarray
    item_stage_wait: np.ndarray  # items x stages (central IT's silos; one under micro-providers)
    tasks: np.ndarray
    task_services: np.ndarray
    task_efforts: np.ndarray
    ev_time: np.ndarray
    ev_keys: np.ndarray  # seq, code, object
    pool_heap: np.ndarray  # every pool's queue, pool p in [pool_start[p], pool_start[p] + pool_cap[p])
    pool_start: np.ndarray
    pool_cap: np.ndarray
    pool_len: np.ndarray
    pool_effort: np.ndarray
    pool_headcount: np.ndarray
    idle_buf: np.ndarray  # each pool's idle people (a ring of its headcount), naming their team
    idle_start: np.ndarray
    idle_head: np.ndarray
    idle_len: np.ndarray
    team_busy: np.ndarray  # the team arrays: a row per team, then the service desk's (if on)
    team_open: np.ndarray
    team_hold: np.ndarray
    team_headcount: np.ndarray
    team_pool: np.ndarray
    knowledge: np.ndarray  # team rows x services (sim.model.kernel.knowledge)
    known_at: np.ndarray  # standing teams x services: the ticks of forgetting when each value was written
    forgotten: np.ndarray  # [0]: the ticks of forgetting so far
    powers: np.ndarray  # [n]: what is left of a value after n ticks of forgetting, (1 - rate) ** n
    most: np.ndarray  # per service, the most any standing team knows of it, as written
    most_at: np.ndarray  # ... at this count of ticks of forgetting
    most_stale: np.ndarray  # per service, whether ``most`` is to be taken again
    run_total: np.ndarray  # [0]: what the teams that run the services know of them, in total, now
    runner_rows: np.ndarray  # per standing team, whether it runs every service (central IT's operations)
    runner_of: np.ndarray  # per service, the team that runs it (a micro-provider, its owner), or -1
    debt: np.ndarray  # tech debt per service
    intake_open: np.ndarray  # under a WIP limit: items each intake let in and not yet released
    intake_limit: np.ndarray
    backlog_heap: np.ndarray  # each intake's backlog of items, laid out as the pools' queues
    backlog_start: np.ndarray
    backlog_cap: np.ndarray
    backlog_len: np.ndarray
    adopted: np.ndarray
    adopted_at: np.ndarray
    rotation_offset: np.ndarray  # the project model: when each team's projects end
    formed_at: np.ndarray
    # Make-or-buy (sim/model/sourcing.py): who buys what outside, and the owners' public scores.
    market_external: np.ndarray
    market_used: np.ndarray
    score_turnaround: np.ndarray
    score_failure: np.ndarray
    score_seen: np.ndarray
    # The internal market (sim/model/market.py): the Exchange's arrays (a place per unit a
    # consumer may send: consumer c's are mk_first[c] .. mk_first[c + 1] - 1, their units
    # ascending in mk_unit; a choice per place, and x provider for the scores), each
    # consumer's own pool, the externals.
    mk_first: np.ndarray
    mk_unit: np.ndarray
    mk_current: np.ndarray
    mk_previous: np.ndarray
    mk_used: np.ndarray
    mk_turnaround: np.ndarray
    mk_failure: np.ndarray
    mk_price: np.ndarray
    mk_seen: np.ndarray
    mk_series: np.ndarray  # a row per name of market.SERIES, a column per tick
    mk_defaults: np.ndarray  # each unit's usual provider
    mk_providers: np.ndarray  # unit x provider, padded with -1: the order of the scores' last axis
    mk_consumer_pool: np.ndarray  # each consumer's own pool (-1: none), never its units' candidate
    ext_capacity: np.ndarray
    ext_lead: np.ndarray
    ext_defect_prob: np.ndarray
    ext_price: np.ndarray
    ext_free_at: np.ndarray
    hold_team: np.ndarray  # nodes of the items' holder lists
    hold_next: np.ndarray
    intervals: np.ndarray  # busy intervals: start, finish, person-days per category
    # The work ties (``sim.model.spread.WorkTies``'s arrays) and the spread.
    ties_counts: np.ndarray
    ties_weight: np.ndarray
    ties_reached: np.ndarray
    ties_adopted: np.ndarray
    loads: np.ndarray
    influence: np.ndarray
    # The tick records (``sim.model.recorder.TickRecorder``'s arrays).
    arrivals: np.ndarray
    completions: np.ndarray
    wip: np.ndarray
    queued_tasks: np.ndarray
    adoption_share: np.ndarray
    knowledge_held: np.ndarray
    run_knowledge: np.ndarray
    tech_debt: np.ndarray
    ktlo_skipped: np.ndarray
    backlog: np.ndarray
    switches: np.ndarray
    bought_days: np.ndarray
    runners: np.ndarray  # central IT: the operations silo's teams
    held: np.ndarray  # scratch: the most any team knows of each service
    gathered: np.ndarray  # scratch: the debt of a task's services
    # Funded projects (sim/model/projects.py; docs/ODD.md 7.12). Per team row: people promised
    # to a project, the team whose practice and ties it uses, when it formed (-inf: standing).
    team_owed: np.ndarray
    team_home: np.ndarray
    team_formed: np.ndarray
    idle_cap: np.ndarray  # each pool's ring of idle people: its size (pools' headcounts change)
    # Per project slot: whether a project holds it, features not built, its features (a list
    # through the items' ``project_next``), and by home team in order, people lent and owed.
    proj_active: np.ndarray
    proj_unbuilt: np.ndarray
    proj_items: np.ndarray
    proj_first: np.ndarray
    proj_lent: np.ndarray  # slot x donor: the team
    proj_lent_count: np.ndarray
    proj_nlent: np.ndarray
    proj_owed: np.ndarray
    proj_owed_count: np.ndarray
    proj_nowed: np.ndarray
    waiting: np.ndarray  # per standing team, the slots its busy people are promised to, in order
    waiting_len: np.ndarray
    fund_backlog: np.ndarray  # features waiting for the next funding round
    fund_planned: np.ndarray  # scratch: their planned effort
    fund_ctr: np.ndarray  # flow.FUND_BACKLOG, flow.FUND_PENDING
    fund_home: np.ndarray  # scratch of ``donors``: people at home, idle, knowledge, the chosen
    fund_free: np.ndarray
    fund_known: np.ndarray
    fund_chosen: np.ndarray
    fund_services: np.ndarray  # scratch: the services of the bundle
    fund_gather: np.ndarray
    project_people: np.ndarray  # the record
    swarm_stack: np.ndarray  # scratch of ``flow.swarm``: splits whose own work is still to be timed, and their pools
    # Improvement work and viral change (sim/model/improvement.py): the Improvements' own
    # factors, figures, budgets and copy times (the kernel keeps them up to date); each
    # unit's people, observing teams and services, padded with -1 (counts apart); the
    # services each team may change; the live ideas (teams x ideas, the first
    # ``imp_ctr[flow.IDEAS]`` columns); the improvement work's intervals (start, finish,
    # person-days); the recorder's series.
    imp_factors: np.ndarray
    imp_figures: np.ndarray
    imp_budget: np.ndarray
    imp_copied_at: np.ndarray
    imp_people: np.ndarray
    imp_observers: np.ndarray
    imp_nobservers: np.ndarray
    imp_services: np.ndarray
    imp_nservices: np.ndarray
    imp_improvable: np.ndarray
    imp_nimprovable: np.ndarray
    imp_known: np.ndarray
    imp_idea_target: np.ndarray
    imp_idea_made: np.ndarray
    imp_reach: np.ndarray  # scratch: per idea and team, the team's exchanges with teams that know it
    imp_ctr: np.ndarray  # live ideas, improvement intervals
    imp_days: np.ndarray
    effort_factor: np.ndarray
    defect_factor: np.ndarray
    ktlo_factor: np.ndarray
    improvements_done: np.ndarray
    improvements_failed: np.ndarray
    improvements_copied: np.ndarray


I64, F64, BOOL = np.int64, np.float64, np.bool_
# Each field's dtype and number of dimensions (every array is C-contiguous).
SPEC: dict[str, tuple[np.dtype | type, int]] = {
    **dict.fromkeys(State._fields, (I64, 1)),
    "params": (PARAMS, 1),
    "items": (ITEM, 1),
    "tasks": (TASK, 1),
    "pool_heap": (QUEUE, 1),
    "backlog_heap": (QUEUE, 1),
    **dict.fromkeys(("ties_counts", "known_at"), (np.int32, 2)),
    **dict.fromkeys(("service_deps", "ev_keys"), (I64, 2)),
    **dict.fromkeys(("item_deps", "item_plan_services", "item_requests", "task_services"), (np.int32, 2)),
    **dict.fromkeys(("item_plan_efforts", "item_stage_wait", "task_efforts", "knowledge", "intervals"), (F64, 2)),
    **dict.fromkeys(
        (
            "self_service",
            "adopted",
            "ties_adopted",
            "score_seen",
            "proj_active",
            "fund_services",
            "most_stale",
            "runner_rows",
        ),
        (BOOL, 1),
    ),
    **dict.fromkeys(
        ("proj_lent", "proj_lent_count", "proj_owed", "proj_owed_count", "waiting", "swarm_stack"), (I64, 2)
    ),
    **dict.fromkeys(("market_external", "market_used"), (BOOL, 2)),
    "mk_used": (BOOL, 1),
    **dict.fromkeys(("mk_first", "mk_unit", "mk_current", "mk_previous", "mk_consumer_pool"), (I64, 1)),
    "mk_providers": (I64, 2),
    "dm_touch": (BOOL, 2),
    **dict.fromkeys(("mk_turnaround", "mk_failure", "mk_price"), (F64, 2)),
    "mk_seen": (BOOL, 2),
    "mk_series": (F64, 2),
    **dict.fromkeys(("imp_factors", "imp_days"), (F64, 2)),
    "imp_figures": (F64, 3),
    **dict.fromkeys(("imp_observers", "imp_services", "imp_improvable", "imp_reach"), (I64, 2)),
    "imp_known": (BOOL, 2),
    **dict.fromkeys(("imp_budget", "imp_copied_at", "effort_factor", "defect_factor", "ktlo_factor"), (F64, 1)),
    **dict.fromkeys(
        (
            "ev_time",
            "kind_cdf",
            "service_cdf",
            "dm_effort",
            "dm_time",
            "debt",
            "intake_limit",
            "tech_debt",
            "score_turnaround",
            "formed_at",
            "score_failure",
            "ext_capacity",
            "ext_lead",
            "ext_defect_prob",
            "ext_price",
            "ext_free_at",
            "bought_days",
            "switch_table",
            "shares",
            "pool_effort",
            "adopted_at",
            "ties_weight",
            "ties_reached",
            "loads",
            "influence",
            "adoption_share",
            "knowledge_held",
            "run_knowledge",
            "most",
            "powers",
            "held",
            "run_total",
            "gathered",
            "team_formed",
            "fund_planned",
            "fund_known",
            "fund_gather",
        ),
        (F64, 1),
    ),
}


@structref.register
class StateRefType(types.StructRef):
    """The kernel's handle on a ``State``: one pointer, however many arrays it holds (a named
    tuple passed between compiled functions costs a reference count per array per call).
    The rules are passed a ``StateViewType`` of it, which costs none (``borrow``)."""

    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(typ)) for name, typ in fields)

    @property
    def mangling_args(self):
        """The name compiled symbols carry: short, a hash of the fields' names and types.
        Numba's default is the full name, every field's type spelled out (25-40 kB), in every
        function's symbol: a version of the kernel's cache was then 900 MB, mostly names,
        and every process that loaded it read and parsed them."""
        return f"StateRef_{hashlib.sha1(self.name.encode()).hexdigest()[:16]}", ()


class StateRef(structref.StructRefProxy):
    """A ``State`` as the kernel holds it (made by ``sim.model.kernel.ticks.new_ref``)."""


structref.define_boxing(StateRefType, StateRef)
STATE_REF = StateRefType([(name, types.Array(from_dtype(np.dtype(d)), n, "C")) for name, (d, n) in SPEC.items()])


class StateViewType(types.Type):
    """A handle borrowed for the length of a kernel call (``borrow``): a plain pointer to its
    arrays. Numba counts a reference to every argument of a compiled call that has one (an
    atomic add on the way in, an atomic subtract on the way out, some 60 an item in M/M/c);
    the handle is counted once, when Python passes it in, the view the rules pass on never."""

    def __init__(self, ref: StateRefType) -> None:
        self.ref = ref
        super().__init__(name=f"StateView_{ref.mangling_args[0]}")


@register_model(StateViewType)
class _StateViewModel(models.PrimitiveModel):  # pragma: no cover  (Numba's compiler only: not under NUMBA_DISABLE_JIT)
    def __init__(self, dmm, fe_type):
        payload = dmm.lookup(fe_type.ref.get_data_type()).get_value_type()
        super().__init__(dmm, fe_type, payload.as_pointer())


@infer_getattr
class _StateViewFields(AttributeTemplate):  # pragma: no cover
    key = StateViewType

    def generic_resolve(self, typ, attr):
        return typ.ref.field_dict.get(attr)


@lower_getattr_generic(StateViewType)
def _state_view_field(context, builder, typ, view, attr):  # pragma: no cover
    payload = cgutils.create_struct_proxy(typ.ref.get_data_type())(context, builder, ref=view)
    return imputils.impl_ret_borrowed(context, builder, typ.ref.field_dict[attr], getattr(payload, attr))


def borrow(ref):
    """The state's arrays for the rest of a kernel call (in compiled code, a ``StateViewType``
    of the handle; as plain Python, ``ref`` itself). ``ref`` must outlive the view: an
    argument of the call that borrows it does."""
    return ref


@overload(borrow)
def _borrow(ref):  # pragma: no cover
    if isinstance(ref, StateRefType):
        return lambda ref: _view(ref)
    return None


@intrinsic
def _view(typingctx, ref):  # pragma: no cover
    def codegen(context, builder, signature, args):
        meminfo = cgutils.create_struct_proxy(ref)(context, builder, value=args[0]).meminfo
        payload = context.nrt.meminfo_data(builder, meminfo)
        return builder.bitcast(payload, context.get_value_type(signature.return_type))

    return StateViewType(ref)(ref), codegen


def grown(s: State, arriving: int = 0) -> State:
    """``s`` with every array that has less than four margins free (the most one event can
    take; ``params.margin``) grown, by doubling, and room for ``arriving`` more items."""
    params = s.params[0]
    c = s.ctr
    # Funded projects: room besides for a funding round of the waiting features and for the
    # hand-over of every feature of the active projects (each is one end of tick or one event).
    waiting = int(s.fund_ctr[FUND_BACKLOG]) if params["funded"] else 0
    reserve = waiting + int(s.fund_ctr[FUND_PENDING]) if params["funded"] else 0
    margin = 4 * int(params["margin"]) + reserve
    changes: dict[str, np.ndarray] = {}
    if params["funded"]:
        size = _size(len(s.fund_backlog), waiting + arriving + margin)
        if size > len(s.fund_backlog):
            changes["fund_backlog"] = _rows(s.fund_backlog, size)
            changes["fund_planned"] = _rows(s.fund_planned, size)
    if c[BLOCK_NEED] > len(s.dm_time):  # a demand block with more rows than room
        size = _size(len(s.dm_time), c[BLOCK_NEED])
        for name in ("dm_kind", "dm_service", "dm_effort", "dm_time", "dm_touch"):
            changes[name] = _rows(getattr(s, name), size)
    size = _size(len(s.items), c[ITEMS] + arriving + margin)
    if size > len(s.items):
        for name in (
            "items",
            "item_deps",
            "item_plan_services",
            "item_plan_efforts",
            "item_requests",
            "item_stage_wait",
        ):
            changes[name] = _rows(getattr(s, name), size)
    old = len(s.tasks)
    size = _size(old, old - c[TASKS_FREE] + margin)
    if size > old:
        for name in ("tasks", "task_services", "task_efforts"):
            changes[name] = _rows(getattr(s, name), size)
        changes["tasks"]["next_free"][old:] = _chain(old, size, c[TASK_FREE])
        c[TASK_FREE], c[TASKS_FREE] = old, c[TASKS_FREE] + size - old
    old = len(s.hold_team)
    size = _size(old, old - c[HOLDS_FREE] + margin)
    if size > old:
        changes["hold_team"] = _rows(s.hold_team, size)
        changes["hold_next"] = np.append(s.hold_next, _chain(old, size, c[HOLD_FREE]))
        c[HOLD_FREE], c[HOLDS_FREE] = old, c[HOLDS_FREE] + size - old
    for used, names in (
        (c[EVENTS] + arriving, ("ev_time", "ev_keys")),
        (c[INTERVALS], ("intervals",)),
        (s.imp_ctr[IMPROVING], ("imp_days",)),
    ):
        size = _size(len(getattr(s, names[0])), used + margin)
        if size > len(getattr(s, names[0])):
            for name in names:
                changes[name] = _rows(getattr(s, name), size)
    if s.params[0]["improvement"]:
        changes.update(_grown_ideas(s))
    for name in ("pool", "backlog"):
        queues = (getattr(s, f"{name}_{part}") for part in ("heap", "start", "cap", "len"))
        extra = np.zeros(len(getattr(s, f"{name}_len")), dtype=np.int64)
        if name == "pool":  # a margin (what the end of a tick may queue in one pool: flow.has_room) and
            extra[:] = int(params["queue_margin"])
            if params["funded"]:  # a project's pool takes every waiting feature at once
                extra[int(params["slot_pool"]) :] += waiting
        changes.update(_grown_queues(name, *queues, extra))
    return s._replace(**changes) if changes else s


def _grown_ideas(s: State) -> dict[str, np.ndarray]:
    """Room for eight more live ideas (an event makes at most one; ``flow.new_idea`` asks for
    growth when one is left)."""
    old = s.imp_known.shape[1]
    size = _size(old, s.imp_ctr[IDEAS] + 8)
    if size == old:
        return {}
    known = np.zeros((len(s.imp_known), size), dtype=bool)
    known[:, :old] = s.imp_known
    return {
        "imp_known": known,
        "imp_idea_target": _rows(s.imp_idea_target, size),
        "imp_idea_made": _rows(s.imp_idea_made, size),
        "imp_reach": np.zeros((size, len(s.imp_known)), dtype=np.int64),
    }


def _grown_queues(
    name: str, heap: np.ndarray, start: np.ndarray, cap: np.ndarray, size: np.ndarray, extra: np.ndarray
) -> dict:
    """Queues laid out one after another in ``heap``: once one is within 8 (and ``extra``) of
    full, each at least half full is given twice the room it needs (each growth is a return
    from the kernel and a copy of every queue)."""
    needed = size + 8 + extra
    if not (needed > cap).any():
        return {}
    full = 2 * needed > cap
    new_cap = np.where(full, np.maximum(2 * cap, 2 * needed), cap)
    new_start = np.concatenate([[0], np.cumsum(new_cap)[:-1]]).astype(np.int64)
    new_heap = np.zeros(int(new_cap.sum()), dtype=heap.dtype)
    for q in np.flatnonzero(size):
        new_heap[new_start[q] : new_start[q] + size[q]] = heap[start[q] : start[q] + size[q]]
    return {f"{name}_heap": new_heap, f"{name}_start": new_start, f"{name}_cap": new_cap}


def _size(current: int, needed: int) -> int:
    """``current`` doubled (from 64) until it holds ``needed``."""
    size = max(current, 64)
    while size < needed:
        size *= 2
    return size


def _chain(first: int, end: int, then: int) -> np.ndarray:
    """Free-list links for new rows ``first .. end - 1``, the last linking to ``then``."""
    return np.append(np.arange(first + 1, end, dtype=np.int64), then)


def _rows(array: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros((size, *array.shape[1:]), dtype=array.dtype)
    out[: len(array)] = array
    return out

"""The provider/customer critique and its alternative (sim/model/relationship.py): each rule on
its own, then the sign of each effect when it is switched on, under both structures.

Effect tests compare paired runs (same seeds, so the same demand) over 10 seeds and pass when
a one-sided paired t test (9 degrees of freedom, level ``EFFECT_ALPHA`` = 1%) finds the
difference in the expected direction: a mechanism without the effect passes 1% of the time,
and each test fails a correct model only as often as its effect is that hard to see."""

from __future__ import annotations

import pytest
from conftest import CENTRAL_IT, FRICTIONLESS, MICRO_PROVIDER, Estimate, deep_merge, replication_seeds, small_scenario

from sim.model.org_model import OrgModel
from sim.model.relationship import HELPER_PRIORITY, Swarm, negotiation_delay, scale
from sim.model.work import FEATURE, FROM_DEMAND, Task, WorkItem
from sim.run import RunResult, run_scenario
from sim.scenario.files import load_scenario
from sim.scenario.schema import Relationship

STRUCTURES = ("central_it", "micro_provider")
SEEDS = replication_seeds(10, entropy=606)
SHORT = ["simulation.ticks=300", "simulation.warmup_ticks=100"]  # an effect's sign, not a steady-state level


class Inner:
    """A stand-in for the structure as a transferred task's own handler: records its calls."""

    def __init__(self) -> None:
        self.started: list[tuple[Task, float]] = []
        self.done: list[tuple[Task, float]] = []

    def on_start(self, task: Task, now: float) -> None:
        self.started.append((task, now))

    def on_done(self, task: Task, now: float) -> None:
        self.done.append((task, now))


def model(structure: str = "micro_provider", **relationship) -> OrgModel:
    """A frictionless small organisation (no delay, loss, defects or switching) with ``relationship``."""
    sections = deep_merge(FRICTIONLESS, {"relationship": relationship})
    return OrgModel(small_scenario(structure, **sections), seed=1)


def transfer(m: OrgModel, effort: float = 3.0, rework: bool = False, sender: int = 0, receiver: int = 1) -> Task:
    """A task of ``effort`` on service 0 handed at time 0 from team ``sender`` to ``receiver``'s pool."""
    item = WorkItem(1, FEATURE, FROM_DEMAND, 0, (), effort, 0.0, planned=effort)
    task = m.new_task(item, m.teams[receiver].pool, (0,), (effort,), (effort, 0.0, 0.0), rework=rework)
    task.handler = Inner()
    m.handoff(task, m.teams[sender], 0.0)
    return task


# --- rules ----------------------------------------------------------------------------
def test_only_provider_customer_negotiates() -> None:
    assert negotiation_delay(Relationship(mode="provider_customer", negotiation_ticks=2.5)) == 2.5
    assert negotiation_delay(Relationship(mode="collaboration", negotiation_ticks=2.5)) == 0.0
    assert negotiation_delay(Relationship(mode="none", negotiation_ticks=2.5)) == 0.0


def test_scale_multiplies_every_effort_of_a_task() -> None:
    task = transfer(model())
    scale(task, 2.0)
    assert (task.effort, task.service_efforts, task.category_efforts) == (6.0, (6.0,), (6.0, 0.0, 0.0))


def test_a_customer_waits_for_negotiation_and_over_asks() -> None:
    m = model(mode="provider_customer", negotiation_ticks=2.0, over_ask_factor=1.5)
    task = transfer(m, effort=3.0)
    assert task.ready == pytest.approx(2.0)  # no handoff delay in the frictionless organisation
    assert (task.effort, task.service_efforts) == (pytest.approx(4.5), (pytest.approx(4.5),))


def test_a_rework_pass_negotiates_but_is_not_inflated() -> None:
    # A fix's scope is set by the defect it mends: nothing to over-ask.
    task = transfer(model(mode="provider_customer", negotiation_ticks=2.0, over_ask_factor=1.5), rework=True)
    assert (task.ready, task.effort) == (pytest.approx(2.0), 3.0)


def test_work_not_from_a_team_is_not_a_transfer() -> None:
    # The desk's escalations are handed over from no team of the organisation: no relationship.
    m = model(mode="provider_customer", negotiation_ticks=2.0, over_ask_factor=1.5)
    item = WorkItem(1, FEATURE, FROM_DEMAND, 0, (), 3.0, 0.0, planned=3.0)
    task = m.new_task(item, m.teams[1].pool, (0,), (3.0,), (3.0, 0.0, 0.0))
    m.handoff(task, None, 0.0)
    assert (task.ready, task.effort, task.handler) == (0.0, 3.0, None)


def test_swarming_splits_the_work_when_the_receiver_starts() -> None:
    m = model(mode="collaboration", swarm_share=0.5)
    task = transfer(m, effort=3.0)
    swarm = task.handler
    assert isinstance(swarm, Swarm) and task.effort == 3.0  # nothing split while it waits
    m._process(until=0.5)
    inner = swarm.inner
    assert inner.started == [(task, 0.0)]
    helper = swarm.helper
    # The receiver keeps 1/(1+s) of the work; s/(1+s) goes to the front of the sender's own queue.
    assert task.effort == pytest.approx(2.0) and task.category_efforts[0] == pytest.approx(2.0)
    assert helper.effort == pytest.approx(1.0) and helper.service_efforts == (pytest.approx(1.0),)
    assert helper.pool is m.teams[0].pool and helper.priority == HELPER_PRIORITY < task.priority
    assert helper.team is m.teams[0]  # the sender had a free person: the help started at once
    # The transfer is done for its own handler once both parts are: at 2, not at 1.
    m._process(until=1.5)
    assert inner.done == []
    m._process(until=3.0)
    assert inner.done == [(task, pytest.approx(2.0))]


@pytest.mark.parametrize("helper_first", [True, False])
def test_a_swarmed_transfer_is_done_when_its_last_part_is(helper_first: bool) -> None:
    m = model(mode="collaboration", swarm_share=1.0)
    task = transfer(m)
    swarm = task.handler
    swarm.on_start(task, 0.0)
    parts = [swarm.helper, task] if helper_first else [task, swarm.helper]
    swarm.on_done(parts[0], 1.0)
    assert swarm.inner.done == []
    swarm.on_done(parts[1], 2.0)
    assert swarm.inner.done == [(task, 2.0)]


def test_no_swarm_without_a_share() -> None:
    task = transfer(model(mode="collaboration", swarm_share=0.0))
    assert isinstance(task.handler, Inner)


@pytest.mark.parametrize("structure", STRUCTURES)
def test_the_relationship_keys_change_nothing_while_mode_is_none(structure: str) -> None:
    inert = {"negotiation_ticks": 5.0, "over_ask_factor": 2.0, "swarm_share": 1.0}
    plain = run_scenario(small_scenario(structure), seed=3).summary
    assert OrgModel(small_scenario(structure, relationship=inert), seed=3).relationship is None
    assert run_scenario(small_scenario(structure, relationship=inert), seed=3).summary == plain


@pytest.mark.parametrize("mode", ["provider_customer", "collaboration"])
@pytest.mark.parametrize("structure", STRUCTURES)
def test_every_item_is_finished_at_a_low_load(structure: str, mode: str) -> None:
    # A transfer that never completed (a lost part of a swarm) would leave its item open for ever.
    sections = deep_merge(FRICTIONLESS, {"relationship": {"mode": mode}})
    sections |= {"simulation": {"ticks": 200, "warmup_ticks": 5}, "demand": {"arrival_rate": 0.5}}
    m = OrgModel(small_scenario(structure, **sections), seed=4)
    m.run()
    items = m.items.table()
    early = items[items["arrival"] < 150]
    assert len(early) > 50 and early["completion"].notna().all()


def test_a_provider_s_turnaround_counts_from_the_request_including_negotiation() -> None:
    overrides = {
        "sourcing": {"enabled": True},
        "relationship": {"mode": "provider_customer", "negotiation_ticks": 4.0},
        "simulation": {"ticks": 30, "warmup_ticks": 5},
    }
    m = OrgModel(small_scenario("micro_provider", **overrides), seed=2)
    m.run()
    market = m.structure.market
    assert market.scores.seen.any()
    assert (market.scores.turnaround[market.scores.seen] >= 4.0 + m.config.handoff.delay_ticks).all()


# --- effects --------------------------------------------------------------------------
def transferred_lead_time(result: RunResult) -> float:
    """Mean lead time of the demand items finished in the window that crossed a team boundary."""
    items = result.items
    warmup = 100  # SHORT's warm-up
    done = items[(items["origin"] == FROM_DEMAND) & (items["arrival"] >= warmup) & (items["handoffs"] > 0)]
    return float((done["completion"] - done["arrival"]).mean())


def paired(path, measure, base: list[str], changed: list[str]) -> Estimate:
    """Paired difference ``changed - base`` of ``measure(result)`` over the test seeds (short runs)."""
    first, second = (load_scenario(path, [*SHORT, *base, *extra]) for extra in ([], changed))
    return Estimate.of([measure(run_scenario(second, seed=s)) - measure(run_scenario(first, seed=s)) for s in SEEDS])


def lead_time(result: RunResult) -> float:
    return result.summary["lead_time_mean_ticks"]


@pytest.mark.slow
@pytest.mark.parametrize("path", [CENTRAL_IT, MICRO_PROVIDER], ids=STRUCTURES)
def test_provider_customer_costs_raise_lead_time(path) -> None:
    # At 4 items a day, where both structures are stable with and without the costs.
    estimate = paired(path, lead_time, ["demand.arrival_rate=4"], ["relationship.mode=provider_customer"])
    assert estimate.shows_sign(+1), estimate


@pytest.mark.slow
@pytest.mark.parametrize(
    "path, base",
    [
        (CENTRAL_IT, ["demand.arrival_rate=3"]),
        # Requests decide a micro-provider item's lead time only when they are as large as its own
        # work; with the shipped share (0.3) they finish before the owner does, swarmed or not.
        (MICRO_PROVIDER, ["demand.arrival_rate=2", "demand.dependency_effort_share=1.0"]),
    ],
    ids=STRUCTURES,
)
def test_collaboration_at_low_load_shortens_transferred_work(path, base: list[str]) -> None:
    estimate = paired(path, transferred_lead_time, base, ["relationship.mode=collaboration"])
    assert estimate.shows_sign(-1), estimate

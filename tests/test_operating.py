"""Operating-model mechanisms (issue 5): each rule on its own, then the sign of each
mechanism's effect when it is switched on, on the reference organisation.

Rules: tech debt ages, stretches work and raises the defect risk, and upgrades pay it down;
unprotected upgrades are skipped only under pressure; project teams re-form in turn, keep a
share of their knowledge, lose capacity while forming and drop their work ties; a WIP limit
admits items up to the limit, then from its backlog by priority; make-or-buy consumers switch
provider on score, by a margin and in turn; an item's value. They are tested on the engine a
scenario runs in, the compiled kernel: end to end on hand-built organisations
(conftest.hand_built) whose times are worked out in the comments, or by calling the kernel's
rule (``flow.debt_defect_factor``, ``flow.skips_upgrade``, ``flow.observe``, ``flow.review``)
on a model's arrays primed by hand.

Effect tests compare paired runs (same seeds, so the same demand) over 10 seeds and pass
when a one-sided paired t test (9 degrees of freedom, level ``EFFECT_ALPHA`` = 1%) finds the
difference in the expected direction: a mechanism without the effect passes 1% of the time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import (
    CENTRAL_IT,
    MICRO_PROVIDER,
    SE_MULTIPLE,
    Estimate,
    arrive,
    hand_built,
    replication_seeds,
    run_all,
)

from sim.model.kernel import flow
from sim.model.work import FEATURE, INCIDENT, KTLO
from sim.run import item_value, run_scenario
from sim.scenario.files import load_scenario

SEEDS = replication_seeds(10, entropy=505)
STABLE_LOAD = ["demand.arrival_rate=6.5"]
SHORT = ["simulation.ticks=300", "simulation.warmup_ticks=100"]  # an effect's sign, not a steady-state level


# --- rules ----------------------------------------------------------------------------
def test_debt_ages_raises_effort_and_risk_and_upgrades_pay_it_down() -> None:
    # Two teams owning a service each; every service ages 0.1 a tick. At 5 both carry 0.5: a
    # 1-day feature on service 0 and a 1-day upgrade (KTLO, protected from skipping) on service
    # 1 arriving then take 1 + 2 x 0.5 = 2 days each, done at 7. The upgrade pays down 0.75 of
    # service 1's debt then (0.7 to 0.175); the end of tick 7 ages both once more.
    debt = {"enabled": True, "aging_per_tick": 0.1, "effort_effect": 2.0, "upgrade_paydown": 0.75}
    model = hand_built(simulation={"ticks": 8}, organisation={"teams": 2}, tech_debt=debt | {"protected_share": 1.0})
    arrive(model, 5.0, 1.0, service=0)
    arrive(model, 5.0, 1.0, service=1, kind=KTLO)
    run_all(model)
    items = model.items.table()
    assert items["completion"].tolist() == [7.0, 7.0]
    assert items["touch_time"].tolist() == [2.0, 2.0]
    s = model.kernel.state
    assert s.debt.tolist() == pytest.approx([0.8, 0.275], rel=1e-12)
    means = [0.1 * (tick + 1) for tick in range(7)] + [(0.8 + 0.275) / 2]
    assert model.recorder.frame()["tech_debt"].tolist() == pytest.approx(means, rel=1e-12)
    # The defect risk of a task is scaled by 1 + (defect effect 1) x the mean debt of its
    # services: the kernel's factor for a task row primed with services (0, 1), (1,) and none.
    for services, factor in (((0, 1), 1 + (0.8 + 0.275) / 2), ((1,), 1.275), ((), 1.0)):
        s.tasks["nserv"][0] = len(services)
        s.task_services[0, : len(services)] = services
        assert flow.debt_defect_factor(model.kernel.ref, 0) == pytest.approx(factor, rel=1e-12)


@pytest.mark.parametrize(("skip_pressure", "completions"), [(0.3, [1.0, 4.0]), (0.31, [1.0, 5.0, 2.0])])
def test_an_unprotected_upgrade_is_skipped_only_under_pressure(skip_pressure: float, completions: list[float]) -> None:
    # One person: a 1-day feature starts at 0 and a 3-day one waits in the queue, a pressure of
    # 3 / (1 person x a horizon of 10 ticks) = 0.3. An unprotected upgrade arriving at 0.5 is
    # skipped when that reaches the skip pressure (the waiting feature then runs from 1 to 4);
    # otherwise it goes ahead of the waiting feature (upgrades come first): 1 to 2, then 2 to 5.
    model = hand_built(
        quality={"pressure_horizon_ticks": 10.0},
        tech_debt={"enabled": True, "aging_per_tick": 0.0, "skip_pressure": skip_pressure, "protected_share": 0.0},
    )
    arrive(model, 0.0, 1.0)
    arrive(model, 0.0, 3.0)
    arrive(model, 0.5, 1.0, kind=KTLO)
    run_all(model)
    skipped = 3 - len(completions)
    assert model.recorder.ktlo_skipped.tolist() == [skipped, 0, 0, 0, 0, 0]
    items = model.items.table()
    assert items["kind"].tolist() == ["feature", "feature", "ktlo"][: len(completions)]
    assert items["completion"].tolist() == completions


@pytest.mark.parametrize("protected", [0.0, 0.5, 1.0])
def test_a_protected_share_of_upgrades_is_never_skipped(protected: float) -> None:
    # At any pressure (skipping from 0), the kernel's rule (``flow.skips_upgrade``) on an
    # upgrade placed for team 0 skips it in a share 1 - ``protected`` of 4000 draws.
    model = hand_built(tech_debt={"enabled": True, "skip_pressure": 0.0, "protected_share": protected})
    arrive(model, 0.0, 1.0, kind=KTLO)
    upgrade = int(model.kernel.state.ctr[flow.ITEMS]) - 1
    skips = [flow.skips_upgrade(model.kernel.ref, model.rng, upgrade) for _ in range(4000)]
    assert abs(np.mean(skips) - (1 - protected)) <= SE_MULTIPLE * np.sqrt(protected * (1 - protected) / 4000)


def test_project_teams_reform_in_turn_and_start_cold() -> None:
    # Four teams owning a service each, knowing 0.9 of every service (primed; new people know
    # 0.1), on projects of 4 ticks staggered a tick apart: team 3's first project ends with
    # tick 0, team 2's with tick 1, and so on. A re-formed team keeps 0.25 of what it knew,
    # 0.25 x 0.9 + 0.75 x 0.1 = 0.3 (0.15 after a second project), and loses 0.2 of its
    # capacity for its first 3 ticks: team 2 (formed at 2) does a 1-day item arriving at 2 in
    # 1 / 0.8 = 1.25 days, one arriving at 5.5 in a day; team 0, not re-formed yet, one at 2 in a day.
    model = hand_built(
        simulation={"ticks": 8},
        organisation={"teams": 4, "services": 4},
        knowledge={"initial": 0.1},
        operating_model={
            "kind": "project",
            "project_ticks": 4,
            "knowledge_kept": 0.25,
            "onboarding_ticks": 3,
            "onboarding_cost": 0.2,
        },
    )
    model.knowledge = 0.9
    for at, service in ((2.0, 2), (2.0, 0), (5.5, 2)):
        arrive(model, at, 1.0, service)
    formed_at = model.kernel.state.formed_at
    reformed, known = [], []
    for tick in range(8):
        model.step()
        reformed.append(np.flatnonzero(formed_at == tick + 1).tolist())
        known.append(model.knowledge.mean(axis=1).tolist())
    assert reformed == [[3], [2], [1], [0], [3], [2], [1], [0]]
    assert known[0] == pytest.approx([0.9, 0.9, 0.9, 0.3], rel=1e-12)
    assert known[3] == pytest.approx([0.3] * 4, rel=1e-12)
    assert known[7] == pytest.approx([0.15] * 4, rel=1e-12)
    assert model.items.table()["completion"].tolist() == pytest.approx([3.25, 3.0, 6.5], rel=1e-12)


def test_reformed_teams_lose_their_work_ties() -> None:
    # Three teams owning a service each, on projects of 4 ticks: team 2's first ends with tick
    # 1 (team 1's with tick 2). Team 0 does a 0.5-day item touching service 2, then one touching
    # service 1, sending each request as it starts it (at 0 and 0.5): a tie with team 2 and one
    # with team 1, in tick 0. Team 2's new people know nobody: after tick 1 one tie is left.
    model = hand_built(
        organisation={"teams": 3, "services": 3}, operating_model={"kind": "project", "project_ticks": 4}
    )
    arrive(model, 0.0, 0.5, deps=(2,))
    arrive(model, 0.0, 0.5, deps=(1,))
    model.step()
    assert model.ties.counts.tolist() == [[0, 1, 1], [1, 0, 0], [1, 0, 0]]
    model.step()
    assert model.ties.counts.tolist() == [[0, 1, 0], [1, 0, 0], [0, 0, 0]]
    assert model.kernel.state.ties_weight.tolist() == [1.0, 1.0, 0.0]  # each team's exchanges


def test_wip_limit_admits_up_to_the_limit_then_by_priority() -> None:
    # One team of two, at most one open item a person: 2. Features of 5 and 6 days arriving at
    # 0 enter and start at once; a 1-day feature arriving at 1 and a 1-day incident at 2 wait
    # in the backlog. When the first is done, at 5, the incident enters in its place (incidents
    # come first) after waiting 3, done at 6; the feature enters at 6 after waiting 5, done at 7.
    model = hand_built(
        simulation={"ticks": 8},
        organisation={"team_size": 2},
        intake={"policy": "wip_limit", "wip_limit_per_person": 1.0},
    )
    for at, effort, kind in ((0.0, 5.0, FEATURE), (0.0, 6.0, FEATURE), (1.0, 1.0, FEATURE), (2.0, 1.0, INCIDENT)):
        arrive(model, at, effort, kind=kind)
    run_all(model)
    items = model.items.table()
    assert items["completion"].tolist() == [5.0, 6.0, 7.0, 6.0]
    assert items["backlog_wait"].tolist() == [0.0, 0.0, 5.0, 3.0]
    assert items["queue_wait"].tolist() == [0.0] * 4
    assert model.recorder.frame()["intake_backlog"].tolist() == [0, 1, 2, 2, 2, 1, 0, 0]
    assert model.kernel.state.intake_open.tolist() == [0]


def test_consumers_switch_on_score_with_a_margin_and_in_turn() -> None:
    """Make-or-buy's review (``flow.review``), called on team 0's requests on service 1 (owned
    by team 1); consumers review every 2 ticks, team 0 at even ticks. The outside provider
    scores its mean turnaround, 4 (no defects); the owner its smoothed turnaround (``flow.observe``)."""
    sourcing = {"review_ticks": 2, "external_lead_ticks": 4.0, "external_defect_prob": 0.0, "switch_margin": 0.5}
    model = hand_built(organisation={"teams": 2}, sourcing=sourcing | {"enabled": True, "switch_cost_days": 0.0})
    s, ref, rng = model.kernel.state, model.kernel.ref, model.rng
    s.market_used[0, 1] = True
    flow.observe(ref, 1, 5.0, False)  # 5 < 4 x 1.5: inside the margin
    flow.review(ref, rng, 0)
    assert not s.market_external[0, 1]
    flow.observe(ref, 1, 25.0, False)  # smoothed: 5 + 0.1 x 20 = 7 > 6
    assert s.score_turnaround[1] == pytest.approx(7.0)
    flow.review(ref, rng, 1)  # team 0 reviews at even ticks only
    assert not s.market_external[0, 1]
    flow.review(ref, rng, 2)
    assert s.market_external[0, 1]
    s.score_turnaround[1] = 2.0  # 4 > 2 x 1.5: back inside
    flow.review(ref, rng, 3)
    assert s.market_external[0, 1]
    flow.review(ref, rng, 4)
    assert not s.market_external[0, 1]
    assert model.recorder.frame()["provider_switches"].tolist() == [0, 0, 1, 0, 1, 0]


def test_item_value_counts_completed_demand_less_the_cost_of_delay() -> None:
    config = load_scenario(CENTRAL_IT)
    items = pd.DataFrame(
        {
            "kind": pd.Categorical(["feature", "incident", "ktlo", "feature"]),
            "origin": [0, 1, 0, 0],
            "effort": [2.0, 1.0, 1.0, 1.0],
            "completion": [10.0, 5.0, 200.0, np.nan],
            "lead_time": [10.0, 5.0, 200.0, np.nan],
        }
    )
    value = item_value(items, config)
    # 4 per day x 2 days x (1 - 0.01 x 10); failure demand and unfinished items are worth nothing;
    # a delay beyond 100 ticks has cost all of the value.
    assert value.tolist() == pytest.approx([7.2, 0.0, 0.0, 0.0])


# --- effects --------------------------------------------------------------------------
def paired(path, metric: str, base: list[str], changed: list[str]) -> Estimate:
    """Paired difference ``changed - base`` of ``metric`` over the test seeds (short runs)."""
    first, second = (load_scenario(path, [*SHORT, *base, *extra]) for extra in ([], changed))
    return Estimate.of(
        [run_scenario(second, seed=s).summary[metric] - run_scenario(first, seed=s).summary[metric] for s in SEEDS]
    )


def assert_sign(estimate: Estimate, sign: int) -> None:
    assert estimate.shows_sign(sign), f"expected sign {sign:+d}, got {estimate}"


@pytest.mark.slow
@pytest.mark.parametrize("metric, sign", [("knowledge_held_mean", -1), ("lead_time_mean_ticks", +1)])
def test_project_teams_hold_less_knowledge_and_deliver_slower(metric: str, sign: int) -> None:
    assert_sign(paired(MICRO_PROVIDER, metric, [], ["operating_model.kind=project"]), sign)


@pytest.mark.slow
@pytest.mark.parametrize("metric", ["lead_time_mean_ticks", "rework_rate"])
def test_tech_debt_makes_work_slower_and_riskier(metric: str) -> None:
    assert_sign(paired(MICRO_PROVIDER, metric, [], ["tech_debt.enabled=true", "tech_debt.aging_per_tick=0.02"]), +1)


@pytest.mark.slow
def test_skipping_maintenance_under_pressure_grows_debt() -> None:
    base = ["tech_debt.enabled=true", "tech_debt.skip_pressure=0.05", "demand.arrival_rate=8.0"]
    assert_sign(paired(MICRO_PROVIDER, "tech_debt_mean", base, ["tech_debt.protected_share=0.0"]), +1)


@pytest.mark.slow
def test_accepting_everything_slows_delivery() -> None:
    # At a load central IT sustains with a queue (lead times of collapsed runs mean nothing).
    assert_sign(paired(CENTRAL_IT, "lead_time_mean_ticks", STABLE_LOAD, ["intake.policy=accept_all"]), +1)


@pytest.mark.slow
def test_a_wip_limit_delivers_faster_than_accepting_everything() -> None:
    base = [*STABLE_LOAD, "intake.policy=accept_all"]
    estimate = paired(CENTRAL_IT, "lead_time_mean_ticks", base, ["intake.policy=wip_limit"])
    assert_sign(estimate, -1)


@pytest.mark.slow
def test_misrouting_incidents_delays_restoring_service() -> None:
    base = ["service_desk.enabled=true", "service_desk.routing_accuracy=1.0"]
    changed = ["service_desk.routing_accuracy=0.3"]
    assert_sign(paired(MICRO_PROVIDER, "time_to_restore_mean_ticks", base, changed), +1)


@pytest.mark.slow
def test_desk_feedback_teaches_the_owners() -> None:
    base = [
        "service_desk.enabled=true",
        "service_desk.feedback_share=0.0",
        "service_desk.resolve_max_days=3.0",
        "knowledge.initial=0.0",
    ]
    assert_sign(paired(MICRO_PROVIDER, "knowledge_held_mean", base, ["service_desk.feedback_share=2.0"]), +1)


@pytest.mark.slow
def test_overloaded_consumers_buy_from_a_fast_external_provider_at_a_cost() -> None:
    base = ["demand.arrival_rate=10.5"]
    market = ["sourcing.enabled=true", "sourcing.external_lead_ticks=1.0", "sourcing.review_ticks=5"]
    assert_sign(paired(MICRO_PROVIDER, "bought_effort_share", base, market), +1)
    assert_sign(paired(MICRO_PROVIDER, "cost_per_tick", base, market), +1)


def test_central_it_has_no_providers_to_switch_between() -> None:
    plain = run_scenario(load_scenario(CENTRAL_IT, SHORT), seed=3)
    market = run_scenario(load_scenario(CENTRAL_IT, [*SHORT, "sourcing.enabled=true"]), seed=3)
    assert plain.summary == market.summary


@pytest.mark.slow
def test_cost_of_delay_lowers_value_for_money() -> None:
    estimate = paired(CENTRAL_IT, "value_for_money", [], ["value.delay_cost_per_tick=0.05"])
    assert_sign(estimate, -1)

"""Operating-model mechanisms (issue 5): each rule on its own, then the sign of each
mechanism's effect when it is switched on, on the reference organisation.

Effect tests compare paired runs (same seeds, so the same demand) over 10 seeds and pass
when a one-sided paired t test (9 degrees of freedom, level ``EFFECT_ALPHA`` = 1%) finds the
difference in the expected direction: a mechanism without the effect passes 1% of the time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import CENTRAL_IT, MICRO_PROVIDER, SE_MULTIPLE, Estimate, replication_seeds

from sim.model.debt import DebtLedger
from sim.model.intake import WipLimit
from sim.model.projects import ProjectRotation
from sim.model.sourcing import Market
from sim.model.spread import WorkTies
from sim.model.work import FEATURE, FROM_DEMAND, INCIDENT, WorkItem
from sim.run import item_value, run_scenario
from sim.scenario.files import load_scenario
from sim.scenario.schema import Intake, OperatingModel, Sourcing, TechDebt

SEEDS = replication_seeds(10, entropy=505)
STABLE_LOAD = ["demand.arrival_rate=6.5"]
SHORT = ["simulation.ticks=300", "simulation.warmup_ticks=100"]  # an effect's sign, not a steady-state level


def item(kind: int = FEATURE, arrival: float = 0.0) -> WorkItem:
    return WorkItem(0, kind, FROM_DEMAND, 0, (), 1.0, arrival)


# --- rules ----------------------------------------------------------------------------
def test_debt_ages_raises_effort_and_risk_and_upgrades_pay_it_down() -> None:
    ledger = DebtLedger(TechDebt(enabled=True, aging_per_tick=0.1, effort_effect=2.0, upgrade_paydown=0.75), 3)
    for _ in range(5):
        ledger.age()
    assert ledger.debt == pytest.approx([0.5, 0.5, 0.5])
    assert ledger.effort_factor(0) == pytest.approx(2.0)
    ledger.pay_down(1)
    assert ledger.debt[1] == pytest.approx(0.125)
    assert ledger.defect_factor((0, 1)) == pytest.approx(1 + (0.5 + 0.125) / 2)
    assert ledger.defect_factor(()) == 1.0


def test_unprotected_upgrades_are_skipped_only_under_pressure() -> None:
    rng = np.random.default_rng(1)
    skip_all = DebtLedger(TechDebt(enabled=True, skip_pressure=0.3, protected_share=0.0), 1)
    assert skip_all.skips(0.3, rng)
    assert not skip_all.skips(0.29, rng)
    protect = DebtLedger(TechDebt(enabled=True, skip_pressure=0.0, protected_share=1.0), 1)
    assert not any(protect.skips(1.0, rng) for _ in range(100))
    half = DebtLedger(TechDebt(enabled=True, skip_pressure=0.0, protected_share=0.5), 1)
    share = np.mean([half.skips(1.0, rng) for _ in range(4000)])
    assert abs(share - 0.5) <= SE_MULTIPLE * np.sqrt(0.25 / 4000)


def test_project_teams_reform_in_turn_and_start_cold() -> None:
    rotation = ProjectRotation(OperatingModel(kind="project", project_ticks=4, knowledge_kept=0.25), 4)
    due = [set(rotation.due(tick).tolist()) for tick in range(8)]
    assert [len(d) for d in due] == [1] * 8  # staggered: one team per tick
    assert set().union(*due[:4]) == {0, 1, 2, 3}  # each team once per project
    knowledge = np.full((4, 2), 0.9)
    rotation.reform(np.array([2]), knowledge, initial=0.1, tick=5)
    assert knowledge[2] == pytest.approx([0.25 * 0.9 + 0.75 * 0.1] * 2)
    assert knowledge[0] == pytest.approx([0.9, 0.9])
    assert rotation.onboarding_loss(2, 6.0 + 9.9) == pytest.approx(0.2)
    assert rotation.onboarding_loss(2, 6.0 + 10) == 0.0
    assert rotation.onboarding_loss(0, 6.0) == 0.0


def test_reformed_teams_lose_their_work_ties() -> None:
    ties = WorkTies(3)
    ties.add(0, 1)
    ties.add(1, 2)
    ties.forget(np.array([1]))
    assert ties.edges() == 0


def test_wip_limit_admits_up_to_the_limit_then_by_priority() -> None:
    limit = WipLimit(Intake(policy="wip_limit", wip_limit_per_person=1.0), [2], rank=lambda i: 0 if i.kind else 1)
    first, second, feature, incident = item(), item(), item(FEATURE, 1.0), item(INCIDENT, 2.0)
    assert limit.offer(first, 0, 0.0)
    assert limit.offer(second, 0, 0.0)
    assert not limit.offer(feature, 0, 1.0)
    assert not limit.offer(incident, 0, 2.0)
    assert limit.waiting() == 2
    assert limit.release(first, 5.0) is incident  # the higher priority enters first
    assert incident.backlog_wait == pytest.approx(3.0)
    assert limit.release(second, 6.0) is feature
    assert limit.release(incident, 7.0) is None
    assert limit.open == [1]


def test_consumers_switch_on_score_with_a_margin_and_in_turn() -> None:
    config = Sourcing(
        enabled=True, review_ticks=2, external_lead_ticks=4.0, external_defect_prob=0.0, switch_margin=0.5
    )
    market = Market(config, teams=2, services=1)
    owners = np.array([1])
    assert not market.buys(0, 0)
    market.observe(1, 5.0, failed=False)  # 5 < 4 x 1.5: inside the margin
    assert market.review(0, owners) == []
    market.observe(1, 25.0, failed=False)  # smoothed: 5 + 0.1 x 20 = 7 > 6
    assert market.score(owners)[0] == pytest.approx(7.0)
    assert market.review(1, owners) == []  # consumer 0 reviews on even ticks only
    assert market.review(2, owners) == [(0, 0)]
    assert market.buys(0, 0)
    market.scores.turnaround[1] = 2.0  # 4 > 2 x 1.5: back inside
    assert market.review(4, owners) == [(0, 0)]
    assert not market.buys(0, 0)


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

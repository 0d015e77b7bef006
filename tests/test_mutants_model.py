"""Tests that kill mutants of ``sim/model/org_model.py`` and ``sim/model/structures.py`` the
oracle tests let survive (tests/MUTATION.md): the capacity lost to forming a project team and
to learning the practice, the stretch of unfamiliar work and its booking by category, the load
that context switching reads under ``accept_all``, the smoothed load behind coupled adoption,
skipped upgrades under tech debt, the work ties each handoff makes, rework passes under both
structures, escalated incidents, escaped defects, the spread of the practice (initial adopters,
network, mandate), misrouting, and make-or-buy with its migration.

Each test runs a hand-built organisation of one to eight teams with no random demand
(``arrival_rate`` 0): the items are placed at chosen times (``OrgModel.place``), every friction
not under test is off, and the expected times and person-days are worked out in the comments.
The runs go through the engine a scenario runs in, the compiled kernel, so these tests guard
its rules (with ``NUMBA_DISABLE_JIT=1`` as plain Python, too)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TWO_SILOS, arrive, deep_merge, hand_built, run_all

from sim.model.org_model import OrgModel
from sim.model.work import FEATURE, FROM_DEMAND, FROM_ESCAPED_DEFECT, INCIDENT, KTLO


def ties(model: OrgModel) -> int:
    """Work exchanges counted between teams 0 and 1."""
    return int(model.ties.counts[0, 1])


# --- capacity, stretch, switching ---------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "coupled", "kept"),
    [("project", True, 0.7 * 0.8), ("project", False, 0.8), ("product", True, 0.7), ("product", False, 1.0)],
)
def test_capacity_lost_to_forming_a_project_team_and_to_learning_compounds(
    kind: str, coupled: bool, kept: float
) -> None:
    # One team of one. It adopts the practice at tick 0 (learning dip 0.3 for 10 ticks, only with
    # capacity coupling); under the project model (project of 2 ticks) it re-forms at the end
    # of tick 1 and loses 0.2 while forming, for 5 ticks. A 1-day item arriving at 2.25 is done
    # at the share of capacity kept, the product of what each loss leaves: 0.7 x 0.8, 0.8
    # (forming only), 0.7 (learning only; a product team never re-forms), 1.
    model = hand_built(
        operating_model={"kind": kind, "project_ticks": 2, "onboarding_ticks": 5, "onboarding_cost": 0.2},
        spread={"initial_adopters": 1, "capacity_coupling": coupled, "learning_cost": 0.3, "learning_ticks": 10},
    )
    arrive(model, 2.25, 1.0)
    run_all(model)
    assert model.items.table()["completion"].tolist() == pytest.approx([2.25 + 1.0 / kept], rel=1e-12)


def test_unfamiliar_work_is_stretched_and_booked_by_category() -> None:
    # One team owning both services, half known (penalty 1: stretch 1 + 1 x 0.5 = 1.5). An item
    # of 1 day on service 0 touching service 1 (0.5 x 1 = 0.5 days, the same owner's work):
    # 1.5 days stretched to 2.25, from 0.5 to 2.75; new work 1 x 1.5, dependency 0.5 x 1.5.
    model = hand_built(knowledge={"initial": 0.5, "unfamiliarity_penalty": 1.0})
    arrive(model, 0.5, 1.0, deps=(1,))
    run_all(model)
    item = model.items.table().iloc[0]
    assert (item["completion"], item["touch_time"]) == (2.75, 2.25)
    series = model.recorder.frame()
    assert series["busy_new_days"].sum() == pytest.approx(1.5, rel=1e-12)
    assert series["busy_dependency_days"].sum() == pytest.approx(0.75, rel=1e-12)
    assert series["busy_rework_days"].sum() == 0


@pytest.mark.parametrize(("policy", "second"), [("accept_all", 1 / 0.9), ("queue", 1.0)])
def test_accepted_unstarted_work_adds_to_the_load_under_accept_all(policy: str, second: float) -> None:
    # One person; items of 1 day at 0, 0.25 and 0.5. The first starts alone (load 1: no loss).
    # At 1 the second starts with the third accepted and waiting: under accept_all that weighs
    # 0.5, a load of 1.5 items per person, halfway between the losses 0 at 1 and 0.2 at 2: a
    # tenth of capacity lost, 1 / 0.9 days. Queued work (policy queue) weighs nothing.
    model = hand_built(
        intake={"policy": policy},
        context_switching={"loss_by_concurrency": [0.0, 0.2, 0.4], "waiting_weight": 0.5},
    )
    for at in (0.0, 0.25, 0.5):
        arrive(model, at, 1.0)
    run_all(model)
    completions = model.items.table()["completion"].tolist()
    assert completions == pytest.approx([1.0, 1.0 + second, 2.0 + second], rel=1e-12)


def test_the_load_is_the_busy_share_averaged_over_the_load_memory() -> None:
    # Two people, one busy through ticks 0 and 1: busy share 0.5; with a memory of 10 ticks the
    # load moves a tenth of the way each tick: 0.05, then 0.05 + 0.1 x (0.5 - 0.05) = 0.095.
    model = hand_built(organisation={"team_size": 2}, spread={"capacity_coupling": True, "start_tick": 5})
    arrive(model, 0.0, 2.0)
    model.step()
    assert model.loads.tolist() == pytest.approx([0.05], rel=1e-12)
    model.step()
    assert model.loads.tolist() == pytest.approx([0.095], rel=1e-12)
    # An idle team (load 0) with external influence 1 adopts at the start tick, 1, for sure.
    idle = hand_built(spread={"capacity_coupling": True, "start_tick": 1, "external_prob": 1.0})
    run_all(idle)
    assert idle.recorder.adoption_share.tolist() == [0, 1, 1, 1, 1, 1]


@pytest.mark.parametrize(("protected", "skipped"), [(0.0, 1), (1.0, 0)])
def test_an_unprotected_upgrade_is_skipped_under_pressure(protected: float, skipped: int) -> None:
    # Skipping from pressure 0 up, none protected: the KTLO item (an upgrade) is skipped, never
    # logged; the feature is never skipped. All protected: both arrive.
    model = hand_built(tech_debt={"enabled": True, "skip_pressure": 0.0, "protected_share": protected})
    arrive(model, 0.25, 1.0, kind=KTLO)
    arrive(model, 0.5, 1.0, kind=FEATURE)
    run_all(model)
    assert model.recorder.ktlo_skipped.tolist() == [skipped, 0, 0, 0, 0, 0]
    assert model.items.table()["kind"].tolist() == ["ktlo"] * (1 - skipped) + ["feature"]


# --- handoffs, ties and rework ------------------------------------------------------------
def test_a_caught_defect_goes_back_through_the_pipeline_from_the_largest_stage() -> None:
    # Two silos, 0.5 days each for a 1-day item arriving at 0. The handoff to operations loses
    # information (loss 1): a defect, caught at the end (detection 1). The rework (half the
    # item's effort over the stages from the largest, the first: 0.25 days each) goes back to
    # the first silo and down the pipeline again: done at 0.5 + 0.5 + 0.25 + 0.25 = 1.5, after
    # three handoffs between the two teams (a rework pass loses nothing), each a work tie.
    model = hand_built(
        "central_it",
        **deep_merge(
            TWO_SILOS,
            {"handoff": {"loss_prob": 1.0}, "quality": {"early_detection_prob": 1.0, "rework_effort_fraction": 0.5}},
        ),
    )
    arrive(model, 0.0, 1.0)
    run_all(model)
    item = model.items.table().iloc[0]
    assert (item["completion"], item["reworks"], item["handoffs"], item["escaped"]) == (1.5, 1, 3, False)
    assert ties(model) == 3
    series = model.recorder.frame()
    assert (series["busy_new_days"].sum(), series["busy_rework_days"].sum()) == (1.0, 0.5)


def test_an_escalated_incident_is_diagnosed_by_operations_then_passes_the_pipeline() -> None:
    # The desk (one person) triages a 1-day incident in 0.25 days, cannot resolve it (over 0.5
    # days) and escalates it: operations diagnoses it (its usual share, 0.5 days, to 0.75),
    # hands it to the first silo (to 1.25), which hands it back to operations (to 1.75).
    # Three handoffs; the two from operations' and the first silo's team are work ties.
    desk = {"enabled": True, "staff": 1, "triage_days": 0.25, "resolve_max_days": 0.5, "routing_accuracy": 1.0}
    model = hand_built("central_it", **deep_merge(TWO_SILOS, {"service_desk": desk | {"feedback_share": 0.0}}))
    arrive(model, 0.0, 1.0, kind=INCIDENT)
    run_all(model)
    item = model.items.table().iloc[0]
    assert (item["completion"], item["handoffs"], item["desk_resolved"]) == (1.75, 3, False)
    assert ties(model) == 2


def test_a_request_is_a_handoff_to_the_provider_booked_as_dependency_work() -> None:
    # Team 0 owns service 0, team 1 service 1. A 1-day item on 0 touching 1 (0.5 days) arrives
    # at 0: team 0 does its part (to 1) and sends the request on starting; with a handoff delay
    # of 1, team 1 does it from 1 to 1.5. The item waited 0.5 days on its dependency after its
    # own part; one handoff, one tie; the request is dependency work, the own part new work.
    model = hand_built(organisation={"teams": 2}, handoff={"delay_ticks": 1.0})
    assert model.structure.owners.tolist() == [0, 1]
    arrive(model, 0.0, 1.0, deps=(1,))
    run_all(model)
    item = model.items.table().iloc[0]
    assert (item["completion"], item["dependency_wait"], item["handoffs"]) == (1.5, 0.5, 1)
    assert ties(model) == 1
    series = model.recorder.frame()
    assert series["busy_new_days"].sum() == 1.0
    assert series["busy_dependency_days"].sum() == 0.5
    assert series["busy_rework_days"].sum() == 0


def test_a_micro_provider_reworks_the_whole_item_at_the_owner() -> None:
    # As above, but the request's handoff loses information (a defect) and the owner catches it
    # when the request is back at 1.5: the rework is half of every planned effort (0.5 + 0.25
    # days) at the owner, from 1.5 to 2.25, then the item is released, defect-free.
    model = hand_built(
        organisation={"teams": 2},
        handoff={"delay_ticks": 1.0, "loss_prob": 1.0},
        quality={"early_detection_prob": 1.0, "rework_effort_fraction": 0.5},
    )
    arrive(model, 0.0, 1.0, deps=(1,))
    run_all(model)
    item = model.items.table().iloc[0]
    assert (item["completion"], item["reworks"], item["escaped"], item["dependency_wait"]) == (2.25, 1, False, 0.5)
    assert model.recorder.frame()["busy_rework_days"].sum() == 0.75


def test_an_escaped_defect_is_reported_from_the_next_working_day() -> None:
    # Every task injects a defect (base 1) and none is caught: the item done at 1.25 fails in
    # operation and its incident (0.8 of its effort) arrives at 2; that fix, done at 2.8, fails
    # too, and the next incident (the same effort: a fix's failure is not scaled) arrives at 3.
    model = hand_built(quality={"base_defect_prob": 1.0, "early_detection_prob": 0.0})
    arrive(model, 0.25, 1.0)
    run_all(model)
    items = model.items.table().iloc[:3]
    assert items["origin"].tolist() == [FROM_DEMAND, FROM_ESCAPED_DEFECT, FROM_ESCAPED_DEFECT]
    assert items["arrival"].tolist() == [0.25, 2.0, 3.0]
    assert items["effort"].tolist() == pytest.approx([1.0, 0.8, 0.8], rel=1e-12)
    assert items["completion"].tolist() == pytest.approx([1.25, 2.8, 3.8], rel=1e-12)
    assert items["escaped"].tolist() == [True, True, True]


# --- spread of the practice -----------------------------------------------------------------
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("adopters", [3, 8])
def test_the_initial_adopters_are_that_many_distinct_teams(adopters: int, seed: int) -> None:
    model = hand_built(seed=seed, organisation={"teams": 8}, spread={"initial_adopters": adopters})
    model.step()
    assert int(model.adopted.sum()) == adopters
    assert model.recorder.adoption_share[0] == adopters / 8


@pytest.mark.parametrize(("network", "share"), [("complete", 1.0), ("work", 0.5)])
def test_imitation_reaches_every_team_on_the_complete_network_and_only_work_partners_otherwise(
    network: str, share: float
) -> None:
    # Two teams, one adopter at tick 0, imitation 1, no outside influence. On the complete
    # network the other team sees an adopter share of 1 and adopts at once; on the work network
    # it has exchanged no work (no demand), so it is never reached.
    model = hand_built(
        organisation={"teams": 2}, spread={"initial_adopters": 1, "imitation_prob": 1.0, "network": network}
    )
    run_all(model)
    assert model.recorder.adoption_share.tolist() == [share] * 6


def test_the_mandate_makes_every_team_adopt_from_its_lag() -> None:
    # No outside influence, no imitation; a mandate 2 ticks after the start (tick 1) with
    # compliance 1: nobody adopts before tick 3, everybody at tick 3.
    model = hand_built(
        organisation={"teams": 4}, spread={"start_tick": 1, "mandate_lag_ticks": 2, "mandate_compliance_prob": 1.0}
    )
    run_all(model)
    assert model.recorder.adoption_share.tolist() == [0, 0, 0, 1, 1, 1]


# --- misrouting ---------------------------------------------------------------------------------
def test_a_misrouted_incident_lands_in_any_silo_but_operations() -> None:
    stages = [
        {"name": "analysis", "effort_share": 0.25},
        {"name": "build", "effort_share": 0.25},
        {"name": "operations", "effort_share": 0.5},
    ]
    model = hand_built("central_it", organisation={"teams": 3}, central_it={"stages": stages})
    item = model.demand.new_item(INCIDENT, FROM_DEMAND, 0, (), 1.0, 0.0)
    rng = np.random.default_rng(0)
    assert {model.structure.wrong_pool(item, rng).name for _ in range(100)} == {"analysis", "build"}


@pytest.mark.parametrize("teams", [1, 2, 3])
def test_a_misrouted_incident_lands_at_any_team_but_the_owner(teams: int) -> None:
    # With one team there is no other: the owner itself.
    model = hand_built(organisation={"teams": teams, "services": 3})
    rng = np.random.default_rng(0)
    for service in range(3):
        item = model.demand.new_item(INCIDENT, FROM_DEMAND, service, (), 1.0, 0.0)
        owner = model.structure.owner(service).index
        landed = {model.structure.wrong_pool(item, rng).teams[0].index for _ in range(100)}
        assert landed == (set(range(teams)) - {owner} or {owner})


# --- make or buy ------------------------------------------------------------------------------
@pytest.mark.parametrize(("enabled", "switches"), [(True, 1), (False, 0)])
def test_a_consumer_switches_provider_only_with_make_or_buy_and_pays_the_migration(
    enabled: bool, switches: int
) -> None:
    # Team 0's item (1 day) requests 0.5 days of service 1 from team 1, back at 0.5. At the end
    # of tick 0 team 0 reviews it (every tick): a turnaround of 0.5 against an outside provider
    # scored 0.01 (failures weigh nothing, no margin): it switches, once, and the migration (1
    # person-day of dependency work at team 0, from 1 to 2) is booked besides the request. It
    # opens no item: every team ends holding nothing. Without make-or-buy nobody reviews.
    sourcing = {"review_ticks": 1, "external_lead_ticks": 0.01, "failure_weight": 0.0, "switch_margin": 0.0}
    model = hand_built(organisation={"teams": 2}, sourcing=sourcing | {"enabled": enabled, "switch_cost_days": 1.0})
    arrive(model, 0.0, 1.0, deps=(1,))
    run_all(model)
    series = model.recorder.frame()
    assert series["provider_switches"].tolist() == [switches, 0, 0, 0, 0, 0]
    assert series["busy_dependency_days"].sum() == 0.5 + switches
    assert series["bought_days"].sum() == 0
    assert [team.open_items for team in model.teams] == [0, 0]
    assert model.items.table()["completion"].tolist() == [1.0]

"""Projects that start and end (``operating_model.kind = "funded_projects"``): the rules one
by one, then the sign of the effect against durable product teams.

The rules are tested on the engine a scenario runs in, the compiled kernel: end to end on
hand-built organisations (conftest.hand_built: no random demand, no frictions; here teams of
three) whose times, headcounts and knowledge are worked out in the comments, or by calling the
kernel's rule (``flow.team_size``, ``flow.donors``, ``flow.forming_loss``) on a model's arrays
primed by hand. Project teams live in the kernel's slots: a team row and a pool per slot after
the standing teams' (``params.slot_team``, ``params.slot_pool``).

Effect tests compare paired runs (same seeds, so the same organisation and demand) over 10
seeds and pass when a one-sided paired t test (Student t with 9 degrees of freedom, level
``EFFECT_ALPHA`` = 1%: the tolerance is t(0.99, 9) = 2.82 standard errors of the mean
difference) finds the difference in the expected direction. A model in which funding
features as projects had no effect passes each with probability 1%. The false-failure rate
(a correct model failing) is the test's type II error: at the effects measured when the
tests were written (t = 136 and 160 for feature lead time under central IT and
micro-providers, 83 for the owners' knowledge; noncentral t with 9 degrees of freedom) it is
below 1e-12 for each test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import (
    CENTRAL_IT,
    FRICTIONLESS,
    MICRO_PROVIDER,
    TWO_SILOS,
    Estimate,
    arrive,
    deep_merge,
    hand_built,
    replication_seeds,
    run_all,
    small_scenario,
)

from sim import ScenarioError
from sim.model.kernel import flow
from sim.model.org_model import OrgModel
from sim.model.work import INCIDENT
from sim.run import run_scenario
from sim.scenario.files import load_scenario, validate_scenario

STRUCTURES = ("central_it", "micro_provider")
SEEDS = replication_seeds(10, entropy=1818)
SHORT = ["simulation.ticks=300", "simulation.warmup_ticks=100"]
FUNDED = {"operating_model": {"kind": "funded_projects", "funding_ticks": 5, "project_ticks": 10}}
# Hand-built: funding rounds at the ends of ticks 4, 9, ...; no capacity lost while a team forms
# unless a test says so.
ROUNDS = {"operating_model": FUNDED["operating_model"] | {"onboarding_cost": 0.0}}


def teams_of_three(structure: str = "micro_provider", ticks: int = 20, **sections) -> OrgModel:
    """A hand-built organisation of two teams of three people (under central IT, a build and an
    operations silo) whose features are funded as projects."""
    base = deep_merge(TWO_SILOS if structure == "central_it" else {"organisation": {"teams": 2}}, ROUNDS)
    base = deep_merge(base, {"organisation": {"team_size": 3}, "simulation": {"ticks": ticks}})
    return hand_built(structure, **deep_merge(base, sections))


def slot_row(model: OrgModel, slot: int = 0) -> int:
    """The kernel's team row of project slot ``slot``."""
    return int(model.kernel.state.params[0]["slot_team"]) + slot


def standing(model: OrgModel) -> list[int]:
    """The standing teams' headcounts (less the people lent to projects)."""
    return [t.headcount for t in model.teams]


def run_all_rest(model: OrgModel) -> None:
    """The ticks of ``model`` not yet run."""
    model.kernel.run_until(model.config.simulation.ticks)


# --- rules ----------------------------------------------------------------------------
def test_off_by_default_and_the_product_model_has_no_project_slots() -> None:
    assert validate_scenario({}).operating_model.kind == "product"
    params = OrgModel(small_scenario(), seed=1).kernel.state.params[0]
    assert not params["funded"] and params["slots"] == 0 and params["project_cap"] == 0
    # Funded: as many slots as people may be on projects at once (half of 4 x 2 people).
    model = OrgModel(small_scenario("micro_provider", **FUNDED), seed=1)
    params = model.kernel.state.params[0]
    assert params["funded"] and params["slots"] == 4 and params["project_cap"] == 4
    assert params["slot_team"] == len(model.teams)


@pytest.mark.parametrize("structure", STRUCTURES)
def test_features_wait_for_the_funding_round_and_become_one_project(structure: str) -> None:
    # Features of 2 and 13 days arrive at 1 and 2; the first funding round is at the end of
    # tick 4 (time 5). Until then they wait and nobody holds them or works on them.
    model = teams_of_three(structure)
    arrive(model, 1.0, 2.0)
    arrive(model, 2.0, 13.0)
    s, row = model.kernel.state, slot_row(model)
    for _ in range(4):  # ticks 0..3; the round is the last thing of tick 4
        model.step()
    assert s.fund_ctr.tolist() == [2, 0]  # two features waiting, none on a project
    waiting = s.fund_backlog[:2].tolist()
    assert s.items["id"][waiting].tolist() == [1, 2]
    assert (s.items["holders"][waiting] == -1).all()  # nobody has started them
    assert not s.proj_active.any() and not s.team_busy.any()
    model.step()  # the round: one project of both, in slot 0, formed at 5
    assert s.fund_ctr.tolist() == [0, 2]  # none waiting, two on a project not yet handed over
    assert s.proj_active.tolist() == [True, False, False] and s.proj_items[0] == 2
    assert s.items["project"][waiting].tolist() == [0, 0]
    assert s.proj_first[0] == waiting[0] and s.items["project_next"][waiting].tolist() == [waiting[1], -1]
    assert s.team_formed[row] == 5.0
    # 15 person-days for a planned 10 ticks: ceil(15 / 10) = 2 people (cap: half of 6), one
    # from each team; both start at 5, the team's two tasks.
    assert standing(model) == [2, 2] and s.team_headcount[row] == 2 and s.team_busy[row] == 2
    run_all_rest(model)
    items = model.items.table()
    assert items["backlog_wait"].tolist() == [4.0, 3.0]  # the wait for funding, 5 - arrival


def test_a_project_team_is_sized_for_its_planned_length_within_the_caps() -> None:
    # Four teams of three (12 people), a planned length of 10 ticks.
    def model(share: float) -> OrgModel:
        sections = {"organisation": {"teams": 4, "team_size": 3}, "operating_model": {"project_people_share": share}}
        return hand_built("micro_provider", **deep_merge(ROUNDS, sections))

    half = model(0.5)
    ref = half.kernel.ref
    assert flow.team_size(ref, 25.0) == 3  # ceil(25 / 10)
    assert flow.team_size(ref, 1.0) == 1  # at least one
    assert flow.team_size(ref, 1000.0) == 6  # cap: half of 12 people
    s = half.kernel.state
    s.proj_active[0], s.team_headcount[slot_row(half)] = True, 2  # two already on a project
    s.proj_nowed[0], s.proj_owed[0, 0], s.proj_owed_count[0, 0] = 1, 3, 1  # and one promised
    assert flow.team_size(ref, 1000.0) == 3  # 6 - 3
    whole = model(1.0)
    ref, s = whole.kernel.ref, whole.kernel.state
    assert flow.team_size(ref, 1000.0) == 8  # every team keeps one of its three
    s.team_owed[1] = 2  # team 1 has promised two: it has nobody more to lend
    assert flow.team_size(ref, 1000.0) == 6


def chosen(model: OrgModel, size: int, services: tuple[int, ...] = (0, 1)) -> list[int]:
    """The donor teams the kernel picks for a project of ``size`` people on ``services``."""
    s = model.kernel.state
    s.fund_services[:] = False
    s.fund_services[list(services)] = True
    flow.donors(model.kernel.ref, size)
    return s.fund_chosen[:size].tolist()


def test_people_come_from_the_teams_with_most_idle_people_and_each_keeps_one() -> None:
    # Central IT, four teams of three in shared pools (every pool's idle people in one ring).
    def model() -> OrgModel:
        sections = {"organisation": {"teams": 4, "team_size": 3}, "operating_model": {"project_people_share": 1.0}}
        return hand_built("central_it", **deep_merge(ROUNDS, sections))

    busy = model()
    s = busy.kernel.state
    assert flow.idle_remove(busy.kernel.ref, s.team_pool[0], 0)  # team 0 has one person busy (2 idle)
    assert chosen(busy, 3) == [1, 2, 3]  # the team with a busy person lends last
    assert chosen(busy, 8) == [1, 2, 3, 0, 1, 2, 3, 0]  # then in turn, and everyone keeps one
    owed = model()
    owed.kernel.state.team_owed[0] = 1  # all idle; team 0 has promised one: two at home
    assert chosen(owed, 1) == [1]  # among equally idle teams, the most people at home
    owed.kernel.state.team_owed[0] = 2  # one at home: team 0 lends nobody
    assert sorted(chosen(owed, 6)) == [1, 1, 2, 2, 3, 3]
    knows = model()
    values = knows.knowledge.copy()
    values[2, 1] = 0.9  # team 2 knows service 1 best (0.3 elsewhere)
    knows.knowledge = values
    assert chosen(knows, 1, services=(1,)) == [2]  # among equals, the best knowledge of the services
    assert chosen(knows, 1, services=(0,)) == [0]  # a tie on that too: the lowest index
    assert chosen(knows, 2, services=(0, 1)) == [2, 0]  # mean 0.6 over both; then team 2 has fewer idle


def test_people_move_to_the_project_team_and_come_back() -> None:
    # Team 0 is busy on three 7-day incidents from 0 to 7; features of 2, 2 and 11 days arrive
    # at 1, 2, 3 on service 1 (team 1's). With a planned length of 5, the round at 5 wants
    # ceil(15 / 5) = 3 people (cap: half of 6). Team 1 has the most idle people, twice (3, then
    # 2 against team 0's 0), then keeps its last one; team 0's third is promised (all busy):
    # the project starts at 5 with 2 people and the third joins when an incident ends at 7.
    model = teams_of_three(operating_model={"project_ticks": 5})
    for _ in range(3):
        arrive(model, 0.0, 7.0, service=0, kind=INCIDENT)
    for at, effort in ((1.0, 2.0), (2.0, 2.0), (3.0, 11.0)):
        arrive(model, at, effort, service=1)
    s, row = model.kernel.state, slot_row(model)
    seen = []
    for _ in range(20):
        model.step()
        seen.append((standing(model), int(s.team_headcount[row]), s.team_owed[:2].tolist()))
        # Capacity is conserved: standing headcounts + people on projects = all people.
        assert sum(standing(model)) + flow.people_on_projects(model.kernel.ref) == 6
    # The two start the 2-day features at 5 (done at 7), the third person the 11-day one at 7
    # (done at 18): the last build hands over at 18 and everyone goes home.
    assert seen == (
        [([3, 3], 0, [0, 0])] * 4  # ticks 0..3
        + [([3, 1], 2, [1, 0])] * 3  # 4..6: two lent by team 1, one promised by team 0
        + [([2, 1], 3, [0, 0])] * 11  # 7..17: team 0's person has joined
        + [([3, 3], 0, [0, 0])] * 2  # 18, 19: back home
    )
    assert model.recorder.frame()["project_people"].tolist() == [0] * 4 + [2] * 3 + [3] * 11 + [0] * 2
    assert model.items.table()["completion"].tolist() == [7.0, 7.0, 7.0, 18.2, 18.2, 19.1]


@pytest.mark.parametrize("structure", STRUCTURES)
def test_capacity_is_conserved_at_every_tick(structure: str) -> None:
    model = OrgModel(
        small_scenario(
            structure,
            **deep_merge(FUNDED, {"organisation": {"teams": 4, "team_size": 3}}),
            demand={"arrival_rate": 5.0},
            simulation={"ticks": 60, "warmup_ticks": 5},
        ),
        seed=4,
    )
    s, ref, total = model.kernel.state, model.kernel.ref, 12
    pools = len(s.pool_headcount)
    seen_project = promised = False
    for tick in range(60):
        model.step()
        on_projects = flow.people_on_projects(ref)
        assert sum(standing(model)) + on_projects == total
        assert model.recorder.project_people[tick] == on_projects
        assert all(t.headcount >= 1 for t in model.teams)
        for pool in range(pools):  # the standing pools', the desk's and the project slots'
            members = s.team_pool[: len(s.team_busy)] == pool
            assert s.pool_headcount[pool] == s.team_headcount[members].sum()
            assert s.idle_len[pool] + s.team_busy[members].sum() == s.pool_headcount[pool]  # the promised still work
        promised |= bool(s.team_owed.any())
        seen_project |= bool(s.proj_active.any())
        if not s.proj_active.any():
            assert sum(standing(model)) == total and not s.team_owed.any()
    assert seen_project and promised


def test_a_project_team_brings_and_takes_back_its_peoples_knowledge() -> None:
    # Team 0 knows both services at 0.1, team 1 at 0.5. Features of 7 and 8 days on service 0
    # arrive at 1: ceil(15 / 10) = 2 people. Equally idle and at home, team 1 lends first (it
    # knows service 0 better), then team 0 (3 idle against 2): the project team knows
    # (0.5 + 0.1) / 2 = 0.3, the mean of its people's, and works from team 1's practice.
    model = teams_of_three()
    model.knowledge = np.array([[0.1, 0.1], [0.5, 0.5]])
    arrive(model, 1.0, 7.0)
    arrive(model, 1.0, 8.0)
    s, row = model.kernel.state, slot_row(model)
    for _ in range(5):
        model.step()
    assert s.proj_lent[0, :2].tolist() == [1, 0] and s.team_home[row] == 1
    assert s.knowledge[row].tolist() == pytest.approx([0.3, 0.3], rel=1e-12)
    s.knowledge[row] = 0.9  # what it learns (no learning here: set by hand)
    run_all_rest(model)
    # Built at 12 and 13, handed over at 13: each home team's knowledge is the people-weighted
    # mean of its two at home and its one back, (2 x 0.1 + 0.9) / 3 and (2 x 0.5 + 0.9) / 3.
    assert model.items.table()["completion"].tolist() == pytest.approx([13.7, 13.8], rel=1e-12)
    assert model.knowledge.ravel().tolist() == pytest.approx([1.1 / 3] * 2 + [1.9 / 3] * 2, rel=1e-12)
    assert standing(model) == [3, 3] and not s.proj_active.any()


@pytest.mark.parametrize(("structure", "service"), [("micro_provider", 1), ("central_it", 0)])
def test_built_features_are_handed_to_the_team_that_runs_their_service(structure: str, service: int) -> None:
    # Features of 2 and 13 days, funded at 5 with one person from each team (the project's
    # home team is team 0, the first donor): built at 7 and 18. At 18 both are handed over
    # (handover_share 0.1: 0.2 and 1.3 days) to the team that runs their service, team 1 (a
    # micro-provider's service 1: its owner; central IT: the operations silo), not the home
    # team, arriving after the handoff delay of 0.5: done at 18.7 and 19.8, one handoff each.
    model = teams_of_three(structure, ticks=22, handoff={"delay_ticks": 0.5})
    arrive(model, 1.0, 2.0, service=service)
    arrive(model, 2.0, 13.0, service=service)
    for _ in range(19):  # ticks 0..18: at 19 the runner is on the second hand-over
        model.step()
    assert model.kernel.state.team_home[slot_row(model)] == 0  # the project's home team was team 0
    assert [t.busy for t in model.teams] == [0, 1]
    run_all_rest(model)
    items = model.items.table()
    assert items["completion"].tolist() == pytest.approx([18.7, 19.8], rel=1e-12)
    assert items["touch_time"].tolist() == pytest.approx([2.2, 14.3], rel=1e-12)
    assert items["handoffs"].tolist() == [1, 1]


@pytest.mark.parametrize(("detection", "expected"), [(0.0, ([7.2, 9.6], True, 0)), (1.0, ([7.8], False, 1))])
def test_the_running_team_verifies_what_is_handed_over(detection: float, expected: tuple) -> None:
    # A 2-day feature funded at 5, built at 7, handed to team 0 (0.2 days, done at 7.2) with
    # its information lost. Not caught: it is released and escapes, an incident of
    # 0.8 x 2 = 1.6 days at the next tick, 8 to 9.6. Caught: team 0 reworks 0.3 x 2 = 0.6
    # days, released at 7.8.
    model = teams_of_three(handoff={"loss_prob": 1.0}, quality={"early_detection_prob": detection})
    arrive(model, 1.0, 2.0)
    run_all(model)
    items = model.items.table()
    completions, escaped, reworks = expected
    assert items["completion"].tolist() == pytest.approx(completions, rel=1e-12)
    assert items["escaped"].iloc[0] == escaped and items["reworks"].iloc[0] == reworks


@pytest.mark.parametrize("structure", STRUCTURES)
def test_information_lost_at_handover_escapes_when_nothing_is_caught(structure: str) -> None:
    lossy = {
        **FRICTIONLESS,
        "handoff": {"delay_ticks": 0.0, "loss_prob": 1.0},
        "quality": {"base_defect_prob": 0.0, "early_detection_prob": 0.0},
        "demand": {"kinds": {"feature": 1.0, "incident": 0.0, "ktlo": 0.0}},
        "simulation": {"ticks": 60, "warmup_ticks": 5},
    }
    config = small_scenario(structure, **deep_merge(lossy, FUNDED))
    summary = run_scenario(config, seed=2).summary
    features_done = summary["throughput_per_tick"]
    assert features_done > 0
    assert summary["change_failure_rate"] == 1.0  # every handover lost information
    assert summary["incidents_after_release_per_tick"] == pytest.approx(features_done)


def test_a_project_team_loses_capacity_while_it_forms() -> None:
    # Onboarding: a quarter of the capacity for 4 ticks after forming.
    onboarding = {"operating_model": {"onboarding_ticks": 4, "onboarding_cost": 0.25}}
    model = teams_of_three(**onboarding)
    s, ref, row = model.kernel.state, model.kernel.ref, slot_row(model)
    s.team_formed[row] = 10.0
    assert flow.forming_loss(ref, row, 13.9) == 0.25
    assert flow.forming_loss(ref, row, 14.0) == 0.0
    assert flow.forming_loss(ref, 0, 0.0) == 0.0  # a standing team never forms
    # End to end: a 2-day feature funded at 5 is built by one person at 0.75 a day, done at
    # 5 + 2 / 0.75 (inside the window); the hand-over (0.2 days, team 0) ends it.
    model = teams_of_three(**onboarding)
    arrive(model, 1.0, 2.0)
    run_all(model)
    assert model.items.table()["completion"].tolist() == pytest.approx([5 + 2 / 0.75 + 0.2], rel=1e-12)


@pytest.mark.parametrize("structure", STRUCTURES)
def test_incidents_and_upgrades_still_go_to_the_standing_teams(structure: str) -> None:
    config = small_scenario(
        structure, **deep_merge(FUNDED, {"demand": {"kinds": {"feature": 0.0, "incident": 0.5, "ktlo": 0.5}}})
    )
    model = OrgModel(config, seed=3)
    model.run()
    s = model.kernel.state
    assert s.fund_ctr.tolist() == [0, 0] and np.isneginf(s.team_formed).all()  # nothing was ever funded
    assert not model.recorder.frame()["project_people"].any()
    plain = small_scenario(structure, demand={"kinds": {"feature": 0.0, "incident": 0.5, "ktlo": 0.5}})
    assert run_scenario(config, seed=3).summary == run_scenario(plain, seed=3).summary


def test_same_seed_same_run() -> None:
    config = small_scenario("central_it", **FUNDED)
    assert run_scenario(config, seed=9).summary == run_scenario(config, seed=9).summary


@pytest.mark.parametrize(
    "sections, message",
    [
        ({"organisation": {"team_size": 1}}, "team_size must be at least 2"),
        ({"operating_model": {"project_people_share": 0.01}}, "at least one person on a project team"),
        ({"operating_model": {"funding_ticks": 0}}, "funding_ticks"),
        ({"operating_model": {"handover_share": -0.1}}, "handover_share"),
    ],
)
def test_bad_values_are_refused_in_one_line(sections: dict, message: str) -> None:
    data = deep_merge({"operating_model": {"kind": "funded_projects"}}, sections)
    with pytest.raises(ScenarioError) as exc:
        validate_scenario(data)
    text = str(exc.value)
    assert message in text
    assert len([line for line in text.splitlines() if line.strip()]) == 1


# --- effects --------------------------------------------------------------------------
def paired(path, metric: str, structure: str) -> Estimate:
    """Paired difference funded projects - product of ``metric`` over the test seeds (short runs)."""
    base = [*SHORT, f"structure={structure}"]
    product, projects = (
        load_scenario(path, [*base, f"operating_model.kind={kind}"]) for kind in ("product", "funded_projects")
    )
    values = []
    for seed in SEEDS:
        a, b = run_scenario(product, seed=seed).summary[metric], run_scenario(projects, seed=seed).summary[metric]
        assert a is not None and b is not None and math.isfinite(a) and math.isfinite(b)
        values.append(b - a)
    return Estimate.of(values)


@pytest.mark.slow
@pytest.mark.parametrize("structure", STRUCTURES)
def test_funded_features_take_longer_from_request_to_release(structure: str) -> None:
    estimate = paired(CENTRAL_IT, "feature_lead_time_mean_ticks", structure)
    assert estimate.shows_sign(+1), estimate


@pytest.mark.slow
def test_owners_know_their_services_less_when_projects_build_them() -> None:
    estimate = paired(MICRO_PROVIDER, "run_knowledge_mean", "micro_provider")
    assert estimate.shows_sign(-1), estimate

"""Projects that start and end (``operating_model.kind = "funded_projects"``): the rules one
by one, then the sign of the effect against durable product teams.

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
from conftest import CENTRAL_IT, FRICTIONLESS, MICRO_PROVIDER, Estimate, deep_merge, replication_seeds, small_scenario

from sim import ScenarioError
from sim.model.org_model import OrgModel
from sim.model.projects import HANDOVER, FundedProjects, ProjectTeam
from sim.model.work import FEATURE
from sim.run import run_scenario
from sim.scenario.files import load_scenario, validate_scenario

STRUCTURES = ("central_it", "micro_provider")
SEEDS = replication_seeds(10, entropy=1818)
SHORT = ["simulation.ticks=300", "simulation.warmup_ticks=100"]
FUNDED = {"operating_model": {"kind": "funded_projects", "funding_ticks": 5, "project_ticks": 10}}


def funded(structure: str, **sections) -> OrgModel:
    """A small organisation (4 teams of 3) whose features are funded as projects, in the object
    engine, whose rules these tests read (the kernel runs the same, tests/test_kernel.py)."""
    base = deep_merge({"organisation": {"teams": 4, "team_size": 3}}, FUNDED)
    return OrgModel(small_scenario(structure, **deep_merge(base, sections)), seed=4, compiled=False)


def people(model: OrgModel) -> int:
    return sum(t.headcount for t in model.teams) + model.projects.people_on_projects()


# --- rules ----------------------------------------------------------------------------
def test_off_by_default_and_the_product_model_has_no_projects() -> None:
    assert validate_scenario({}).operating_model.kind == "product"
    assert OrgModel(small_scenario(), seed=1).projects is None
    assert isinstance(funded("micro_provider").projects, FundedProjects)


@pytest.mark.parametrize("structure", STRUCTURES)
def test_features_wait_for_the_funding_round_and_become_one_project(structure: str) -> None:
    model = funded(structure)
    for _ in range(4):  # ticks 0..3: the first round is at the end of tick 4
        model.step()
    waiting = list(model.projects.backlog)
    assert waiting and all(item.kind == FEATURE for item in waiting)
    assert all(item.holders == [] for item in waiting)  # nobody has started them
    assert not model.projects.active
    model.step()
    assert model.projects.backlog == [] and len(model.projects.active) == 1
    project = model.projects.active[0]
    assert project.items[: len(waiting)] == waiting
    assert project.start == 5.0 and project.planned_end == 15.0
    assert {s for item in project.items for s in item.plan_services} == set(project.services)
    for item in project.items:
        assert item.backlog_wait == pytest.approx(5.0 - item.arrival)  # the wait for funding


def test_a_project_team_is_sized_for_its_planned_length_within_the_caps() -> None:
    model = funded("micro_provider", operating_model={"project_people_share": 0.5})
    projects = model.projects
    assert projects.team_size(25.0) == 3  # ceil(25 / 10)
    assert projects.team_size(1.0) == 1
    assert projects.team_size(1000.0) == 6  # cap: half of 12 people
    model = funded("micro_provider", operating_model={"project_people_share": 1.0})
    assert model.projects.team_size(1000.0) == 8  # every team keeps one of its three


def test_people_come_from_the_teams_with_most_idle_people_and_each_keeps_one() -> None:
    model = funded("central_it", demand={"arrival_rate": 0.0})
    pool = model.teams[0].pool
    pool.idle.remove(model.teams[0])  # team 0 has one person busy (2 idle), the others 3
    first = model.projects.donors(3, (0, 1))
    assert [first.count(t) for t in model.teams] == [0, 1, 1, 1]  # the team with a busy person lends last
    every = model.projects.donors(8, (0, 1))
    assert [every.count(t) for t in model.teams] == [2, 2, 2, 2]  # everyone keeps one
    with pytest.raises(ValueError):  # nobody left to lend
        model.projects.donors(9, (0, 1))


@pytest.mark.parametrize("structure", STRUCTURES)
def test_people_move_and_come_back_and_capacity_is_conserved(structure: str) -> None:
    model = funded(structure, demand={"arrival_rate": 5.0}, simulation={"ticks": 60, "warmup_ticks": 5})
    total = 12
    seen_project = promised = False
    for _ in range(60):
        model.step()
        assert people(model) + sum(t.owed for t in model.teams) >= total
        assert all(t.headcount >= 1 for t in model.teams)
        for pool in model.structure.pools:
            assert pool.headcount == sum(t.headcount for t in pool.teams)
            assert len(pool.idle) + sum(t.busy for t in pool.teams) == pool.headcount  # the promised still work here
        promised |= any(t.owed for t in model.teams)
        seen_project |= bool(model.projects.active)
        if not model.projects.active:
            assert sum(t.headcount for t in model.teams) == total and not any(t.owed for t in model.teams)
    assert seen_project and promised
    np.testing.assert_array_equal(model._headcounts, [t.headcount for t in model.teams])


def test_a_project_team_brings_and_takes_back_its_peoples_knowledge() -> None:
    model = funded("micro_provider", demand={"arrival_rate": 0.0})
    model.knowledge[:] = np.array([[0.1] * 6, [0.5] * 6, [0.9] * 6, [0.9] * 6])
    projects = model.projects
    item = model.demand.new_item(FEATURE, 0, 1, (), 2.0, 0.0)
    model.items.arrive(item)
    model.open_count += 1
    projects.wait(item)
    project = projects.fund(0.0)
    assert project is not None and project.team.headcount == 1  # ceil(2 / 10)
    # Ties on idle people and people at home: the team that knows service 1 best (2 over 3).
    assert project.lent == {model.teams[2]: 1}
    assert project.team.row == pytest.approx([0.9] * 6)
    assert model.teams[2].headcount == 2
    project.team.row[:] = 1.0  # it learnt everything
    projects.disband(project, 1.0)
    # Back home: the team's knowledge is the people-weighted mean (2 x 0.9 + 1 x 1.0) / 3.
    assert model.teams[2].row == pytest.approx([2.8 / 3] * 6)
    assert model.teams[2].headcount == 3 and projects.active == []


@pytest.mark.parametrize("structure", STRUCTURES)
def test_built_features_are_handed_to_the_team_that_runs_their_service(structure: str) -> None:
    model = funded(
        structure, **FRICTIONLESS, demand={"arrival_rate": 2.0, "kinds": {"feature": 1.0, "incident": 0.0, "ktlo": 0.0}}
    )
    handovers = []
    original = model.handoff

    def spy(task, from_team, now):
        if task.stage == HANDOVER and isinstance(from_team, ProjectTeam):
            handovers.append((task, from_team))
        original(task, from_team, now)

    model.handoff = spy
    model.run()
    assert handovers
    for task, _ in handovers:
        runners = model.structure.responsible(task.item.service)
        assert task.pool is runners[0].pool
        assert task.effort == pytest.approx(0.1 * task.item.planned)  # handover_share
    done = run_scenario(model.config, seed=4).items.dropna(subset=["completion"])
    assert (done["handoffs"] >= 1).all()  # every feature crossed to its running team


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
    model = funded("micro_provider", operating_model={"onboarding_ticks": 4, "onboarding_cost": 0.25})
    team = ProjectTeam(model, 99, 0, 6, formed_at=10.0)
    assert model.projects.forming_loss(team, 13.9) == 0.25
    assert model.projects.forming_loss(team, 14.0) == 0.0
    assert model.projects.forming_loss(model.teams[0], 0.0) == 0.0


@pytest.mark.parametrize("structure", STRUCTURES)
def test_incidents_and_upgrades_still_go_to_the_standing_teams(structure: str) -> None:
    config = small_scenario(
        structure, **deep_merge(FUNDED, {"demand": {"kinds": {"feature": 0.0, "incident": 0.5, "ktlo": 0.5}}})
    )
    model = OrgModel(config, seed=3, compiled=False)
    model.run()
    assert model.projects.count == 0  # nothing to fund
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

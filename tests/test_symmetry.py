"""Every mechanism can act under both structures (DESIGN.md, the second rule).

One row per mechanism of the table in docs/ODD.md §7.8: switching the mechanism from
``off`` to ``on`` must change a run's summary under central IT and under micro-providers
alike (a mechanism that leaves one structure bit-identical cannot touch it). The keys that
truly apply to one structure only are tested in tests/test_applicability.py. Then the load
rule of context switching itself: one bookkeeping for both structures."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import small_scenario

from sim.model.kernel import flow
from sim.model.org_model import OrgModel
from sim.run import run_scenario

STRUCTURES = ("central_it", "micro_provider")

IMPROVING = {"enabled": True, "start_tick": 0, "effort_share": 0.2, "effort_days": 2.0, "copy_prob": 0.5}

# mechanism: (sections with it off, sections with it on); laid over a loaded small scenario.
MECHANISMS: dict[str, tuple[dict, dict]] = {
    "context switching": (
        {"context_switching": {"loss_by_concurrency": [0.0]}},
        {"context_switching": {"loss_by_concurrency": [0.0, 0.2, 0.4, 0.6, 0.75]}},
    ),
    "attention to waiting items": (
        {"context_switching": {"waiting_weight": 0.0}},
        {"context_switching": {"waiting_weight": 1.0}},
    ),
    "schedule pressure": ({"quality": {"pressure_effect": 0.0}}, {"quality": {"pressure_effect": 5.0}}),
    "learning": ({"knowledge": {"learning_rate": 0.0}}, {"knowledge": {"learning_rate": 0.5}}),
    "forgetting": ({"knowledge": {"forgetting_rate": 0.0}}, {"knowledge": {"forgetting_rate": 0.05}}),
    "unfamiliarity": ({"knowledge": {"unfamiliarity_penalty": 0.0}}, {"knowledge": {"unfamiliarity_penalty": 2.0}}),
    "handoff delay": ({"handoff": {"delay_ticks": 0.0}}, {"handoff": {"delay_ticks": 2.0}}),
    "handoff information loss": ({"handoff": {"loss_prob": 0.0}}, {"handoff": {"loss_prob": 0.5}}),
    "rework (early detection)": (
        {"quality": {"early_detection_prob": 0.0}},
        {"quality": {"early_detection_prob": 1.0}},
    ),
    "adoption cost (learning dip)": ({"spread": {"learning_cost": 0.0}}, {"spread": {"learning_cost": 0.9}}),
    "practice effect on defects": ({"spread": {"defect_reduction": 0.0}}, {"spread": {"defect_reduction": 1.0}}),
    "dependencies": ({"demand": {"dependency_touch_prob": 0.0}}, {"demand": {"dependency_touch_prob": 1.0}}),
    "overcommitment (accept all)": ({"intake": {"policy": "queue"}}, {"intake": {"policy": "accept_all"}}),
    "WIP limit": ({"intake": {"policy": "queue"}}, {"intake": {"policy": "wip_limit", "wip_limit_per_person": 0.5}}),
    "tech debt": ({"tech_debt": {"enabled": False}}, {"tech_debt": {"enabled": True, "aging_per_tick": 0.05}}),
    "project teams": (
        {"operating_model": {"kind": "product"}},
        {"operating_model": {"kind": "project", "project_ticks": 10}},
    ),
    "service desk": ({"service_desk": {"enabled": False}}, {"service_desk": {"enabled": True}}),
    "provider/customer relationship": (
        {"relationship": {"mode": "none"}},
        {"relationship": {"mode": "provider_customer"}},
    ),
    "collaboration (swarming)": ({"relationship": {"mode": "none"}}, {"relationship": {"mode": "collaboration"}}),
    "funded projects (assembled, handed over, disbanded)": (
        {"operating_model": {"kind": "product"}},
        {"operating_model": {"kind": "funded_projects", "funding_ticks": 10, "project_ticks": 10}},
    ),
    "improvement work": (
        {"improvement": {"enabled": False}},
        {"improvement": {"enabled": True, "start_tick": 0, "effort_share": 0.2, "effort_days": 2.0, "copy_prob": 0.0}},
    ),
    # Eight teams: with one team per silo, every silo works on (and knows) every improvement.
    "copying improvements (learning dip)": (
        {"organisation": {"teams": 8}, "improvement": {**IMPROVING, "copy_cost": 0.0}},
        {"organisation": {"teams": 8}, "improvement": {**IMPROVING, "copy_cost": 0.9}},
    ),
    "internal market": ({"market": {"enabled": False}}, {"market": {"enabled": True}}),
}

# Loaded enough that items wait on each other, defects and adoption happen within the run.
LOADED = {
    "simulation": {"ticks": 120, "warmup_ticks": 20},
    "demand": {"arrival_rate": 3.2, "dependency_touch_prob": 0.6},
    "organisation": {"dependencies_per_service": 2.0},
    "quality": {"base_defect_prob": 0.3},
    "spread": {"start_tick": 0, "initial_adopters": 1, "imitation_prob": 0.3, "external_prob": 0.05},
}


def _scenario(structure: str, sections: dict):
    merged = {key: dict(value) for key, value in LOADED.items()}
    for key, value in sections.items():
        merged[key] = {**merged.get(key, {}), **value}
    return small_scenario(structure, **merged)


@pytest.mark.parametrize("structure", STRUCTURES)
@pytest.mark.parametrize("mechanism", list(MECHANISMS))
def test_every_mechanism_acts_under_both_structures(mechanism: str, structure: str) -> None:
    off, on = MECHANISMS[mechanism]
    without = run_scenario(_scenario(structure, off), seed=11).summary
    with_it = run_scenario(_scenario(structure, on), seed=11).summary
    assert with_it != without, f"{mechanism} left {structure} bit-identical"


def open_items(model: OrgModel) -> dict[int, list[int]]:
    """Each open item's row in the kernel, with the teams on its holder list."""
    s = model.kernel.state
    rows = np.flatnonzero((s.items["order"][: s.ctr[flow.ITEMS]] >= 0) & (s.items["holders"][: s.ctr[flow.ITEMS]] >= 0))
    found = {}
    for item in rows.tolist():
        teams, node = [], s.items[item]["holders"]
        while node >= 0:
            teams.append(int(s.hold_team[node]))
            node = s.hold_next[node]
        found[item] = teams
    return found


@pytest.mark.parametrize("structure", STRUCTURES)
def test_a_team_carries_what_it_worked_on_until_the_item_is_released(structure: str) -> None:
    # At every tick, each team's open count equals the open items it appears among the
    # holders of, never less than those in its hands; once released, an item leaves them all.
    model = OrgModel(_scenario(structure, {}), seed=5)
    most_waiting = 0.0
    for _ in range(model.config.simulation.ticks):
        model.step()
        held = np.zeros(len(model.teams), dtype=np.int64)
        for teams in open_items(model).values():
            np.add.at(held, teams, 1)
        assert [team.open_items for team in model.teams] == held.tolist()
        for team in model.teams:
            assert 0 <= team.holding_in_hand <= team.busy
            most_waiting = max(most_waiting, team.waiting_items / team.headcount)
    # Items waiting beyond one per person: the switching loss can act under this structure.
    assert most_waiting > 1.0


def test_a_silo_holds_the_items_it_handed_down_the_pipeline() -> None:
    scenario = _scenario("central_it", {"handoff": {"delay_ticks": 3.0}, "demand": {"arrival_rate": 0.5}})
    model = OrgModel(scenario, seed=2)
    first_silo = {t.index for t in model.structure.pools[0].teams}
    handed_on = 0
    for _ in range(30):
        model.step()
        items = model.kernel.state.items
        for item, teams in open_items(model).items():
            if items[item]["handoffs"]:  # past the first stage: a first-silo team still carries it
                assert first_silo & set(teams)
                handed_on += 1
    assert handed_on > 0

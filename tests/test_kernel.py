"""The compiled kernel (sim/model/kernel), the model's one engine: whatever the parameters, a
run ends with its books in order (every item that arrived is in the table, open or done; the
teams' counts match the holder lists; no one works more than their capacity; every task slot
is accounted for), and the kernel's own machinery (the handle, the exact sums, no cycle of
compiled calls). That it gives the runs of the object-based engine it replaced is
tests/test_docking.py's (stored runs, reproduced value by value); its rules are tested one by
one on hand-built organisations (tests/test_mutants_model.py and the mechanisms' files)."""

from __future__ import annotations

import heapq
import inspect
import os
import re
import subprocess
import sys
from typing import Any

import numba
import numpy as np
import pandas as pd
import pytest
from conftest import ROUNDING, arrive, hand_built, small_scenario
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from numba.core.itanium_mangler import mangle_type_or_value
from pydantic import ValidationError

import sim.model.kernel
from sim import load_scenario
from sim.model.kernel import flow, heaps, sums, ticks
from sim.model.kernel.generator import GeneratorViewType, borrow_generator
from sim.model.kernel.state import QUEUE, STATE_REF, State, StateRefType, StateViewType, borrow
from sim.model.org_model import OrgModel


def held(s) -> np.ndarray:
    """Per team row, the items whose holder lists name it."""
    counts = np.zeros(len(s.team_open), dtype=np.int64)
    for item in np.flatnonzero(s.items["holders"][: s.ctr[flow.ITEMS]] >= 0):
        node = s.items[item]["holders"]
        while node >= 0:
            counts[s.hold_team[node]] += 1
            node = s.hold_next[node]
    return counts


def live_tasks(s) -> int:
    free, node = 0, s.ctr[flow.TASK_FREE]
    while node >= 0:
        free += 1
        node = s.tasks[node]["next_free"]
    return len(s.tasks) - free


def check_run(scenario, seed: int) -> OrgModel:
    """Run ``scenario`` a tick at a time, checking the books after every tick and at the end."""
    model = OrgModel(scenario, seed)
    for _ in range(scenario.simulation.ticks):
        model.step()
        s = model.kernel.state
        np.testing.assert_array_equal(s.team_open, held(s))
        assert (0 <= s.team_hold).all() and (s.team_hold <= s.team_busy).all()
        assert (s.team_busy <= np.maximum(s.team_headcount, 0) + s.team_owed).all()
        assert s.ctr[flow.TASKS_FREE] + live_tasks(s) == len(s.tasks)
    items, series = model.items.table(), model.recorder.frame()
    assert len(items) == len(model.items) == series["arrivals"].sum()
    assert items["id"].is_unique
    assert items["completion"].notna().sum() == series["completions"].sum()
    assert items["completion"].isna().sum() == model.open_count == series["wip"].iloc[-1]
    done = items[items["completion"].notna()]
    assert (done["lead_time"] >= 0).all()
    assert (items[["queue_wait", "touch_time", "dependency_wait", "backlog_wait"]] >= -ROUNDING).all().all()
    busy = series.filter(like="busy_").sum(axis=1) + series["improvement_days"]
    assert (series.filter(like="busy_") >= -ROUNDING).all().all()
    assert (busy <= series["capacity_days"] + ROUNDING).all()
    return model


core_scenarios = st.fixed_dictionaries(
    {
        "structure": st.sampled_from(["central_it", "micro_provider"]),
        "organisation": st.fixed_dictionaries(
            {
                "teams": st.integers(4, 9),
                "team_size": st.integers(1, 4),
                "services": st.integers(1, 12),
                "dependencies_per_service": st.floats(0.0, 4.0),
                "self_service_share": st.floats(0.0, 1.0),
                "self_service_effort_factor": st.floats(0.1, 1.0),
            }
        ),
        "demand": st.fixed_dictionaries(
            {
                "arrival_rate": st.floats(0.2, 12.0),  # from idle to far past capacity
                "dependency_touch_prob": st.floats(0.0, 1.0),
                "dependency_effort_share": st.floats(0.0, 1.0),
                "priority": st.permutations(["incident", "ktlo", "feature"]),
            }
        ),
        "handoff": st.fixed_dictionaries({"delay_ticks": st.floats(0.0, 2.0), "loss_prob": st.floats(0.0, 0.5)}),
        "quality": st.fixed_dictionaries(
            {"base_defect_prob": st.floats(0.0, 0.6), "early_detection_prob": st.floats(0.0, 1.0)}
        ),
        "knowledge": st.fixed_dictionaries(
            {"learning_rate": st.floats(0.0, 0.3), "forgetting_rate": st.floats(0.0, 0.05)}
        ),
        "intake": st.fixed_dictionaries(
            {
                "policy": st.sampled_from(["queue", "accept_all", "wip_limit"]),
                "wip_limit_per_person": st.floats(0.3, 3.0),
            }
        ),
        "relationship": st.fixed_dictionaries(
            {
                "mode": st.sampled_from(["none", "provider_customer", "collaboration"]),
                "swarm_share": st.floats(0.0, 1.0),
                "negotiation_ticks": st.floats(0.0, 3.0),
                "over_ask_factor": st.floats(1.0, 2.0),
            }
        ),
        "sourcing": st.fixed_dictionaries(
            {
                "enabled": st.booleans(),
                "review_ticks": st.integers(1, 15),
                "external_lead_ticks": st.floats(0.1, 6.0),
                "external_defect_prob": st.floats(0.0, 0.5),
                "switch_cost_days": st.floats(0.0, 3.0),
                "switch_margin": st.floats(0.0, 0.5),
                "failure_weight": st.floats(0.0, 8.0),
                "smoothing": st.floats(0.05, 1.0),
            }
        ),
        "market": st.fixed_dictionaries(
            {
                "enabled": st.booleans(),  # with make-or-buy too, the schema refuses it: rejected
                "internal_providers": st.integers(0, 4),
                "externals": st.lists(
                    st.fixed_dictionaries(
                        {
                            "capacity_days_per_tick": st.floats(0.2, 8.0),
                            "lead_ticks": st.one_of(st.just(0.0), st.floats(0.0, 5.0)),
                            "defect_prob": st.floats(0.0, 0.5),
                            "price_factor": st.floats(0.0, 3.0),
                        }
                    ),
                    max_size=2,
                ).map(lambda externals: [{"name": f"vendor-{k}", **e} for k, e in enumerate(externals)]),
                "review_ticks": st.integers(1, 15),
                "explore_prob": st.one_of(st.just(0.0), st.floats(0.0, 0.5)),
                "switch_margin": st.floats(0.0, 0.5),
                "switch_cost_days": st.floats(0.0, 3.0),
                "failure_weight": st.floats(0.0, 8.0),
                "price_weight": st.one_of(st.just(0.0), st.floats(0.0, 4.0)),
                "smoothing": st.floats(0.05, 1.0),
            }
        ),
        "operating_model": st.fixed_dictionaries(
            {
                "kind": st.sampled_from(["product", "project", "funded_projects"]),
                "project_ticks": st.integers(1, 40),
                "knowledge_kept": st.floats(0.0, 1.0),
                "onboarding_ticks": st.integers(0, 15),
                "onboarding_cost": st.floats(0.0, 0.9),
                "funding_ticks": st.integers(1, 30),
                "project_people_share": st.floats(0.05, 1.0),
                "handover_share": st.floats(0.0, 2.0),
            }
        ),
        "tech_debt": st.fixed_dictionaries(
            {
                "enabled": st.booleans(),
                "aging_per_tick": st.floats(0.0, 0.05),
                "effort_effect": st.floats(0.0, 2.0),
                "defect_effect": st.floats(0.0, 2.0),
                "upgrade_paydown": st.floats(0.0, 1.0),
                "skip_pressure": st.floats(0.0, 1.0),
                "protected_share": st.floats(0.0, 1.0),
            }
        ),
        "micro_provider": st.fixed_dictionaries(
            {"request_priority": st.sampled_from(["fifo", "own_first", "requests_first"])}
        ),
        "spread": st.fixed_dictionaries(
            {"imitation_prob": st.floats(0.0, 0.5), "capacity_coupling": st.booleans(), "network": st.just("work")}
        ),
        "service_desk": st.fixed_dictionaries(
            {
                "enabled": st.booleans(),
                "staff": st.integers(1, 6),
                "triage_days": st.floats(0.0, 1.0),
                "resolve_max_days": st.floats(0.0, 3.0),
                "routing_accuracy": st.floats(0.0, 1.0),
                "feedback_share": st.floats(0.0, 10.0),
            }
        ),
    }
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sections=core_scenarios, seed=st.integers(0, 2**16))
def test_generated_scenarios_keep_their_books(sections: dict[str, Any], seed: int) -> None:
    check_generated_run(sections, seed)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sections=core_scenarios, seed=st.integers(0, 2**16))
def test_generated_scenarios_with_the_internal_market_keep_their_books(sections: dict[str, Any], seed: int) -> None:
    # The market in every scenario (with make-or-buy off: they exclude each other).
    sections["market"]["enabled"], sections["sourcing"]["enabled"] = True, False
    check_generated_run(sections, seed)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sections=core_scenarios, seed=st.integers(0, 2**16))
def test_generated_scenarios_with_funded_projects_keep_their_books(sections: dict[str, Any], seed: int) -> None:
    # Funded projects in every scenario (teams of at least two: every team keeps one person).
    sections["operating_model"]["kind"] = "funded_projects"
    sections["organisation"]["team_size"] = max(2, sections["organisation"]["team_size"])
    check_generated_run(sections, seed)


improvement_sections = st.fixed_dictionaries(
    {
        "enabled": st.just(True),
        "start_tick": st.integers(0, 40),
        "effort_share": st.one_of(st.just(0.0), st.floats(0.0, 0.9)),
        "effort_days": st.floats(0.05, 20.0),
        "gain": st.floats(0.0, 1.0),
        "floor": st.floats(0.0, 1.0),
        "copy_prob": st.one_of(st.just(0.0), st.just(1.0), st.floats(0.0, 1.0)),
        "copy_window_ticks": st.integers(1, 40),
        "copy_cost": st.floats(0.0, 0.95),
        "copy_ticks": st.integers(0, 10),
    }
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sections=core_scenarios, improvement=improvement_sections, seed=st.integers(0, 2**16))
def test_generated_scenarios_with_improvement_keep_their_books(
    sections: dict[str, Any], improvement: dict[str, Any], seed: int
) -> None:
    # Improvement in every scenario, over both structures and the other mechanisms drawn.
    sections["improvement"] = improvement
    check_generated_run(sections, seed)


def check_generated_run(sections: dict[str, Any], seed: int) -> None:
    structure = sections.pop("structure")
    try:
        scenario = small_scenario(structure, simulation={"ticks": 60}, **sections)
    except ValidationError:
        reject()  # a combination the scenario schema refuses (rework that could never end, ...)
    check_run(scenario, seed)


@pytest.mark.parametrize("structure", ["central_it", "micro_provider"])
@pytest.mark.parametrize(
    ("path", "overrides"),
    [
        ("scenarios/central_it.toml", ["relationship.mode=collaboration", "demand.arrival_rate=9"]),
        ("scenarios/operating/service_desk.toml", []),
        ("scenarios/operating/internal_market.toml", []),
        ("scenarios/operating/funded_projects.toml", ["relationship.mode=collaboration", "demand.arrival_rate=8"]),
        (
            "scenarios/operating/funded_projects.toml",
            ["relationship.mode=provider_customer", "intake.policy=wip_limit"],
        ),
        ("scenarios/operating/funded_projects.toml", ["service_desk.enabled=true", "market.enabled=true"]),
        ("scenarios/operating/funded_projects.toml", ["improvement.enabled=true", "improvement.copy_prob=0.3"]),
    ],
    ids=[
        "swarm_overloaded",
        "desk",
        "market",
        "funded_swarm",
        "funded_wip_limit",
        "funded_desk_market",
        "funded_improving",
    ],
)
def test_shipped_mechanisms_past_their_shipped_settings_keep_their_books(
    structure: str, path: str, overrides: list[str]
) -> None:
    settings = [f"structure={structure}", "simulation.ticks=200", "simulation.warmup_ticks=50", *overrides]
    check_run(load_scenario(path, settings), seed=3)


@pytest.mark.parametrize("improvement", [{}, {"effort_share": 0.2, "copy_prob": 0.3}], ids=["off", "on"])
def test_the_end_of_a_tick_queues_no_more_than_a_pool_has_room_for(improvement: dict[str, float]) -> None:
    # Central IT with people away on projects: each review's migrations (every unit a consumer
    # moves, all at the intake) and the improvements bought join a long queue at once; the
    # kernel gives every pool room for them first (they once ran past the intake's room).
    vendors = [
        {
            "name": f"vendor-{k}",
            "capacity_days_per_tick": 1.0 + k,
            "lead_ticks": 0.0,
            "defect_prob": 0.0,
            "price_factor": 0.0,
        }
        for k in range(2)
    ]
    scenario = small_scenario(
        "central_it",
        simulation={"ticks": 60},
        organisation={"teams": 4, "team_size": 2, "services": 3, "dependencies_per_service": 0.0},
        demand={"arrival_rate": 8.0, "dependency_touch_prob": 0.0, "priority": ["incident", "ktlo", "feature"]},
        handoff={"delay_ticks": 0.0, "loss_prob": 0.375},
        market={
            **{"enabled": True, "internal_providers": 0, "externals": vendors, "review_ticks": 1},
            **{"explore_prob": 0.5, "switch_margin": 0.0, "switch_cost_days": 1.0, "failure_weight": 0.0},
            **{"price_weight": 0.0, "smoothing": 1.0},
        },
        operating_model={
            **{"kind": "funded_projects", "project_ticks": 1, "funding_ticks": 1, "project_people_share": 1.0},
            **{"knowledge_kept": 0.0, "onboarding_ticks": 0, "onboarding_cost": 0.0, "handover_share": 0.0},
        },
        improvement={"enabled": bool(improvement), **improvement},
    )
    check_run(scenario, seed=0)


@pytest.mark.parametrize("structure", ["central_it", "micro_provider"])
@pytest.mark.parametrize("mode", ["none", "collaboration"])
def test_live_ideas_outgrow_their_first_room(structure: str, mode: str) -> None:
    # Improvements as often as the figures allow, copied at half a chance a day: the live ideas
    # outgrow their first room (the kernel grows it between calls).
    scenario = small_scenario(
        structure,
        simulation={"ticks": 60, "warmup_ticks": 10},
        organisation={"teams": 8, "team_size": 3, "services": 12},
        demand={"arrival_rate": 5.0},
        relationship={"mode": mode, "swarm_share": 0.5},
        spread={"capacity_coupling": True, "imitation_prob": 0.2},
        improvement={"enabled": True, "start_tick": 0, "effort_share": 0.9, "effort_days": 0.05, "copy_prob": 0.5},
    )
    model = check_run(scenario, seed=1)
    assert model.kernel.state.imp_known.shape[1] > 64


@pytest.mark.parametrize("structure", ["central_it", "micro_provider"])
def test_runs_that_outgrow_their_first_room_are_the_runs_that_had_room(structure: str) -> None:
    # Room for one row of a demand block and for a few items: the kernel stops, the arrays
    # grow (a block's counts are kept while they do), and the run is the one with room.
    scenario = small_scenario(structure, simulation={"ticks": 150, "warmup_ticks": 20}, demand={"arrival_rate": 6.0})
    roomy = OrgModel(scenario, seed=4)
    roomy.run()
    cramped = OrgModel(scenario, seed=4)
    kernel = cramped.kernel
    block = ("dm_kind", "dm_service", "dm_effort", "dm_time", "dm_touch")
    items = ("items", "item_deps", "item_plan_services", "item_plan_efforts", "item_requests", "item_stage_wait")
    shrunk = {name: getattr(kernel.state, name)[: 1 if name in block else 80].copy() for name in block + items}
    kernel.state, kernel.ref = kernel.state._replace(**shrunk), None
    kernel._grow(0)  # a handle on the shrunk arrays
    cramped.run()
    assert len(kernel.state.dm_time) > 1 and len(kernel.state.items) > 80
    pd.testing.assert_frame_equal(cramped.items.table(), roomy.items.table())
    pd.testing.assert_frame_equal(cramped.recorder.frame(), roomy.recorder.frame())


@pytest.mark.parametrize("current_exists", [False, True])
def test_a_new_kernel_version_removes_all_but_the_latest_other_caches(
    tmp_path, monkeypatch: pytest.MonkeyPatch, current_exists: bool
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    current = sim.model.kernel._cache_dir()
    old = [tmp_path / "orgsim" / f"kernel-{k:016x}" for k in range(5)]
    for age, path in enumerate(old):  # kernel-...0 written last
        path.mkdir(parents=True)
        os.utime(path, (1e9 - age, 1e9 - age))
    if current_exists:
        current.mkdir()
    subprocess.run([sys.executable, "-c", "import sim.model.kernel"], check=True, env=os.environ.copy())
    others = set(tmp_path.joinpath("orgsim").glob("kernel-*")) - {current}
    assert others == set(old if current_exists else old[: sim.model.kernel.KEPT_VERSIONS])


def test_the_handle_carries_every_array_of_the_state() -> None:
    assigned = re.findall(r"ref\.(\w+) = s\.\1", inspect.getsource(getattr(ticks.new_ref, "py_func", ticks.new_ref)))
    assert assigned == list(State._fields)


def test_compiled_symbols_name_the_handle_briefly_and_by_its_fields() -> None:
    """Every compiled function's symbol names its argument types; the handle's full name spells
    out every array's type (40 kB), which made the cached kernel 900 MB and slow to load."""
    one_less = StateRefType([(name, typ) for name, typ in STATE_REF.field_dict.items()][:-1])
    names = [mangle_type_or_value(handle) for handle in (STATE_REF, one_less)]
    assert len(STATE_REF.name) > 10_000
    assert all(len(name) < 100 for name in names)
    assert names[0] != names[1]


@numba.njit
def _count_an_event(ref: Any) -> int:
    s = borrow(ref)
    s.ctr[flow.EVENTS] += 1
    return s.ctr[flow.EVENTS]


def test_the_rules_get_a_borrowed_view_of_the_states_arrays() -> None:
    """``run_ticks`` passes the rules a view of the handle (``state.borrow``), to which Numba
    counts no references; what is read and written through it is the state's own arrays."""
    assert "s = borrow(ref)" in inspect.getsource(getattr(ticks.run_ticks, "py_func", ticks.run_ticks))
    model = OrgModel(small_scenario(), seed=0)
    model.run()
    events = int(model.kernel.state.ctr[flow.EVENTS])
    assert _count_an_event(model.kernel.ref) == events + 1 == model.kernel.state.ctr[flow.EVENTS]
    if hasattr(_count_an_event, "overloads"):  # compiled: it wrote through a view, not the handle
        compiled = _count_an_event.overloads[_count_an_event.signatures[0]]
        assert isinstance(compiled.type_annotation.typemap["s"], StateViewType)


@numba.njit
def _draw_through_a_view(rng: Any) -> tuple[float, float, int]:
    g = borrow_generator(rng)
    return g.random(), g.exponential(2.0), g.integers(0, 7)


def test_the_rules_get_a_borrowed_view_of_the_generator() -> None:
    """``run_ticks`` passes the rules a view of each generator (``borrow_generator``), to which
    Numba counts no references; a draw through it is the generator's own next draw."""
    source = inspect.getsource(getattr(ticks.run_ticks, "py_func", ticks.run_ticks))
    after = source.split("g, demand_g = borrow_generator(rng), borrow_generator(demand_rng)", 1)
    assert len(after) == 2 and not re.search(r"\b(rng|demand_rng)\b", after[1])  # only the views are passed on
    rng, same = np.random.default_rng(11), np.random.default_rng(11)
    assert _draw_through_a_view(rng) == (same.random(), same.exponential(2.0), same.integers(0, 7))
    assert rng.random() == same.random()  # the view advanced the generator itself, not a copy
    if hasattr(_draw_through_a_view, "overloads"):  # compiled: the draws were made through a view
        compiled = _draw_through_a_view.overloads[_draw_through_a_view.signatures[0]]
        assert isinstance(compiled.type_annotation.typemap["g"], GeneratorViewType)


@pytest.mark.parametrize(
    "path",
    [
        "scenarios/central_it.toml",
        "scenarios/micro_provider.toml",
        "scenarios/operating/project_teams.toml",
        "scenarios/operating/funded_projects.toml",
    ],
)
def test_reading_the_knowledge_changes_nothing(path: str) -> None:
    """A value is forgotten when read, not stored back (sim.model.kernel.knowledge): a run whose
    knowledge is read after every tick keeps the same records and knowledge, bit for bit, as
    one read only at the end."""
    scenario = load_scenario(path, ["simulation.ticks=100", "simulation.warmup_ticks=0"])
    assert scenario.knowledge.forgetting_rate > 0
    read, unread = OrgModel(scenario, 5), OrgModel(scenario, 5)
    for _ in range(scenario.simulation.ticks):
        read.step()
        read.knowledge  # noqa: B018  (the read is the point)
        unread.step()
    pd.testing.assert_frame_equal(unread.recorder.frame(), read.recorder.frame(), check_exact=True)
    np.testing.assert_array_equal(unread.knowledge, read.knowledge)
    assert (read.knowledge != scenario.knowledge.initial).any()


def test_steps_past_the_last_tick_run_nothing() -> None:
    """``step`` runs a tick until the scenario's ticks have run, then nothing (``running``
    turns False): the records are those of ``run``, not written past their ends."""
    stepped, run = hand_built(simulation={"ticks": 3}), hand_built(simulation={"ticks": 3})
    for _ in range(5):
        stepped.step()
        assert stepped.running == (stepped.steps < 3)
    run.run()
    pd.testing.assert_frame_equal(stepped.recorder.frame(), run.recorder.frame(), check_exact=True)
    assert stepped.kernel.state.ctr[flow.TICK] == 3


def test_knowledge_is_forgotten_a_share_a_tick() -> None:
    """A value is what was written times ``1 - rate`` once a tick since, to rounding (each
    side's n multiplications round by at most half a unit in the last place each): service 1,
    which no work touched, is the initial level forgotten 30 times; service 0 was learned, so
    it is more."""
    model = hand_built(
        simulation={"ticks": 30},
        knowledge={"initial": 0.3, "learning_rate": 0.2, "forgetting_rate": 0.07},
    )
    arrive(model, at=2.0, effort=1.0, service=0)
    model.run()
    chain = 0.3
    for _ in range(30):
        chain *= 1 - 0.07
    assert model.knowledge[0, 1] == pytest.approx(chain, rel=2 * 30 * 2.0**-53, abs=0)
    assert model.knowledge[0, 0] > chain


def test_knowledge_is_read_only_and_set_by_assignment() -> None:
    """``model.knowledge`` is a copy that refuses writes (a write to it would be lost); assigning
    to it sets every team's knowledge from then on, and the most known of each service with it."""
    model = hand_built(simulation={"ticks": 4}, knowledge={"initial": 0.3, "forgetting_rate": 0.5})
    model.step()
    with pytest.raises(ValueError, match="read-only"):
        model.knowledge[0, 0] = 0.9
    values = model.knowledge.copy()
    values[0, 1] = 0.8
    model.knowledge = values
    np.testing.assert_array_equal(model.knowledge, values)
    model.step()
    np.testing.assert_array_equal(model.knowledge, values * 0.5)
    assert model.kernel.state.most[1] * 0.5 == model.knowledge[:, 1].max()


def test_python_sums_are_reproduced_exactly() -> None:
    values = np.array([1e16, 1.0, -1e16, 3.0, 0.1, 0.2])
    for lo in range(len(values)):
        assert sums.py_sum(values, lo, len(values)) == sum(values[lo:].tolist())


@pytest.mark.parametrize("seed", range(4))
def test_the_heaps_give_their_entries_in_key_order(seed: int) -> None:
    # Pushes and pops at random, on heaps that fill and empty again, with many equal times,
    # priorities and ready times: every pop is the least key left, as heapq's on the same keys.
    rng = np.random.default_rng(seed)
    n = 700
    times, keys = np.zeros(n), np.zeros((n, 3), dtype=np.int64)
    queue = np.zeros(n + 5, dtype=QUEUE).view(np.recarray)  # rows take attribute access as plain Python too
    events: list[tuple[float, int, int, int]] = []
    queued: list[tuple[int, float, int, int]] = []
    for seq in range(4 * n):
        if events and (len(events) == n or rng.random() < 0.5 - 0.3 * np.sin(seq / 150)):
            slot = heaps.event_pop(times, keys, len(events))
            assert (times[slot], *keys[slot]) == heapq.heappop(events)
            row = heaps.queue_pop(queue, 5, len(queued))
            assert row == heapq.heappop(queued)[3]
        else:
            event = (float(rng.integers(0, 30)), seq, int(rng.integers(0, 4)), int(rng.integers(0, n)))
            heaps.event_push(times, keys, len(events), *event)
            heapq.heappush(events, event)
            entry = (int(rng.integers(0, 3)), float(rng.integers(0, 5)), seq, seq)  # the row names the entry
            heaps.queue_push(queue, 5, len(queued), *entry)
            heapq.heappush(queued, entry)


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 127, 128, 129, 300, 1000, 4097, 20_000])
def test_numpy_sums_are_reproduced_exactly(n: int) -> None:
    values = np.random.default_rng(n).random(n) * 10.0 ** np.random.default_rng(n + 1).integers(-8, 8, n)
    assert sums.pairwise_sum(values, 0, n) == values.sum()


def test_no_compiled_function_reaches_itself() -> None:
    # Numba loads a cached function that takes part in a cycle of calls (A -> B -> A) as
    # garbage: a fresh compile runs, the next process segfaults. So the kernel has none.
    import ast

    import networkx as nx

    calls = nx.DiGraph()
    for module in (flow, ticks, heaps, sums):
        tree = ast.parse(inspect.getsource(module))
        for function in (node for node in tree.body if isinstance(node, ast.FunctionDef)):
            calls.add_node(function.name)
            for call in (node for node in ast.walk(function) if isinstance(node, ast.Call)):
                callee = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", None)
                if callee:
                    calls.add_edge(function.name, callee)
    assert list(nx.simple_cycles(calls)) == []

"""Experiment designs: validated points, seeds that give common random numbers and do not
depend on run order or design size, stable run ids, sampled designs."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.experiment.design import Design, is_integer_key, parse_grid, run_id, run_seed
from sim.scenario.errors import ScenarioError
from sim.scenario.files import load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
TINY = ["simulation.ticks=60", "simulation.warmup_ticks=10", "organisation.teams=4", "demand.arrival_rate=2.5"]
STRUCTURES = ["central_it", "micro_provider"]


@pytest.fixture(scope="module")
def base():
    return load_scenario(SCENARIOS / "central_it.toml", TINY)


def seeds(design: Design) -> dict[str, int]:
    return {spec.run_id: spec.seed for spec in design.runs()}


def test_grid_is_full_factorial_with_replications(base):
    design = Design.grid(base, {"handoff.delay_ticks": [0, 1, 2], "structure": STRUCTURES}, reps=4, seed=1)
    runs = list(design.runs())
    assert design.n_runs == len(runs) == 3 * 2 * 4
    assert len({r.run_id for r in runs}) == len(runs)
    assert design.keys == ("handoff.delay_ticks", "structure")
    assert design.parameters == ("handoff.delay_ticks",)
    assert design.structures == tuple(STRUCTURES)
    assert {r.scenario["structure"] for r in runs} == set(STRUCTURES)
    assert {r.scenario["handoff"]["delay_ticks"] for r in runs} == {0.0, 1.0, 2.0}


def test_both_structures_share_the_seed_at_each_point_and_replicate(base):
    design = Design.grid(base, {"structure": STRUCTURES, "handoff.delay_ticks": [0, 1]}, reps=3, seed=7)
    by_cell: dict[tuple, set[int]] = {}
    for spec in design.runs():
        by_cell.setdefault((spec.point["handoff.delay_ticks"], spec.replicate), set()).add(spec.seed)
    assert all(len(s) == 1 for s in by_cell.values())
    assert len({next(iter(s)) for s in by_cell.values()}) == len(by_cell)  # other cells differ


def test_seeds_do_not_depend_on_order_or_design_growth(base):
    small = Design.grid(base, {"handoff.delay_ticks": [0, 1], "structure": STRUCTURES}, reps=2, seed=3)
    grown = Design.grid(base, {"structure": STRUCTURES[::-1], "handoff.delay_ticks": [2, 1, 0]}, reps=5, seed=3)
    small_seeds, grown_seeds = seeds(small), seeds(grown)
    assert set(small_seeds) < set(grown_seeds)
    assert all(grown_seeds[rid] == seed for rid, seed in small_seeds.items())
    other_base_seed = seeds(Design.grid(base, {"handoff.delay_ticks": [0, 1], "structure": STRUCTURES}, reps=2, seed=4))
    assert set(other_base_seed.values()).isdisjoint(small_seeds.values())


def test_values_are_read_back_through_the_schema(base):
    ints = Design.grid(base, {"handoff.delay_ticks": [1, 2]})
    floats = Design.grid(base, {"handoff.delay_ticks": [1.0, 2.0]})
    assert ints.points == floats.points
    assert seeds(ints) == seeds(floats)
    assert isinstance(ints.points[0]["handoff.delay_ticks"], float)


@given(
    point=st.dictionaries(st.sampled_from(["a.b", "c", "d.e.f"]), st.integers(0, 10**6), min_size=1),
    replicate=st.integers(0, 10_000),
    seed=st.integers(0, 2**32),
)
@settings(max_examples=60, deadline=None)
def test_run_seed_is_a_pure_function_of_seed_point_without_structure_and_replicate(point, replicate, seed):
    value = run_seed(seed, point, replicate)
    assert 0 <= value < 2**63
    assert run_seed(seed, dict(reversed(point.items())), replicate) == value
    assert run_seed(seed, point | {"structure": "micro_provider"}, replicate) == value
    assert run_seed(seed, point, replicate + 1) != value
    assert run_id(point | {"structure": "central_it"}, replicate, seed) != run_id(
        point | {"structure": "x"}, replicate, seed
    )
    assert run_id(point, replicate, seed) != run_id(point, replicate, seed + 1)


@pytest.mark.parametrize(
    ("factors", "message"),
    [
        ({"handoff.delay_tick": [1]}, "handoff.delay_tick: unknown key; did you mean 'delay_ticks'?"),
        ({"handoff.delay_ticks": [1, -1]}, "handoff.delay_ticks: Input should be greater than or equal to 0"),
        ({"structure": ["central_it", "matrix"]}, "structure: Input should be"),
        ({"name.first": ["x"]}, "name.first: 'name' is a value, not a section"),
        ({"handoff.delay_ticks": [1, 1.0]}, "repeats point 0"),
        ({"handoff.delay_ticks": []}, "handoff.delay_ticks: no values given"),
    ],
)
def test_invalid_points_name_the_key(base, factors, message):
    with pytest.raises(ScenarioError) as info:
        Design.grid(base, factors)
    assert message in str(info.value)


def test_bad_reps_and_seed_are_refused(base):
    with pytest.raises(ScenarioError, match="reps"):
        Design.grid(base, {"handoff.delay_ticks": [1]}, reps=0)
    with pytest.raises(ScenarioError, match="seed"):
        Design.grid(base, {"handoff.delay_ticks": [1]}, seed=-1)


def test_empty_grid_is_the_base_scenario_alone(base):
    design = Design.grid(base, {}, reps=3)
    assert design.points == ({},) and design.n_runs == 3
    assert design.structures == ("central_it",)


def test_latin_hypercube_rounds_integer_keys_and_crosses_the_grid(base):
    ranges = {"organisation.teams": (4, 9), "handoff.delay_ticks": (0.0, 2.0)}
    design = Design.latin_hypercube(base, ranges, n=6, reps=2, seed=5, grid={"structure": STRUCTURES})
    assert len(design.points) == 12
    teams = [p["organisation.teams"] for p in design.points]
    delays = [p["handoff.delay_ticks"] for p in design.points]
    assert all(isinstance(t, int) and 4 <= t <= 9 for t in teams)
    assert all(0.0 <= d <= 2.0 for d in delays)
    assert len(set(delays)) == 6  # one stratum per sample
    assert design.spec["integers"] == ["organisation.teams"]
    by_cell: dict[tuple, set[int]] = {}
    for spec in design.runs():
        cell = (spec.point["organisation.teams"], spec.point["handoff.delay_ticks"], spec.replicate)
        by_cell.setdefault(cell, set()).add(spec.seed)
    assert all(len(s) == 1 for s in by_cell.values())
    again = Design.latin_hypercube(base, ranges, n=6, reps=2, seed=5, grid={"structure": STRUCTURES})
    assert again.points == design.points


def test_sobol_needs_a_power_of_two_and_keeps_its_first_points(base):
    ranges = {"handoff.delay_ticks": (0.0, 2.0), "handoff.loss_prob": (0.0, 0.3)}
    with pytest.raises(ScenarioError, match="power of two"):
        Design.sobol(base, ranges, n=6)
    four, eight = Design.sobol(base, ranges, n=4, seed=2), Design.sobol(base, ranges, n=8, seed=2)
    assert eight.points[:4] == four.points
    assert all(seeds(eight)[rid] == s for rid, s in seeds(four).items())


def test_sampled_design_validates_ranges(base):
    with pytest.raises(ScenarioError, match="low < high"):
        Design.latin_hypercube(base, {"handoff.delay_ticks": (2.0, 1.0)}, n=4)
    with pytest.raises(ScenarioError, match=r"handoff\.loss_prob: Input should be less than or equal to 1"):
        Design.latin_hypercube(base, {"handoff.loss_prob": (0.5, 3.0)}, n=8)


def test_design_round_trips_through_its_dict(base):
    design = Design.grid(base, {"handoff.delay_ticks": [0, 1], "structure": STRUCTURES}, reps=2, seed=9)
    again = Design.from_dict(design.to_dict())
    assert again.to_dict() == design.to_dict()
    assert again.fingerprint() == design.fingerprint()
    assert seeds(again) == seeds(design)


def test_integer_keys_come_from_the_schema():
    assert is_integer_key("organisation.teams")
    assert is_integer_key("spread.start_tick")  # int | None
    assert not is_integer_key("handoff.delay_ticks")
    assert not is_integer_key("spread.capacity_coupling")
    assert not is_integer_key("no.such.key")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("handoff.delay_ticks=0,1,2.5", ("handoff.delay_ticks", [0, 1, 2.5])),
        ("structure=central_it,micro_provider", ("structure", ["central_it", "micro_provider"])),
        ('structure="central_it", "micro_provider"', ("structure", ["central_it", "micro_provider"])),
        ("spread.capacity_coupling=true,false", ("spread.capacity_coupling", [True, False])),
        (
            "context_switching.loss_by_concurrency=[0.0],[0.0, 0.2]",
            ("context_switching.loss_by_concurrency", [[0.0], [0.0, 0.2]]),
        ),
    ],
)
def test_parse_grid(text, expected):
    assert parse_grid(text) == expected


@pytest.mark.parametrize("text", ["handoff.delay_ticks", "=1,2", "handoff.delay_ticks=", "structure=a,,b"])
def test_parse_grid_refuses_malformed_input(text):
    with pytest.raises(ScenarioError, match="--grid"):
        parse_grid(text)

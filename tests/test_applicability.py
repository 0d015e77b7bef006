"""Keys that act under one structure only (sim/scenario/applicability.py): the table is
true (changing such a key leaves a run of the other structure bit-identical, and changes
a run of its own structure), the reference marks them, and the commands say so on stderr."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import CENTRAL_IT, MICRO_PROVIDER, run_cli, run_module

from sim.run import run_scenario
from sim.scenario.applicability import ONE_STRUCTURE, given_keys, ignored, note, scope_of
from sim.scenario.files import file_keys, load_scenario, validate_scenario
from sim.scenario.reference import markdown, reference_rows

DOCS = Path(__file__).resolve().parent.parent / "docs"
SHORT = ("--ticks", "20", "--set", "simulation.warmup_ticks=5")

# A small organisation with every operating-model mechanism on, busy enough that work
# crosses teams, defects arise and consumers review their providers within the run.
TINY: dict[str, Any] = {
    "simulation": {"ticks": 80, "warmup_ticks": 10},
    "organisation": {"teams": 6, "team_size": 2, "services": 10},
    "demand": {"arrival_rate": 3.0},
    "service_desk": {"enabled": True},
    "tech_debt": {"enabled": True},
    "sourcing": {"enabled": True, "review_ticks": 5, "external_lead_ticks": 2.0},
}

# One change per key the table scopes (a value other than TINY's).
CHANGES: dict[str, Any] = {
    "central_it.stages": [{"name": "front", "effort_share": 0.3}, {"name": "back", "effort_share": 0.7}],
    "micro_provider.request_priority": "requests_first",
    "sourcing.enabled": False,
    "sourcing.review_ticks": 3,
    "sourcing.external_lead_ticks": 1.0,
    "sourcing.external_defect_prob": 0.5,
    "sourcing.external_price_factor": 3.0,
    "sourcing.switch_cost_days": 6.0,
    "sourcing.switch_margin": 0.0,
    "sourcing.failure_weight": 50.0,
    "sourcing.smoothing": 0.9,
    "organisation.self_service_share": 0.8,
}
SCOPED = [row[0] for row in reference_rows() if scope_of(row[0]) and "[]" not in row[0]]


def summary(structure: str, changes: dict[str, Any]) -> str:
    """The summary of one tiny run, as exact text (NaN included)."""
    data = json.loads(json.dumps(TINY)) | {"structure": structure}
    for key, value in changes.items():
        *sections, leaf = key.split(".")
        node = data
        for section in sections:
            node = node.setdefault(section, {})
        node[leaf] = value
    return json.dumps(run_scenario(validate_scenario(data), seed=5).summary, sort_keys=True)


def other(structure: str) -> str:
    return "central_it" if structure == "micro_provider" else "micro_provider"


def test_every_scoped_key_has_a_change() -> None:
    assert sorted(SCOPED) == sorted(CHANGES)


@pytest.mark.parametrize("key", sorted(CHANGES))
def test_a_scoped_key_changes_nothing_under_the_other_structure(key: str) -> None:
    scope = scope_of(key)
    assert scope is not None
    under = other(scope.structure)
    assert summary(under, {key: CHANGES[key]}) == summary(under, {})


@pytest.mark.parametrize("key", sorted(CHANGES))
def test_a_scoped_key_changes_a_run_of_its_own_structure(key: str) -> None:
    # The change is one the model notices: the test above could fail.
    scope = scope_of(key)
    assert scope is not None
    assert summary(scope.structure, {key: CHANGES[key]}) != summary(scope.structure, {})


def test_self_service_share_acts_under_central_it_only_through_the_effort_factor() -> None:
    share = {"organisation.self_service_share": 0.8}
    cheaper = {"organisation.self_service_effort_factor": 0.3}
    assert summary("central_it", cheaper | share) != summary("central_it", cheaper)
    assert ignored(share, ["central_it"], validate_scenario({})) != {}
    tuned = validate_scenario({"organisation": {"self_service_effort_factor": 0.3}})
    assert ignored(share, ["central_it"], tuned) == {}


def test_the_reference_marks_the_scoped_keys() -> None:
    marks = {row[0]: row[5] for row in reference_rows()}
    assert marks["sourcing.enabled"] == "micro_provider only"
    assert marks["micro_provider.request_priority"] == "micro_provider only"
    assert marks["central_it.stages[].effort_share"] == "central_it only"
    assert marks["organisation.self_service_share"].startswith("micro_provider; central_it only if")
    assert marks["organisation.self_service_effort_factor"] == "both"
    assert marks["handoff.delay_ticks"] == "both"
    row = next(line for line in markdown().splitlines() if line.startswith("| sourcing.smoothing |"))
    assert row.endswith("| micro_provider only |")


def test_the_odd_names_every_scoped_key() -> None:
    odd = (DOCS / "ODD.md").read_text(encoding="utf-8")
    assert [key for key in ONE_STRUCTURE if f"`{key}" not in odd] == []


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_given_keys_leave_out_defaults_and_a_base_s_keys_for_its_own_structure(tmp_path: Path) -> None:
    stages = '[[central_it.stages]]\nname = "all"\neffort_share = 1.0\n'
    write(tmp_path / "base.toml", f'structure = "central_it"\n[sourcing]\nenabled = true\nreview_ticks = 20\n{stages}')
    child = write(tmp_path / "child.toml", 'extends = "base.toml"\nstructure = "micro_provider"\n')
    keys = file_keys(child)
    assert keys["sourcing.enabled"] == "central_it"
    assert keys["structure"] is None
    given = given_keys(keys, load_scenario(child))
    # review_ticks is the default; the base's stages are its own settings for central IT.
    assert "sourcing.review_ticks" not in given
    assert "central_it.stages" not in given
    assert "sourcing.enabled" in given
    own = write(tmp_path / "own.toml", f'extends = "base.toml"\nstructure = "micro_provider"\n{stages}')
    assert "central_it.stages" in given_keys(file_keys(own), load_scenario(own))


def test_note_names_the_keys_and_where_they_apply() -> None:
    scenario = load_scenario(CENTRAL_IT)
    found = ignored(
        ["sourcing.enabled", "micro_provider.request_priority", "handoff.loss_prob"], ["central_it"], scenario
    )
    assert note(found, ["central_it"]) == (
        "sourcing.enabled, micro_provider.request_priority have no effect under central_it "
        "(they apply to micro_provider only)"
    )
    assert ignored(["sourcing.enabled"], ["central_it", "micro_provider"], scenario) == {}


NOTE = "orgsim: note: sourcing.enabled has no effect under central_it (it applies to micro_provider only)\n"


def test_run_notes_an_ignored_key_once_on_stderr_and_leaves_stdout_alone() -> None:
    plain = run_module("run", CENTRAL_IT, *SHORT, "--json")
    market = run_module("run", CENTRAL_IT, *SHORT, "--json", "--set", "sourcing.enabled=true")
    assert (plain.returncode, plain.stderr) == (0, "")
    assert (market.returncode, market.stderr) == (0, NOTE)
    assert market.stdout == plain.stdout


def test_run_says_nothing_where_the_key_applies() -> None:
    done = run_module("run", MICRO_PROVIDER, *SHORT, "--json", "--set", "sourcing.enabled=true")
    assert (done.returncode, done.stderr) == (0, "")


def test_compare_notes_only_keys_no_scenario_uses(capsys: pytest.CaptureFixture[str]) -> None:
    both = ("--reps", "2", "--workers", "1", "--quiet", "--set", "sourcing.enabled=true")
    code, _, err = run_cli(capsys, "compare", CENTRAL_IT, MICRO_PROVIDER, *SHORT, *both)
    assert (code, err) == (0, "")
    code, _, err = run_cli(capsys, "compare", CENTRAL_IT, CENTRAL_IT, *SHORT, *both)
    assert (code, err) == (0, NOTE)


def test_sweep_notes_grid_keys_against_the_structures_it_runs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    grid = ("--reps", "1", "--workers", "1", "--quiet", "--grid", "sourcing.enabled=true,false")
    code, _, err = run_cli(capsys, "sweep", CENTRAL_IT, *SHORT, *grid, "--out", tmp_path / "one")
    assert (code, err) == (0, NOTE)
    structures = ("--grid", "structure=central_it,micro_provider")
    code, _, err = run_cli(capsys, "sweep", CENTRAL_IT, *SHORT, *grid, *structures, "--out", tmp_path / "both")
    assert (code, err) == (0, "")

"""Scenario files: every shipped one validates; ``extends`` and ``--set`` work; mistakes
are reported as one readable line per problem, naming the file and the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import CENTRAL_IT, MICRO_PROVIDER, ROOT, SHIPPED_SCENARIOS, run_cli, run_module

from sim import Scenario, ScenarioError, load_scenario
from sim.scenario.files import config_hash, validate_scenario


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def problem_lines(exc: pytest.ExceptionInfo[ScenarioError]) -> list[str]:
    return str(exc.value).splitlines()


# --- shipped scenarios ------------------------------------------------------------------
def test_scenarios_are_shipped() -> None:
    names = {p.relative_to(ROOT / "scenarios").as_posix() for p in SHIPPED_SCENARIOS}
    assert {"central_it.toml", "micro_provider.toml", "validation/mmc.toml", "validation/bass.toml"} <= names


@pytest.mark.parametrize("path", SHIPPED_SCENARIOS, ids=lambda p: p.stem)
def test_shipped_scenario_validates(path: Path) -> None:
    scenario = load_scenario(path)
    assert isinstance(scenario, Scenario)
    # The dump of a validated scenario validates again to the same scenario.
    assert validate_scenario(scenario.model_dump(mode="json")) == scenario


def test_micro_provider_is_central_it_with_another_structure() -> None:
    central, micro = load_scenario(CENTRAL_IT), load_scenario(MICRO_PROVIDER)
    assert (central.structure, micro.structure) == ("central_it", "micro_provider")
    labels = {"name", "structure", "description"}  # what it is called, and the one mechanism that differs
    assert micro.model_dump(exclude=labels) == central.model_dump(exclude=labels)


def test_extends_merges_sections_key_by_key(tmp_path: Path) -> None:
    child = write(
        tmp_path,
        "child.toml",
        f'extends = "{CENTRAL_IT.as_posix()}"\n[handoff]\ndelay_ticks = 2.0\n',
    )
    scenario = load_scenario(child)
    base = load_scenario(CENTRAL_IT)
    assert scenario.handoff.delay_ticks == pytest.approx(2.0)
    assert scenario.handoff.loss_prob == base.handoff.loss_prob  # sibling key kept
    assert scenario.demand == base.demand


def test_extends_is_relative_to_the_extending_file(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    write(tmp_path / "base", "base.toml", 'name = "base"\n[organisation]\nteams = 5\n')
    child = write(tmp_path, "child.toml", 'extends = "base/base.toml"\nname = "child"\n')
    scenario = load_scenario(child)
    assert (scenario.name, scenario.organisation.teams) == ("child", 5)


def test_extends_chains_over_several_files(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", "[organisation]\nteams = 7\nteam_size = 2\n")
    write(tmp_path, "b.toml", 'extends = "a.toml"\n[organisation]\nteam_size = 3\n')
    c = write(tmp_path, "c.toml", 'extends = "b.toml"\n[organisation]\nservices = 9\n')
    org = load_scenario(c).organisation
    assert (org.teams, org.team_size, org.services) == (7, 3, 9)


def test_config_hash_identifies_the_values() -> None:
    central = load_scenario(CENTRAL_IT)
    assert config_hash(central) == config_hash(load_scenario(CENTRAL_IT))
    assert config_hash(central) != config_hash(load_scenario(MICRO_PROVIDER))
    assert config_hash(central) != config_hash(load_scenario(CENTRAL_IT, ["demand.arrival_rate=9.5"]))


# --- --set overrides ------------------------------------------------------------------
def test_set_overrides_values_of_every_type() -> None:
    scenario = load_scenario(
        MICRO_PROVIDER,
        [
            "demand.arrival_rate=5",
            "spread.capacity_coupling=false",
            "context_switching.loss_by_concurrency=[0.0, 0.17]",
            "micro_provider.request_priority=own_first",
            'name="tweak"',
        ],
    )
    assert scenario.demand.arrival_rate == pytest.approx(5.0)
    assert scenario.spread.capacity_coupling is False
    assert scenario.context_switching.loss_by_concurrency == pytest.approx((0.0, 0.17))
    assert scenario.micro_provider.request_priority == "own_first"
    assert scenario.name == "tweak"
    assert scenario.organisation == load_scenario(MICRO_PROVIDER).organisation


def test_set_creates_sections_a_file_leaves_out(tmp_path: Path) -> None:
    bare = write(tmp_path, "bare.toml", "")
    assert load_scenario(bare, ["knowledge.initial=0.9"]).knowledge.initial == pytest.approx(0.9)


@pytest.mark.parametrize(
    ("key", "value", "toml_value"),
    [
        ("organisation.teams", "many", '"many"'),
        ("demand.arrival_rate", "-1", "-1"),
        ("demand.arival_rate", "3", "3"),
        ("handoff.loss_prob", "1.5", "1.5"),
    ],
)
def test_set_is_validated_like_the_file(tmp_path: Path, key: str, value: str, toml_value: str) -> None:
    section, name = key.split(".")
    in_file = write(
        tmp_path, "in_file.toml", f'extends = "{CENTRAL_IT.as_posix()}"\n[{section}]\n{name} = {toml_value}\n'
    )
    with pytest.raises(ScenarioError) as from_set:
        load_scenario(CENTRAL_IT, [f"{key}={value}"])
    with pytest.raises(ScenarioError) as from_file:
        load_scenario(in_file)
    # Same problem, same words from the key on; only the source in front differs.
    [set_line], [file_line] = problem_lines(from_set), problem_lines(from_file)
    assert set_line[set_line.index(f" {key}: ") :] == file_line[file_line.index(f" {key}: ") :]
    assert file_line.startswith(f"{in_file}: ")
    assert set_line.startswith(str(CENTRAL_IT))
    assert "--set" in set_line.split(f" {key}: ")[0]  # the source says the value came from --set


def test_set_without_equals_sign_is_an_error() -> None:
    with pytest.raises(ScenarioError, match=re.escape("expected key.path=value")):
        load_scenario(CENTRAL_IT, ["demand.arrival_rate"])


def test_set_below_a_value_is_an_error() -> None:
    with pytest.raises(ScenarioError, match="is a value, not a section"):
        load_scenario(CENTRAL_IT, ["name.first=x"])


# --- errors -----------------------------------------------------------------------------
def test_unknown_key_suggests_the_nearest(tmp_path: Path) -> None:
    path = write(tmp_path, "typo.toml", "[demand]\narival_rate = 3.0\n")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    [line] = problem_lines(exc)
    assert line.startswith(f"{path}: demand.arival_rate: ")
    assert "did you mean 'arrival_rate'?" in line


def test_unknown_section_suggests_the_nearest(tmp_path: Path) -> None:
    path = write(tmp_path, "typo.toml", "[demnd]\narrival_rate = 3.0\n")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    [line] = problem_lines(exc)
    assert line.startswith(f"{path}: demnd: ")
    assert "did you mean 'demand'?" in line


def test_unknown_key_without_a_near_match_lists_allowed_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "typo.toml", "[handoff]\nzzz = 1\n")
    with pytest.raises(ScenarioError, match="allowed keys: delay_ticks, loss_prob"):
        load_scenario(path)


def test_unknown_key_in_a_list_of_tables(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "stages.toml",
        '[[central_it.stages]]\nname = "all"\neffort_shar = 1.0\n',
    )
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    assert any(
        "central_it.stages.0.effort_shar: unknown key; did you mean 'effort_share'?" in ln for ln in problem_lines(exc)
    )


def test_wrong_type_names_key_and_value(tmp_path: Path) -> None:
    path = write(tmp_path, "type.toml", '[organisation]\nteams = "many"\n')
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    [line] = problem_lines(exc)
    assert line.startswith(f"{path}: organisation.teams: ")
    assert "integer" in line
    assert "'many'" in line


def test_out_of_range_value_names_key_bound_and_value(tmp_path: Path) -> None:
    path = write(tmp_path, "range.toml", "[handoff]\nloss_prob = 1.5\n")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    [line] = problem_lines(exc)
    assert line.startswith(f"{path}: handoff.loss_prob: ")
    assert "less than or equal to 1" in line
    assert "1.5" in line


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[simulation]\nticks = 10\nwarmup_ticks = 10\n", "warmup_ticks must be smaller than simulation.ticks"),
        ("[demand.kinds]\nfeature = 0.9\n", "kind shares must sum to 1"),
        ('structure = "central_it"\n[organisation]\nteams = 3\n', "at least one team per stage"),
        (
            'structure = "micro_provider"\n[organisation]\nteams = 2\n[spread]\ninitial_adopters = 3\n',
            "must not exceed organisation.teams",
        ),
    ],
    ids=["warmup", "kinds", "stages", "adopters"],
)
def test_cross_field_rules_are_checked(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "rules.toml", text)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    [line] = problem_lines(exc)
    assert line.startswith(f"{path}: ")
    assert message in line


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "many.toml",
        '[demnd]\nx = 1\n[organisation]\nteams = "many"\nteam_size = 0\n[handoff]\nloss_prob = 2\n',
    )
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    lines = problem_lines(exc)
    assert len(lines) == 4
    assert all(line.startswith(f"{path}: ") for line in lines)
    keys = {line.removeprefix(f"{path}: ").split(":")[0] for line in lines}
    assert keys == {"demnd", "organisation.teams", "organisation.team_size", "handoff.loss_prob"}


def test_circular_extends_is_a_clear_error(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", 'extends = "b.toml"\n')
    b = write(tmp_path, "b.toml", 'extends = "a.toml"\n')
    with pytest.raises(ScenarioError, match="circular"):
        load_scenario(b)
    selfish = write(tmp_path, "self.toml", 'extends = "self.toml"\n')
    with pytest.raises(ScenarioError, match="circular"):
        load_scenario(selfish)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="file not found"):
        load_scenario(tmp_path / "nowhere.toml")


def test_missing_parent_names_the_parent(tmp_path: Path) -> None:
    child = write(tmp_path, "child.toml", 'extends = "gone.toml"\n')
    with pytest.raises(ScenarioError) as exc:
        load_scenario(child)
    [line] = problem_lines(exc)
    assert line.startswith(f"{child}: extends: ")
    assert "gone.toml" in line
    assert "not found" in line


def test_extends_must_be_a_path(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.toml", "extends = 3\n")
    with pytest.raises(ScenarioError, match="extends: must be a file path string"):
        load_scenario(path)


@pytest.mark.parametrize(
    "text",
    ["[demand\narrival_rate = 3\n", "[demand]\narrival_rate = 3\narrival_rate = 4\n"],
    ids=["syntax", "duplicate-key"],
)
def test_invalid_toml_is_a_clear_error(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, "broken.toml", text)
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(path)


# --- errors at the command line -----------------------------------------------------------
def test_cli_reports_one_line_per_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(
        tmp_path, "bad.toml", '[demand]\narival_rate = 3\n[organisation]\nteams = "many"\n[handoff]\nloss_prob = 2\n'
    )
    code, out, err = run_cli(capsys, "run", path)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 3
    assert all(str(path) in line for line in lines)
    assert any("demand.arival_rate" in ln and "did you mean 'arrival_rate'?" in ln for ln in lines)
    assert any("organisation.teams" in ln for ln in lines)
    assert any("handoff.loss_prob" in ln for ln in lines)


def test_cli_reports_set_problems_with_their_source(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "run", CENTRAL_IT, "--set", "handoff.loss_prob=2", "--set", "demand.arival_rate=3")
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 2
    assert all(str(CENTRAL_IT) in line and "--set" in line for line in lines)
    assert any("handoff.loss_prob" in ln for ln in lines)
    assert any("demand.arival_rate" in ln and "did you mean 'arrival_rate'?" in ln for ln in lines)


def test_cli_error_in_a_fresh_process_has_no_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.toml", "[handoff]\nloss_prob = 1.5\n")
    done = run_module("run", path)
    assert done.returncode == 2
    assert done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    assert str(path) in line
    assert "handoff.loss_prob" in line
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("args", [("nowhere.toml",), (CENTRAL_IT, "--ticks", "50")], ids=["missing", "ticks"])
def test_cli_bad_input_exits_2(capsys: pytest.CaptureFixture[str], args: tuple[str, ...]) -> None:
    code, out, err = run_cli(capsys, "run", *args)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1

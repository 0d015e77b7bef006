"""The scenario validators' error paths (sim/scenario/schema.py), through ``orgsim run``: each
rejected value exits 2 with one line naming its key, before any run; each boundary that is
allowed is accepted."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CENTRAL_IT, run_cli

from sim.scenario.errors import ScenarioError
from sim.scenario.files import load_scenario

# The values the cases below depend on, written out so that they do not follow the shipped files.
BASE_TOML = """\
structure = "central_it"
[simulation]
ticks = 600
warmup_ticks = 100
[organisation]
teams = 12
[demand]
priority = ["incident", "ktlo", "feature"]
[demand.kinds]
feature = 0.6
incident = 0.2
ktlo = 0.2
[[central_it.stages]]
name = "analysis"
effort_share = 0.15
[[central_it.stages]]
name = "build"
effort_share = 0.5
[[central_it.stages]]
name = "test"
effort_share = 0.2
[[central_it.stages]]
name = "operations"
effort_share = 0.15
[context_switching]
loss_by_concurrency = [0.0, 0.2, 0.4, 0.6, 0.75]
[spread]
initial_adopters = 1
"""
STAGES_09 = 'central_it.stages=[{name="a", effort_share=0.5}, {name="b", effort_share=0.4}]'


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("validators") / "base.toml"
    path.write_text(BASE_TOML, encoding="utf-8")
    return path


def source(base: Path) -> str:
    return f"orgsim: {base} with --set: "


def rejected(capsys: pytest.CaptureFixture[str], scenario: Path, *assignments: str) -> list[str]:
    """The error lines of ``orgsim run SCENARIO --set ...`` (which must exit 2 and print nothing)."""
    args = [arg for assignment in assignments for arg in ("--set", assignment)]
    code, out, err = run_cli(capsys, "run", scenario, *args)
    assert (code, out) == (2, ""), err
    assert err.endswith("\n")
    return err.splitlines()


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        pytest.param(
            'demand.priority=["incident", "ktlo"]',
            "demand.priority: priority must list each of feature, incident, ktlo exactly once "
            "(got ['incident', 'ktlo'])",
            id="priority-missing-a-kind",
        ),
        pytest.param(
            'demand.priority=["incident", "ktlo", "ktlo"]',
            "demand.priority: priority must list each of feature, incident, ktlo exactly once "
            "(got ['incident', 'ktlo', 'ktlo'])",
            id="priority-repeating-a-kind",
        ),
        pytest.param(
            'demand.priority=["incident", "ktlo", "feature", "feature"]',
            "demand.priority: priority must list each of feature, incident, ktlo exactly once "
            "(got ['incident', 'ktlo', 'feature', 'feature'])",
            id="priority-with-every-kind-and-a-repeat",
        ),
        pytest.param(
            "demand.kinds.feature=0.5",
            "demand.kinds: kind shares must sum to 1 (they sum to 0.9) "
            "(got {'feature': 0.5, 'incident': 0.2, 'ktlo': 0.2})",
            id="kind-shares-below-1",
        ),
        pytest.param(
            STAGES_09,
            "central_it.stages: stage effort shares must sum to 1 (they sum to 0.9) "
            "(got [{'name': 'a', 'effort_share': 0.5}, {'name': 'b', 'effort_share': 0.4}])",
            id="stage-shares-below-1",
        ),
        pytest.param(
            'central_it.stages=[{name="a", effort_share=0.6}, {name="b", effort_share=0.6}]',
            "central_it.stages: stage effort shares must sum to 1 (they sum to 1.2) "
            "(got [{'name': 'a', 'effort_share': 0.6}, {'name': 'b', 'effort_share': 0.6}])",
            id="stage-shares-above-1",
        ),
        pytest.param(
            "context_switching.loss_by_concurrency=[0.0, 0.4, 0.2]",
            "context_switching.loss_by_concurrency: losses must not decrease with concurrency (got [0.0, 0.4, 0.2])",
            id="losses-decreasing",
        ),
        pytest.param(
            "context_switching.loss_by_concurrency=[0.0, 1.0]",
            "context_switching.loss_by_concurrency: each loss must be in [0, 1) (got [0.0, 1.0])",
            id="loss-of-everything",
        ),
        pytest.param(
            "context_switching.loss_by_concurrency=[-0.1, 0.2]",
            "context_switching.loss_by_concurrency: each loss must be in [0, 1) (got [-0.1, 0.2])",
            id="negative-loss",
        ),
        pytest.param(
            "simulation.warmup_ticks=600",
            "simulation.warmup_ticks must be smaller than simulation.ticks",
            id="warmup-as-long-as-the-run",
        ),
        pytest.param(
            "organisation.teams=3",
            "central_it needs at least one team per stage: organisation.teams >= 4",
            id="fewer-teams-than-stages",
        ),
        pytest.param(
            "spread.initial_adopters=13",
            "spread.initial_adopters must not exceed organisation.teams",
            id="more-adopters-than-teams",
        ),
    ],
)
def test_a_rejected_value_is_one_line_naming_its_key(
    capsys: pytest.CaptureFixture[str], base: Path, assignment: str, message: str
) -> None:
    assert rejected(capsys, base, assignment) == [source(base) + message]


def test_kind_shares_just_beyond_the_rounding_allowance_are_rejected(
    capsys: pytest.CaptureFixture[str], base: Path
) -> None:
    # 1.000002 is printed "1" by the message's :g format; the key and the rule are what count.
    [line] = rejected(capsys, base, "demand.kinds.ktlo=0.200002")
    assert line.startswith(source(base) + "demand.kinds: kind shares must sum to 1 (they sum to ")


def test_every_problem_is_reported_at_once_one_line_each(capsys: pytest.CaptureFixture[str], base: Path) -> None:
    lines = rejected(
        capsys, base, 'demand.priority=["ktlo"]', STAGES_09, "context_switching.loss_by_concurrency=[0.5, 0.1]"
    )
    keys = [line.removeprefix(source(base)).partition(":")[0] for line in lines]
    assert keys == ["demand.priority", "central_it.stages", "context_switching.loss_by_concurrency"]


def test_a_file_is_checked_like_an_override_and_named(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[demand]\npriority = ["feature", "feature", "incident"]\n', encoding="utf-8")
    code, out, err = run_cli(capsys, "run", path)
    assert (code, out) == (2, "")
    assert err == (
        f"orgsim: {path}: demand.priority: priority must list each of feature, incident, ktlo exactly once "
        "(got ['feature', 'feature', 'incident'])\n"
    )


def test_the_consistency_checks_hold_after_the_micro_provider_switch(
    capsys: pytest.CaptureFixture[str], base: Path
) -> None:
    # Too few teams for central_it's four stages is fine once nobody works in stages.
    micro = 'structure="micro_provider"'
    assert load_scenario(base, [micro, "organisation.teams=3"]).organisation.teams == 3
    lines = rejected(capsys, base, micro, "organisation.teams=4", "spread.initial_adopters=5")
    assert lines == [source(base) + "spread.initial_adopters must not exceed organisation.teams"]


@pytest.mark.parametrize(
    "assignments",
    [
        pytest.param(['demand.priority=["feature", "ktlo", "incident"]'], id="priority-in-another-order"),
        pytest.param(
            ["demand.kinds.feature=0.1", "demand.kinds.incident=0.2", "demand.kinds.ktlo=0.7"],
            id="kind-shares-summing-to-1-up-to-rounding",
        ),
        pytest.param(["demand.kinds.ktlo=0.2000009"], id="kind-shares-within-the-rounding-allowance"),
        pytest.param(
            [
                'central_it.stages=[{name="a", effort_share=0.1}, {name="b", effort_share=0.2}, '
                '{name="c", effort_share=0.7}]',
                "organisation.teams=3",
            ],
            id="stage-shares-summing-to-1-up-to-rounding",
        ),
        pytest.param(["context_switching.loss_by_concurrency=[0.0, 0.3, 0.3, 0.999]"], id="losses-level-then-rising"),
        pytest.param(["context_switching.loss_by_concurrency=[0.0]"], id="no-loss-at-all"),
        pytest.param(["simulation.warmup_ticks=599"], id="warmup-one-tick-short-of-the-run"),
        pytest.param(["organisation.teams=4"], id="one-team-per-stage"),
        pytest.param(["spread.initial_adopters=12"], id="every-team-adopts-at-the-start"),
    ],
)
def test_a_boundary_that_is_allowed_is_accepted(base: Path, assignments: list[str]) -> None:
    scenario = load_scenario(base, assignments)
    assert scenario.organisation.teams >= len(scenario.central_it.stages)


def test_an_accepted_boundary_runs(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(
        capsys,
        "run",
        CENTRAL_IT,
        "--ticks",
        "30",
        "--set",
        "simulation.warmup_ticks=29",
        "--set",
        "context_switching.loss_by_concurrency=[0.0, 0.5, 0.5]",
        "--set",
        'demand.priority=["feature", "incident", "ktlo"]',
        "--json",
    )
    assert (code, err) == (0, "")
    assert '"structure": "central_it"' in out


def test_the_validators_raise_scenario_errors_in_the_library_too() -> None:
    with pytest.raises(ScenarioError, match=r"^\S+ with --set: demand\.priority: priority must list"):
        load_scenario(CENTRAL_IT, ['demand.priority=["incident"]'])

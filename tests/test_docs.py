"""The documentation matches the code: the scenario reference is current and every
scenario parameter is described in the reference and in the ODD model description."""

from pathlib import Path

from sim.scenario.reference import markdown, reference_rows

DOCS = Path(__file__).resolve().parent.parent / "docs"
NOT_MODEL_PARAMETERS = {"extends", "name", "description"}


def test_scenario_reference_is_current():
    assert (DOCS / "scenarios.md").read_text(encoding="utf-8") == markdown(), (
        "docs/scenarios.md is stale: run `make docs`"
    )


def test_every_parameter_has_a_meaning_in_the_reference():
    assert [row[0] for row in reference_rows() if not row[4].strip()] == []


def test_every_model_parameter_is_described_in_the_odd():
    odd = (DOCS / "ODD.md").read_text(encoding="utf-8")
    keys = [row[0] for row in reference_rows() if row[0] not in NOT_MODEL_PARAMETERS]
    assert [key for key in keys if f"`{key}`" not in odd] == []

"""Whatever a user types ends in a result (exit 0) or lines on stderr that each start with
``orgsim`` (exit 2), never a traceback (issue 18): generated scenario texts, byte strings,
``--set`` overrides and option combinations, thrown at the CLI in-process.

Runs are kept short (the generated file or overrides come first; a few safe values last pin
the run length and size), so each example takes well under a second; the examples are
derandomised (tests/conftest.py), so every run tests the same inputs."""

from __future__ import annotations

import tempfile
from pathlib import Path

from conftest import CENTRAL_IT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from sim.cli import main
from sim.scenario.files import model_in
from sim.scenario.schema import Scenario

PINNED = [
    "simulation.ticks=15",
    "simulation.warmup_ticks=5",
    "organisation.teams=4",
    "organisation.services=8",
    "demand.arrival_rate=2",
    "operating_model.project_ticks=10",
]
PIN = [arg for item in PINNED for arg in ("--set", item)]
# capsys is read (and so emptied) after every example
FUZZ = settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def key_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every dotted key of the scenario schema."""
    keys = []
    for name, field in model.model_fields.items():
        inner = model_in(field.annotation)
        keys += key_paths(inner, f"{prefix}{name}.") if inner else [f"{prefix}{name}"]
    return keys


KEYS = key_paths(Scenario)
SECTIONS = sorted({key.split(".")[0] for key in KEYS if "." in key})

toml_values = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(["0", "1", "-1", "1e20", "1e-300", "inf", "-inf", "nan", "0.5", "1.0", "true", "false"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=12).map(lambda s: '"' + s.replace("\\", "").replace('"', "") + '"'),
    st.sampled_from(['"central_it"', '"micro_provider"', '"project"', "[]", "[1, 2]", "{a = 1}", "[[[]]]"]),
    st.text(max_size=8),  # not TOML at all
)
keys = st.one_of(st.sampled_from(KEYS), st.sampled_from(SECTIONS), st.text(max_size=20))
overrides = st.builds(lambda key, value: f"{key}={value}", keys, toml_values) | st.text(max_size=30)


@st.composite
def scenario_texts(draw: st.DrawFn) -> str:
    """TOML-like text: sections and keys of the schema (and others) with odd values."""
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.booleans()):
            lines.append(f"[{draw(st.sampled_from(SECTIONS) | st.text(max_size=6))}]")
        lines.append(f"{draw(st.sampled_from([k.split('.')[-1] for k in KEYS]) | keys)} = {draw(toml_values)}")
    return "\n".join(lines) + "\n"


def check(argv: list[str], capsys) -> None:
    """``orgsim argv`` exits 0 or 2 with every stderr line from orgsim and no traceback."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own exit
        code = exc.code
    err = capsys.readouterr().err
    assert code in (0, 2), (argv, code, err)
    assert "Traceback" not in err, err
    assert all(line.startswith("orgsim") for line in err.splitlines()), err
    if code == 2:
        assert err.strip(), "exit 2 without saying why"


def scenario_file(folder: str, content: str | bytes) -> Path:
    path = Path(folder) / "fuzz.toml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
    return path


@FUZZ
@given(content=scenario_texts() | st.text(max_size=200) | st.binary(max_size=200))
def test_any_scenario_file_content(content, capsys):
    with tempfile.TemporaryDirectory() as folder:
        check(["run", str(scenario_file(folder, content)), *PIN], capsys)


@FUZZ
@given(sets=st.lists(overrides, max_size=4))
def test_any_override_strings(sets, capsys):
    check(["run", str(CENTRAL_IT), *[arg for item in sets for arg in ("--set", item)], *PIN], capsys)


OPTIONS = st.one_of(
    st.tuples(st.sampled_from(["--seed", "--ticks", "--workers", "--reps"]), st.integers(-5, 2**70).map(str)),
    st.tuples(st.sampled_from(["--max-memory", "--scheduler", "--precision", "--max-reps"]), st.text(max_size=10)),
    st.tuples(st.sampled_from(["--json", "--quiet", "--oversubscribe", "--repair", "--bogus"])),
    st.tuples(st.text(max_size=10)),
)


@FUZZ
@given(command=st.sampled_from(["run", "sweep"]), options=st.lists(OPTIONS, max_size=4))
def test_any_option_combination(command, options, capsys):
    with tempfile.TemporaryDirectory() as folder:
        argv = [command, str(CENTRAL_IT), *PIN, *[word for option in options for word in option]]
        if command == "sweep":  # small and serial, whatever was drawn (the last value of an option wins)
            argv += ["--reps", "2", "--workers", "1", "--quiet", "--out", str(Path(folder) / "out")]
        check(argv, capsys)

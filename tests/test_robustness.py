"""Nothing a user types can crash, hang or corrupt (issue 18): the inputs a hostile user tried,
kept as named regression cases. Each ends in a result (exit 0) or one line on stderr naming
the file or option, the key and the fix (exit 2), never a traceback; every accepted scenario
finishes in bounded time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CENTRAL_IT, ROOT

from sim.cli import main
from sim.run import run_scenario
from sim.scenario.files import MAX_EXTENDS, MAX_SCENARIO_BYTES, load_scenario

WAIT_S = 300  # a subprocess that must not block: far above a loaded machine's start-up time
SHORT = ["--ticks", "20", "--set", "simulation.warmup_ticks=5", "--set", "organisation.teams=4"]


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str], *fragments: str) -> str:
    """Run ``orgsim argv`` in-process; check exit 2 and one line holding every fragment."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("orgsim"), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


# --- scenario files: only regular UTF-8 files of modest size --------------------------------
def test_a_binary_scenario_file_is_refused(tmp_path, capsys):
    path = tmp_path / "binary.toml"
    path.write_bytes(b"\x00\xff\xfe binary")
    one_line_error(capsys, ["run", str(path)], str(path), "not UTF-8")


def test_extends_pointing_at_a_binary_file_names_that_file(tmp_path, capsys):
    (tmp_path / "binary.toml").write_bytes("name = 'é'".encode("latin-1"))
    (tmp_path / "top.toml").write_text('extends = "binary.toml"\n')
    one_line_error(capsys, ["run", str(tmp_path / "top.toml")], "binary.toml", "not UTF-8")


def test_a_directory_as_the_scenario_is_refused(tmp_path, capsys):
    (tmp_path / "dir.toml").mkdir()
    one_line_error(capsys, ["run", str(tmp_path / "dir.toml")], "dir.toml", "not a regular file")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_scenario_is_refused(tmp_path, capsys):
    path = tmp_path / "secret.toml"
    path.write_text('name = "x"\n')
    path.chmod(0)
    one_line_error(capsys, ["run", str(path)], str(path), "cannot open")


@pytest.mark.parametrize("kind", ["fifo", "dev_zero"])
def test_a_fifo_or_device_is_refused_without_reading(tmp_path, kind):
    if kind == "fifo":
        path = tmp_path / "fifo.toml"
        os.mkfifo(path)  # no writer: reading it would block for ever
    else:
        path = Path("/dev/zero")  # reading it would never end
    done = subprocess.run(
        [sys.executable, "-m", "sim", "run", str(path)], cwd=ROOT, capture_output=True, text=True, timeout=WAIT_S
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"orgsim: {path}: not a regular file; give the path of a scenario .toml file"
    ]


def test_a_file_over_the_size_cap_is_refused(tmp_path, capsys):
    path = tmp_path / "big.toml"
    path.write_text("# padding\n" * (MAX_SCENARIO_BYTES // 10 + 1))
    one_line_error(capsys, ["run", str(path)], str(path), "larger than")


def test_a_long_extends_chain_is_refused(tmp_path, capsys):
    count = 1000  # deeper than Python's recursion limit
    for i in range(count):
        (tmp_path / f"c{i}.toml").write_text(f'extends = "c{i + 1}.toml"\n')
    (tmp_path / f"c{count}.toml").write_text('name = "end"\n')
    one_line_error(capsys, ["run", str(tmp_path / "c0.toml")], f"chain longer than {MAX_EXTENDS} files")


def test_a_chain_within_the_limit_loads(tmp_path):
    last = MAX_EXTENDS - 2  # c0 ... c{last}, then central_it.toml: MAX_EXTENDS files
    for i in range(last):
        (tmp_path / f"c{i}.toml").write_text(f'extends = "c{i + 1}.toml"\n')
    (tmp_path / f"c{last}.toml").write_text(f'extends = "{CENTRAL_IT}"\n')
    assert load_scenario(tmp_path / "c0.toml").structure == "central_it"


def test_deeply_nested_values_are_refused(tmp_path, capsys):
    path = tmp_path / "deep.toml"
    path.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")
    one_line_error(capsys, ["run", str(path)], str(path), "nested too deeply")


# --- values ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("assignment", "key"),
    [
        ("operating_model.project_ticks=100000000000000000000", "operating_model.project_ticks"),
        ("operating_model.project_ticks=1e20", "operating_model.project_ticks"),
        ("handoff.delay_ticks=inf", "handoff.delay_ticks"),
        ("quality.pressure_horizon_ticks=inf", "quality.pressure_horizon_ticks"),
        ("spread.load_memory_ticks=nan", "spread.load_memory_ticks"),
        ("value.feature_per_day=inf", "value.feature_per_day"),
        ("spread.mandate_lag_ticks=9223372036854775808", "spread.mandate_lag_ticks"),
    ],
)
def test_overflowing_and_non_finite_values_are_refused(capsys, assignment, key):
    one_line_error(capsys, ["run", str(CENTRAL_IT), *SHORT, "--set", assignment], key)


def test_run_refuses_a_negative_seed(capsys):
    one_line_error(capsys, ["run", str(CENTRAL_IT), *SHORT, "--seed", "-1"], "--seed -1", ">= 0")


def test_run_json_is_strict_json_with_null_for_undefined_metrics(capsys):
    no_spread = ["--set", "spread.initial_adopters=0", "--set", "spread.external_prob=0"]
    assert main(["run", str(CENTRAL_IT), *SHORT, *no_spread, "--json"]) == 0
    record = json.loads(capsys.readouterr().out, parse_constant=pytest.fail)  # NaN/Infinity fail
    assert record["adoption_t50_ticks"] is None  # nobody adopts
    assert record["throughput_per_tick"] > 0


def test_an_unknown_option_is_one_line(capsys):
    one_line_error(capsys, ["run", str(CENTRAL_IT), "--sed", "1"], "--sed")
    one_line_error(capsys, ["run"], "orgsim run: the following arguments are required: scenario", "orgsim run --help")
    one_line_error(capsys, ["sweep", str(CENTRAL_IT), "--reps", "x"], "--reps", "invalid int value")


# --- cascades: work created within a tick without advancing time ---------------------------------
@pytest.mark.parametrize("structure", ["central_it", "micro_provider"])
def test_a_chain_of_failing_fixes_advances_time(structure):
    # The hang: every handoff loses information, nothing is caught, and each failed
    # fix causes an incident costing a tiny share of the item. Each link now waits for the
    # next tick, so the run finishes with a bounded number of items.
    scenario = load_scenario(
        CENTRAL_IT,
        [
            f'structure="{structure}"',
            "simulation.ticks=60",
            "simulation.warmup_ticks=5",
            "handoff.loss_prob=1",
            "handoff.delay_ticks=0",
            "quality.early_detection_prob=0",
            "spread.detection_gain=0",
            "quality.escaped_effort_factor=1e-9",
        ],
    )
    result = run_scenario(scenario, seed=0)
    items = result.items
    escaped = items[items["origin"] == 1]
    assert len(escaped) > 0
    # at most one link per tick for each item released: never more incidents than item-ticks
    assert len(items) <= result.summary["items_arrived"] * scenario.simulation.ticks
    assert (escaped["arrival"] == escaped["arrival"].round()).all()  # reported at a tick start

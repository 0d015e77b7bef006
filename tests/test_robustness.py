"""Nothing a user types can crash, hang or corrupt (issue 18): the inputs a hostile user tried,
kept as named regression cases. Each ends in a result (exit 0) or one line on stderr naming
the file or option, the key and the fix (exit 2), never a traceback; every accepted scenario
finishes in bounded time."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CENTRAL_IT, MICRO_PROVIDER, ROOT

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
    one_line_error(capsys, ["run", str(CENTRAL_IT), "\x1e"], "unrecognized arguments: \\x1e")  # found by test_fuzz_cli
    one_line_error(capsys, ["run", str(CENTRAL_IT), "--set", "a\nb=1"], "unknown key")


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


# --- sweep folders: owned, damaged lines found, repaired ---------------------------------------
SWEEP = ["sweep", str(CENTRAL_IT), *SHORT, "--grid", "structure=central_it,micro_provider", "--reps", "2"]
SERIAL = ["--workers", "1", "--quiet"]


@pytest.fixture(scope="module")
def swept(tmp_path_factory) -> tuple[Path, dict[str, bytes]]:
    """A finished four-run sweep and its tables' bytes."""
    out = tmp_path_factory.mktemp("swept")
    assert main([*SWEEP, *SERIAL, "--out", str(out)]) == 0
    return out, tables(out)


def tables(out: Path) -> dict[str, bytes]:
    return {name: (out / f"{name}.csv").read_bytes() for name in ("runs", "summary", "comparison")}


def copy_of(swept_out: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    for name in ("design.json", "runs.jsonl"):
        (out / name).write_bytes((swept_out / name).read_bytes())
    return out


def tamper(line: bytes) -> bytes:
    record = json.loads(line)
    record["throughput_per_tick"] += 1
    return json.dumps(record).encode() + b"\n"


@pytest.mark.parametrize(
    ("name", "damage", "reason"),
    [
        ("non-utf8", lambda line: b"\xff\xfe" + line, "not a JSON line"),
        ("empty-object", lambda line: b"{}\n", "not a run record"),
        ("null", lambda line: b"null\n", "not a run record"),
        ("list", lambda line: b"[1,2]\n", "not a run record"),
        ("nuls", lambda line: b"\x00" * 40 + b"\n", "not a JSON line"),
        ("run-id-only", lambda line: json.dumps({"run_id": json.loads(line)["run_id"]}).encode() + b"\n", "digest"),
        ("tampered-metric", tamper, "digest"),
    ],
)
def test_a_damaged_line_is_named_and_repair_redoes_its_run(swept, tmp_path, capsys, name, damage, reason):
    out = copy_of(swept[0], tmp_path)
    log = out / "runs.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    lines[1] = damage(lines[1])
    log.write_bytes(b"".join(lines))
    one_line_error(capsys, [*SWEEP, *SERIAL, "--out", str(out)], f"{log}:2: ", reason, "--repair")
    assert main([*SWEEP, *SERIAL, "--out", str(out), "--repair"]) == 0
    captured = capsys.readouterr()
    assert "1 run now, 3 already done" in captured.out and "moved 1 damaged lines" in captured.err
    assert tables(out) == swept[1]
    rejected = [json.loads(text) for text in (out / "runs.rejected.jsonl").read_text().splitlines()]
    assert [(r["line"], reason in r["reason"]) for r in rejected] == [(2, True)]


def test_a_record_of_another_design_is_rejected(swept, tmp_path, capsys):
    out = copy_of(swept[0], tmp_path)
    log = out / "runs.jsonl"
    from sim.experiment.sweep import _json_line  # a well-formed line with a seed the design does not give

    record = json.loads(log.read_bytes().splitlines()[0])
    del record["_check"]
    record["seed"] += 1
    log.write_text(log.read_text() + _json_line(record))
    one_line_error(capsys, [*SWEEP, *SERIAL, "--out", str(out)], f"{log}:5: seed not as this design has it")


def test_a_design_file_holding_a_list_is_refused(tmp_path, capsys):
    (tmp_path / "design.json").write_text("[]\n")
    one_line_error(capsys, [*SWEEP, *SERIAL, "--out", str(tmp_path)], "design.json: not a design file")


@pytest.mark.parametrize("command", ["sweep", "run", "compare"])
@pytest.mark.parametrize("where", ["a-file", "under-a-file"])
def test_an_out_that_cannot_be_a_directory_is_refused(tmp_path, capsys, where, command):
    (tmp_path / "file").write_text("x")
    out = tmp_path / "file" if where == "a-file" else tmp_path / "file" / "sub"
    argv = {
        "sweep": [*SWEEP, *SERIAL],
        "run": ["run", str(CENTRAL_IT), *SHORT],
        "compare": ["compare", str(CENTRAL_IT), str(MICRO_PROVIDER), *SHORT, "--reps", "2", "--workers", "1"],
    }[command]
    one_line_error(capsys, [*argv, "--out", str(out)], f"--out {out}: cannot use it")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_a_read_only_out_is_refused(tmp_path, capsys):
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o500)
    one_line_error(capsys, [*SWEEP, *SERIAL, "--out", str(out)], f"--out {out}: cannot use it")


def test_workers_above_the_cores_are_refused_unless_oversubscribed(tmp_path, capsys):
    cores = len(os.sched_getaffinity(0))
    one_line_error(capsys, [*SWEEP, "--workers", str(cores + 1), "--out", str(tmp_path)], "--oversubscribe")
    assert not (tmp_path / "runs.jsonl").exists()


def test_a_second_sweep_into_the_same_folder_is_refused_naming_the_holder(tmp_path, capsys):
    out = tmp_path / "out"
    long_sweep = ["sweep", str(CENTRAL_IT), "--ticks", "200000", "--reps", "1", *SERIAL, "--out", str(out)]
    first = subprocess.Popen([sys.executable, "-m", "sim", *long_sweep], cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        owner = out / ".owner"
        wait_for(lambda: owner.exists() and owner.read_text().strip(), first)
        line = one_line_error(capsys, [*SWEEP, *SERIAL, "--out", str(out)], "in use by another sweep")
        assert f"process {first.pid} on " in line
    finally:
        first.kill()
        first.wait(timeout=WAIT_S)
    # the lock dies with its holder: the folder is free again (and holds another design)
    one_line_error(capsys, [*SWEEP, *SERIAL, "--out", str(out)], "different design")


def wait_for(condition, process: subprocess.Popen, timeout: float = WAIT_S) -> None:
    """Wait until ``condition()`` holds, failing if ``process`` ends first or time runs out."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"ended with {process.returncode}"
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.1)


# --- memory and work: estimated at validation, refused over --max-memory ---------------------------
@pytest.mark.parametrize(
    ("assignment", "key"),
    [
        ("organisation.teams=100000", "organisation.teams"),
        ("demand.arrival_rate=1000000", "demand.arrival_rate"),
        ("organisation.dependencies_per_service=1000", "organisation.dependencies_per_service"),
    ],
)
def test_a_run_that_would_exhaust_memory_is_refused_with_its_estimate(capsys, assignment, key):
    argv = ["run", str(CENTRAL_IT), "--set", "organisation.services=1000000", "--set", assignment]
    line = one_line_error(capsys, argv, "a run needs about", key)
    assert "--max-memory" in line and ("GiB" in line or "TiB" in line)


def test_max_memory_is_the_users_to_set(capsys):
    one_line_error(capsys, ["run", str(CENTRAL_IT), *SHORT, "--max-memory", "100M"], "over the limit of 100 MiB")
    assert main(["run", str(CENTRAL_IT), *SHORT, "--max-memory", "1G"]) == 0
    one_line_error(capsys, ["run", str(CENTRAL_IT), "--max-memory", "lots"], "--max-memory", "memory size")


def test_a_sweep_point_over_the_limit_is_refused_before_any_run(tmp_path, capsys):
    argv = ["sweep", str(CENTRAL_IT), *SHORT, "--grid", "demand.arrival_rate=5,1000000", *SERIAL]
    one_line_error(capsys, [*argv, "--out", str(tmp_path)], "design point (demand.arrival_rate=1000000.0)")
    assert not (tmp_path / "runs.jsonl").exists()


def test_a_sensitivity_point_over_the_limit_is_refused_before_any_run(tmp_path, capsys):
    """The base's 120 items fit in 210 MiB, the range top's 6,000 (12 MiB) do not; both run in
    moments, so a check that lets the point through fails quickly."""
    out = tmp_path / "out"
    argv = ["sensitivity", str(CENTRAL_IT), *SHORT, "--params", "demand.arrival_rate=1:300", "--reps", "1", *SERIAL]
    one_line_error(
        capsys, [*argv, "--max-memory", "210M", "--out", str(out)], "--params: design point (demand.arrival_rate=",
        "over the limit of 210 MiB", "raise --max-memory",
    )  # fmt: skip
    assert not out.exists()


@pytest.mark.parametrize("command", ["sweep", "compare", "sensitivity"])
def test_every_replicating_command_hands_lost_timeout_to_its_executor(tmp_path, capsys, monkeypatch, command):
    from sim.experiment import sweep

    given = []
    make_executor = sweep.make_executor
    monkeypatch.setattr(sweep, "make_executor", lambda *args: given.append(args[2]) or make_executor(*args))
    scenarios = [str(CENTRAL_IT), str(MICRO_PROVIDER)] if command == "compare" else [str(CENTRAL_IT)]
    extra = ["--reps", "1"]
    if command == "sensitivity":
        extra += ["--params", "demand.arrival_rate=4:6", "--metrics", "throughput_per_tick"]
    argv = [command, *scenarios, *SHORT, *extra, *SERIAL, "--out", str(tmp_path / "out"), "--lost-timeout", "7.5"]
    assert main(argv) == 0
    assert given == [7.5]
    capsys.readouterr()


@pytest.mark.parametrize("value", ["0", "-1", "inf", "nan", "soon"])
def test_a_lost_timeout_that_is_not_seconds_is_refused_before_anything_starts(tmp_path, capsys, value):
    argv = ["sweep", str(CENTRAL_IT), *SHORT, *SERIAL, "--out", str(tmp_path / "out"), "--lost-timeout", value]
    one_line_error(capsys, argv, "--lost-timeout", "is not a number of seconds > 0")
    assert not (tmp_path / "out").exists()


# --- interruptions and lost workers, with real processes and signals -------------------------------
LONG_SWEEP = ["--set", "simulation.warmup_ticks=10", "--grid", "simulation.ticks=120,100000", "--reps", "2"]


class Started:
    """``orgsim ARGS`` in its own session; whatever happens, its whole group is killed at the end."""

    def __init__(self, folder: Path, *args: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.err_path = folder / "stderr"
        with self.err_path.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "sim", *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err,
                start_new_session=True,
            )  # fmt: skip

    def __enter__(self) -> Started:
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=WAIT_S)

    def stderr(self) -> str:
        return self.err_path.read_text()


def rows_in(log: Path) -> int:
    return len(log.read_bytes().splitlines()) if log.exists() else 0


@pytest.mark.slow
@pytest.mark.parametrize(
    ("number", "code", "line"), [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")]
)
def test_a_signal_stops_a_pool_sweep_in_long_runs_promptly(tmp_path, number, code, line):
    out = tmp_path / "out"
    with Started(
        tmp_path, "sweep", str(CENTRAL_IT), *LONG_SWEEP, "--workers", "2", "--quiet", "--out", str(out)
    ) as sweep:
        wait_for(lambda: rows_in(out / "runs.jsonl") >= 2, sweep.process)  # both workers now in long runs
        sweep.process.send_signal(number)
        assert sweep.process.wait(timeout=WAIT_S / 5) == code  # a long run takes minutes
        assert sweep.stderr() == f"orgsim: {line}\n"  # no leaked-semaphore warning, no traceback
    assert rows_in(out / "runs.jsonl") == 2


@pytest.mark.slow
@pytest.mark.parametrize("lose", ["scheduler", "worker", "sigint", "sigterm"])
def test_a_dask_sweep_stops_in_one_line_when_its_cluster_is_lost_or_it_is_interrupted(tmp_path, lose):
    pytest.importorskip("distributed")
    scheduler_file, out = tmp_path / "scheduler.json", tmp_path / "out"
    dask = [sys.executable, "-m"]
    with contextlib.ExitStack() as stack:

        def start(*args: str) -> subprocess.Popen:
            process = subprocess.Popen([*args], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                       start_new_session=True)  # fmt: skip
            stack.callback(lambda: (os.killpg(process.pid, signal.SIGKILL), process.wait(timeout=WAIT_S)))
            return process

        scheduler = start(*dask, "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
                          "--no-dashboard", "--scheduler-file", str(scheduler_file))  # fmt: skip
        wait_for(lambda: scheduler_file.exists() and scheduler_file.read_text().strip(), scheduler)
        address = json.loads(scheduler_file.read_text())["address"]
        worker = start(*dask, "distributed.cli.dask_worker", address, "--nthreads", "2", "--no-dashboard",
                       "--local-directory", str(tmp_path / "scratch"))  # fmt: skip
        args = ["sweep", str(CENTRAL_IT), *LONG_SWEEP, "--quiet", "--out", str(out), "--scheduler", address]
        sweep = stack.enter_context(Started(tmp_path / "sweep", *args, "--lost-timeout", "10"))
        wait_for(lambda: rows_in(out / "runs.jsonl") >= 2, sweep.process)  # the worker now in long runs
        if lose in ("scheduler", "worker"):
            os.killpg((scheduler if lose == "scheduler" else worker).pid, signal.SIGKILL)
        else:
            sweep.process.send_signal(signal.SIGINT if lose == "sigint" else signal.SIGTERM)
        code = sweep.process.wait(timeout=WAIT_S / 5)
        err = sweep.stderr()
    expected = {"sigint": (130, "orgsim: interrupted"), "sigterm": (143, "orgsim: terminated")}
    if lose in expected:
        assert (code, err.strip()) == expected[lose]
    else:
        assert code == 1 and len(err.splitlines()) == 1, err
        assert "the 2 runs finished are kept" in err and "run the same command again" in err
    assert rows_in(out / "runs.jsonl") == 2


def test_a_scheduler_that_is_not_an_address_is_refused(tmp_path, capsys):
    pytest.importorskip("distributed")
    argv = [*SWEEP, "--quiet", "--out", str(tmp_path), "--scheduler", "notanaddress"]
    one_line_error(capsys, argv, "--scheduler notanaddress: cannot connect")

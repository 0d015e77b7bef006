"""Interruptions and failures with their real mechanics: Ctrl-C (SIGINT to the process group, as
a terminal sends it) during ``orgsim sweep`` on a process pool and during ``orgsim run``; the
sweep's parent killed with SIGKILL; a pool worker killed; stdout closed under the command
(BrokenPipe); a run that raises, in a worker and in the serial executor.

Every subprocess runs in its own session, so the test can signal its group and, whatever
happens, kill what it started. Waits are on conditions (a line in runs.jsonl, a worker
process, CPU time spent) with generous timeouts: the machines are heavily loaded."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from conftest import CENTRAL_IT, ROOT

from sim.experiment.design import Design, RunSpec, run_id
from sim.experiment.sweep import RUNS_LOG, RunLog, execute, process_pool, run_sweep
from sim.scenario.files import load_scenario

WAIT_S = 600  # for a condition a loaded machine reaches in tens of seconds
GONE_S = 120  # for processes that should exit at once; far below a long run's minutes
PROMPT_S = 60  # Ctrl-C of a sweep of short runs takes about 4 s on a loaded machine
LONG_TICKS = 100_000  # a run of minutes of CPU: no worker can finish it within GONE_S
SHORT_TICKS = 120
# 12 runs of about a second each (0.4-1.3 s in the kernel): not over before Ctrl-C lands after
# the first one. At 150 ticks a run takes 5-9 ms, and the whole sweep could end first.
SWEEP = [
    "sweep", str(CENTRAL_IT), "--grid", "structure=central_it,micro_provider", "--reps", "6",
    "--ticks", "40000", "--set", "simulation.warmup_ticks=20", "--workers", "2", "--quiet",
]  # fmt: skip
# Two short runs, then two long ones: once both short rows are on disk the workers are in long runs.
SHORT_THEN_LONG = [
    "sweep", str(CENTRAL_IT), "--grid", f"simulation.ticks={SHORT_TICKS},{LONG_TICKS}", "--reps", "2",
    "--set", "simulation.warmup_ticks=20", "--workers", "2", "--quiet",
]  # fmt: skip


# --- helpers ---------------------------------------------------------------------------
class Command:
    """``python -m sim ARGS`` in its own session, stdout and stderr in files under ``folder``."""

    def __init__(self, folder: Path, *args: str, stdout: int | None = None) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.out_path, self.err_path = folder / "stdout", folder / "stderr"
        with self.out_path.open("wb") as out, self.err_path.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "sim", *args],
                cwd=ROOT,
                stdout=out if stdout is None else stdout,
                stderr=err,
                start_new_session=True,
            )
        self.pid = self.process.pid
        self.seen: dict[int, psutil.Process] = {}  # every descendant ever seen, killed at the end

    def descendants(self) -> list[psutil.Process]:
        try:
            found = psutil.Process(self.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            found = []
        for child in found:
            self.seen.setdefault(child.pid, child)
        return found

    def workers(self) -> list[psutil.Process]:
        """Pool workers: the fork server's children (grandchildren of the command)."""
        return [p for p in self.descendants() if _ppid(p) not in (self.pid, None)]

    def wait(self, timeout: float = WAIT_S) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{self} still running {timeout} s later:\n{self.stderr()}")

    def stdout(self) -> str:
        return self.out_path.read_text(encoding="utf-8", errors="replace")

    def stderr(self) -> str:
        return self.err_path.read_text(encoding="utf-8", errors="replace")

    def kill_all(self) -> None:
        """Kill the command and every descendant it had (by pid, only what this test started)."""
        self.descendants()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        for process in self.seen.values():
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        self.process.wait()

    def __str__(self) -> str:
        return " ".join(map(str, self.process.args[2:]))


@contextlib.contextmanager
def started(folder: Path, *args: str, stdout: int | None = None) -> Iterator[Command]:
    command = Command(folder, *args, stdout=stdout)
    try:
        yield command
    finally:
        command.kill_all()


def _ppid(process: psutil.Process) -> int | None:
    try:
        return process.ppid()
    except psutil.NoSuchProcess:
        return None


def wait_until(condition: Callable[[], bool], what: str, command: Command, timeout: float = WAIT_S) -> None:
    """Poll ``condition`` until it holds; fail if ``command`` exits first or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while not condition():
        if command.process.poll() is not None:
            pytest.fail(f"{command} exited ({command.process.returncode}) before {what}:\n{command.stderr()}")
        if time.monotonic() > deadline:
            pytest.fail(f"{command}: not {what} within {timeout} s:\n{command.stderr()}")
        time.sleep(0.05)


def lines_in(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def still_running(processes: list[psutil.Process], timeout: float = GONE_S) -> list[psutil.Process]:
    """The ``processes`` still alive (zombies count as gone) after waiting up to ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        alive = []
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                    alive.append(process)
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


def busy_in_long_runs(command: Command, log: Path) -> Callable[[], bool]:
    """Both short rows are on disk and two workers are alive: each has taken a long run."""
    return lambda: lines_in(log) >= 2 and len(command.workers()) >= 2


def tables(out: Path) -> dict[str, bytes]:
    return {name: (out / f"{name}.csv").read_bytes() for name in ("runs", "summary", "comparison")}


# --- Ctrl-C -------------------------------------------------------------------------------
@pytest.mark.slow
def test_ctrl_c_stops_a_pool_sweep_cleanly_and_the_rerun_finishes_it(tmp_path: Path) -> None:
    out, log = tmp_path / "interrupted", tmp_path / "interrupted" / RUNS_LOG
    with started(tmp_path / "first", *SWEEP, "--out", str(out)) as sweep:
        wait_until(lambda: lines_in(log) >= 1 and len(sweep.workers()) == 2, "one run recorded", sweep)
        everything = sweep.descendants()  # resource tracker, fork server, two workers
        os.killpg(sweep.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        code = sweep.wait()
        assert (code, sweep.stderr(), sweep.stdout()) == (130, "orgsim: interrupted\n", "")
        assert still_running(everything) == []
    recorded = lines_in(log)
    assert 1 <= recorded < 12, "the sweep was not interrupted part-way"

    with started(tmp_path / "again", *SWEEP, "--out", str(out)) as again:
        assert again.wait() == 0, again.stderr()
    assert f"12 runs (2 points x 6 reps; {12 - recorded} run now, {recorded} already done)" in again.stdout()
    assert len(RunLog(log).run_ids()) == lines_in(log) == 12  # nothing lost, nothing repeated

    with started(tmp_path / "whole", *SWEEP, "--out", str(tmp_path / "whole-out")) as whole:
        assert whole.wait() == 0, whole.stderr()
    assert tables(out) == tables(tmp_path / "whole-out")


@pytest.mark.slow
def test_ctrl_c_does_not_wait_for_long_runs_to_finish(tmp_path: Path) -> None:
    log = tmp_path / "out" / RUNS_LOG
    with started(tmp_path, *SHORT_THEN_LONG, "--out", str(tmp_path / "out")) as sweep:
        wait_until(busy_in_long_runs(sweep, log), "in the long runs", sweep)
        os.killpg(sweep.pid, signal.SIGINT)
        try:
            code = sweep.process.wait(timeout=PROMPT_S)
        except subprocess.TimeoutExpired:
            code = None
        assert code == 130, f"still running {PROMPT_S} s after Ctrl-C"


@pytest.mark.slow
def test_ctrl_c_during_a_long_run_exits_130_with_one_line(tmp_path: Path) -> None:
    with started(tmp_path, "run", str(CENTRAL_IT), "--ticks", str(LONG_TICKS)) as run:
        process = psutil.Process(run.pid)

        def running() -> bool:
            # numpy is imported only inside the command's handler (orgsim --help imports no heavy
            # library), and the imports take about a second of CPU: past three, the run is under way.
            with contextlib.suppress(psutil.AccessDenied):
                if not any("numpy" in m.path for m in process.memory_maps()):
                    return False
            times = process.cpu_times()
            return times.user + times.system > 3.0

        wait_until(running, "running the scenario", run)
        os.killpg(run.pid, signal.SIGINT)
        assert run.wait() == 130
        assert (run.stderr(), run.stdout()) == ("orgsim: interrupted\n", "")


# --- the parent killed, a worker killed ------------------------------------------------------
@pytest.mark.slow
def test_workers_exit_by_themselves_when_the_sweep_is_killed(tmp_path: Path) -> None:
    # Each worker watches its parent's sentinel (sweep._worker_init) and exits when it closes; a
    # worker left to finish its long run would outlive GONE_S by minutes.
    log = tmp_path / "out" / RUNS_LOG
    with started(tmp_path, *SHORT_THEN_LONG, "--out", str(tmp_path / "out")) as sweep:
        wait_until(busy_in_long_runs(sweep, log), "in the long runs", sweep)
        everything = sweep.descendants()
        os.kill(sweep.pid, signal.SIGKILL)
        sweep.wait()
        assert still_running(everything) == []
    assert RunLog(log).run_ids() and lines_in(log) == 2


@pytest.mark.slow
def test_a_killed_worker_stops_the_sweep_and_takes_no_other_process_with_it(tmp_path: Path) -> None:
    log = tmp_path / "out" / RUNS_LOG
    with started(tmp_path, *SHORT_THEN_LONG, "--out", str(tmp_path / "out")) as sweep:
        wait_until(busy_in_long_runs(sweep, log), "in the long runs", sweep)
        everything = sweep.descendants()
        sweep.workers()[0].kill()
        code = sweep.wait(timeout=GONE_S)
        assert code not in (0, 130)
        assert code == 1 and "terminated abruptly" in sweep.stderr()
        assert len(sweep.stderr().splitlines()) == 1 and "run the same command again" in sweep.stderr()
        assert still_running(everything) == []
    assert lines_in(log) == 2  # the finished runs stay recorded for the rerun


# --- stdout closed under the command ---------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["run", str(CENTRAL_IT), "--ticks", "60", "--set", "simulation.warmup_ticks=10"], id="run"),
        pytest.param(["schema", "--markdown"], id="schema-larger-than-a-buffer"),
    ],
)
def test_a_closed_stdout_pipe_exits_0_without_a_traceback(tmp_path: Path, args: list[str]) -> None:
    # The reader goes away before the command writes, as `orgsim ... | head -1` does when head
    # has its line: every write fails with EPIPE.
    with started(tmp_path, *args, stdout=subprocess.PIPE) as command:
        assert command.process.stdout is not None
        command.process.stdout.close()
        assert command.wait() == 0
        assert command.stderr() == ""


@pytest.mark.slow
def test_head_takes_the_first_line_and_the_command_exits_0(tmp_path: Path) -> None:
    with started(tmp_path, "schema", "--markdown", stdout=subprocess.PIPE) as command:
        head = subprocess.run(["head", "-1"], stdin=command.process.stdout, capture_output=True, timeout=WAIT_S)
        assert command.process.stdout is not None
        command.process.stdout.close()
        assert (command.wait(), command.stderr()) == (0, "")
    assert head.stdout == b"# Scenario reference\n"


# --- a run that fails ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def design() -> Design:
    base = load_scenario(CENTRAL_IT, ["simulation.ticks=40", "simulation.warmup_ticks=5", "organisation.teams=4"])
    return Design.grid(base, {"handoff.delay_ticks": [0.0, 1.0]}, reps=2, seed=3)


def test_a_failing_run_names_itself_and_keeps_the_runs_before_it(
    design: Design, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sim.run

    real = sim.run.run_scenario
    specs = list(design.runs())
    broken = specs[2]

    def fails_on_the_third(scenario, seed):
        if seed == broken.seed and scenario == broken.scenario:
            raise ValueError("no capacity left")
        return real(scenario, seed=seed)

    monkeypatch.setattr(sim.run, "run_scenario", fails_on_the_third)
    with pytest.raises(RuntimeError) as failure:
        run_sweep(design, tmp_path, workers=1, quiet=True)
    assert str(failure.value) == (
        f"run {broken.run_id} (handoff.delay_ticks=1.0, structure=central_it, replicate=0, seed={broken.seed}) "
        "failed: no capacity left"
    )
    assert isinstance(failure.value.__cause__, ValueError)
    # Runs 0 and 1 finished before run 2 started; run 3 may have finished beside it.
    recorded = RunLog(tmp_path / RUNS_LOG).run_ids()
    assert {specs[0].run_id, specs[1].run_id} <= recorded <= {specs[0].run_id, specs[1].run_id, specs[3].run_id}

    monkeypatch.setattr(sim.run, "run_scenario", real)
    resumed = run_sweep(design, tmp_path, workers=1, quiet=True)
    assert (resumed.ran, resumed.skipped) == (4 - len(recorded), len(recorded))


@pytest.mark.slow
def test_a_run_failing_in_a_pool_worker_is_reported_by_its_run_id(design: Design) -> None:
    good = list(design.runs())[:2]
    point = {"handoff.delay_ticks": 9.0}
    bad = RunSpec(run_id(point, 0, 5), point, 0, 5, design.base | {"organisation": {"teams": 0}})
    rows: list[dict] = []
    with process_pool(2) as pool, pytest.raises(RuntimeError) as failure:
        execute([*good, bad], pool, rows.extend, parallelism=2, chunksize=1)
    message = str(failure.value)
    assert message.startswith(f"run {bad.run_id} (handoff.delay_ticks=9.0, structure=central_it, replicate=0, seed=5)")
    assert "organisation.teams" in message
    assert {row["run_id"] for row in rows} <= {spec.run_id for spec in good}

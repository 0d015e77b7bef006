"""Running a design: runs on any ``concurrent.futures.Executor``, rows streamed to disk, resumable.

``run_sweep(design, out)`` runs every run of a :class:`~sim.experiment.design.Design` that ``out``
does not already hold and writes the tables:

- ``design.json``: the design and its precision settings; a directory holding another
  design is refused (other precision settings are the same design: see ``claim_directory``).
- ``runs.jsonl``: one JSON line per finished run, appended and flushed as runs finish.
  A restarted sweep skips the run ids found there, so an interrupted sweep (Ctrl-C, or
  the process killed mid-write: a truncated last line is dropped and rerun) loses and
  repeats nothing.
- ``runs``, ``summary``, ``comparison`` (when ``structure`` varies) and, on request,
  ``adoption``: each as ``.csv``, ``.parquet`` and ``.md`` with ``.provenance.json`` beside.

A precision sweep (``precision=``, ``max_reps=``) runs in rounds: the design's ``reps``
first, then more replicates wherever a point's interval is still too wide (Law & Kelton's
sequential procedure, :class:`~sim.experiment.design.Precision`). Each round's decision is
replayed from the recorded rows, so resuming or raising ``max_reps`` gives the tables an
uninterrupted sweep would.

Executors: one process per core by default (a ``ProcessPoolExecutor`` whose workers are
forked from a server that imported ``sim`` once, reused for the whole sweep, runs sent
in chunks); in-process and serial when ``workers=1``; a Dask cluster when a scheduler
address is given (``distributed`` is imported only then). Tables are sorted in design
order, so every executor gives the same tables. Only rows are kept, never RunResults.

Scripts that start a process pool must guard their entry point with
``if __name__ == "__main__":`` (workers import the main module).
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import logging
import math
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    BrokenExecutor,
    CancelledError,
    Executor,
    Future,
    ProcessPoolExecutor,
    wait,
)
from dataclasses import dataclass, field
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiment.design import (
    STRUCTURE,
    Design,
    Precision,
    RunSpec,
    canonical_json,
    point_id,
    run_id,
    run_seed,
)
from sim.experiment.tables import (
    comparison_table,
    metric_names,
    output_directory,
    summary_table,
    table_provenance,
    write_table,
)
from sim.experiment.workers import LOST_TIMEOUT_S, WORKER_PRELOAD
from sim.scenario.errors import ScenarioError, Terminated, WorkLost
from sim.scenario.files import config_hash, validate_scenario
from sim.scenario.schema import Scenario

ADOPTION_KEY = "_adoption"  # per-tick adoption share carried in a runs.jsonl line when collected
CHECK_KEY = "_check"  # digest of a runs.jsonl line's other fields: an edited or damaged line is found
POLL_S = 0.2  # how often a waiting sweep looks for a signal or lost workers
RUNS_LOG = "runs.jsonl"
REJECTED_LOG = "runs.rejected.jsonl"
DESIGN_FILE = "design.json"
LOCK_FILE = ".lock"
OWNER_FILE = ".owner"  # who holds the lock (the lock file itself is truncated by every taker)
REPAIR_HINT = f"run the sweep again with --repair to move damaged lines to {REJECTED_LOG} and redo those runs"


# --- executors ------------------------------------------------------------------------
class SerialExecutor(Executor):
    """Runs each task in the calling thread when it is submitted (``workers=1``)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the caller through the future, like any executor
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            future.set_exception(exc)
        return future


def _worker_init() -> None:
    """Pool workers leave Ctrl-C and SIGTERM to the parent, which cancels the sweep and ends
    the pool, and exit when the parent dies (killed mid-sweep) instead of waiting for work forever."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True, name="orgsim-parent-watch").start()
    import sim.run  # noqa: F401  (the fork server has imported it; other start methods import it here)


def _exit_with(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(1)


def process_pool(workers: int | None = None) -> ProcessPoolExecutor:
    """A process pool over ``workers`` cores (default: all), workers forked from a fork server
    that has imported ``sim`` and loaded the compiled kernel once (no per-worker import or
    load cost, no fork of a threaded parent)."""
    workers = workers or os.cpu_count() or 1
    context: BaseContext
    if "forkserver" in multiprocessing.get_all_start_methods():
        forkserver = multiprocessing.get_context("forkserver")
        forkserver.set_forkserver_preload(WORKER_PRELOAD)
        context = forkserver
    else:  # pragma: no cover - platforms without fork
        context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_init)


@dataclass
class ExecutorInfo:
    """An executor, how many runs it works on at once, and (a cluster) whether it has workers
    now and how long it may have none before the sweep stops."""

    executor: Executor
    parallelism: int
    has_workers: Callable[[], bool] = lambda: True
    lost_timeout: float = math.inf


@contextlib.contextmanager
def make_executor(
    workers: int | None = None, scheduler: str | None = None, lost_timeout: float = LOST_TIMEOUT_S
) -> Iterator[ExecutorInfo]:
    """The executor a sweep runs on: Dask if ``scheduler`` names one, serial if ``workers == 1``,
    otherwise a process pool over ``workers`` (default: all cores). Closed on exit; when the
    sweep is stopped (Ctrl-C, an error) the pool's workers are ended at once, not awaited.
    A Dask cluster without workers for ``lost_timeout`` seconds counts as lost."""
    if workers is not None and workers < 1:
        raise ScenarioError(f"--workers must be >= 1 (got {workers})")
    if not (math.isfinite(lost_timeout) and lost_timeout > 0):
        raise ScenarioError(f"--lost-timeout {lost_timeout}: must be a number of seconds > 0")
    if scheduler:
        try:
            from distributed import Client
        except ImportError:
            raise ScenarioError("--scheduler needs Dask: pip install 'orgsim[dask]'") from None
        # The client logs each failed reconnection with a traceback; a lost scheduler is
        # reported once, as WorkLost, instead.
        for name in ("distributed", "distributed.client"):  # the client's level is set on its own
            logging.getLogger(name).setLevel(logging.CRITICAL)
        try:
            client = Client(scheduler, timeout=lost_timeout)
        except (OSError, ValueError, TypeError) as exc:
            raise ScenarioError(
                f"--scheduler {scheduler}: cannot connect ({exc}); give a running scheduler's address, "
                "e.g. tcp://10.0.0.5:8786"
            ) from None
        with client:
            threads = sum(client.nthreads().values()) or 1
            executor = client.get_executor()
            try:
                yield ExecutorInfo(executor, threads, lambda: bool(client.nthreads()), lost_timeout)
            finally:
                executor.shutdown(wait=False)
        return
    if workers == 1:
        yield ExecutorInfo(SerialExecutor(), 1)
        return
    workers = workers or os.cpu_count() or 1
    pool = process_pool(workers)
    try:
        yield ExecutorInfo(pool, workers)
    except BaseException:
        # ProcessPoolExecutor.kill_workers() arrives in Python 3.14; until then its map of worker
        # processes is the only way to end runs whose rows are no longer wanted (SIGKILL: the
        # workers ignore SIGINT and SIGTERM, which are the parent's to handle).
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# --- the worker side -------------------------------------------------------------------
Task = tuple[dict[str, Any], dict[str, Any], int]  # labels, scenario dict, seed


def run_chunk(tasks: Sequence[Task], collect_adoption: bool = False) -> list[dict[str, Any]]:
    """Run a chunk of runs (in a worker); return one flat row per run, nothing else."""
    from sim.run import run_scenario

    rows = []
    for labels, scenario, seed in tasks:
        try:
            result = run_scenario(scenario, seed=seed)
        except Exception as exc:
            raise RuntimeError(f"run {labels.get('run_id')} ({_describe(labels)}) failed: {exc}") from exc
        record = result.record()
        row = labels | {"scenario": record["scenario"]} | result.summary
        if collect_adoption:
            row[ADOPTION_KEY] = result.series["adoption_share"].astype(float).tolist()
        rows.append(row)
    return rows


def _describe(labels: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in labels.items() if k != "run_id")


# --- executing runs -----------------------------------------------------------------------
def execute(
    specs: Iterable[RunSpec],
    executor: Executor,
    on_rows: Callable[[list[dict[str, Any]]], None],
    *,
    parallelism: int = 1,
    chunksize: int | None = None,
    total: int | None = None,
    collect_adoption: bool = False,
    has_workers: Callable[[], bool] = lambda: True,
    lost_timeout: float = math.inf,
) -> int:
    """Run ``specs`` on ``executor`` in chunks, at most ``2 x parallelism`` chunks in flight
    (memory stays flat however many runs there are); hand each finished chunk's rows to
    ``on_rows`` in the calling thread. Returns the number of runs done. On any exception
    (``KeyboardInterrupt`` included) pending chunks are cancelled and it propagates.

    While it waits on other processes, Ctrl-C and SIGTERM are taken between waits (so no
    library code swallows them) and raised as ``KeyboardInterrupt`` / ``Terminated``; a
    broken pool, a cancelled run (a lost scheduler) or ``has_workers()`` false for
    ``lost_timeout`` seconds raises ``WorkLost``."""
    if chunksize is None:
        chunksize = default_chunksize(total or 0, parallelism)
    limit = max(2, 2 * parallelism)
    pending: set[Future] = set()
    done_count = 0
    chunks = _chunked(((s.labels, s.scenario, s.seed) for s in specs), chunksize)
    watch = _Watch(has_workers, lost_timeout)
    in_thread = isinstance(executor, SerialExecutor)  # a run in this thread must be interruptible
    try:
        with contextlib.nullcontext() if in_thread else watch.signals():
            for chunk in chunks:
                pending.add(executor.submit(run_chunk, chunk, collect_adoption))
                while len(pending) >= limit:
                    done_count += _drain(pending, on_rows, watch)
            while pending:
                done_count += _drain(pending, on_rows, watch)
    except BaseException:
        for future in pending:
            future.cancel()
        raise
    return done_count


class _Watch:
    """What stops a sweep between waits: a signal received, or workers lost for too long."""

    def __init__(self, has_workers: Callable[[], bool], lost_timeout: float) -> None:
        self.has_workers, self.lost_timeout = has_workers, lost_timeout
        self.received: int | None = None
        self.lost_since: float | None = None
        self.looked = -math.inf

    @contextlib.contextmanager
    def signals(self) -> Iterator[None]:
        """Note SIGINT and SIGTERM instead of raising them wherever the main thread is."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        before = {s: signal.signal(s, self._note) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for number, handler in before.items():
                signal.signal(number, handler)

    def _note(self, number: int, frame: Any) -> None:
        self.received = number

    def check(self) -> None:
        if self.received == signal.SIGINT:
            raise KeyboardInterrupt
        if self.received == signal.SIGTERM:
            raise Terminated
        now = time.monotonic()
        if self.lost_timeout == math.inf or now - self.looked < 1.0:
            return
        self.looked = now
        if self._alive():
            self.lost_since = None
            return
        self.lost_since = self.lost_since or now
        if now - self.lost_since >= self.lost_timeout:
            raise WorkLost(f"no worker for {self.lost_timeout:g} s (--lost-timeout)")

    def _alive(self) -> bool:
        try:
            return self.has_workers()
        except Exception:  # a scheduler that does not answer has no workers to offer
            return False


def default_chunksize(runs: int, parallelism: int) -> int:
    """Runs per task: 1 for small sweeps (steady progress), up to 8 for long ones (less overhead)."""
    return max(1, min(8, runs // (16 * max(1, parallelism))))


def _drain(pending: set[Future], on_rows: Callable[[list[dict[str, Any]]], None], watch: _Watch) -> int:
    finished: set[Future] = set()
    while not finished:
        finished, _ = wait(pending, timeout=POLL_S, return_when=FIRST_COMPLETED)
        watch.check()
    count = 0
    for future in finished:
        pending.discard(future)
        try:
            rows = future.result()
        except BrokenExecutor as exc:
            raise WorkLost(f"a worker process ended abruptly ({exc})") from None
        except CancelledError:
            raise WorkLost("a run was cancelled by the cluster (its scheduler stopped?)") from None
        on_rows(rows)
        count += len(rows)
    return count


def _chunked(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- the runs log -------------------------------------------------------------------------
class RunLog:
    """Append-only JSON-lines file of finished runs; survives being killed mid-write."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def repair(self) -> int:
        """Cut a truncated last line (no newline: the writer was killed); return bytes dropped."""
        if not self.path.exists():
            return 0
        size = self.path.stat().st_size
        with self.path.open("rb+") as fh:
            end = size
            block = 1 << 16
            while end > 0:
                start = max(0, end - block)
                fh.seek(start)
                data = fh.read(end - start)
                cut = data.rfind(b"\n")
                if cut >= 0:
                    keep = start + cut + 1
                    break
                end = start
            else:
                keep = 0
            if keep < size:
                fh.truncate(keep)
        return size - keep

    def lines(self) -> Iterator[tuple[int, bytes, dict[str, Any] | str]]:
        """(line number, line, row or why it is damaged) for every complete line, in file
        order (a truncated last line is skipped). A row is intact when it is a JSON object
        whose check digest matches its fields (:func:`_json_line` writes it)."""
        if not self.path.exists():
            return
        with self.path.open("rb") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.endswith(b"\n"):
                    return  # killed mid-write; dropped by repair() before the next append
                yield number, line, _parse_row(line)

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every complete row, in file order; a damaged line -> ScenarioError naming it."""
        for number, _, row in self.lines():
            if isinstance(row, str):
                raise ScenarioError(f"{self.path}:{number}: damaged run record ({row}); {REPAIR_HINT}")
            yield row

    def run_ids(self) -> set[str]:
        return {row["run_id"] for row in self.rows()}

    def reject(self, problems: Mapping[int, str]) -> Path:
        """Move the lines numbered in ``problems`` to ``runs.rejected.jsonl`` (each with its
        reason), keeping the rest; the log is replaced atomically. Returns the rejects' path."""
        rejected = self.path.with_name(REJECTED_LOG)
        kept, moved = [], []
        for number, line, _ in self.lines():
            if number in problems:
                moved.append(
                    json.dumps({"line": number, "reason": problems[number], "text": line.decode(errors="replace")})
                )
            else:
                kept.append(line)
        with rejected.open("a", encoding="utf-8") as fh:
            fh.write("".join(f"{text}\n" for text in moved))
        self.rewrite(kept)
        return rejected

    def rewrite(self, lines: Iterable[bytes]) -> None:
        """Replace the log's lines with ``lines``, atomically."""
        tmp = self.path.with_suffix(".jsonl.tmp")
        tmp.write_bytes(b"".join(lines))
        tmp.replace(self.path)

    @contextlib.contextmanager
    def appender(self) -> Iterator[Callable[[list[dict[str, Any]]], None]]:
        """A function that appends rows as whole lines and flushes them."""
        self.repair()
        with self.path.open("a", encoding="utf-8") as fh:

            def append(rows: list[dict[str, Any]]) -> None:
                fh.write("".join(_json_line(row) for row in rows))
                fh.flush()

            yield append


def _json_line(row: Mapping[str, Any]) -> str:
    plain = {k: _plain(v) for k, v in row.items()}
    return json.dumps(plain | {CHECK_KEY: _check(plain)}, allow_nan=False, separators=(",", ":")) + "\n"


def _check(row: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(row).encode()).hexdigest()[:16]


def _parse_row(line: bytes) -> dict[str, Any] | str:
    """The row a runs.jsonl line holds, or why it is damaged."""
    try:
        row = json.loads(line)
    except ValueError:  # bad JSON, bad UTF-8
        return "not a JSON line"
    if not isinstance(row, dict) or not isinstance(row.get("run_id"), str):
        return "not a run record"
    if row.pop(CHECK_KEY, None) != _check(row):
        return "its check digest does not match its fields (edited or damaged)"
    return row


def json_text(row: Mapping[str, Any], **options: Any) -> str:
    """``row`` as strict JSON: numpy scalars as numbers, an undefined (non-finite) value as null."""
    return json.dumps({k: _plain(v) for k, v in row.items()}, allow_nan=False, **options)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# --- the sweep ---------------------------------------------------------------------------
@dataclass
class SweepResult:
    """What a sweep wrote: the tables (as frames) and their paths."""

    out: Path
    design: Design
    runs: pd.DataFrame
    summary: pd.DataFrame
    comparison: pd.DataFrame | None
    adoption: pd.DataFrame | None
    paths: dict[str, dict[str, Path]] = field(default_factory=dict)
    ran: int = 0
    skipped: int = 0
    precision: dict[str, Any] | None = None  # a precision sweep's settings and outcome (as in provenance)


@dataclass(frozen=True)
class PointOutcome:
    """Where the precision procedure left one point (all its structures)."""

    reps: int
    reached: bool
    rounds: int  # rounds of added replications it took


def run_sweep(
    design: Design,
    out: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: Executor | None = None,
    quiet: bool = False,
    collect_adoption: bool = False,
    chunksize: int | None = None,
    on_run: Callable[[dict[str, Any]], None] | None = None,
    precision: float | None = None,
    max_reps: int | None = None,
    precision_metrics: Sequence[str] | None = None,
    repair: bool = False,
    lost_timeout: float = LOST_TIMEOUT_S,
) -> SweepResult:
    """Run every run of ``design`` not yet recorded in ``out``, then write the tables there.

    The sweep owns ``out`` while it runs (another sweep into it is refused). A damaged
    runs.jsonl line, or a record that does not match the design, is an error naming it; with
    ``repair`` such lines are moved to runs.rejected.jsonl and their runs done again. A Dask
    cluster left without workers for ``lost_timeout`` seconds stops the sweep (``WorkLost``).

    ``executor`` (e.g. one pool shared by several sweeps) overrides ``workers`` and
    ``scheduler``. ``collect_adoption`` also records the mean adoption share per tick for
    each point and structure. ``on_run(row)`` is called after each row is on disk.

    With ``precision`` (a relative error such as 0.05) the design's ``reps`` are the first
    round: every point whose ``precision_metrics`` (default ``throughput_per_tick``) miss
    the precision, for any structure, gets more replicates, round after round, up to
    ``max_reps`` (see :class:`~sim.experiment.design.Precision`). Replicate r keeps the
    seed it has in a plain sweep, and both structures of a point get it together.
    """
    _check_not_bootstrapping()
    rule = None
    if precision is not None or max_reps is not None or precision_metrics:
        if precision is None:
            raise ScenarioError("--max-reps and --precision-metric need --precision, e.g. --precision 0.05")
        rule = Precision.checked(precision, max_reps, precision_metrics, design.reps)
    out = Path(out)
    with own_directory(out):
        claim_directory(out, design, rule)
        log = RunLog(out / RUNS_LOG)
        log.repair()
        upgrade_run_ids(log, design)
        check_log(log, design, repair)
        done: set[str] = set()
        values: dict[str, list[Any]] = {}  # run id -> the precision metrics' values
        for row in log.rows():
            done.add(row["run_id"])
            if rule is not None:
                values[row["run_id"]] = [row.get(name) for name in rule.metrics]
        recorded = set(done)
        ran = 0
        progress: Any = None

        def on_rows(rows: list[dict[str, Any]]) -> None:
            append(rows)
            progress.update(len(rows))
            for row in rows:
                done.add(row["run_id"])
                if rule is not None:
                    values[row["run_id"]] = [row.get(name) for name in rule.metrics]
                if on_run is not None:
                    on_run(row)

        with contextlib.ExitStack() as stack:
            while True:  # one round: a plain sweep needs one, a precision sweep one per added batch
                outcome = replay_precision(design, rule, values) if rule is not None else None
                reps = {pid: point.reps for pid, point in outcome.items()} if outcome is not None else None
                wanted = {spec.run_id for spec in design.runs(reps)}
                missing = wanted - done
                if not missing:
                    break
                if progress is None:  # the pool starts only when there is something to run
                    progress = stack.enter_context(
                        contextlib.closing(_progress(len(wanted), len(wanted) - len(missing), quiet))
                    )
                    append = stack.enter_context(log.appender())
                    info = stack.enter_context(_executor(executor, workers, scheduler, lost_timeout))
                else:
                    progress.total, progress.n = len(wanted), len(wanted) - len(missing)
                    progress.refresh()
                try:
                    ran += execute(
                        (spec for spec in design.runs(reps) if spec.run_id in missing),
                        info.executor,
                        on_rows,
                        parallelism=info.parallelism,
                        chunksize=chunksize,
                        total=len(missing),
                        collect_adoption=collect_adoption,
                        has_workers=info.has_workers,
                        lost_timeout=info.lost_timeout,
                    )
                except WorkLost as exc:
                    raise WorkLost(
                        f"{exc}; the {len(done)} runs finished are kept in {out}: run the same command again to resume"
                    ) from None
        report = precision_report(rule, outcome) if rule is not None and outcome is not None else None
        result = write_tables(design, out, collect_adoption=collect_adoption, precision=report, outcome=outcome)
        result.ran, result.skipped = ran, len(wanted & recorded)
        return result


def replay_precision(design: Design, rule: Precision, values: Mapping[str, Sequence[Any]]) -> dict[str, PointOutcome]:
    """Each point's replicates under ``rule``, from the recorded ``values`` (run id -> metric values).

    The procedure is replayed from the design's ``reps`` for every point: a point stops at
    the first round whose runs are not all recorded yet (they are what to run next), when
    it reaches the precision, or at ``max_reps``. Replaying, rather than continuing from the
    runs on disk, gives an interrupted or extended sweep exactly the uninterrupted one's runs."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for point in design.points:
        groups.setdefault(point_id(point), []).append(point)
    outcome = {}
    for pid, points in groups.items():
        n, rounds = design.reps, 0
        while True:
            ids = [[design.run_id(point, rep) for rep in range(n)] for point in points]
            if not all(i in values for per_point in ids for i in per_point):
                reached, wanted = False, n
                break
            metrics = range(len(rule.metrics))
            reached, wanted = rule.assess(n, ([values[i][m] for i in per_point] for per_point in ids for m in metrics))
            if wanted == n:
                break
            n, rounds = wanted, rounds + 1
        outcome[pid] = PointOutcome(n, reached, rounds)
    return outcome


def precision_report(rule: Precision, outcome: Mapping[str, PointOutcome]) -> dict[str, Any]:
    """A precision sweep's settings and outcome, as its tables' provenance records them."""
    reps = [point.reps for point in outcome.values()]
    return rule.to_dict() | {
        "rounds": max(point.rounds for point in outcome.values()),
        "points": len(outcome),
        "points_reached": sum(point.reached for point in outcome.values()),
        "reps_min": min(reps),
        "reps_max": max(reps),
    }


def _check_not_bootstrapping() -> None:
    """Refuse to run while a worker process imports the main script (an unguarded script)."""
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise RuntimeError(
            "a sweep was started while a worker process imported the main script; "
            'put the script\'s top-level code under if __name__ == "__main__":'
        )


@contextlib.contextmanager
def _executor(
    executor: Executor | None, workers: int | None, scheduler: str | None, lost_timeout: float = LOST_TIMEOUT_S
) -> Iterator[ExecutorInfo]:
    if executor is not None:
        yield ExecutorInfo(executor, getattr(executor, "_max_workers", None) or os.cpu_count() or 1)
        return
    with make_executor(workers, scheduler, lost_timeout) as info:
        yield info


def _progress(total: int, initial: int, quiet: bool) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total,
        initial=initial,
        unit="run",
        desc="sweep",
        file=sys.stderr,
        disable=quiet,
        dynamic_ncols=True,
        smoothing=0.1,
    )


@contextlib.contextmanager
def own_directory(out: Path) -> Iterator[None]:
    """Hold ``out`` (created if missing) for one sweep: an exclusive lock, released on exit
    (also when the process dies); a second sweep into it is refused, naming the holder."""
    from filelock import FileLock, Timeout

    owner = output_directory(out) / OWNER_FILE
    try:
        lock = FileLock(out / LOCK_FILE, thread_local=False)
        lock.acquire(timeout=0)
    except Timeout:
        holder = owner.read_text(encoding="utf-8").strip() if owner.exists() else "holder unknown"
        raise ScenarioError(
            f"{out}: in use by another sweep ({holder}); wait for it to end or give another --out"
        ) from None
    except OSError as exc:
        raise ScenarioError(f"--out {out}: cannot use it ({exc.strerror}); give a writable directory path") from None
    try:
        since = datetime.datetime.now().isoformat(timespec="seconds")
        owner.write_text(f"process {os.getpid()} on {socket.gethostname()} since {since}\n", encoding="utf-8")
        yield
    finally:
        owner.unlink(missing_ok=True)
        lock.release()


def _points_by_label(design: Design) -> dict[str, dict[str, Any]]:
    """``design``'s points by their labels in a row (see :func:`_label_key`)."""
    points = {}
    for point in design.points:
        labels = design.run(point, 0, design.base).labels
        points[_label_key(design, labels)] = point
    return points


def _label_key(design: Design, row: Mapping[str, Any]) -> str:
    return canonical_json({k: row.get(k) for k in (*design.parameters, STRUCTURE)})


def upgrade_run_ids(log: RunLog, design: Design) -> None:
    """Give the runs.jsonl rows recorded with ids that did not name their scenario (see
    :func:`~sim.experiment.design.run_id`) today's ids, so a folder written before resumes."""
    points = _points_by_label(design)
    lines, changed = [], False
    for _, line, row in log.lines():
        if isinstance(row, dict):
            point, replicate = points.get(_label_key(design, row)), row.get("replicate")
            if (
                point is not None
                and isinstance(replicate, int)
                and row["run_id"] == run_id(point, replicate, design.seed)
            ):
                line = _json_line(row | {"run_id": design.run_id(point, replicate)}).encode()
                changed = True
        lines.append(line)
    if changed:
        log.rewrite(lines)


def check_log(log: RunLog, design: Design, repair: bool) -> None:
    """Every runs.jsonl line intact and a run of ``design`` with the labels and metrics it
    would have; otherwise a ScenarioError naming the first bad line, or, with ``repair``,
    the bad lines moved to runs.rejected.jsonl (their runs are then done again)."""
    from sim.metrics import METRICS

    points = _points_by_label(design)
    allowed = {"scenario", ADOPTION_KEY, *METRICS}
    problems: dict[int, str] = {}
    for number, _, row in log.lines():
        problem = row if isinstance(row, str) else _row_problem(design, points, allowed, METRICS, row)
        if problem is not None:
            problems[number] = problem
    if not problems:
        return
    if not repair:
        first = min(problems)
        more = f" ({len(problems)} such lines)" if len(problems) > 1 else ""
        raise ScenarioError(f"{log.path}:{first}: {problems[first]}{more}; {REPAIR_HINT}")
    rejected = log.reject(problems)
    print(
        f"orgsim: moved {len(problems)} damaged lines of {log.path} to {rejected}; their runs are done again",
        file=sys.stderr,
    )


def _row_problem(
    design: Design, points: Mapping[str, dict[str, Any]], allowed: set[str], metrics: Iterable[str], row: dict
) -> str | None:
    """Why ``row`` is not a run of ``design`` as the sweep records it, or None."""
    point = points.get(_label_key(design, row))
    replicate = row.get("replicate")
    if point is None or not isinstance(replicate, int) or isinstance(replicate, bool) or replicate < 0:
        return "not a run of this design (its point or replicate)"
    labels = design.run(point, replicate, design.base).labels
    wrong = [k for k, v in labels.items() if row.get(k) != v]
    if wrong:
        return f"{', '.join(wrong)} not as this design has it"
    for name in metrics:
        value = row.get(name, ())
        if value is not None and not isinstance(value, int | float):
            return f"metric {name} missing or not a number"
    unknown = set(row) - set(labels) - allowed
    if unknown:
        return f"unknown fields {', '.join(sorted(unknown))}"
    return None


def claim_directory(out: Path, design: Design, precision: Precision | None = None) -> None:
    """Use ``out`` for ``design``: write design.json, or check the one there is the same design.

    The precision settings are recorded but do not make another design: they only decide
    how many of the same seeded replicates each point uses, so a sweep with another
    ``precision``, ``max_reps`` or metric reuses every recorded run (design.json is updated)."""
    path = out / DESIGN_FILE
    mine = design.to_dict() | {"precision": precision.to_dict() if precision is not None else None}
    if path.exists():
        try:
            theirs = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ScenarioError(f"{path}: unreadable design file ({exc}); use another --out directory") from None
        if not isinstance(theirs, dict):
            raise ScenarioError(f"{path}: not a design file (a JSON object); use another --out directory")
        parts = ("base", "points", "reps", "seed")
        differs = [k for k in parts if canonical_json(theirs.get(k)) != canonical_json(mine[k])]
        if differs:
            what = ", ".join({"base": "base scenario", "points": "design points"}.get(k, k) for k in differs)
            raise ScenarioError(
                f"{out}: holds results of a different design (differs in {what}); "
                "use another --out directory, or delete this one to start over"
            )
        if theirs.get("precision") == mine["precision"]:
            return
    elif (out / RUNS_LOG).exists():
        raise ScenarioError(f"{out}: has {RUNS_LOG} but no {DESIGN_FILE}; use another --out directory")
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(mine, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


# --- tables --------------------------------------------------------------------------------
def write_tables(
    design: Design,
    out: str | Path,
    *,
    collect_adoption: bool = False,
    precision: dict[str, Any] | None = None,
    outcome: Mapping[str, PointOutcome] | None = None,
) -> SweepResult:
    """Build and write the runs, summary, comparison (and adoption) tables from ``runs.jsonl``.

    A precision sweep passes its ``outcome`` per point (the runs it uses; the summary and
    comparison gain ``reps`` and ``precision_reached`` per point) and its ``precision``
    report for the provenance."""
    out = Path(out)
    reps = {pid: point.reps for pid, point in outcome.items()} if outcome is not None else None
    order: dict[str, int] = {}
    point_of: dict[str, str] = {}
    for i, spec in enumerate(design.runs(reps)):
        order[spec.run_id] = i
        point_of[spec.run_id] = point_id(spec.point)
    adoption = AdoptionAccumulator(design.parameters) if collect_adoption else None
    rows: dict[str, dict[str, Any]] = {}
    for row in RunLog(out / RUNS_LOG).rows():
        curve = row.pop(ADOPTION_KEY, None)
        rid = row["run_id"]
        if rid not in order or rid in rows:
            continue
        rows[rid] = row
        if adoption is not None and curve is not None:
            adoption.add(row, curve, order[rid])
    missing = len(order) - len(rows)
    if missing:
        raise ScenarioError(f"{out}: {missing} of {len(order)} runs are not recorded yet; run the sweep again")
    runs = runs_frame(sorted(rows.values(), key=lambda r: order[r["run_id"]]))
    params = list(design.parameters)
    grouped, by = runs, params
    if outcome is not None:  # constant within a point: grouping by them adds them as columns
        points = runs["run_id"].map(point_of)
        grouped = runs.assign(
            reps=points.map(lambda pid: outcome[pid].reps),
            precision_reached=points.map(lambda pid: outcome[pid].reached),
        )
        by = [*params, "reps", "precision_reached"]
    summary = summary_table(grouped, [*params, STRUCTURE, *by[len(params) :]])
    comparison = None
    structures = design.structures
    if len(structures) >= 2:
        both = {"central_it", "micro_provider"} <= set(structures)
        a, b = ("central_it", "micro_provider") if both else structures[:2]
        comparison = comparison_table(grouped, by, group=STRUCTURE, a=a, b=b)
    adoption_frame = adoption.frame() if adoption is not None else None
    result = SweepResult(out, design, runs, summary, comparison, adoption_frame, precision=precision)
    tables = {"runs": runs, "summary": summary, "comparison": comparison, "adoption": adoption_frame}
    for name, frame in tables.items():
        if frame is None:
            continue
        provenance = table_provenance(design, table=name)
        if precision is not None:
            provenance["precision"] = precision
            provenance["design"]["n_runs"] = len(runs)
        if name == "comparison":
            provenance["difference"] = f"{b} - {a}"
        result.paths[name] = write_table(frame, out, name, provenance, markdown=name != "adoption")
    return result


def runs_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The per-run table: labels, then every metric; missing metrics as NaN."""
    frame = pd.DataFrame.from_records(list(rows))
    for name in metric_names(frame):
        if frame[name].dtype == object:
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
    return frame


class AdoptionAccumulator:
    """Mean, spread and count of adoption share per tick for each point and structure.

    Holds one running sum per (point, structure) and tick: memory grows with the design's
    points and horizon, never with the number of replicates. Groups come out in the order of
    the design's runs, whatever order the runs finished in (pool or cluster)."""

    def __init__(self, parameters: Sequence[str]) -> None:
        self.parameters = list(parameters)
        self.groups: dict[str, tuple[dict[str, Any], np.ndarray, np.ndarray, np.ndarray]] = {}
        self.first: dict[str, int] = {}  # per group, the design's index of its first run

    def add(self, row: Mapping[str, Any], curve: Sequence[float], index: int) -> None:
        """Add the run at ``index`` in the design's order, ``row`` its labels, ``curve`` its shares."""
        labels = {k: row[k] for k in (*self.parameters, STRUCTURE)}
        key = canonical_json(labels)
        values = np.asarray(curve, dtype=float)
        if key not in self.groups:
            zeros = np.zeros(len(values))
            self.groups[key] = (labels, zeros.copy(), zeros.copy(), zeros.copy())
        self.first[key] = min(index, self.first.get(key, index))
        _, total, squares, count = self.groups[key]
        size = min(len(total), len(values))
        total[:size] += values[:size]
        squares[:size] += values[:size] ** 2
        count[:size] += 1

    def frame(self) -> pd.DataFrame:
        parts = []
        for key in sorted(self.groups, key=self.first.__getitem__):
            labels, total, squares, count = self.groups[key]
            mean = total / count
            var = np.where(count > 1, (squares - count * mean**2) / np.maximum(count - 1, 1), np.nan)
            part = pd.DataFrame(
                {
                    "tick": np.arange(len(total)),
                    "adoption_share_mean": mean,
                    "adoption_share_std": np.sqrt(np.clip(var, 0, None)),
                    "n": count.astype(int),
                }
            )
            for k, v in reversed(labels.items()):
                part.insert(0, k, v)
            parts.append(part)
        columns = [*self.parameters, STRUCTURE, "tick", "adoption_share_mean", "adoption_share_std", "n"]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


# --- two scenarios side by side --------------------------------------------------------------
@dataclass
class PairResult:
    """Runs of two scenarios with common seeds, and their comparison (b - a)."""

    labels: tuple[str, str]
    runs: pd.DataFrame
    summary: pd.DataFrame
    comparison: pd.DataFrame


def run_pair(
    a: Scenario | Mapping[str, Any],
    b: Scenario | Mapping[str, Any],
    *,
    reps: int = 10,
    seed: int = 0,
    labels: tuple[str, str] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: Executor | None = None,
    lost_timeout: float = LOST_TIMEOUT_S,
    quiet: bool = False,
) -> PairResult:
    """Run scenarios ``a`` and ``b`` ``reps`` times each; replicate ``r`` of both uses the same seed.
    Executors as for :func:`run_sweep` (``workers``, ``scheduler``, ``executor``, ``lost_timeout``)."""
    _check_not_bootstrapping()
    if reps < 1:
        raise ScenarioError(f"--reps must be >= 1 (got {reps})")
    dicts = [s.model_dump(mode="json") if isinstance(s, Scenario) else dict(s) for s in (a, b)]
    hashes = [config_hash(validate_scenario(data)) for data in dicts]
    names = labels or tuple(d.get("name") or f"scenario_{i}" for i, d in zip("ab", dicts, strict=True))
    if names[0] == names[1]:
        names = (f"{names[0]} (A)", f"{names[1]} (B)")
    specs = []
    for rep in range(reps):
        common = run_seed(seed, {}, rep)  # the same seed for A and B: common random numbers
        for name, data, scenario_hash in zip(names, dicts, hashes, strict=True):
            point = {"variant": name}
            specs.append(RunSpec(run_id(point, rep, seed, scenario_hash), point, rep, common, data))
    rows: list[dict[str, Any]] = []
    progress = _progress(len(specs), 0, quiet)
    try:

        def on_rows(batch: list[dict[str, Any]]) -> None:
            rows.extend(batch)
            progress.update(len(batch))

        with _executor(executor, workers, scheduler, lost_timeout) as info:
            execute(
                specs,
                info.executor,
                on_rows,
                parallelism=info.parallelism,
                total=len(specs),
                has_workers=info.has_workers,
                lost_timeout=info.lost_timeout,
            )
    finally:
        progress.close()
    order = {spec.run_id: i for i, spec in enumerate(specs)}
    rows.sort(key=lambda r: order[r["run_id"]])
    runs = runs_frame(rows)
    summary = summary_table(runs, ["variant"])
    comparison = comparison_table(runs, [], group="variant", a=names[0], b=names[1])
    return PairResult((names[0], names[1]), runs, summary, comparison)

"""Benchmark 4 - sweep throughput: 2 worker processes against 1 on the same set of runs.

The run set is the shipped matched pair (central_it and micro_provider, 12 teams) over
20 seeds: the sweep ``make demo`` runs. Runs go through the experiment engine,
``sim.experiment.sweep`` (its process pool, forked from a server that imported ``sim`` once, and its
``execute`` dispatcher, without writing tables); if that module is missing or its API differs, through a plain
``concurrent.futures.ProcessPoolExecutor`` with the same design (workers import ``sim``
once, the pool is created once and reused). The engine used is printed.

Each worker count is measured in its own fresh interpreter
(``python -m benchmarks.throughput child ...``), so each pays its whole start-up: the fork
server importing ``sim``, the workers starting. Reported for 1 and 2 workers:

- pool start-up (until every worker has answered);
- the run set on the started pool (start-up excluded; in full mode a second batch on the
  same, reused pool, which is the figure used);
- start-up plus the first batch (start-up included);
- the 2-worker / 1-worker throughput ratio, both ways (target >= 1.8x);
- how many cores' worth of CPU the workers actually got during the batch (their user +
  system time from ``/proc/<pid>/stat`` over the wall time): on a shared machine other
  jobs take cores, and the ratio cannot exceed what the workers got;
- the fixed per-run overhead: a minimal run (one person, one tick) through the 1-worker
  pool against the same run called directly inside the worker; the difference is what
  dispatching a run costs (pickling, the round trip, building the row).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import time
from typing import Any

from benchmarks.common import CENTRAL, MMC, Row, length, log, run_child

NAME = "sweep"
TARGET_RATIO = 1.8
HELLO_DELAY_S = 0.2


def run(quick: bool = False) -> list[Row]:
    # Full mode: the demo's sweep (the matched pair x 20 replications, 900 ticks as shipped).
    ticks, runs, batches, tiny = (200, 6, 1, 20) if quick else (900, 40, 2, 60)
    got: dict[int, dict[str, Any]] = {}
    for workers in (1, 2):
        load = os.getloadavg()[0]
        got[workers] = run_child(
            "benchmarks.throughput",
            "child",
            "--workers",
            str(workers),
            "--runs",
            str(runs),
            "--ticks",
            str(ticks),
            "--batches",
            str(batches),
            "--tiny",
            str(tiny if workers == 1 else 0),
        )
        g = got[workers]
        log(
            f"  {workers} worker(s) via {g['engine']}: start-up {g['startup_s']:.2f} s, "
            f"batches {', '.join(f'{b:.2f}' for b in g['batches_s'])} s for {runs} runs each, "
            f"workers busy {', '.join(f'{c:.2f}' for c in g['worker_cores'])} cores "
            f"(load average before: {load:.2f} on {os.cpu_count()} cores)"
        )
    one, two = got[1], got[2]
    excl = one["batches_s"][-1] / two["batches_s"][-1]
    incl = (one["startup_s"] + one["batches_s"][0]) / (two["startup_s"] + two["batches_s"][0])
    label = f"{runs} runs of the shipped pair x {ticks} ticks"
    rows = [
        Row(NAME, f"engine: {one['engine']}", None),
        Row(NAME, "pool start-up, 1 worker", one["startup_s"], "s"),
        Row(NAME, "pool start-up, 2 workers", two["startup_s"], "s"),
    ]
    for workers, g in got.items():
        batch = g["batches_s"][-1]
        rows.append(Row(NAME, f"{workers} worker(s): runs/s, {label}, start-up excluded", runs / batch))
        rows.append(
            Row(
                NAME,
                f"{workers} worker(s): runs/s, start-up included",
                runs / (g["startup_s"] + g["batches_s"][0]),
            )
        )
    for workers, g in got.items():
        rows.append(Row(NAME, f"{workers} worker(s): cores of CPU they got while running", g["worker_cores"][-1]))
    # Per core actually obtained, how do 2 workers compare with 1? On a machine with 2 free
    # cores the start-up-excluded ratio would be about 2 x this (a projection, not judged).
    per_core = excl * one["worker_cores"][-1] / two["worker_cores"][-1]
    rows.append(Row(NAME, "2 / 1 workers, throughput per core obtained", per_core, "x"))
    rows.append(Row(NAME, "2 / 1 workers, start-up excluded", excl, "x", f">= {TARGET_RATIO}x", excl >= TARGET_RATIO))
    rows.append(Row(NAME, "2 / 1 workers, start-up included", incl, "x", f">= {TARGET_RATIO}x", incl >= TARGET_RATIO))
    pooled, local = one["tiny_pool_s"], one["tiny_inprocess_s"]
    log(f"  minimal run: {local * 1e3:.1f} ms in the worker, {pooled * 1e3:.1f} ms per run through the 1-worker pool")
    rows.append(Row(NAME, "fixed cost of a minimal run, called in the worker (run_scenario)", local * 1e3, "ms"))
    rows.append(Row(NAME, "fixed per-run overhead of the pool (dispatch, IPC, row)", (pooled - local) * 1e3, "ms"))
    return rows


# --- the engines --------------------------------------------------------------------------
def _hello(delay: float) -> int:
    """Answer from a worker (after ``delay``, so concurrent calls land on different workers)."""
    time.sleep(delay)
    return os.getpid()


def _time_minimal(scenario: dict[str, Any], count: int) -> float:
    """Median seconds of ``count`` in-process runs of ``scenario`` (called in a worker)."""
    from sim.run import run_scenario

    times = []
    for _ in range(count):
        start = time.perf_counter()
        run_scenario(scenario, seed=0)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _cpu_seconds(pids: set[int]) -> float:
    """User + system CPU seconds used so far by the processes ``pids`` (Linux /proc)."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def _run_one(scenario: dict[str, Any], seed: int) -> dict[str, Any]:
    from sim.run import run_scenario

    return run_scenario(scenario, seed=seed).summary


class SweepEngine:
    """Runs through ``sim.experiment.sweep``: its process pool and its ``execute`` dispatcher."""

    name = "sim.experiment.sweep (process_pool + execute)"

    def __init__(self) -> None:
        from sim.experiment.design import Design
        from sim.experiment.sweep import execute, process_pool

        self.design_cls, self.execute, self.process_pool = Design, execute, process_pool

    def pool(self, workers: int):
        return self.process_pool(workers)

    def specs(self, base: dict[str, Any], points: list[dict[str, Any]], reps: int) -> list[Any]:
        return list(self.design_cls.from_points(base, points, reps=reps, seed=0).runs())

    def run(self, pool, workers: int, specs: list[Any]) -> int:
        rows: list[dict[str, Any]] = []
        return self.execute(specs, pool, rows.extend, parallelism=workers, total=len(specs))


class PlainEngine:
    """Fallback: a ProcessPoolExecutor whose workers fork from a server that imported ``sim``."""

    name = "concurrent.futures.ProcessPoolExecutor"

    def pool(self, workers: int):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["sim.run"])
        return ProcessPoolExecutor(max_workers=workers, mp_context=context)

    def specs(self, base: dict[str, Any], points: list[dict[str, Any]], reps: int) -> list[Any]:
        out = []
        for index, point in enumerate(points):
            scenario = copy.deepcopy(base)
            for key, value in point.items():
                *sections, last = key.split(".")
                node = scenario
                for section in sections:
                    node = node.setdefault(section, {})
                node[last] = value
            out += [(scenario, 1000 * index + rep) for rep in range(reps)]
        return out

    def run(self, pool, workers: int, specs: list[Any]) -> int:
        scenarios, seeds = zip(*specs, strict=True)
        chunk = max(1, len(specs) // (4 * workers))
        return len(list(pool.map(_run_one, scenarios, seeds, chunksize=chunk)))


def engine():
    try:
        return SweepEngine()
    except (ImportError, AttributeError) as exc:
        log(f"  sim.experiment.sweep not usable ({exc}); using a plain ProcessPoolExecutor")
        return PlainEngine()


def _child(args: argparse.Namespace) -> dict[str, Any]:
    from sim.scenario.files import load_scenario

    eng = engine()
    base = load_scenario(CENTRAL, length(CENTRAL, args.ticks)).model_dump(mode="json")
    points = [{"structure": "central_it"}, {"structure": "micro_provider"}]
    specs = eng.specs(base, points, args.runs // 2)
    minimal = ["simulation.ticks=1", "simulation.warmup_ticks=0", "organisation.team_size=1"]
    tiny_base = load_scenario(MMC, minimal).model_dump(mode="json")

    start = time.perf_counter()
    pool = eng.pool(args.workers)
    pids: set[int] = set()
    for _ in range(10):  # on a busy machine one worker may answer twice before the next is up
        pids |= set(pool.map(_hello, [HELLO_DELAY_S] * args.workers))
        if len(pids) == args.workers:
            break
    startup = time.perf_counter() - start - HELLO_DELAY_S
    assert len(pids) == args.workers, f"expected {args.workers} workers, {len(pids)} answered"
    batches, cores = [], []
    for _ in range(args.batches):
        cpu0, t0 = _cpu_seconds(pids), time.perf_counter()
        done = eng.run(pool, args.workers, specs)
        batches.append(time.perf_counter() - t0)
        cores.append((_cpu_seconds(pids) - cpu0) / batches[-1])
        assert done == len(specs), (done, len(specs))
    out: dict[str, Any] = {
        "engine": eng.name,
        "startup_s": startup,
        "batches_s": batches,
        "worker_cores": cores,
        "runs": len(specs),
    }
    if args.tiny:
        tiny = eng.specs(tiny_base, [{"simulation.ticks": 1}], args.tiny)
        eng.run(pool, args.workers, tiny[:4])  # warm
        t0 = time.perf_counter()
        eng.run(pool, args.workers, tiny)
        out["tiny_pool_s"] = (time.perf_counter() - t0) / len(tiny)
        out["tiny_inprocess_s"] = pool.submit(_time_minimal, tiny_base, args.tiny).result()
    pool.shutdown()
    return out


def child(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.throughput child")
    parser.add_argument("what", choices=["child"])
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--runs", type=int, required=True)
    parser.add_argument("--ticks", type=int, required=True)
    parser.add_argument("--batches", type=int, default=1)
    parser.add_argument("--tiny", type=int, default=0, help="also time this many minimal runs (0: skip)")
    print(json.dumps(_child(parser.parse_args(argv))))


if __name__ == "__main__":
    if len(sys.argv) > 1:
        child(sys.argv[1:])
    else:
        from benchmarks.run import main

        raise SystemExit(main(["--only", NAME]))

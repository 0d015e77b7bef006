"""Benchmark 6 - the compiled kernel's start-up: the first runs in a fresh process.

A fresh interpreter imports ``sim.run`` (numba and the kernel's modules with it), runs the
shipped pair as shipped (central_it then micro_provider, 12 teams, 600 ticks), then the
pair again. The first pair's extra time over the second is the start-up overhead: the
compiled code loaded from its cache, or compiled.

- warm: the kernel's own cache (``~/.cache/orgsim/kernel-<digest>``), filled first by an
  untimed process; median of 3 fresh processes. Target: under 1 s of overhead.
- cold: ``NUMBA_CACHE_DIR`` pointed at an empty temporary folder, so everything compiles;
  the compile time, no target (one process).

Also checked: the cold-compiled and the cached code give the same results (a digest of the
pair's summaries, series and item tables), which a stale cache would not.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from typing import Any

from benchmarks.common import PAIR, SEED, Row, log, run_child
from benchmarks.fingerprint import digest

NAME = "kernel"
TARGET_S = 1.0


def run(quick: bool = False) -> list[Row]:
    run_child("benchmarks.kernel_start", "child")  # fill the warm cache
    warm = [run_child("benchmarks.kernel_start", "child") for _ in range(1 if quick else 3)]
    overhead = statistics.median(w["first_s"] - w["second_s"] for w in warm)
    imports = statistics.median(w["import_s"] for w in warm)
    rows = [
        Row(NAME, "import sim.run in a fresh process (numba and the kernel's modules)", imports, "s"),
        Row(
            NAME,
            f"warm cache: first pair's overhead over the second (median of {len(warm)})",
            overhead,
            "s",
            f"< {TARGET_S:g} s",
            overhead < TARGET_S,
        ),
    ]
    for w in warm:
        log(
            f"  warm: import {w['import_s']:.2f} s, first pair {w['first_s']:.3f} s (cpu {w['first_cpu']:.3f}), "
            f"second {w['second_s']:.3f} s (cpu {w['second_cpu']:.3f})"
        )
    if quick:
        return rows
    with tempfile.TemporaryDirectory(prefix="orgsim-numba-") as empty:
        cold = run_child("benchmarks.kernel_start", "child", env={"NUMBA_CACHE_DIR": empty})
    compile_s, compile_cpu = cold["first_s"] - cold["second_s"], cold["first_cpu"] - cold["second_cpu"]
    same = cold["digest"] == warm[0]["digest"]
    log(f"  cold: first pair {cold['first_s']:.1f} s, second {cold['second_s']:.3f} s; digests equal: {same}")
    rows += [
        Row(NAME, f"cold cache: compile time, first pair over the second (cpu {compile_cpu:.1f} s)", compile_s, "s"),
        Row(
            NAME,
            f"cold-compiled and cached code give the same results: {'yes' if same else 'NO'}",
            None,
            "",
            "same",
            same,
        ),
    ]
    return rows


def child() -> dict[str, Any]:
    start = time.perf_counter()
    from sim.run import run_scenario
    from sim.scenario.files import load_scenario

    out: dict[str, Any] = {"import_s": time.perf_counter() - start}
    configs = [load_scenario(path) for _, path in PAIR]
    for which in ("first", "second"):
        cpu, wall = time.process_time(), time.perf_counter()
        results = [run_scenario(config, seed=SEED) for config in configs]
        out[f"{which}_s"], out[f"{which}_cpu"] = time.perf_counter() - wall, time.process_time() - cpu
    return out | {"digest": " ".join(map(digest, results))}


if __name__ == "__main__":
    if sys.argv[1:] == ["child"]:
        print(json.dumps(child()))
    else:
        from benchmarks.run import main

        raise SystemExit(main(["--only", NAME]))

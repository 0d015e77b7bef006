"""Shared helpers: scaled scenarios, timing, result rows, memory readings, the machine."""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
CENTRAL = SCENARIOS / "central_it.toml"
MICRO = SCENARIOS / "micro_provider.toml"
MMC = SCENARIOS / "validation" / "mmc.toml"
PAIR = (("central_it", CENTRAL), ("micro_provider", MICRO))
SEED = 1


def log(message: str) -> None:
    """Progress goes to stderr; the result table goes to stdout."""
    print(message, file=sys.stderr, flush=True)


# --- scenarios ---------------------------------------------------------------------------
def length(path: Path, ticks: int) -> list[str]:
    """``--set`` overrides for a run of ``ticks`` ticks, the shipped file's warm-up scaled to it
    (the shipped pair: 400 of 900 ticks)."""
    from sim.scenario.files import load_scenario

    sim = load_scenario(path).simulation
    return [f"simulation.ticks={ticks}", f"simulation.warmup_ticks={sim.warmup_ticks * ticks // sim.ticks}"]


def scaled_overrides(path: Path, teams: int, ticks: int | None = None, scale_demand: bool = True) -> list[str]:
    """``--set`` overrides for ``teams`` teams. With ``scale_demand`` the organisation grows in
    proportion to the shipped file: services and arrival rate are multiplied by the same factor
    as teams (24 services and 9 items/tick at 12 teams -> 400 and 150 at 200 teams)."""
    from sim.scenario.files import load_scenario

    base = load_scenario(path)
    factor = teams / base.organisation.teams
    overrides = [f"organisation.teams={teams}"]
    if scale_demand:
        overrides.append(f"organisation.services={max(1, round(base.organisation.services * factor))}")
        overrides.append(f"demand.arrival_rate={base.demand.arrival_rate * factor!r}")
    return overrides + (length(path, ticks) if ticks is not None else [])


def scaled(path: Path, teams: int, ticks: int | None = None, scale_demand: bool = True):
    """The validated scenario of :func:`scaled_overrides`."""
    from sim.scenario.files import load_scenario

    return load_scenario(path, scaled_overrides(path, teams, ticks, scale_demand))


def warm_up() -> None:
    """One short run so lazy imports and first-call caches are not timed."""
    from sim.run import run_scenario
    from sim.scenario.files import load_scenario

    for _, path in PAIR:
        run_scenario(load_scenario(path, length(path, 120)), seed=0)


# --- timing ------------------------------------------------------------------------------
@dataclass
class Timed:
    """Wall-clock and CPU seconds of repeated calls, and the last call's return value."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    result: Any = None

    @property
    def n(self) -> int:
        return len(self.wall)

    @property
    def wall_median(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)

    def spread(self) -> str:
        """``median (min-max, n=k)`` in seconds."""
        if self.n == 1:
            return f"{self.wall[0]:.3f} s (n=1)"
        return f"{self.wall_median:.3f} s (min {min(self.wall):.3f}, max {max(self.wall):.3f}, n={self.n})"


def time_calls(fn: Callable[[], Any], repeats: int, budget_s: float = math.inf) -> Timed:
    """Call ``fn`` up to ``repeats`` times, stopping early once ``budget_s`` of wall time is
    spent (always at least once). Only the call is timed."""
    timed = Timed()
    while timed.n < repeats and (timed.n == 0 or sum(timed.wall) < budget_s):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        timed.result = fn()
        timed.wall.append(time.perf_counter() - wall0)
        timed.cpu.append(time.process_time() - cpu0)
    return timed


def time_interleaved(fns: dict[str, Callable[[], Any]], repeats: int, budget_s: float = math.inf) -> dict[str, Timed]:
    """Time several calls in turn (a, b, c, a, b, c, ...), so that a shared machine's load,
    which drifts, falls on all of them alike. Stops after ``repeats`` rounds or once
    ``budget_s`` of wall time is spent (always at least one round)."""
    timed = {name: Timed() for name in fns}
    spent = 0.0
    for _ in range(repeats):
        for name, fn in fns.items():
            one = time_calls(fn, 1)
            timed[name].wall += one.wall
            timed[name].cpu += one.cpu
            timed[name].result = one.result
            spent += one.wall[0]
        if spent >= budget_s:
            break
    return timed


def loglog_slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of log(y) against log(x): the exponent b in y ~ x^b."""
    lx = [math.log(x) for x in xs]
    ly = [math.log(y) for y in ys]
    mx, my = statistics.fmean(lx), statistics.fmean(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True)) / sum((a - mx) ** 2 for a in lx)


# --- memory ------------------------------------------------------------------------------
def rss_mb() -> float:
    """Current resident set size of this process, MB (Linux /proc)."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, MB: the kernel's high-water mark
    ``VmHWM`` on Linux. Not ``ru_maxrss``: Linux carries that over exec from the forked
    parent, so a fresh interpreter started by a large process reports the parent's size."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(module: str, *args: str, timeout: float = 1800, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``python -m module args`` in a fresh interpreter (with ``env`` added to the
    environment); it prints one JSON object last."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), **(env or {}))
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{module} {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def time_command(argv: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Wall and CPU seconds of a command and its stdout. CPU is that of its whole process tree
    (a sweep's fork server and workers, which nobody reaps into our rusage), sampled every
    0.1 s with psutil: a process that ends between samples loses at most its last 0.1 s."""
    import psutil

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = psutil.Popen(list(argv), cwd=cwd, env=env, stdout=out, stderr=err, text=True)
        cpu: dict[int, float] = {}
        while proc.poll() is None:
            with contextlib.suppress(psutil.Error):
                for p in [proc, *proc.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        times = p.cpu_times()
                        cpu[p.pid] = times.user + times.system
            time.sleep(0.1)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed in {cwd}:\n{err.read()[-3000:]}")
        return wall, sum(cpu.values()), out.read()


# --- result rows -------------------------------------------------------------------------
@dataclass
class Row:
    """One measured figure, with its target when the issue sets one."""

    bench: str
    measure: str
    value: float | None
    unit: str = ""
    target: str = ""
    ok: bool | None = None

    @property
    def status(self) -> str:
        return {True: "met", False: "MISSED", None: ""}[self.ok]


def fmt(value: float | None, unit: str = "") -> str:
    """A readable number: thousands separators for big ones, 3 significant digits otherwise."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if abs(value) >= 10_000:
        text = f"{value:,.0f}"
    elif abs(value) >= 100:
        text = f"{value:.0f}"
    elif abs(value) >= 1:
        text = f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip()


def table(rows: Sequence[Row]) -> str:
    """A Markdown table (readable in a terminal, pasteable into the README)."""
    head = ("benchmark", "measure", "value", "target", "status")
    body = [(r.bench, r.measure, fmt(r.value, r.unit), r.target, r.status) for r in rows]
    widths = [max(len(str(c)) for c in col) for col in zip(head, *body, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(head), rule, *(line(b) for b in body)])


# --- the machine ---------------------------------------------------------------------------
def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip()


def machine() -> dict[str, Any]:
    """Where and on what the figures were measured."""
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "load_avg_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "mesa": _version("mesa"),
        "numpy": _version("numpy"),
        "simpy": _version("simpy"),
        "git_commit": commit + ("+dirty" if dirty else ""),
    }

"""Profile the 200-team reference run (scaled, 150 items a tick) and print the top functions.

    python -m benchmarks.profile                          # both structures, cProfile, top 25
    python -m benchmarks.profile --structure central_it --top 40
    python -m benchmarks.profile --ticks 300 --save /tmp/ref.prof   # shorter; stats for snakeviz
    python -m benchmarks.profile --pyinstrument           # sampling profiler, call tree
    python -m benchmarks.profile --mmc                    # the M/M/c run of benchmarks/mmc.py
    python -m benchmarks.profile --perf 20 &              # 20 runs each, unprofiled, for perf:
    perf record -F 999 -p PID; perf report --sort sym     #   it prints its PID once ready

cProfile counts every call exactly but adds a roughly constant cost to each Python call,
so it inflates small, often-called functions; pyinstrument samples (low overhead) and
shows where time goes in the call tree. Both profile ``run_scenario`` (model, item table,
series and summary), after an unprofiled warm-up run. Neither sees inside the compiled
kernel: a call into it counts as own time of the Python function that makes it
(``Kernel.run_until`` in ``sim/model/kernel/engine.py``). ``--perf N`` does: it names the
loaded kernel's compiled functions for ``perf`` (``/tmp/perf-PID.map``, from Numba's code
library, whose attributes are private) and runs each case N times without a profiler.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a file: make ``benchmarks`` importable, keep stdlib ``profile`` unshadowed
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import cProfile
import gc
import os
import pstats
import re
import time

from benchmarks.common import MMC, PAIR, SEED, scaled_overrides, warm_up
from benchmarks.reference import ISSUE_RATE

TEAMS = 200


def short(func: tuple[str, int, str]) -> str:
    """``module/file.py:line(name)`` relative to the project or site-packages."""
    filename, line, name = func
    if filename == "~":
        return name  # a built-in
    path = Path(filename)
    parts = path.parts
    for anchor in ("site-packages", "sim", "benchmarks"):
        if anchor in parts:
            index = len(parts) - 1 - parts[::-1].index(anchor)
            rel = "/".join(parts[index + (anchor == "site-packages") :])
            return f"{rel}:{line}({name})"
    return f"{path.name}:{line}({name})"


def top_functions(stats: pstats.Stats, count: int, key: str = "tottime") -> list[tuple[str, float, float, int, int]]:
    """(function, own s, cumulative s, calls, primitive calls), largest ``key`` first."""
    rows = []
    for func, (primitive, calls, own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append((short(func), own, cumulative, calls, primitive))
    rows.sort(key=lambda r: r[1] if key == "tottime" else r[2], reverse=True)
    return rows[:count]


def print_top(rows: list[tuple[str, float, float, int, int]], total: float) -> None:
    width = max(len(r[0]) for r in rows)
    print(f"{'function':<{width}}  {'own s':>7}  {'own %':>6}  {'cum s':>7}  {'calls':>11}  {'own us/call':>11}")
    for name, own, cumulative, calls, _ in rows:
        per_call = own / calls * 1e6 if calls else 0.0
        print(
            f"{name:<{width}}  {own:7.2f}  {100 * own / total:5.1f}%  {cumulative:7.2f}  {calls:11,}  {per_call:11.2f}"
        )


def write_perf_map() -> Path:
    """``/tmp/perf-PID.map``: the start, size and name (``flow.work_on``) of each compiled
    function of the kernel loaded so far, which ``perf`` reads to name samples in JIT code.
    The functions and their addresses come from Numba's code libraries (private attributes)."""
    from numba.core.registry import CPUDispatcher

    import sim.model.kernel as kernel

    names: dict[int, str] = {}
    for module in [m for m in sys.modules.values() if getattr(m, "__name__", "").startswith(kernel.__name__)]:
        for dispatcher in [d for d in vars(module).values() if isinstance(d, CPUDispatcher)]:
            for compiled in dispatcher.overloads.values():
                library = compiled.library
                for function in library._get_module_for_linking().functions:
                    if not function.is_declaration:
                        start = library._codegen._engine.get_function_address(function.name)
                        names.setdefault(start, _readable(function.name))
    starts = sorted(start for start in names if start)
    path = Path(f"/tmp/perf-{os.getpid()}.map")
    with path.open("w") as out:
        for start, end in zip(starts, [*starts[1:], starts[-1] + 2**16], strict=True):
            out.write(f"{start:x} {min(end - start, 2**16):x} {names[start]}\n")
    return path


def _readable(symbol: str) -> str:
    """``flow.work_on`` for Numba's ``_ZN3sim5model6kernel4flow7work_onB...`` (``cpython.`` or
    ``cfunc.`` before it for the wrappers Python calls); other names as they are, cut to 80."""
    parts, rest = [], symbol[symbol.find("N") + 1 :]
    while match := re.match(r"\d+", rest):
        end = match.end() + int(match.group())
        parts.append(rest[match.end() : end])
        rest = rest[end:]
    wrapper = [parts[0]] if parts and parts[0] in ("cpython", "cfunc") else []
    return ".".join(wrapper + parts[-2:]) or symbol[:80]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--structure", choices=["central_it", "micro_provider", "both"], default="both")
    parser.add_argument("--ticks", type=int, default=1000)
    parser.add_argument("--teams-only", action="store_true", help="only teams=200 changed (demand fixed)")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", choices=["tottime", "cumtime"], default="tottime")
    parser.add_argument("--pyinstrument", action="store_true", help="sample with pyinstrument, print the tree")
    parser.add_argument("--save", type=Path, help="write the cProfile stats here (one file per structure)")
    parser.add_argument("--mmc", action="store_true", help="M/M/c (validation/mmc.toml, 20,000 ticks) instead")
    parser.add_argument("--perf", type=int, metavar="N", help="name the kernel's functions for perf, run N times each")
    args = parser.parse_args(argv)

    from sim.run import run_scenario
    from sim.scenario.files import load_scenario

    warm_up()
    cases = {"mmc": load_scenario(MMC, ["simulation.ticks=20000"])} if args.mmc else {}
    for structure, path in [] if args.mmc else PAIR:
        if args.structure in ("both", structure):
            extra = [] if args.teams_only else [ISSUE_RATE]
            cases[structure] = load_scenario(
                path, scaled_overrides(path, TEAMS, args.ticks, not args.teams_only) + extra
            )
    if args.perf is not None:
        print(f"{write_perf_map()} written; attach with: perf record -F 999 -p {os.getpid()}", flush=True)
        time.sleep(2)
        for config in cases.values():
            for seed in range(args.perf):
                run_scenario(config, seed=seed)
        gc.freeze()  # or the interpreter's last collections lead the profile
        return
    for structure, config in cases.items():
        variant = "" if args.mmc else ", teams only" if args.teams_only else ", scaled 150/tick"
        org = config.organisation
        print(f"\n=== {structure}{variant}, kernel: {org.teams} teams x {config.simulation.ticks} ticks ===")
        start = time.perf_counter()
        if args.pyinstrument:
            from pyinstrument import Profiler

            with Profiler(interval=0.001) as profiler:
                result = run_scenario(config, seed=SEED)
            print(f"{len(result.items):,} items in {time.perf_counter() - start:.2f} s (sampled)")
            print(profiler.output_text(unicode=True, color=False, show_all=False))
            continue
        profiler = cProfile.Profile()
        result = profiler.runcall(run_scenario, config, seed=SEED)
        wall = time.perf_counter() - start
        stats = pstats.Stats(profiler)
        total = stats.total_tt  # type: ignore[attr-defined]
        print(f"{len(result.items):,} items; {wall:.2f} s under cProfile (profiled total {total:.2f} s)\n")
        print_top(top_functions(stats, args.top, args.sort), total)
        if args.save:
            target = args.save.with_name(f"{args.save.stem}-{structure}{args.save.suffix or '.prof'}")
            stats.dump_stats(target)
            print(f"\nstats written to {target}")


if __name__ == "__main__":
    main()

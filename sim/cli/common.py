"""Helpers every command shares: scenario arguments, execution options, metric names, workers.

Cheap to import (argparse and the standard library): a command imports the heavy layers
inside its handler, so ``orgsim --help`` starts at once."""

from __future__ import annotations

import argparse
import functools
import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from sim.experiment.workers import LOST_TIMEOUT_S, WORKER_PRELOAD
from sim.scenario.errors import ScenarioError, printable

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing would slow `orgsim --help`
if TYPE_CHECKING:
    from sim.scenario.schema import Scenario

EXIT_BAD_INPUT = 2
EXIT_WORK_LOST = 1  # a sweep lost its workers or scheduler; the runs done are kept
DEFAULT_REPS = 10  # replications per scenario variant, the same in every command that replicates
Handler = Callable[[argparse.Namespace], int]  # what a command runs; returns the exit status

HEADLINE_HELP = (
    "throughput_per_tick backlog_growth_per_tick lead_time_mean_ticks lead_time_p85_ticks rework_rate "
    "rework_effort_share change_failure_rate utilisation adoption_t50_ticks"
)


class OneLineParser(argparse.ArgumentParser):
    """Reports a bad option in one line naming the ``--help`` that lists the options (exit 2);
    ``orgsim``'s command parsers inherit it."""

    def error(self, message: str):  # type: ignore[no-untyped-def]  # NoReturn: importing typing is slow
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {printable(message)}; see `{self.prog} --help`\n")


METRIC_LIST_OPTIONS = ("--metrics", "--precision-metric")
_METRIC_NAMES = re.compile(r"[a-z][a-z0-9_]*(,[a-z][a-z0-9_]*)*")


class MetricLists:
    """Mixed into each command's parser (whatever parser class ``orgsim`` uses): a list of metric
    names (``--metrics a b`` or ``--metrics a,b``) may stand anywhere, also before the scenario
    path; the list ends at the first word that is not a name (a path, a number, an option)."""

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[no-untyped-def]
        return super().parse_known_args(None if args is None else join_metric_lists(list(args)), namespace)  # type: ignore[misc]


@functools.cache
def _with_metric_lists(parser_class: type) -> type:
    return type(parser_class.__name__, (MetricLists, parser_class), {})


def join_metric_lists(words: list[str]) -> list[str]:
    """``words`` with each ``--metrics NAME NAME ...`` run joined into ``--metrics=NAME,NAME``."""
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word not in METRIC_LIST_OPTIONS:
            out.append(word)
            continue
        names = []
        while i < len(words) and _METRIC_NAMES.fullmatch(words[i]):
            names.append(words[i])
            i += 1
        out.append(f"{word}={','.join(names)}" if names else word)
    return out


def metric_list(text: str) -> list[str]:
    """The names of a comma-separated ``--metrics`` value."""
    return [name for name in text.split(",") if name]


OPTION_GROUPS = ("scenario", "design", "run", "analysis", "output", "server")
"""Every command's options fall into these groups, listed by its --help in this order as
"scenario options:", "design options:", ... (a group a command does not use is not shown)."""


def add_command(
    sub: argparse._SubParsersAction, name: str, *, summary: str, description: str, epilog: str, handler: Handler
) -> argparse.ArgumentParser:
    """Add command ``name``: ``summary`` in the command list, ``description`` and the ``epilog``
    of examples shown as written by its --help, the option groups (:data:`OPTION_GROUPS`, add
    options with :func:`group`) and the ``handler`` that runs it."""
    parser = sub.add_parser(
        name,
        help=summary,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.__class__ = _with_metric_lists(type(parser))
    for title in OPTION_GROUPS:
        parser.add_argument_group(f"{title} options")
    parser.set_defaults(handler=handler)
    return parser


def group(parser: argparse.ArgumentParser, title: str) -> argparse._ActionsContainer:
    """The option group ``title`` (one of :data:`OPTION_GROUPS`) of a command's parser; a parser
    without it (an experiment script's) takes the option itself."""
    return next((g for g in parser._action_groups if g.title == f"{title} options"), parser)


def add_scenario_arguments(parser: argparse.ArgumentParser) -> None:
    """The scenario path, ``--ticks``, repeated ``--set key.path=value`` and ``--max-memory``."""
    parser.add_argument(
        "scenario", type=Path, help="scenario TOML file, e.g. scenarios/central_it.toml (keys: docs/scenarios.md)"
    )
    add_override_arguments(parser)


def add_override_arguments(parser: argparse.ArgumentParser) -> None:
    """``--ticks``, repeated ``--set key.path=value`` and ``--max-memory``, in the scenario options."""
    options = group(parser, "scenario")
    options.add_argument(
        "--ticks",
        type=int,
        default=None,
        help="run length in ticks (1 tick = 1 working day), replacing simulation.ticks; the first "
        "simulation.warmup_ticks are not measured (default: the scenario's value)",
    )
    options.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override one scenario value, checked like the file; repeat for more (default: none), "
        "e.g. --set demand.arrival_rate=5",
    )
    options.add_argument(
        "--max-memory",
        type=memory_size,
        default=None,
        metavar="SIZE",
        help="refuse a scenario whose run is estimated to need more memory than this, e.g. 8G or 500M "
        "(default: half of this machine's memory)",
    )


def memory_size(text: str) -> int:
    """``--max-memory`` text such as 8G, 500M, 2.5GiB or a number of bytes, as bytes."""
    units = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kmgt]?)(i?b)?\s*", text, re.IGNORECASE)
    if match is None or float(match[1]) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a memory size such as 8G or 500M")
    return int(float(match[1]) * units[match[2].lower()])


def memory_limit(max_memory: int | None) -> int:
    """``--max-memory`` if given, else half of the machine's physical memory."""
    import os

    return max_memory or os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2


def scenario_from_args(args: argparse.Namespace) -> Scenario:
    """Load the scenario named on the command line, with its ``--set`` and ``--ticks`` overrides,
    refused if a run of it would need more than ``--max-memory``."""
    return load_named(args.scenario, overrides_from_args(args), args.max_memory, overrides_label(args))


def overrides_from_args(args: argparse.Namespace) -> list[str]:
    """The ``--set`` overrides, then ``--ticks`` as ``simulation.ticks``."""
    return [*args.overrides, *([f"simulation.ticks={args.ticks}"] if args.ticks is not None else [])]


def overrides_label(args: argparse.Namespace) -> str:
    """The options the overrides came from, as errors name them: ``--set``, ``--ticks`` or both."""
    given = [option for option, used in (("--set", args.overrides), ("--ticks", args.ticks is not None)) if used]
    return " and ".join(given) or "--set"


def load_named(path: Path, overrides: list[str], max_memory: int | None, given_by: str = "--set") -> Scenario:
    """The scenario file at ``path`` with ``overrides``, named after the file if it has no name;
    refused if a run of it would need more than ``max_memory`` bytes (see :func:`memory_limit`)."""
    from sim.scenario.budget import check_memory
    from sim.scenario.files import load_scenario

    scenario = load_scenario(path, overrides, given_by)
    check_memory(scenario, memory_limit(max_memory), str(path))
    return scenario if scenario.name else scenario.model_copy(update={"name": path.stem})


def note_ignored_keys(
    scenarios: Sequence[tuple[Path, Scenario]], overrides: Sequence[str], structures: Sequence[str] = ()
) -> None:
    """Say once, on stderr, which given keys have no effect under the structures run: keys each
    scenario file chain sets (against ``structures``, default: that scenario's own) and the
    keys of ``overrides`` (``key=value`` or bare keys, e.g. --grid keys; against every structure run)."""
    import sys

    from sim.scenario.applicability import given_keys, ignored, note
    from sim.scenario.files import file_keys

    run = list(structures) or list(dict.fromkeys(scenario.structure for _, scenario in scenarios))
    keys = [o.partition("=")[0].strip() for o in overrides]
    each = [ignored(keys, run, scenario) for _, scenario in scenarios]
    found = {key: scope for key, scope in each[0].items() if all(key in e for e in each)}
    for path, scenario in scenarios:
        found |= ignored(given_keys(file_keys(path), scenario), list(structures) or [scenario.structure], scenario)
    if found:
        print(f"orgsim: note: {note(found, run)}", file=sys.stderr)


def add_execution_arguments(parser: argparse.ArgumentParser) -> None:
    """The run options of a replicating command: ``--reps``, ``--seed``, ``--workers``, ``--scheduler``."""
    add_reps_argument(parser)
    add_seed_argument(parser)
    add_workers_argument(parser)
    add_scheduler_argument(parser)


def add_reps_argument(parser: argparse.ArgumentParser) -> None:
    """``--reps``, defaulting to :data:`DEFAULT_REPS` in every command."""
    group(parser, "run").add_argument(
        "--reps",
        type=int,
        default=DEFAULT_REPS,
        help=f"replications (runs with different seeds) of each scenario variant (default {DEFAULT_REPS})",
    )


def add_seed_argument(parser: argparse.ArgumentParser) -> None:
    """``--seed``: every random draw of the command derives from it."""
    group(parser, "run").add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed every random draw derives from (default 0): the same seed gives the same results; "
        "replicate r's seed derives from it and is shared by the scenarios or structures compared",
    )


def add_workers_argument(parser: argparse.ArgumentParser) -> None:
    """``--workers``: local worker processes (see :func:`prestart_workers`), and ``--oversubscribe``."""
    options = group(parser, "run")
    options.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes (default: all cores; 1 = serial, in this process; at most the cores "
        "available unless --oversubscribe)",
    )
    options.add_argument(
        "--oversubscribe", action="store_true", help="allow --workers above the cores available (default: refused)"
    )


def add_scheduler_argument(parser: argparse.ArgumentParser) -> None:
    """``--scheduler``: a Dask scheduler's address, to run there instead of on local processes;
    ``--lost-timeout``: how long it may have no worker."""
    options = group(parser, "run")
    options.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run on this Dask scheduler instead of local processes, e.g. tcp://10.0.0.5:8786 "
        "(default: local processes; needs the dask extra)",
    )
    options.add_argument(
        "--lost-timeout",
        type=seconds,
        default=LOST_TIMEOUT_S,
        metavar="SECONDS",
        help="with --scheduler: stop in one line when the cluster has had no worker, or the scheduler has "
        f"not answered, for this long; a sweep keeps the runs done (default {LOST_TIMEOUT_S:g})",
    )


def seconds(text: str) -> float:
    """``--lost-timeout`` text: a finite number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds > 0, e.g. 60")
    return value


def add_metrics_argument(parser: argparse.ArgumentParser) -> None:
    """``--metrics``: the metrics to print (a list that may stand anywhere on the line)."""
    group(parser, "output").add_argument(
        "--metrics",
        type=metric_list,
        action="extend",
        default=None,
        metavar="METRIC",
        help="metrics to print, named as in `orgsim run`, separated by spaces or commas, anywhere on the line "
        f"(default: {HEADLINE_HELP})",
    )


def add_out_argument(parser: argparse.ArgumentParser, default: str) -> None:
    """``--out``: where the results the command's description lists go; ``default`` says what
    happens without it."""
    group(parser, "output").add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"write the results described above into this directory, created if missing (default: {default})",
    )


def check_workers(args: argparse.Namespace) -> None:
    """Refuse ``--workers`` above the cores this process may use, unless ``--oversubscribe``."""
    import os

    workers = getattr(args, "workers", None)
    if workers is None or getattr(args, "oversubscribe", False):
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if workers > cores:
        raise ScenarioError(
            f"--workers {workers}: more than the {cores} cores available; give --workers {cores} or fewer, "
            "or add --oversubscribe"
        )


def add_quiet_argument(parser: argparse.ArgumentParser) -> None:
    """``--quiet``: no progress bar."""
    group(parser, "output").add_argument(
        "--quiet", action="store_true", help="do not draw the progress bar (on stderr)"
    )


def prestart_workers(workers: int | None, scheduler: str | None = None) -> None:
    """Start the worker fork server now, so it imports sim while this process does (unless the
    runs are serial or go to a Dask ``scheduler``). This process also loads ``scipy.stats``,
    which its tables need once the runs are back and which takes longer to import than the
    rest of OrgSim: now, while the fork server loads on another core, not after the runs."""
    if scheduler or workers == 1:
        return
    import multiprocessing
    from multiprocessing import forkserver

    if "forkserver" in multiprocessing.get_all_start_methods():
        multiprocessing.get_context("forkserver").set_forkserver_preload(WORKER_PRELOAD)
        forkserver.ensure_running()
        import scipy.stats  # noqa: F401


def metrics_from_args(args: argparse.Namespace) -> list[str]:
    """The ``--metrics`` given, checked, or the headline metrics."""
    from sim.experiment.tables import HEADLINE_METRICS

    return check_metrics(list(args.metrics) if args.metrics else list(HEADLINE_METRICS))


def check_metrics(names: Sequence[str], option: str = "--metrics") -> list[str]:
    """``names`` if each is a registered metric, else a ScenarioError naming the closest one."""
    import difflib

    from sim.metrics import METRICS

    for name in names:
        if name not in METRICS:
            hint = difflib.get_close_matches(name, list(METRICS), n=1)
            fix = f"did you mean {hint[0]!r}?" if hint else f"known metrics: {', '.join(METRICS)}"
            raise ScenarioError(f"{option} {name}: unknown metric; {fix}")
    return list(names)

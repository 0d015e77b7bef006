"""The ``orgsim`` command line: one module per command, sharing :mod:`sim.cli.common`.

The top layer: it may use every other layer, and only inside a command's handler, so that
``orgsim --help`` imports no heavy library."""

from __future__ import annotations

import argparse
import gc
import signal
import sys
import threading
from collections.abc import Sequence

from sim.cli import compare, run, schema, sensitivity, sweep, view, warmup
from sim.cli.common import EXIT_BAD_INPUT, EXIT_WORK_LOST, OneLineParser, check_workers
from sim.scenario.errors import ScenarioError, Terminated, WorkLost, printable

DESCRIPTION = """\
Simulate the same IT organisation (the same people, demand and services) run as central
IT (functional silos, one central intake, a handoff at every stage boundary) or as
internal micro-providers (cross-functional teams that own services end to end and request
work from each other), and measure throughput, rework, lead time and how fast a practice
spreads between teams."""

EPILOG = """\
examples:
  orgsim run scenarios/central_it.toml
  orgsim compare scenarios/central_it.toml scenarios/micro_provider.toml --reps 5
  orgsim sweep scenarios/central_it.toml --grid structure=central_it,micro_provider \\
      --grid handoff.delay_ticks=0,1,2 --reps 3 --ticks 600 --out results/my-sweep
  orgsim sensitivity scenarios/central_it.toml --difference --metrics lead_time_mean_ticks \\
      --params handoff.delay_ticks=0:1.5 organisation.dependencies_per_service=0:4
  orgsim schema --markdown
  orgsim view scenarios/micro_provider.toml

`orgsim COMMAND --help` shows a command's options. Start with docs/tutorial.md; the model
is described in docs/ODD.md and every scenario key in docs/scenarios.md.
Exit status: 0 done, 1 workers or the Dask scheduler lost (run again to resume), 2 bad input
(scenario file, key, value or option), 130 interrupted (Ctrl-C), 143 terminated (SIGTERM)."""

COMMANDS = (run, sweep, compare, warmup, sensitivity, schema, view)  # in the order --help lists them


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    in_main_thread = threading.current_thread() is threading.main_thread()
    before = signal.signal(signal.SIGTERM, _terminate) if in_main_thread else None
    try:
        check_workers(args)
        return args.handler(args)
    except ScenarioError as exc:
        for line in str(exc).split("\n"):  # one line per problem
            print(f"orgsim: {printable(line)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except WorkLost as exc:
        print(f"orgsim: {exc}", file=sys.stderr)
        return EXIT_WORK_LOST
    except Terminated:
        print("orgsim: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print("orgsim: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    except BrokenPipeError:  # output piped into e.g. `head`
        sys.stderr.close()
        return 0
    finally:
        if before is not None:
            signal.signal(signal.SIGTERM, before)


def console() -> None:
    """The ``orgsim`` command and ``python -m sim``: ``main``, then exit with its status.
    What the command leaves alive is frozen out of the garbage collector first
    (``gc.freeze``): the interpreter's last collections would otherwise walk the ~200,000
    objects numpy, pandas, scipy, mesa and the kernel bring, 0.3-0.6 s at the end of every
    command. Exit handlers, finalizers and flushing run as at any exit. Before numpy loads,
    the numeric libraries are kept to one thread (:mod:`sim.experiment.single_thread`)."""
    import sim.experiment.single_thread  # noqa: F401  (before numpy loads)

    status = main()
    gc.freeze()
    sys.exit(status)


class _Version(argparse.Action):
    """``--version``: reads the package metadata only when asked (``--help`` stays fast)."""

    def __init__(self, option_strings: list[str], dest: str, help: str) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        from importlib.metadata import version

        print(f"orgsim {version('orgsim')}")
        parser.exit()


def _terminate(number: int, frame: object) -> None:
    """SIGTERM stops a command as Ctrl-C does: results so far kept, then exit 143."""
    raise Terminated


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="orgsim",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_Version, help="print the installed OrgSim version and exit")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", help="what to do (each has its own --help)"
    )
    for command in COMMANDS:
        command.add_parser(sub)
    return parser

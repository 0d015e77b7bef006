"""``orgsim view``: watch a scenario run in the browser (the page is :mod:`sim.view`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.cli.common import (
    EXIT_BAD_INPUT,
    add_command,
    add_scenario_arguments,
    add_seed_argument,
    group,
    load_named,
    overrides_from_args,
    overrides_label,
    scenario_from_args,
)
from sim.scenario.errors import ScenarioError

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing would slow `orgsim --help`
if TYPE_CHECKING:
    from sim.scenario.schema import Scenario

DESCRIPTION = """\
Serve an interactive page (Solara, Mesa's controls) that runs SCENARIO step by step: the
network of teams that work together coloured by load and adoption, the queue at each
team or silo, live throughput, lead time, rework and the adoption curve. Its sliders
change the main parameters and its switch runs the same organisation as central_it or
micro_provider; press Reset to apply them. Side by side (--against B, or the page's
switch: B is then the same organisation under the other structure), scenario B runs on
the same seed and demand, stepping together with SCENARIO, its throughput, lead time,
rework and adoption drawn on the same axes; a slider moved applies to both. Open the
printed address in a browser; Ctrl-C stops the server (exit status 130). Needs the viz
extra: pip install 'orgsim[viz]' (make setup installs it)."""

EPILOG = """\
examples:
  orgsim view scenarios/micro_provider.toml
  orgsim view scenarios/central_it.toml --against scenarios/micro_provider.toml
  orgsim view scenarios/central_it.toml --port 8766 --set demand.arrival_rate=10"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = add_command(
        sub,
        "view",
        summary="watch a scenario run in the browser, with sliders and a structure switch",
        description=DESCRIPTION,
        epilog=EPILOG,
        handler=cmd_view,
    )
    add_scenario_arguments(parser)
    group(parser, "scenario").add_argument(
        "--against",
        type=Path,
        default=None,
        metavar="B.toml",
        help="run this scenario side by side with SCENARIO, on the same seed, with the same --set and --ticks "
        "(default: none; the page's switch then runs SCENARIO's organisation under the other structure)",
    )
    add_seed_argument(parser)
    server = group(parser, "server")
    server.add_argument(
        "--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1, this machine only)"
    )
    server.add_argument("--port", type=int, default=8765, help="port to serve on (default 8765)")


def cmd_view(args: argparse.Namespace) -> int:
    scenario = scenario_from_args(args)
    against = None if args.against is None else load_against(args)
    check_address(args.host, args.port)
    try:
        from sim.view import serve
    except ImportError as exc:
        print(
            f"orgsim: view needs the viz extra ({exc.name} is missing): pip install 'orgsim[viz]' or make setup",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    serve(scenario, seed=args.seed, host=args.host, port=args.port, against=against)
    return 0


def load_against(args: argparse.Namespace) -> Scenario:
    """The --against scenario with the same overrides; its errors name --against."""
    try:
        return load_named(args.against, overrides_from_args(args), args.max_memory, overrides_label(args))
    except ScenarioError as exc:
        raise ScenarioError("\n".join(f"--against {line}" for line in str(exc).split("\n"))) from None


def check_address(host: str, port: int) -> None:
    """Raise a ScenarioError naming --host or --port unless this process can serve on ``host:port``."""
    import socket

    if not 0 < port < 65536:
        raise ScenarioError(f"--port {port}: give a port from 1 to 65535, e.g. --port 8765")
    try:
        family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except OSError as exc:
        raise ScenarioError(f"--host {host}: unknown address ({exc.strerror}); e.g. --host 127.0.0.1") from None
    with socket.socket(family, kind) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
        try:
            probe.bind(address)
        except OSError as exc:
            other = port + 1 if port < 65535 else 8765
            raise ScenarioError(
                f"--port {port}: cannot serve on {host}:{port} ({exc.strerror}); choose another, e.g. --port {other}"
            ) from None

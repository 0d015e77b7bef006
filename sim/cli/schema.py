"""``orgsim schema``: the scenario JSON Schema, or the Markdown scenario reference."""

from __future__ import annotations

import argparse

from sim.cli.common import add_command, group

DESCRIPTION = """\
Print the JSON Schema of scenario files (for editors and tools that check and complete
TOML against a schema), or with --markdown the scenario reference that
docs/scenarios.md is generated from (`make docs`)."""

EPILOG = """\
examples:
  orgsim schema > orgsim-scenario.schema.json
  orgsim schema --markdown > docs/scenarios.md"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = add_command(
        sub,
        "schema",
        summary="print the scenario JSON Schema (or the Markdown reference)",
        description=DESCRIPTION,
        epilog=EPILOG,
        handler=cmd_schema,
    )
    group(parser, "output").add_argument(
        "--markdown",
        action="store_true",
        help="print the Markdown scenario reference (key, type, default, allowed values, meaning) "
        "instead of the JSON Schema",
    )


def cmd_schema(args: argparse.Namespace) -> int:
    from sim.scenario.reference import json_schema, markdown

    print(markdown() if args.markdown else json_schema(), end="" if args.markdown else "\n")
    return 0

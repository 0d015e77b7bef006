"""``orgsim --help`` and every command's help are complete: each command has a description
and examples, every option has help that states its default, and the examples parse."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

import pytest
from conftest import ROOT, run_cli

from sim.cli import build_parser
from sim.experiment.tables import HEADLINE_METRICS


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(actions) == 1
    return dict(actions[0].choices)


def all_parsers() -> dict[str, argparse.ArgumentParser]:
    return {"orgsim": build_parser()} | {f"orgsim {name}": p for name, p in subcommands().items()}


def documented_actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]


def example_commands(epilog: str) -> list[list[str]]:
    """The arguments of each ``orgsim ...`` line of an epilog (continuations joined, no redirection)."""
    commands = []
    for line in epilog.replace("\\\n", " ").splitlines():
        if line.strip().startswith("orgsim "):
            words = shlex.split(line)
            commands.append(words[1 : words.index(">")] if ">" in words else words[1:])
    return commands


COMMANDS = ["run", "sweep", "compare", "warmup", "schema", "sensitivity", "view"]


def test_the_commands_are_the_documented_ones() -> None:
    assert sorted(subcommands()) == sorted(COMMANDS)


@pytest.mark.parametrize("command", [[], *([c] for c in COMMANDS)], ids=lambda c: " ".join(["orgsim", *c]))
def test_help_exits_0_and_shows_usage_and_examples(capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        run_cli(capsys, *command, "--help")
    assert exc.value.code == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith(f"usage: {' '.join(['orgsim', *command])}")
    assert "examples:" in out


@pytest.mark.parametrize("name", list(all_parsers()))
def test_every_command_has_a_description_and_examples(name: str) -> None:
    parser = all_parsers()[name]
    assert parser.description and len(parser.description.split()) >= 10
    assert parser.epilog and parser.epilog.startswith("examples:")
    assert example_commands(parser.epilog), f"{name}: no `orgsim ...` example in the epilog"
    if name != "orgsim":
        assert all(words[0] == name.split()[1] for words in example_commands(parser.epilog))


def test_every_command_has_a_one_line_help_in_the_listing() -> None:
    parser = build_parser()
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert action.help
    assert {choice.dest: bool(choice.help) for choice in action._choices_actions} == dict.fromkeys(COMMANDS, True)


@pytest.mark.parametrize("name", list(all_parsers()))
def test_every_option_has_help_stating_its_default(name: str) -> None:
    for action in documented_actions(all_parsers()[name]):
        label = "/".join(action.option_strings) or action.dest
        assert action.help and action.help.strip() and action.help != argparse.SUPPRESS, f"{name} {label}: no help"
        takes_value = action.option_strings and action.nargs != 0
        if takes_value:
            assert "default" in action.help, f"{name} {label}: the help does not state the default"


def test_metrics_help_names_the_headline_metrics() -> None:
    for name in ("sweep", "compare"):
        (metrics,) = [a for a in subcommands()[name]._actions if "--metrics" in a.option_strings]
        assert metrics.help is not None
        assert " ".join(HEADLINE_METRICS) in metrics.help


@pytest.mark.parametrize("name", list(all_parsers()))
def test_examples_parse_and_name_existing_scenarios(name: str) -> None:
    parser = build_parser()
    for words in example_commands(all_parsers()[name].epilog or ""):
        args = parser.parse_args(words)
        for value in vars(args).values():
            if isinstance(value, Path) and value.suffix == ".toml":
                assert (ROOT / value).exists(), f"{name} example names a missing scenario {value}"


HEAVY = ("mesa", "pandas", "numpy", "scipy", "pydantic", "matplotlib", "networkx", "solara", "SALib", "sklearn")


@pytest.mark.parametrize("command", ["", "run", "compare", "sweep", "warmup", "sensitivity", "schema", "view"])
def test_help_imports_no_heavy_library(command: str) -> None:
    # Each command imports its layers when it runs, so --help answers at once
    # (benchmarks/startup.py times it against `python -c pass`).
    import subprocess
    import sys

    argv = [*command.split(), "--help"]
    probe = (
        "import contextlib, io, sys\n"
        "from sim.cli import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit): main({argv!r})\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert set(out.stdout.split()) & set(HEAVY) == set()


def test_version_prints_the_installed_version() -> None:
    import subprocess
    import sys
    from importlib.metadata import version

    done = subprocess.run([sys.executable, "-m", "sim", "--version"], cwd=ROOT, capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"orgsim {version('orgsim')}\n", "")

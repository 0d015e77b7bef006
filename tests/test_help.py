"""``orgsim --help`` and every command's help are complete: each command has a description
and examples, every option has help that states its default, and the examples parse. Every
command's help has one layout: usage, description, the option groups in one order, examples;
an option several commands share has the same help text and group wherever it appears."""

from __future__ import annotations

import argparse
import importlib.util
import re
import shlex
from pathlib import Path

import pytest
from conftest import ROOT, run_cli

from sim.cli import build_parser, common
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


# --- one layout -----------------------------------------------------------------------------
LAYOUT = ["positional arguments", "options", *(f"{name} options" for name in common.OPTION_GROUPS), "examples"]


def reference_options() -> dict[str, tuple[str, str]]:
    """Each shared option, in the order every command lists it: (its group, its help)."""
    sub = argparse.ArgumentParser().add_subparsers()
    parser = common.add_command(sub, "x", summary="x", description="x", epilog="", handler=lambda args: 0)
    common.add_scenario_arguments(parser)
    common.add_execution_arguments(parser)
    common.add_metrics_argument(parser)
    common.add_out_argument(parser, "x")
    common.add_quiet_argument(parser)
    return {
        action.option_strings[0]: (group.title, action.help)
        for group in parser._action_groups[2:]  # after positional arguments and options
        for action in group._group_actions
    }


def without_default(text: str | None) -> str:
    """A help text without its "(default ...)" part, which differs between commands."""
    return re.sub(r"\s*\(default[^)]*\)", "", text or "")


def help_text(parser: argparse.ArgumentParser, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("COLUMNS", "100")
    return parser.format_help()


def test_the_reference_names_every_shared_option() -> None:
    assert list(reference_options()) == [
        "--ticks", "--set", "--max-memory", "--reps", "--seed", "--workers", "--oversubscribe", "--scheduler",
        "--lost-timeout", "--metrics", "--out", "--quiet",
    ]  # fmt: skip


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_help_has_the_same_layout(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    parser = subcommands()[name]
    text = help_text(parser, monkeypatch)
    assert text.startswith(f"usage: orgsim {name} ")
    paragraphs = text.split("\n\n")
    assert parser.description is not None
    assert paragraphs[1] == parser.description.split("\n\n")[0], "the description does not follow the usage"
    headings = [line[:-1] for line in text.splitlines() if re.fullmatch(r"[a-z][a-z ]*:", line)]
    assert headings == [h for h in LAYOUT if h in headings], f"sections out of order: {headings}"
    assert headings[-1] == "examples" and "options" in headings
    bare = next(a for a in parser._action_groups if a.title == "options")._group_actions
    assert [a.option_strings for a in bare] == [["-h", "--help"]], "an option outside the option groups"


@pytest.mark.parametrize("name", COMMANDS)
def test_shared_options_read_the_same_in_every_command(name: str) -> None:
    reference = reference_options()
    parser = subcommands()[name]
    seen = []
    for group in parser._action_groups:
        for action in group._group_actions:
            option = next((o for o in action.option_strings if o in reference), None)
            if option is None:
                continue
            seen.append(option)
            title, text = reference[option]
            assert group.title == title, f"{name} {option}: in {group.title!r}, elsewhere in {title!r}"
            assert without_default(action.help) == without_default(text), f"{name} {option}: help differs"
    assert seen == [o for o in reference if o in seen], f"{name}: shared options out of order"


def test_metrics_reps_seed_out_and_scheduler_are_shared_where_they_appear() -> None:
    # the options the issue names: every replicating command has them, so the checks above bite
    for name in ("sweep", "compare", "sensitivity"):
        options = {o for a in subcommands()[name]._actions for o in a.option_strings}
        assert {"--reps", "--seed", "--out", "--scheduler"} <= options, name
    assert all(
        "--metrics" in {o for a in subcommands()[n]._actions for o in a.option_strings} for n in ("sweep", "compare")
    )


def test_experiment_scripts_take_the_same_scheduler_options() -> None:
    spec = importlib.util.spec_from_file_location("experiments_common", ROOT / "experiments" / "common.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for option in ("--scheduler", "--lost-timeout"):
        (action,) = [a for a in module.build_parser("x", "doc")._actions if option in a.option_strings]
        (theirs,) = [a for a in subcommands()["sweep"]._actions if option in a.option_strings]
        assert (action.help, action.metavar, action.default) == (theirs.help, theirs.metavar, theirs.default)
    args = module.arguments("x", "doc", argv=["--scheduler", "tcp://127.0.0.1:8786", "--lost-timeout", "5"])
    assert module.sweep_options(args)["scheduler"] == "tcp://127.0.0.1:8786"
    assert module.sweep_options(args)["lost_timeout"] == 5

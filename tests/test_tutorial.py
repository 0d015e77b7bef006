"""docs/tutorial.md runs as written: every command in it is executed and its output compared.

Format. Every ```console block of the tutorial is a transcript. A line starting with
``$ `` is a command; a command line ending in a backslash continues on the next line, and
a heredoc (``<<'EOF'``) takes the lines up to its terminator. The lines after a command,
up to the next command or the end of the block, are its expected output: stdout, then
stderr.

Running. The commands run in order, each with ``bash -c``, in one fresh temporary
directory that links the repository's ``scenarios/``: paths read as from the repository
root, and files the commands write (sweep results, plots) land in the temporary
directory. The virtualenv's ``bin/`` (the directory of this Python) comes first on PATH,
so ``orgsim`` and ``python`` are the project's; COLUMNS is fixed for ``--help``. ``$?`` in
a command is the exit status of the previous one (``echo $?`` shows it); a command may
exit non-zero only when the next command is ``echo $?``.

Comparing. The progress bar on stderr is removed and trailing spaces are dropped. In an
expected output, a line ``...`` stands for any number of lines (documented in the
tutorial). Numbers from seeded runs are deterministic and compared exactly.

Prose. A figure the prose quotes (a number with a decimal point) must be printed by a
transcript of its section, so a regenerated transcript cannot leave a stale figure behind.

Updating. ``UPDATE_TUTORIAL=1 .venv/bin/python -m pytest tests/test_tutorial.py`` rewrites
the expected outputs that differ (an output that still matches, ``...`` included, is
kept); review the change with ``git diff docs/tutorial.md``.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import ROOT

from sim.cli import build_parser

TUTORIAL = ROOT / "docs" / "tutorial.md"
BIN = Path(sys.executable).parent
UPDATE = os.environ.get("UPDATE_TUTORIAL", "") not in ("", "0")
ELLIPSIS = "..."
PROMPT = "$ "
COLUMNS = "100"
TIMEOUT_S = 600
# One tqdm update: "sweep:  50%|█████     | 9/18 [00:11<00:10,  1.12s/run]".
PROGRESS = re.compile(r"^[^|\r\n]*:\s*\d+%\|")
HEREDOC = re.compile(r"<<-?\s*(['\"]?)(\w+)\1")


@dataclass
class Command:
    """One ``$`` command of a console block and the output the tutorial shows for it."""

    text: str  # the command as bash reads it (continuation lines and heredoc joined)
    source: list[str]  # its lines in the tutorial, prompt included
    expected: list[str] = field(default_factory=list)
    line: int = 0  # 1-based line of the prompt in the tutorial


@dataclass
class Block:
    """A ```console block: where it sits in the file (the lines between the fences)."""

    start: int  # index of the first line after the opening fence
    end: int  # index of the closing fence
    commands: list[Command]


def parse(lines: list[str]) -> list[Block]:
    """The console blocks of a Markdown file, with their commands and expected outputs."""
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        if lines[i].strip() != "```console":
            i += 1
            continue
        start = i + 1
        end = start
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        if end == len(lines):
            raise ValueError(f"{TUTORIAL.name}:{i + 1}: console block is not closed")
        blocks.append(Block(start, end, _commands(lines[start:end], start)))
        i = end + 1
    return blocks


def _commands(body: list[str], offset: int) -> list[Command]:
    commands: list[Command] = []
    j = 0
    while j < len(body):
        line = body[j]
        if not line.startswith(PROMPT):
            if not commands:
                raise ValueError(f"{TUTORIAL.name}:{offset + j + 1}: output before the first `$ ` command")
            commands[-1].expected.append(line)
            j += 1
            continue
        source = [line]
        text = line[len(PROMPT) :]
        while source[-1].endswith("\\") and j + 1 < len(body):
            j += 1
            source.append(body[j])
        text = "\n".join([text, *source[1:]])
        heredoc = HEREDOC.search(text)
        if heredoc:
            terminator = heredoc.group(2)
            while j + 1 < len(body) and source[-1] != terminator:
                j += 1
                source.append(body[j])
            if source[-1] != terminator:
                raise ValueError(f"{TUTORIAL.name}:{offset + j + 1}: heredoc without its {terminator} line")
            text = "\n".join([line[len(PROMPT) :], *source[1:]])
        commands.append(Command(text, source, line=offset + j - len(source) + 2))
        j += 1
    return commands


def render(lines: list[str], blocks: list[Block]) -> list[str]:
    """``lines`` with every console block rebuilt from its commands and expected outputs."""
    out: list[str] = []
    previous = 0
    for block in blocks:
        out += lines[previous : block.start]
        for command in block.commands:
            out += command.source + command.expected
        previous = block.end
    return out + lines[previous:]


def without_progress(text: str) -> str:
    """``text`` without tqdm progress updates (each ends in a carriage return or newline)."""
    kept = []
    for line in text.split("\n"):
        parts = [part for part in line.split("\r") if not PROGRESS.match(part)]
        if parts:
            kept.append("".join(parts))
    return "\n".join(kept)


def normalise(stdout: str, stderr: str) -> list[str]:
    text = stdout + without_progress(stderr)
    return [line.rstrip() for line in text.rstrip("\n").split("\n")] if text.strip() else []


def matches(expected: list[str], actual: list[str]) -> bool:
    """Whether ``actual`` fits ``expected``, where a line ``...`` matches any run of lines."""
    memo: dict[tuple[int, int], bool] = {}

    def fit(i: int, j: int) -> bool:
        if (i, j) not in memo:
            if i == len(expected):
                memo[i, j] = j == len(actual)
            elif expected[i] == ELLIPSIS:
                memo[i, j] = any(fit(i + 1, k) for k in range(j, len(actual) + 1))
            else:
                memo[i, j] = j < len(actual) and expected[i].rstrip() == actual[j] and fit(i + 1, j + 1)
        return memo[i, j]

    return fit(0, 0)


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = COLUMNS
    env.pop("PYTHONWARNINGS", None)  # the commands run as a user runs them
    return env


def workspace(directory: Path) -> Path:
    """A directory where paths read as from the repository root and results stay private."""
    (directory / "scenarios").symlink_to(ROOT / "scenarios", target_is_directory=True)
    return directory


def read_tutorial() -> tuple[list[str], list[Block]]:
    lines = TUTORIAL.read_text(encoding="utf-8").split("\n")
    return lines, parse(lines)


# --- fast checks of the format ----------------------------------------------------------
def test_tutorial_parses_and_renders_back() -> None:
    lines, blocks = read_tutorial()
    assert blocks, "docs/tutorial.md has no ```console blocks"
    assert all(block.commands for block in blocks)
    assert render(lines, blocks) == lines


def test_tutorial_uses_the_commands_it_teaches() -> None:
    _, blocks = read_tutorial()
    texts = [command.text for block in blocks for command in block.commands]
    for name in ("orgsim run", "orgsim compare", "orgsim sweep", "--grid", "--out"):
        assert any(name in text for text in texts), f"the tutorial never runs {name!r}"


def test_parser_reads_continuations_heredocs_and_ellipses() -> None:
    body = [
        "$ orgsim run a.toml \\",
        "    --seed 1",
        "out 1",
        "...",
        "$ python <<'EOF'",
        "print(1)",
        "EOF",
        "1",
    ]
    first, second = _commands(body, 0)
    assert first.text == "orgsim run a.toml \\\n    --seed 1"
    assert first.expected == ["out 1", "..."]
    assert second.text == "python <<'EOF'\nprint(1)\nEOF"
    assert (second.expected, second.line) == (["1"], 5)
    assert matches(first.expected, ["out 1", "a", "b"])
    assert matches(first.expected, ["out 1"])
    assert not matches(first.expected, ["out 2"])


def test_progress_bars_are_removed() -> None:
    stderr = "sweep:   0%|          | 0/4 [00:00<?, ?run/s]\rsweep: 100%|██████████| 4/4 [00:01<00:00]\n"
    assert normalise("done\n", stderr) == ["done"]
    assert normalise("", "orgsim: bad key\n") == ["orgsim: bad key"]


# --- the prose quotes the transcripts ---------------------------------------------------
# A figure the prose quotes from a transcript is written as the transcript prints it, with
# its decimal point (7.8, 0.083, 30.7%), and must appear in the output of a transcript of the
# same section (## heading), the sign aside ("1.01 items a day less" quotes -1.01). Rounded
# words ("about 6 items a day") and whole numbers are no quotes; a number after < or > is a
# threshold (p < 0.05), and one after "section" a section number.
DECIMAL = re.compile(r"\d+\.\d+")
NOT_QUOTED = re.compile(r"(?:[<>]|\bsection)\s*\d+\.\d+")
IN_PROSE_ONLY = re.compile(r"`[^`]*`|<!--.*?-->|\]\([^)]*\)", re.DOTALL)


def prose_figures(lines: list[str], blocks: list[Block]) -> list[tuple[int, str, set[str]]]:
    """(line number, figure, the figures its section's transcripts print) for every decimal
    figure in the prose: outside fenced blocks, tables, code spans, comments and link targets."""
    fenced, inside = set(), False
    for i, line in enumerate(lines):
        if line.startswith("```"):
            inside = not inside
            fenced.add(i)
        elif inside:
            fenced.add(i)
    section_of = [sum(1 for line in lines[: i + 1] if line.startswith("## ")) for i in range(len(lines))]
    printed: dict[int, set[str]] = {}
    for block in blocks:
        output = "\n".join(line for command in block.commands for line in command.expected)
        printed.setdefault(section_of[block.start], set()).update(DECIMAL.findall(output))
    text = "\n".join("" if i in fenced or line.startswith("|") else line for i, line in enumerate(lines))
    text = IN_PROSE_ONLY.sub(lambda m: "\n" * m.group().count("\n"), text)
    text = NOT_QUOTED.sub("", text)
    found = []
    for number, line in enumerate(text.split("\n")):
        for figure in DECIMAL.findall(line):
            found.append((number + 1, figure, printed.get(section_of[number], set())))
    return found


def test_prose_figures_come_from_the_transcripts() -> None:
    lines, blocks = read_tutorial()
    figures = prose_figures(lines, blocks)
    assert len(figures) >= 10, "the check finds the figures the prose quotes"
    missing = [f"line {n}: {figure}" for n, figure, printed in figures if figure not in printed]
    assert not missing, "prose figures no transcript of their section prints:\n" + "\n".join(missing)


def test_prose_figures_are_checked_against_their_own_section() -> None:
    lines = ["## 1", "```console", "$ orgsim run a", "x 7.8 -1.01 days", "```", "7.8 and 1.01, p < 0.05;"]
    lines += ["`9.9`, [docs](ODD.md) section 8.1", "| 4.4 |", "## 2", "7.8 again"]
    figures = prose_figures(lines, parse(lines))
    assert [(n, f, f in printed) for n, f, printed in figures] == [
        (6, "7.8", True),
        (6, "1.01", True),
        (10, "7.8", False),
    ]


# --- the tutorial, run ------------------------------------------------------------------
@pytest.mark.slow
def test_tutorial_commands_print_what_the_tutorial_shows(tmp_path: Path) -> None:
    assert (BIN / "orgsim").exists(), f"no orgsim next to {sys.executable}: install the package (make setup)"
    lines, blocks = read_tutorial()
    cwd, env = workspace(tmp_path), environment()
    commands = [command for block in blocks for command in block.commands]
    status, failures = 0, []
    for index, command in enumerate(commands):
        done = subprocess.run(
            ["bash", "-c", f"(exit {status})\n{command.text}"],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
        actual = normalise(done.stdout, done.stderr)
        status = done.returncode
        following = commands[index + 1].text.strip() if index + 1 < len(commands) else ""
        if status != 0 and following != "echo $?":
            failures.append(f"line {command.line}: `{command.text}` exited {status}:\n" + "\n".join(actual))
            continue
        if matches(command.expected, actual):
            continue
        if UPDATE:
            command.expected = actual
            continue
        diff = difflib.unified_diff(command.expected, actual, "tutorial", "actual", lineterm="")
        failures.append(f"line {command.line}: `{command.text}`:\n" + "\n".join(diff))
    if UPDATE:
        TUTORIAL.write_text("\n".join(render(lines, blocks)), encoding="utf-8")
    hint = "\n\nIf the new output is right: UPDATE_TUTORIAL=1 .venv/bin/python -m pytest tests/test_tutorial.py"
    assert not failures, "\n\n".join(failures) + hint


# --- the README -------------------------------------------------------------------------
README = ROOT / "README.md"
# Written by the experiments, not by the code under test: checked once they exist.
GENERATED = ("results/",)


def fenced(text: str, language: str) -> list[str]:
    """The bodies of the ```LANGUAGE blocks of a Markdown text."""
    return re.findall(rf"^```{language}\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


def test_readme_starts_with_make_demo_and_make_test() -> None:
    text = README.read_text(encoding="utf-8")
    first = fenced(text, "bash")[0].splitlines()
    assert [line.split()[:2] for line in first[:2]] == [["make", "demo"], ["make", "test"]]


def test_readme_python_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    (code,) = fenced(README.read_text(encoding="utf-8"), "python")
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)  # the project's own example
    result = namespace["result"]
    assert result.summary["lead_time_p85_ticks"] > 0  # type: ignore[attr-defined]


def test_readme_commands_parse() -> None:
    parser = build_parser()
    text = "\n".join(fenced(README.read_text(encoding="utf-8"), "bash")).replace("\\\n", " ")
    commands = []
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        for prefix in (["python", "-m", "sim"], [".venv/bin/orgsim"], ["orgsim"]):
            if words[: len(prefix)] == prefix:
                commands.append(words[len(prefix) :])
    assert len(commands) >= 5
    for words in commands:
        args = parser.parse_args(words)
        for value in vars(args).values():
            if isinstance(value, Path) and value.suffix == ".toml":
                assert (ROOT / value).exists(), f"README names a missing scenario {value}"


@pytest.mark.parametrize("document", [README, TUTORIAL], ids=lambda p: p.name)
def test_local_links_exist(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [t for t in targets if "://" not in t]
    assert local
    missing = []
    for target in local:
        path = (document.parent / target).resolve()
        relative = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
        if not path.exists() and not relative.startswith(GENERATED):
            missing.append(target)
    assert missing == []

"""The headline experiment scripts run end to end in their quick mode (as in CI)."""

import ast
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted(p.stem for p in (ROOT / "experiments").glob("*.py") if p.stem != "common")
# Scripts that run several sweeps, each into its own folder of --out, and the files each adds.
FOLDERS = {
    "sensitivity": ("morris", "sobol"),
    "assumptions": ("weinberg", "flat17"),
    "internal_market": ("off", "switch_cost_0", "switch_cost_8"),
}
SENSITIVITY_FILES = ("indices.csv", "indices.provenance.json", "indices.png", "rules.md")
# Kaplan-Meier times and log-rank tests the mandate experiment adds beside the sweep's tables.
SURVIVAL_FILES = tuple(
    f"{name}.{ext}" for name in ("adoption_times", "logrank") for ext in ("csv", "md", "provenance.json")
)
EXTRA_FILES = {"sensitivity": SENSITIVITY_FILES, "assumptions": SENSITIVITY_FILES, "mandate_contagion": SURVIVAL_FILES}
# Tables a script writes beside its sweeps' folders: the internal market's paired variant contrasts.
TOP_FILES = {"internal_market": tuple(f"market_effect.{ext}" for ext in ("csv", "md", "provenance.json"))}


@pytest.mark.slow
@pytest.mark.parametrize("name", SCRIPTS)
def test_experiment_quick_mode(name: str, tmp_path: Path) -> None:
    out = tmp_path / name
    done = subprocess.run(
        [sys.executable, str(ROOT / "experiments" / f"{name}.py"), "--quick", "--quiet", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for folder in [out / sub for sub in FOLDERS.get(name, ("",))]:
        for table in ("runs", "summary", "comparison"):
            assert (folder / f"{table}.csv").is_file()
            assert (folder / f"{table}.md").is_file()
            assert (folder / f"{table}.provenance.json").is_file()
        runs = pd.read_csv(folder / "runs.csv")
        assert set(runs["structure"]) == {"central_it", "micro_provider"}
        assert runs["seed"].notna().all()
        assert list(folder.glob("*.png")), "no plots written"
        assert all((folder / extra).is_file() for extra in EXTRA_FILES.get(name, ()))
    assert all((out / top).is_file() for top in TOP_FILES.get(name, ()))


@pytest.fixture
def common(monkeypatch: pytest.MonkeyPatch):
    """``experiments/common.py`` imported as the scripts import it, its fork server starts recorded."""
    monkeypatch.syspath_prepend(str(ROOT / "experiments"))
    import common

    started: list[tuple[int | None, str | None]] = []
    monkeypatch.setattr(common, "prestart_workers", lambda workers, scheduler: started.append((workers, scheduler)))
    common.started = started
    return common


def test_prestart_reads_workers_and_scheduler_and_leaves_the_rest_to_the_script(common) -> None:
    for argv in (["--quick", "--out", "x"], ["--workers", "3", "--scheduler", "tcp://host:8786", "--quiet"]):
        common.prestart(argv)
    for argv in (["--work=2"], ["--sched", "tcp://h:1"], ["--w", "1"]):  # abbreviations, as the script's parser
        common.prestart(argv)
    assert common.started == [(None, None), (3, "tcp://host:8786"), (2, None), (None, "tcp://h:1"), (1, None)]
    for argv in (["--quick", "--help"], ["--he"], ["-h"], ["--workers", "many"], ["--workers", "0"], ["--=2"]):
        common.prestart(argv)  # no start, and no message or exit: the script's parser has its say
    assert len(common.started) == 5


def test_scripts_import_common_before_any_library() -> None:
    """``common`` starts the fork server when imported, so it comes first after the standard
    library in every script (ruff's isort section ``experiments-common``)."""
    for name in SCRIPTS:
        tree = ast.parse((ROOT / "experiments" / f"{name}.py").read_text())
        imported = [
            (node.module if isinstance(node, ast.ImportFrom) else node.names[0].name).split(".")[0]
            for node in tree.body
            if isinstance(node, ast.Import | ast.ImportFrom)
        ]
        outside_stdlib = [module for module in imported if module not in sys.stdlib_module_names]
        assert outside_stdlib[0] == "common", (name, outside_stdlib)


@pytest.mark.slow
def test_a_script_starts_its_workers_first_and_leaves_the_model_to_them(tmp_path: Path) -> None:
    """In the script's own process the fork server is listening before numpy loads, and the
    model (``sim.run``, mesa, numba) never loads there: the server and its workers load it."""
    script = ROOT / "experiments" / "value_for_money.py"
    argv = [str(script), "--quick", "--quiet", "--workers", "2", "--out", str(tmp_path / "out")]
    probe = (
        "import runpy, sys\n"
        "seen = []\n"
        "sys.addaudithook(lambda event, args: seen.append(args[0] if event == 'import' else '<bind>')"
        " if event in ('import', 'socket.bind') else None)\n"
        f"sys.argv = {argv!r}\n"
        f"sys.path.insert(0, {str(script.parent)!r})  # as running the script does\n"
        "try:\n"
        "    runpy.run_path(sys.argv[0], run_name='__main__')\n"
        "finally:\n"
        "    print('imports:', *seen)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = done.stdout.splitlines()[-1].split()[1:]
    assert seen.index("<bind>") < seen.index("numpy") < seen.index("matplotlib")
    assert not {"sim.run", "mesa", "numba"} & set(seen)

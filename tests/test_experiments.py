"""The headline experiment scripts run end to end in their quick mode (as in CI)."""

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
    """``experiments/common.py`` imported as the scripts import it, its fork server start recorded."""
    monkeypatch.syspath_prepend(str(ROOT / "experiments"))
    import common

    started: list[tuple[int | None, str | None]] = []
    monkeypatch.setattr(
        common, "prestart_workers", lambda workers, scheduler: started.append((workers, scheduler)) or True
    )
    common.started = started
    return common


def test_prestart_reads_workers_and_scheduler_before_the_scripts_parse(common) -> None:
    assert common.prestart(["--quick", "--out", "x"])
    assert common.prestart(["--workers", "3", "--scheduler", "tcp://host:8786", "--quiet"])
    assert common.started == [(None, None), (3, "tcp://host:8786")]
    assert not common.prestart(["--quick", "--help"])
    assert not common.prestart(["--workers", "many"])  # left to the script's parser
    assert len(common.started) == 2


@pytest.mark.slow
def test_a_script_starts_its_workers_before_loading_the_model(tmp_path: Path) -> None:
    """The fork server is started (``multiprocessing.forkserver`` imported) before this process
    imports the plots and the model, so both load at once."""
    done = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            str(ROOT / "experiments" / "value_for_money.py"),
            "--quick",
            "--quiet",
            "--workers",
            "2",
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")]
    assert imported.index("multiprocessing.forkserver") < imported.index("matplotlib") < imported.index("sim.run")

"""The headline experiment scripts run end to end in their quick mode (as in CI)."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted(p.stem for p in (ROOT / "experiments").glob("*.py") if p.stem != "common")


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
    for table in ("runs", "summary", "comparison"):
        assert (out / f"{table}.csv").is_file()
        assert (out / f"{table}.md").is_file()
        assert (out / f"{table}.provenance.json").is_file()
    runs = pd.read_csv(out / "runs.csv")
    assert set(runs["structure"]) == {"central_it", "micro_provider"}
    assert runs["seed"].notna().all()
    assert list(out.glob("*.png")), "no plots written"

"""The ``orgsim run`` command: one JSON object with every metric, reproducible by seed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import CENTRAL_IT, MICRO_PROVIDER, run_cli, run_module

# A short run: 60 ticks with a 10-tick warm-up.
SHORT = ("--ticks", "60", "--set", "simulation.warmup_ticks=10")

REQUIRED_KEYS = {
    "scenario",
    "structure",
    "seed",
    "items_arrived",
    "items_completed",
    "throughput_per_tick",
    "lead_time_mean_ticks",
    "lead_time_p50_ticks",
    "lead_time_p85_ticks",
    "lead_time_p95_ticks",
    "queue_wait_mean_ticks",
    "wip_mean",
    "utilisation",
    "rework_rate",
    "rework_effort_share",
    "change_failure_rate",
    "handoffs_per_item",
    "adoption_final_share",
    "adoption_t50_ticks",
    "adoption_t90_ticks",
}


def strict_json(text: str) -> Any:
    """Parse JSON, refusing NaN and Infinity (which other JSON readers reject)."""

    def refuse(constant: str) -> None:
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


def run_json(capsys: pytest.CaptureFixture[str], scenario: Path, *args: str) -> dict[str, Any]:
    code, out, err = run_cli(capsys, "run", scenario, *SHORT, "--json", *args)
    assert (code, err) == (0, "")
    assert len(out.strip().splitlines()) == 1
    return strict_json(out)


@pytest.mark.parametrize("scenario", [CENTRAL_IT, MICRO_PROVIDER], ids=lambda p: p.stem)
def test_json_has_every_key(capsys: pytest.CaptureFixture[str], scenario: Path) -> None:
    record = run_json(capsys, scenario, "--seed", "3")
    assert REQUIRED_KEYS <= record.keys()
    assert (record["scenario"], record["structure"], record["seed"]) == (scenario.stem, scenario.stem, 3)
    assert record["items_arrived"] > 0


def test_json_uses_null_for_levels_not_reached(capsys: pytest.CaptureFixture[str]) -> None:
    # Nobody can adopt: the share stays 0 and the crossing times are null.
    record = run_json(capsys, MICRO_PROVIDER, "--set", "spread.initial_adopters=0", "--set", "spread.external_prob=0")
    assert record["adoption_final_share"] == 0
    assert record["adoption_t50_ticks"] is None
    assert record["adoption_t90_ticks"] is None


def test_same_seed_gives_the_same_object(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_json(capsys, CENTRAL_IT, "--seed", "11") == run_json(capsys, CENTRAL_IT, "--seed", "11")


def test_different_seeds_differ(capsys: pytest.CaptureFixture[str]) -> None:
    first, second = run_json(capsys, CENTRAL_IT, "--seed", "1"), run_json(capsys, CENTRAL_IT, "--seed", "2")
    assert first["seed"] != second["seed"]
    assert {k: v for k, v in first.items() if k != "seed"} != {k: v for k, v in second.items() if k != "seed"}


def test_default_seed_is_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_json(capsys, CENTRAL_IT) == run_json(capsys, CENTRAL_IT, "--seed", "0")


def test_ticks_and_set_change_the_run(capsys: pytest.CaptureFixture[str]) -> None:
    busy = run_json(capsys, CENTRAL_IT, "--set", "demand.arrival_rate=12")
    calm = run_json(capsys, CENTRAL_IT, "--set", "demand.arrival_rate=2")
    assert busy["items_arrived"] > calm["items_arrived"]
    longer = run_json(capsys, CENTRAL_IT, "--ticks", "120")  # the last --ticks wins over SHORT's 60
    assert longer["items_arrived"] > run_json(capsys, CENTRAL_IT)["items_arrived"]


def test_readable_summary_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "run", MICRO_PROVIDER, *SHORT, "--set", "spread.initial_adopters=0")
    assert (code, err) == (0, "")
    lines = out.strip().splitlines()
    rows = dict(line.split(maxsplit=1) for line in lines)
    assert REQUIRED_KEYS <= rows.keys()
    assert rows["scenario"] == "micro_provider"
    assert rows["adoption_t50_ticks"].split() == ["not", "reached", "time", "to", "50%", "adoption"]
    value, unit, *name = rows["lead_time_p85_ticks"].split()  # the value in days, then the plain name
    assert (len(value.split(".")[1]), unit, " ".join(name)) == (1, "days", "85th percentile lead time")
    assert rows["rework_rate"].split()[0].endswith("%")
    assert not out.lstrip().startswith("{")


def test_run_out_writes_the_series_items_summary_and_a_figure(tmp_path: Path) -> None:
    done = run_module("run", MICRO_PROVIDER, *SHORT, "--seed", "4", "--out", tmp_path)
    assert done.returncode == 0, done.stderr
    for name in ("series", "items", "summary"):
        for ext in ("csv", "parquet", "provenance.json"):
            assert (tmp_path / f"{name}.{ext}").exists(), f"{name}.{ext}"
    series = pd.read_parquet(tmp_path / "series.parquet")
    assert len(series) == 60 and {"tick", "wip", "completions", "adoption_share"} <= set(series.columns)
    items = pd.read_csv(tmp_path / "items.csv")
    summary = pd.read_csv(tmp_path / "summary.csv").iloc[0]
    assert summary["items_arrived"] == len(items[items["origin"] == 0])
    provenance = json.loads((tmp_path / "items.provenance.json").read_text())
    assert (provenance["seed"], provenance["structure"], provenance["table"]) == (4, "micro_provider", "items")
    assert (tmp_path / "run.png").read_bytes()[:4] == b"\x89PNG"


def test_metrics_may_come_before_the_scenarios(tmp_path: Path) -> None:
    done = run_module(
        "compare", "--metrics", "lead_time_mean_ticks", "rework_rate", CENTRAL_IT, MICRO_PROVIDER,
        *SHORT, "--reps", "2", "--workers", "1", "--quiet",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "| Mean lead time (days)" in done.stdout and "| Rework rate (%)" in done.stdout
    assert "| Throughput" not in done.stdout
    assert "Verdict:" in done.stdout


def test_python_dash_m_sim_runs_the_cli() -> None:
    done = run_module("run", CENTRAL_IT, *SHORT, "--json", "--seed", "5")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    record = strict_json(done.stdout)
    assert REQUIRED_KEYS <= record.keys()
    assert record["seed"] == 5


def test_the_command_exits_with_its_status_having_frozen_what_it_leaves(monkeypatch: pytest.MonkeyPatch) -> None:
    # Frozen objects are skipped by the interpreter's last garbage collections (about 0.3 s
    # at the end of a command: benchmarks/demo.py); the other tests here check nothing is lost.
    import gc

    import sim.cli

    calls: list[str] = []
    monkeypatch.setattr(sim.cli, "main", lambda: calls.append("main") or 3)
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    with pytest.raises(SystemExit) as exc:
        sim.cli.console()
    assert exc.value.code == 3
    assert calls == ["main", "freeze"]


def test_the_command_keeps_the_numeric_libraries_to_one_thread_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc
    import os
    import sys

    import sim.cli
    from sim.experiment.single_thread import THREAD_VARIABLES

    for name in THREAD_VARIABLES:  # recorded, so that what the command sets is undone after
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    monkeypatch.delitem(sys.modules, "sim.experiment.single_thread")  # imported afresh, as in a new process
    monkeypatch.setattr(gc, "freeze", lambda: None)
    seen: dict[str, str | None] = {}
    monkeypatch.setattr(sim.cli, "main", lambda: seen.update({v: os.getenv(v) for v in THREAD_VARIABLES}) or 0)
    with pytest.raises(SystemExit):
        sim.cli.console()
    assert seen == {v: "4" if v == "OMP_NUM_THREADS" else "1" for v in THREAD_VARIABLES}


def test_cli_without_a_command_says_so_in_one_line_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        run_cli(capsys)
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "orgsim: the following arguments are required: COMMAND; see `orgsim --help`\n"


@pytest.mark.parametrize(
    ("options", "blamed"),
    [
        (["--ticks", "10"], "with --ticks:"),
        (["--ticks", "10", "--set", "demand.arrival_rate=3"], "with --set and --ticks:"),
        (["--set", "simulation.ticks=10"], "with --set:"),
    ],
)
def test_an_error_names_the_options_it_came_from(capsys: pytest.CaptureFixture[str], options, blamed) -> None:
    code, out, err = run_cli(capsys, "run", CENTRAL_IT, *options)
    assert (code, out) == (2, "")
    assert blamed in err and "warmup_ticks must be smaller" in err

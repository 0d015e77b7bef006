"""Verdict sentences from comparison rows, and the report `orgsim compare --out` writes,
opened in headless Chromium: figures present, the verdict matching the comparison table."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import CENTRAL_IT, MICRO_PROVIDER, ROOT

from sim.experiment.report import sentence, stability_sentences
from sim.experiment.tables import NOT_SIGNIFICANT, UNSTABLE

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)


def row(metric: str, diff: float, low: float, high: float, p: float, verdict: str, **extra: object) -> dict:
    return {
        "metric": metric,
        "a": "central_it",
        "b": "micro_provider",
        "estimator": "mean",
        "diff": diff,
        "diff_ci_low": low,
        "diff_ci_high": high,
        "method": "paired t",
        "p": p,
        "p_adj": p,
        "verdict": verdict,
        "unstable_a": 0.0,
        "unstable_b": 0.0,
    } | extra


def test_a_win_is_said_with_its_size_interval_and_test() -> None:
    text = sentence(row("lead_time_mean_ticks", -3.61, -3.83, -3.42, 1.4e-16, "micro_provider better"))
    assert text == "Micro-providers: mean lead time 3.6 days shorter (95% CI 3.4 to 3.8; paired t, p < 0.001)."


def test_a_win_of_the_baseline_turns_the_difference_round() -> None:
    text = sentence(row("throughput_per_tick", -0.254, -0.301, -0.2, 0.0123, "central_it better"))
    assert text == "Central IT: throughput 0.25 items per day higher (95% CI 0.20 to 0.30; paired t, p = 0.012)."


def test_shares_differ_in_percentage_points() -> None:
    text = sentence(row("rework_rate", -0.1668, -0.1911, -0.1424, 0.001149, "micro_provider better"))
    assert text.startswith("Micro-providers: rework rate 16.7 percentage points lower (95% CI 14.2 to 19.1;")


def test_no_significant_difference_is_said_so() -> None:
    text = sentence(row("rework_rate", 0.008, -0.006, 0.023, 0.1736, NOT_SIGNIFICANT))
    assert text.startswith("Rework rate: no significant difference (")
    assert "p = 0.174" in text


def test_an_unstable_side_is_named_with_its_backlog_growth() -> None:
    frame = pd.DataFrame(
        [
            row("backlog_growth_per_tick", -1.2, -1.4, -1.0, 1e-5, "micro_provider better", mean_a=1.23, mean_b=0.0),
            row("lead_time_mean_ticks", -30.0, -35.0, -25.0, 1e-5, UNSTABLE),
        ]
    ).assign(unstable_a=0.9)
    (line,) = stability_sentences(frame)
    assert line.startswith("Central IT is unstable: its backlog grows by 1.23 items per day (90% of runs)")
    assert "not compared" in sentence(frame.iloc[1].to_dict())


def test_a_median_not_reached_is_said_so() -> None:
    censored = row(
        "adoption_t50_ticks", -math.inf, math.nan, math.nan, 0.01, "micro_provider better", estimator="km_median"
    ) | {"method": "logrank", "mean_a": math.nan, "mean_b": 47.0, "reached_share_a": 0.3, "reached_share_b": 1.0}
    text = sentence(censored)
    assert text.startswith("Micro-providers: time to 50% adoption shorter (Kaplan-Meier medians: Central IT not")
    assert "30% of runs got there; Micro-providers 47.0 days; log-rank, p = 0.010" in text


def chromium() -> str:
    if CHROMIUM is None:
        pytest.skip("no chromium on PATH")
    return CHROMIUM


@pytest.mark.slow
def test_compare_report_opens_in_chromium_with_figures_and_the_tables_verdict(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from sim.metrics import term
    from sim.scenario.vocabulary import side_name

    out = tmp_path / "compare"
    command = [sys.executable, "-m", "sim", "compare", CENTRAL_IT, MICRO_PROVIDER, "--reps", "3", "--ticks", "200"]
    command += ["--set", "simulation.warmup_ticks=50", "--workers", "1", "--quiet", "--out", out]
    done = subprocess.run(list(map(str, command)), cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    for name in ("runs", "summary", "comparison"):
        for ext in ("csv", "parquet", "md", "provenance.json"):
            assert (out / f"{name}.{ext}").exists()
    assert (out / "report.md").read_text().count("![") == 1
    comparison = pd.read_csv(out / "comparison.csv").set_index("metric")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium(), args=["--headless=new", "--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto((out / "report.html").as_uri())
        images = page.locator("figure img")
        assert images.count() == 1
        assert images.first.evaluate("img => img.complete && img.naturalWidth > 400")
        assert images.first.get_attribute("src").startswith("data:image/png;base64,")
        verdicts = page.locator("ul.verdict li").all_inner_texts()
        header = page.locator("table th").all_inner_texts()
        cells = [r.locator("td").all_inner_texts() for r in page.locator("table tbody tr").all()]
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert (tmp_path / "report.png").stat().st_size > 50_000
    by_metric = {cell[header.index("metric")]: cell[header.index("verdict")] for cell in cells}
    for metric, verdict in comparison["verdict"].items():
        t = term(str(metric))
        if t.label() not in by_metric:
            continue  # not a headline metric: in the tables on disk, not on the page
        (said,) = [line for line in verdicts if t.name in line.lower()]
        if verdict == NOT_SIGNIFICANT:
            assert "no significant difference" in said and by_metric[t.label()] == NOT_SIGNIFICANT
        elif verdict == UNSTABLE:
            assert "not compared" in said
        else:
            side = side_name(verdict.rsplit(" ", 1)[0])
            assert said.startswith(f"{side}: ") and by_metric[t.label()].startswith(side)

"""The interactive view (sim/view.py): its adapter and live figures, the page and its
controls rendered without a browser (Solara's test rendering), and the served page driven
through its own controls in headless Chromium (its screenshot goes to the test's temporary
folder; README's results/view/orgsim_view.png is made by scripts/screenshot_view.py)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import ipyvuetify as v
import ipywidgets
import pytest
import solara
from conftest import CENTRAL_IT, MICRO_PROVIDER, ROOT, run_cli

from sim.run import run_scenario
from sim.scenario.errors import ScenarioError
from sim.scenario.files import load_scenario
from sim.view import SLIDERS, OrgView, WatchedModel, apply_settings, live_series, model_params

SHORT = ["simulation.ticks=20", "simulation.warmup_ticks=5"]
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)


# --- the adapter --------------------------------------------------------------------------
def test_the_structure_switch_runs_the_same_organisation() -> None:
    central = load_scenario(CENTRAL_IT)
    switched = apply_settings(central, {"structure": "micro_provider"}).model_dump()
    shipped = load_scenario(MICRO_PROVIDER).model_dump()
    different = {key for key in shipped if switched[key] != shipped[key]}
    assert different == {"name", "description"}


def test_settings_are_validated_like_a_scenario_file() -> None:
    base = load_scenario(CENTRAL_IT)
    assert apply_settings(base, {"handoff.delay_ticks": 2.0, "organisation.teams": 20}).organisation.teams == 20
    with pytest.raises(ScenarioError, match=r"handoff\.loss_prob.*less than or equal to 1"):
        apply_settings(base, {"handoff.loss_prob": 1.5})


def test_a_rejected_combination_runs_the_base_scenario_and_says_why() -> None:
    base = load_scenario(CENTRAL_IT, SHORT)
    model = WatchedModel(base, seed=1, **{"organisation.teams": 2})  # central_it has 4 stages
    assert model.config == base
    assert "organisation.teams >= 4" in model.rejected
    assert WatchedModel(base, seed=1, **{"organisation.teams": 8}).rejected == ""


def test_the_watched_model_stops_at_the_horizon() -> None:
    model = WatchedModel(load_scenario(CENTRAL_IT, SHORT), seed=2)
    while model.running:
        model.step()
    assert (model.steps, model.running) == (20, False)
    arrived = len(model.items)
    model.step()  # what a render interval running past the end does: nothing
    assert len(model.items) == arrived
    assert len(live_series(model)["adoption"]) == 20


def test_sliders_start_at_the_scenario_values_and_cover_them() -> None:
    base = load_scenario(CENTRAL_IT, ["demand.arrival_rate=25"])
    params = model_params(base, seed=4)
    assert params["base"] is base
    assert params["structure"]["values"] == ["central_it", "micro_provider"]
    arrivals = params["demand.arrival_rate"]
    assert (arrivals["value"], arrivals["min"], arrivals["max"]) == (25.0, 1.0, 25.0)
    assert params["organisation.teams"]["type"] == "SliderInt"
    assert params["seed"]["value"] == 4
    assert set(SLIDERS) < set(params)


@pytest.mark.parametrize("scenario", [CENTRAL_IT, MICRO_PROVIDER], ids=lambda p: p.stem)
def test_live_figures_over_the_measured_window_are_the_run_summary(scenario: Path) -> None:
    config = load_scenario(scenario, ["simulation.ticks=150", "simulation.warmup_ticks=30"])
    model = WatchedModel(config, seed=5)
    while model.running:
        model.step()
    last = {name: values[-1] for name, values in live_series(model, window=120).items()}
    summary = run_scenario(config, seed=5).summary
    assert last["throughput"] == pytest.approx(summary["throughput_per_tick"])
    assert last["lead_time"] == pytest.approx(summary["lead_time_mean_ticks"])
    assert last["rework_rate"] == pytest.approx(summary["rework_rate"])
    assert last["rework_effort_share"] == pytest.approx(summary["rework_effort_share"])
    assert last["adoption"] == pytest.approx(summary["adoption_final_share"])


# --- the page without a browser ---------------------------------------------------------
def status(rc) -> str:
    return rc.find(v.Html, meta_ref="status").widget.children[0]


def click(rc, label: str) -> None:
    rc.find(v.Btn, children=[label]).widget.click()


def test_page_renders_with_its_controls_and_they_drive_the_model() -> None:
    base = load_scenario(CENTRAL_IT, SHORT)
    _, rc = solara.render(solara.AppLayout(children=[OrgView(base)]), handle_error=False)
    for label in ("Reset", "▶", "Step"):
        rc.find(v.Btn, children=[label]).assert_single()
    structure = rc.find(v.Select, label="Structure").widget
    assert (structure.v_model, structure.items) == ("central_it", ["central_it", "micro_provider"])
    sliders = {w.label: w.v_model for w in rc.find(v.Slider).widgets}
    assert sliders[SLIDERS["demand.arrival_rate"][0]] == base.demand.arrival_rate
    assert sliders["Teams"] == base.organisation.teams
    figures = rc.find(ipywidgets.Image).widgets
    assert len(figures) == 4 and all(bytes(f.value).startswith(b"\x89PNG") for f in figures)
    assert status(rc).startswith("Day 0 of 20 · central_it")

    click(rc, "Step")  # render interval 5: five days a click
    rc.find(v.Html, meta_ref="status").assert_wait(lambda w: w.children[0].startswith("Day 5 of 20"))

    structure.v_model = "micro_provider"
    click(rc, "Reset")
    rc.find(v.Html, meta_ref="status").assert_wait(lambda w: w.children[0].startswith("Day 0 of 20 · micro_provider"))
    rc.find(v.Alert).assert_empty()

    for _ in range(4):
        click(rc, "Step")
    assert status(rc).startswith("Day 20 of 20")
    assert rc.find(v.Btn, children=["Step"]).widget.disabled


def test_page_shows_rejected_settings_and_keeps_running() -> None:
    _, rc = solara.render(solara.AppLayout(children=[OrgView(load_scenario(CENTRAL_IT, SHORT))]), handle_error=False)
    rc.find(v.Slider, label="Teams").widget.v_model = 2
    click(rc, "Reset")
    alert = rc.find(v.Alert).widget
    assert "organisation.teams >= 4" in str(alert.children)
    click(rc, "Step")
    assert status(rc).startswith("Day 5 of 20 · central_it")


# --- the command ------------------------------------------------------------------------
def test_view_without_the_viz_extra_says_how_to_install_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(sys.modules, "sim.view")
    monkeypatch.setitem(sys.modules, "solara", None)
    code, _, err = run_cli(capsys, "view", CENTRAL_IT)
    assert code == 2
    assert err == "orgsim: view needs the viz extra (solara is missing): pip install 'orgsim[viz]' or make setup\n"


def test_view_of_a_bad_scenario_exits_2_before_serving(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "view", CENTRAL_IT, "--set", "handoff.loss_prob=2")
    assert code == 2
    assert "handoff.loss_prob" in err


def test_view_on_an_address_it_cannot_serve_exits_2_before_serving(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = run_cli(capsys, "view", CENTRAL_IT, "--port", port)
    assert (code, out) == (2, "")
    assert err.startswith(f"orgsim: --port {port}: cannot serve on 127.0.0.1:{port} (") and "choose another" in err
    assert run_cli(capsys, "view", CENTRAL_IT, "--port", "70000")[2].startswith("orgsim: --port 70000: give a port")


# --- the served page in headless Chromium -------------------------------------------------
@contextlib.contextmanager
def reserved_port() -> Iterator[int]:
    """A port the OS hands out (bind to port 0), held until the block ends, so no other process
    can take it between this choice and the server's bind. The holding socket never listens
    and sets SO_REUSEADDR, as the server does (orgsim's address check and asyncio's server), so
    the server can bind and listen on it while it is held. (orgsim view --port 0 is refused.)"""
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", 0))
        yield holder.getsockname()[1]


def wait_for_server(url: str, server: subprocess.Popen, log: Path, timeout: float = 300) -> None:
    """Poll ``url`` until the server answers; fail if it exits first or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"orgsim view exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=10):
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"orgsim view did not answer at {url} within {timeout} s:\n{log.read_text()}")


def chromium() -> str:
    """The Chromium binary; without one the test skips, except under CI (env CI set), where it fails."""
    if CHROMIUM is None:
        message = "no chromium binary (Debian: apt-get install chromium)"
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail(f"{message}; CI must run the browser test (.ci/run installs chromium)")
        pytest.skip(message)
    return CHROMIUM


@pytest.mark.slow
def test_served_page_steps_switches_and_plays_in_chromium(tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    executable = chromium()
    log = tmp_path / "server.log"
    screenshot = tmp_path / "orgsim_view.png"
    with reserved_port() as port, log.open("w") as out:
        url = f"http://127.0.0.1:{port}/"
        command = [
            sys.executable,
            "-m",
            "sim",
            "view",
            str(CENTRAL_IT),
            "--ticks",
            "300",
            "--set",
            "simulation.warmup_ticks=100",
            "--port",
            str(port),
        ]
        server = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for_server(url, server, log)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=executable,
                    args=["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
                )
                page = browser.new_page(viewport={"width": 1600, "height": 1000})
                page.set_default_timeout(180_000)  # a loaded machine renders a frame in seconds, not minutes
                expect.set_options(timeout=180_000)
                page.goto(url)

                def day_text(pattern: str):
                    return page.get_by_text(re.compile(pattern))

                day_text(r"^Day 0 of 300 · central_it").wait_for()
                network = page.locator(".vue-grid-item img").first
                before = network.get_attribute("src")
                page.get_by_role("button", name="Step").click()
                day_text(r"^Day 5 of 300 · central_it").wait_for()

                page.locator(".v-select").filter(has_text="Structure").click()
                page.get_by_role("option", name="micro_provider").click()
                page.get_by_role("button", name="Reset").click()
                day_text(r"^Day 0 of 300 · micro_provider").wait_for()

                render_interval = page.locator(".v-input").filter(has_text="Render Interval")
                render_interval.locator("[role=slider]").focus()
                page.keyboard.press("PageUp")  # 5 -> 25 days a frame
                expect(render_interval.locator("input").first).to_have_value("25")
                page.get_by_role("button", name="▶").click()
                page.wait_for_function(
                    "() => { const m = document.body.innerText.match(/Day (\\d+) of 300 · micro_provider/);"
                    " return m && Number(m[1]) >= 150; }",
                    timeout=600_000,
                )
                page.get_by_role("button", name="❚❚").click()
                page.get_by_role("button", name="▶").wait_for()
                # The last frame's figures: the network redrawn and every figure loaded.
                page.wait_for_function(
                    "(before) => { const images = [...document.querySelectorAll('.vue-grid-item img')];"
                    " return images.length >= 4 && images[0].getAttribute('src') !== before"
                    " && images.every((image) => image.complete && image.naturalWidth > 0); }",
                    arg=before,
                )
                page.screenshot(path=str(screenshot), full_page=True)
                browser.close()
        finally:
            server.terminate()
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    assert screenshot.stat().st_size > 50_000

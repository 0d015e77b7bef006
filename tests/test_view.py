"""The interactive view (sim/view.py): its adapter, the side-by-side pair and the live
figures, the page and its controls rendered without a browser (Solara's test rendering), the
command's exit statuses (a real SIGINT to a served page), and the served page driven through
its own controls in headless Chromium (its screenshot goes to the test's temporary folder;
README's results/view/orgsim_view.png is made by scripts/screenshot_view.py)."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import socket
import sys
import urllib.request
from pathlib import Path

import ipyvuetify as v
import ipywidgets
import numpy as np
import pytest
import solara
from conftest import CENTRAL_IT, MICRO_PROVIDER, ROOT, run_cli
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from solara.components.title import TitleWidget

from sim.model.work import FROM_DEMAND
from sim.run import run_scenario
from sim.scenario.errors import ScenarioError
from sim.scenario.files import load_scenario
from sim.view import (
    SLIDERS,
    OrgView,
    Sides,
    WatchedModel,
    apply_settings,
    flow_figure,
    live_series,
    model_params,
    network_figure,
    queues_figure,
    rework_adoption_figure,
)

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
    assert params["against"] is None
    assert params["side_by_side"] == {
        "type": "Checkbox",
        "value": False,
        "label": "Side by side with the other structure",
    }
    against = load_scenario(MICRO_PROVIDER)
    side_by_side = model_params(base, seed=4, against=against)["side_by_side"]
    assert (side_by_side["value"], side_by_side["label"]) == (True, "Side by side with B: micro_provider")


# --- side by side -------------------------------------------------------------------------
def run_alone(config, seed: int, steps: int) -> WatchedModel:
    model = WatchedModel(config, seed)
    for _ in range(steps):
        model.step()
    return model


def assert_same_series(model: WatchedModel, alone: WatchedModel) -> None:
    ours, theirs = live_series(model), live_series(alone)
    for name in ours:
        np.testing.assert_array_equal(ours[name], theirs[name], err_msg=name)


def test_side_by_side_runs_both_files_on_the_same_seed_and_demand_stepping_together() -> None:
    a, b = load_scenario(CENTRAL_IT, SHORT), load_scenario(MICRO_PROVIDER, SHORT)
    page = Sides(a, against=b, side_by_side=True, seed=3)
    for _ in range(12):
        page.step()
        assert [side.steps for side in page.sides] == [page.steps, page.steps]
    assert [side.config for side in page.sides] == [a, b]
    for side, config in zip(page.sides, (a, b), strict=True):
        assert_same_series(side, run_alone(config, seed=3, steps=12))  # each as if run alone on seed 3
    tables = [side.items.table() for side in page.sides]
    arrived = [
        t[t["origin"] == FROM_DEMAND][["arrival", "kind", "service", "effort"]].reset_index(drop=True) for t in tables
    ]
    assert len(arrived[0]) > 50 and arrived[0].equals(arrived[1])  # the same demand
    assert not np.array_equal(live_series(page.sides[0])["throughput"], live_series(page.sides[1])["throughput"])
    while page.running:
        page.step()
    assert [side.steps for side in page.sides] == [20, 20]


def test_side_by_side_without_a_file_is_the_same_organisation_under_the_other_structure() -> None:
    base = load_scenario(CENTRAL_IT, SHORT)
    a, b = Sides(base, side_by_side=True, seed=1, structure="micro_provider").sides
    assert (a.config.structure, b.config.structure) == ("micro_provider", "central_it")
    assert b.config == base
    assert len(Sides(base, seed=1).sides) == 1  # the switch off: side A alone


def test_a_moved_slider_applies_to_both_sides_and_an_unmoved_one_to_a_only() -> None:
    a = load_scenario(CENTRAL_IT, SHORT)
    b = load_scenario(MICRO_PROVIDER, [*SHORT, "handoff.delay_ticks=2"])
    settings = {"demand.arrival_rate": 9.0, "handoff.delay_ticks": a.handoff.delay_ticks, "structure": "micro_provider"}
    first, second = Sides(a, against=b, side_by_side=True, seed=1, **settings).sides
    assert (first.config.demand.arrival_rate, second.config.demand.arrival_rate) == (9.0, 9.0)
    assert (first.config.handoff.delay_ticks, second.config.handoff.delay_ticks) == (a.handoff.delay_ticks, 2)
    assert (first.config.structure, second.config.structure) == ("micro_provider", "micro_provider")


def test_side_by_side_figures_draw_both_series_on_shared_axes() -> None:
    a, b = load_scenario(CENTRAL_IT, SHORT), load_scenario(MICRO_PROVIDER, SHORT)
    page = Sides(a, against=b, side_by_side=True, seed=2)
    for _ in range(15):
        page.step()
    series = [live_series(side) for side in page.sides]
    for figure, panels in (
        (flow_figure, ("throughput", "lead_time")),
        (rework_adoption_figure, ("rework_rate", "adoption")),
    ):
        fig = figure(*page.sides)
        assert len(fig.axes) == 2 and fig.axes[0].get_shared_x_axes().joined(*fig.axes)
        top, bottom = fig.axes
        assert top.get_legend_handles_labels()[1] == ["A: central_it", "B: micro_provider"]
        for ax, key in zip((top, bottom), panels, strict=True):
            drawn = [line.get_ydata() for line in ax.get_lines() if len(line.get_xdata()) == 15]
            for s in series:  # each side's series is on the panel
                assert any(np.array_equal(y, s[key], equal_nan=True) for y in drawn), key


def margins_in(fig: Figure) -> list[float]:
    """Space left between the drawn figure's contents and each edge, in inches (negative: cut off)."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    drawn, edge = fig.get_tightbbox(canvas.get_renderer()), fig.bbox_inches
    return [drawn.x0 - edge.x0, drawn.y0 - edge.y0, edge.x1 - drawn.x1, edge.y1 - drawn.y1]


def test_no_label_is_cut_off() -> None:
    # Three days in on seed 0, the lead-time tick labels are wide enough that a fixed layout cut
    # the axis label off.
    config = load_scenario(CENTRAL_IT, ["simulation.ticks=60", "simulation.warmup_ticks=10"])
    page = Sides(config, side_by_side=True, seed=0)
    for _ in range(3):
        page.step()
    a, b = page.sides
    alone = [network_figure(a), queues_figure(a), flow_figure(a), rework_adoption_figure(a)]
    for fig in [*alone, flow_figure(a, b), rework_adoption_figure(a, b)]:
        assert min(margins_in(fig)) >= 0, fig.axes[0].get_title()


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
def status(rc, ref: str = "status") -> str:
    return rc.find(v.Html, meta_ref=ref).widget.children[0]


def slider(rc, label: str):
    """The slider whose label starts with ``label`` (its label ends with its value)."""
    (found,) = [w for w in rc.find(v.Slider).widgets if w.label.startswith(f"{label}: ")]
    return found


def click(rc, label: str) -> None:
    rc.find(v.Btn, children=[label]).widget.click()


def test_page_renders_with_its_controls_and_they_drive_the_model() -> None:
    base = load_scenario(CENTRAL_IT, SHORT)
    _, rc = solara.render(solara.AppLayout(children=[OrgView(base)]), handle_error=False)
    for label in ("Reset", "▶", "Step"):
        rc.find(v.Btn, children=[label]).assert_single()
    structure = rc.find(v.Select, label="Structure").widget
    assert (structure.v_model, structure.items) == ("central_it", ["central_it", "micro_provider"])
    rc.find(TitleWidget, title="OrgSim").assert_single()
    labels = [w.label for w in rc.find(v.Slider).widgets]  # each slider shows its value
    assert labels[:2] == ["Render interval: 5 days", "Play interval: 50 ms"]
    assert f"{SLIDERS['demand.arrival_rate'][0]}: {base.demand.arrival_rate:g}" in labels
    assert "Teams: 12" in labels and "Seed: 0" in labels
    slider(rc, "Handoff info loss").v_model = 0.25
    assert "Handoff info loss: 0.25" in [w.label for w in rc.find(v.Slider).widgets]
    slider(rc, "Handoff info loss").v_model = base.handoff.loss_prob
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
    slider(rc, "Teams").v_model = 2
    click(rc, "Reset")
    alert = rc.find(v.Alert).widget
    assert "organisation.teams >= 4" in str(alert.children)
    click(rc, "Step")
    assert status(rc).startswith("Day 5 of 20 · central_it")


def test_page_side_by_side_steps_both_and_switches_off() -> None:
    base, against = load_scenario(CENTRAL_IT, SHORT), load_scenario(MICRO_PROVIDER, SHORT)
    _, rc = solara.render(solara.AppLayout(children=[OrgView(base, against=against)]), handle_error=False)
    switch = rc.find(v.Switch).widget
    assert (switch.label, switch.v_model) == ("Side by side with B: micro_provider", True)
    assert status(rc).startswith("A: central_it · Day 0 of 20 · central_it")
    assert status(rc, "status B").startswith("B: micro_provider · Day 0 of 20 · micro_provider")
    click(rc, "Step")
    rc.find(v.Html, meta_ref="status B").assert_wait(lambda w: w.children[0].startswith("B: micro_provider · Day 5"))
    assert status(rc).startswith("A: central_it · Day 5 of 20")
    assert len(rc.find(ipywidgets.Image).widgets) == 4  # two networks, two shared-axes charts

    switch.v_model = False
    click(rc, "Reset")
    rc.find(v.Html, meta_ref="status").assert_wait(lambda w: w.children[0].startswith("Day 0 of 20 · central_it"))
    rc.find(v.Html, meta_ref="status B").assert_empty()


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


def test_view_against_a_bad_file_exits_2_in_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    code, out, err = run_cli(capsys, "view", CENTRAL_IT, "--against", missing)
    assert (code, out) == (2, "")
    assert err == f"orgsim: --against {missing}: file not found; give the path of a scenario .toml file\n"
    typo = tmp_path / "typo.toml"
    typo.write_text(f'extends = "{MICRO_PROVIDER}"\n[handoff]\nlos_prob = 0.1\n')
    code, out, err = run_cli(capsys, "view", CENTRAL_IT, "--against", typo)
    assert (code, out) == (2, "")
    assert err.startswith(f"orgsim: --against {typo}") and err.count("\n") == 1
    assert "handoff.los_prob" in err and "loss_prob" in err.partition("los_prob")[2]


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
def load_screenshot_script():
    """scripts/screenshot_view.py, which serves the page, waits for it and stops it (a script,
    not a package: loaded from its path)."""
    spec = importlib.util.spec_from_file_location("screenshot_view", ROOT / "scripts" / "screenshot_view.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


served = load_screenshot_script()


@pytest.mark.slow
def test_ctrl_c_ends_the_served_view_with_status_130_in_one_line(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with served.reserved_port() as port:
        url = f"http://127.0.0.1:{port}/"
        server = served.serve_view(CENTRAL_IT, port, log, "--against", str(MICRO_PROVIDER))
        try:
            served.wait_for_server(url, server, log)
            for _ in range(3):  # three page loads: no warning for each
                with urllib.request.urlopen(url, timeout=60) as response:
                    page = response.read().decode()
            server.send_signal(signal.SIGINT)  # what Ctrl-C in a terminal sends
            code = server.wait(timeout=60)
        finally:
            served.stop(server)
    output = log.read_text()
    assert "<title>OrgSim</title>" in page
    assert code == 130, output
    assert output.endswith("\norgsim: interrupted\n")
    assert "Traceback" not in output and "Warning" not in output, output


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
    with served.reserved_port() as port:
        url = f"http://127.0.0.1:{port}/"
        server = served.serve_view(CENTRAL_IT, port, log)
        try:
            served.wait_for_server(url, server, log)
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
                assert page.title() == "OrgSim"
                network = page.locator(".vue-grid-item img").first
                before = network.get_attribute("src")
                page.get_by_role("button", name="Step").click()
                day_text(r"^Day 5 of 300 · central_it").wait_for()

                page.locator(".v-select").filter(has_text="Structure").click()
                page.get_by_role("option", name="micro_provider").click()
                page.get_by_role("button", name="Reset").click()
                day_text(r"^Day 0 of 300 · micro_provider").wait_for()

                render_interval = page.locator(".v-input").filter(has_text="Render interval")
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

                page.get_by_text("Side by side with the other structure").click()
                page.get_by_role("button", name="Reset").click()
                day_text(r"^A: central_it \(micro_provider\) · Day 0 of 300").wait_for()
                day_text(r"^B: central_it · Day 0 of 300 · central_it").wait_for()
                page.get_by_role("button", name="Step").click()
                day_text(r"^B: central_it · Day 25 of 300").wait_for()
                day_text(r"^A: central_it \(micro_provider\) · Day 25 of 300").wait_for()
                browser.close()
        finally:
            served.stop(server)
    assert screenshot.stat().st_size > 50_000

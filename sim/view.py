"""The interactive view (``orgsim view``): a Solara page, on Mesa's visualisation controls,
over unchanged OrgModels.

A thin layer: :class:`WatchedModel` builds the scenario from a base scenario plus the
page's settings and stops at the horizon; :class:`Sides` holds what the page runs, side A
and, side by side, side B on the same seed, stepped together; the components only read the
models' state (teams, pools, work ties, the recorder's series and the item table). Needs the
``viz`` extra (Solara)."""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
import solara
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from mesa import Model
from mesa.visualization.solara_viz import ComponentsView, ModelController

from sim.model.org_model import OrgModel
from sim.model.recorder import CATEGORIES
from sim.model.work import FROM_DEMAND
from sim.scenario.errors import ScenarioError
from sim.scenario.files import validate_scenario
from sim.scenario.schema import Scenario

SCENARIO_ENV = "ORGSIM_VIEW_SCENARIO"  # the validated scenario, as JSON, that `orgsim view` serves
AGAINST_ENV = "ORGSIM_VIEW_AGAINST"  # side B's scenario, as JSON, if `orgsim view --against` gave one
SEED_ENV = "ORGSIM_VIEW_SEED"
TITLE = "OrgSim"
STRUCTURES = ["central_it", "micro_provider"]
WINDOW_TICKS = 20  # live lead time, throughput and rework are over the last this many days
MAX_BARS = 24  # queues shown; with more pools, the longest
FIGSIZE, DPI = (6.4, 4.0), 90
SIDES, SIDE_COLOURS = "AB", ("tab:blue", "tab:orange")  # side by side, each side's letter and colour

# The sliders: dotted scenario key -> (short label, min, max, step); a whole-number step makes
# a whole-number slider, and a slider's range widens to take in the scenario's own value.
# docs/scenarios.md explains each key.
SLIDERS: dict[str, tuple[str, float, float, float]] = {
    "demand.arrival_rate": ("Arrivals per day", 1.0, 20.0, 0.5),
    "handoff.delay_ticks": ("Handoff delay (days)", 0.0, 5.0, 0.25),
    "handoff.loss_prob": ("Handoff info loss", 0.0, 0.5, 0.01),
    "demand.dependency_touch_prob": ("Dependency touch", 0.0, 1.0, 0.05),
    "quality.base_defect_prob": ("Defect probability", 0.0, 0.5, 0.01),
    "spread.imitation_prob": ("Imitation q", 0.0, 0.5, 0.01),
    "organisation.teams": ("Teams", 1, 48, 1),
}


def _holder(data: dict[str, Any], key: str) -> tuple[dict[str, Any], str]:
    """The section of ``data`` that holds the dotted ``key``, and the key's last part."""
    *sections, leaf = key.split(".")
    for section in sections:
        data = data[section]
    return data, leaf


def setting(config: Scenario, key: str) -> Any:
    """The value of the dotted ``key`` in ``config``."""
    section, leaf = _holder(config.model_dump(), key)
    return section[leaf]


def apply_settings(base: Scenario, settings: dict[str, Any]) -> Scenario:
    """``base`` with each dotted-key setting applied, validated like a scenario file."""
    data = base.model_dump(mode="json")
    for key, value in settings.items():
        section, leaf = _holder(data, key)
        section[leaf] = value
    return validate_scenario(data, source="page settings")


class WatchedModel(OrgModel):
    """An OrgModel built from ``base`` and the page's settings.

    Settings that fail validation are not applied: the model runs ``base`` and
    ``rejected`` says why (so no combination of sliders breaks the page). ``scenario`` is
    Mesa's experiment scenario, which Mesa's Reset button hands to every model that takes
    keyword arguments; it carries nothing here (OrgSim's scenario is ``base``)."""

    def __init__(self, base: Scenario, seed: int = 0, scenario: object = None, **settings: Any) -> None:
        try:
            config, self.rejected = apply_settings(base, settings), ""
        except ScenarioError as exc:
            config, self.rejected = base, str(exc)
        super().__init__(config, seed)


class Sides(Model):
    """What the page runs: side A, ``base`` with the page's settings, and side by side also side
    B, ``against`` with the settings moved off ``base``'s values (without ``against``: A's
    organisation under the other structure); both on ``seed``, stepped together. ``scenario``
    as for :class:`WatchedModel`."""

    def __init__(
        self,
        base: Scenario,
        against: Scenario | None = None,
        side_by_side: bool = False,
        seed: int = 0,
        scenario: object = None,
        **settings: Any,
    ) -> None:
        super().__init__(rng=seed)
        a = WatchedModel(base, seed, **settings)
        self.sides = [a]
        if side_by_side and against is None:
            other = next(s for s in STRUCTURES if s != a.config.structure)
            self.sides.append(WatchedModel(a.config, seed, structure=other))
        elif side_by_side and against is not None:
            moved = {k: v for k, v in settings.items() if k != "structure" and v != setting(base, k)}
            self.sides.append(WatchedModel(against, seed, **moved))

    def step(self) -> None:
        for side in self.sides:
            side.step()
        self.running = any(side.running for side in self.sides)


def model_params(base: Scenario, seed: int, against: Scenario | None = None) -> dict[str, Any]:
    """The page's settings: the base scenario and side B's (fixed), the side-by-side switch (on
    if ``against`` is given), the structure switch, the sliders (starting at the scenario's
    values) and the seed; each as ``{"type", "label", "value", ...}`` like Mesa's model parameters."""
    versus = f"B: {against.name}" if against else "the other structure"
    params: dict[str, Any] = {
        "base": base,
        "against": against,
        "side_by_side": {"type": "Checkbox", "value": against is not None, "label": f"Side by side with {versus}"},
        "structure": {"type": "Select", "value": base.structure, "values": STRUCTURES, "label": "Structure"},
    }
    for key, (label, low, high, step) in SLIDERS.items():
        value = setting(base, key)
        kind = "SliderInt" if isinstance(step, int) else "SliderFloat"
        params[key] = {
            "type": kind,
            "label": label,
            "value": value,
            "min": min(low, value),
            "max": max(high, value),
            "step": step,
        }
    params["seed"] = {"type": "SliderInt", "label": "Seed", "value": seed, "min": 0, "max": 99, "step": 1}
    return params


# --- what the page reads from the model -------------------------------------------------
def team_load(model: OrgModel) -> np.ndarray:
    """Share of each team's people busy now."""
    return np.array([t.busy / t.headcount for t in model.teams])


def days_run(model: OrgModel) -> int:
    """Ticks simulated so far (Mesa counts a step past the horizon, the model does not run it)."""
    return min(model.steps, model.config.simulation.ticks)


def live_series(model: OrgModel, window: int = WINDOW_TICKS) -> dict[str, np.ndarray]:
    """Per tick so far, over the trailing ``window`` ticks (fewer at the start): demand items
    arrived and completed per tick, the completed items' mean lead time and rework rate
    (reworked or escaped, as in ``rework_rate``), the rework share of busy time; and the
    adoption share at each tick."""
    ticks = days_run(model)
    items = model.items.table()
    demand = items[items["origin"] == FROM_DEMAND]
    done = demand[demand["completion"].notna()]
    done_at = done["completion"].to_numpy().astype(np.int64)
    reworked = ((done["reworks"] > 0) | done["escaped"]).to_numpy(dtype=float)
    busy = model.recorder.busy[:ticks]
    span = np.minimum(np.arange(1, ticks + 1), window)

    def trailing(values: np.ndarray, at: np.ndarray | None = None) -> np.ndarray:
        per_tick = values if at is None else np.bincount(at, weights=values, minlength=ticks)[:ticks]
        total = np.cumsum(per_tick)
        return total - np.concatenate([np.zeros(min(window, ticks)), total[:-window]])

    count = trailing(np.ones(len(done)), done_at)
    arrived_at = demand["arrival"].to_numpy().astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "arrivals": trailing(np.ones(len(demand)), arrived_at) / span,
            "throughput": count / span,
            "lead_time": trailing(done["lead_time"].to_numpy(), done_at) / count,
            "rework_rate": trailing(reworked, done_at) / count,
            "rework_effort_share": trailing(busy[:, CATEGORIES.index("rework")]) / trailing(busy.sum(axis=1)),
            "adoption": model.recorder.adoption_share[:ticks],
        }


def circle_layout(model: OrgModel) -> np.ndarray:
    """Team positions on a circle, the teams of each pool (silo) side by side."""
    order = [t.index for pool in model.structure.pools for t in pool.teams]
    angle = np.pi / 2 - 2 * np.pi * np.arange(len(order)) / len(order)
    pos = np.zeros((len(order), 2))
    pos[order] = np.column_stack([np.cos(angle), np.sin(angle)])
    return pos


# --- the components ---------------------------------------------------------------------
def _page_figure(rows: int = 1) -> tuple[Figure, Any]:
    """A figure of the page's size, laid out when drawn so that no label is cut off."""
    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    fig.set_layout_engine("tight", pad=0.4, h_pad=0.3)
    return fig, fig.subplots(rows, 1, sharex=True) if rows > 1 else fig.subplots()


def _image(fig: Figure) -> solara.Element:
    return solara.FigureMatplotlib(fig, format="png")


def status_line(model: WatchedModel) -> str:
    """Day, structure, open items and adopters, in words."""
    cfg = model.config
    return (
        f"Day {days_run(model)} of {cfg.simulation.ticks} · {cfg.structure} · {model.open_count} items open · "
        f"{model.adopted_count} of {len(model.teams)} teams adopted the practice"
    )


def network_figure(model: OrgModel) -> Figure:
    """The work ties between teams: fill by load, a green ring where a team adopted."""
    pos = circle_layout(model)
    counts = np.triu(model.ties.counts)
    a, b = np.nonzero(counts)
    fig, ax = _page_figure()
    if len(a):
        widths = 0.5 + 3.0 * counts[a, b] / counts[a, b].max()
        segments = list(np.stack([pos[a], pos[b]], axis=1))
        ax.add_collection(LineCollection(segments, linewidths=widths, colors="0.6", zorder=1))
    adopted = model.adopted
    size = 2400 / max(12, len(model.teams))
    dots = ax.scatter(
        pos[:, 0],
        pos[:, 1],
        c=team_load(model),
        cmap="YlOrRd",
        vmin=0,
        vmax=1,
        s=size * 4,
        edgecolors=np.where(adopted, "tab:green", "0.35"),
        linewidths=np.where(adopted, 3.5, 0.8),
        zorder=2,
    )
    if len(model.teams) <= 48:
        for index, (x, y) in enumerate(pos):
            ax.annotate(str(index), (x, y), ha="center", va="center", fontsize=8, zorder=3)
    if model.config.structure == "central_it":
        for pool in model.structure.pools:
            x, y = pos[[t.index for t in pool.teams]].mean(axis=0)
            angle = np.arctan2(y, x)
            ax.annotate(pool.name, (1.3 * np.cos(angle), 1.2 * np.sin(angle)), ha="center", fontsize=9, style="italic")
    fig.colorbar(dots, ax=ax, label="share of people busy", shrink=0.8)
    ax.scatter([], [], s=60, c="white", edgecolors="tab:green", linewidths=2.5, label="adopted the practice")
    ax.legend(loc="lower left", fontsize=8, frameon=False)  # inside: the circle leaves the corner free
    ax.set_title(f"Work ties between {len(model.teams)} teams ({model.ties.edges()} pairs)", fontsize=10)
    ax.set_xlim(-1.45, 1.45)
    ax.set_ylim(-1.3, 1.3)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig


def queues_figure(model: OrgModel) -> Figure:
    """Tasks waiting at each pool (a silo, or a team's own queue) and its people busy."""
    pools = model.structure.pools
    shown = pools if len(pools) <= MAX_BARS else sorted(pools, key=lambda p: p.backlog, reverse=True)[:MAX_BARS]
    waiting = [p.backlog for p in shown]
    busy = [sum(t.busy for t in p.teams) for p in shown]
    fig, ax = _page_figure()
    rows = np.arange(len(shown))
    ax.barh(rows, waiting, color="tab:orange")
    for row, (n, people, pool) in enumerate(zip(waiting, busy, shown, strict=True)):
        ax.annotate(f" {people}/{pool.headcount} busy", (n, row), va="center", fontsize=7, color="0.3")
    ax.set_yticks(rows, [p.name for p in shown], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, max(5, *waiting) * 1.3)
    ax.set_xlabel("tasks waiting")
    more = f", {len(shown)} longest of {len(pools)}" if len(shown) < len(pools) else ""
    ax.set_title(f"Queues: {sum(p.backlog for p in pools)} tasks waiting{more}", fontsize=10)
    return fig


def side_label(index: int, model: OrgModel) -> str:
    """Side by side, how the page names a side: its letter, scenario name and, if the name is
    not that, its structure."""
    name, structure = model.config.name, model.config.structure
    return f"{SIDES[index]}: {name}" if name == structure else f"{SIDES[index]}: {name} ({structure})"


def _time_panels(models: tuple[OrgModel, ...], title: str) -> tuple[Figure, Any, Any, list[dict[str, np.ndarray]]]:
    """Two stacked panels over the longest run's days, each warm-up shaded, and each model's
    live series."""
    fig, axes = _page_figure(rows=2)
    for ax in axes:
        for model in models:
            ax.axvspan(0, model.config.simulation.warmup_ticks, color="0.93", zorder=0)
        ax.set_xlim(0, max(model.config.simulation.ticks for model in models))
        ax.grid(alpha=0.3)
    axes[0].set_title(title, fontsize=10)
    axes[1].set_xlabel("day")
    return fig, *axes, [live_series(model) for model in models]


def _colours(models: tuple[OrgModel, ...], colour: str) -> list[str]:
    """A metric's ``colour`` for one model; side by side, each side's colour."""
    return [colour] if len(models) == 1 else list(SIDE_COLOURS[: len(models)])


def _plot(
    ax: Any,
    models: tuple[OrgModel, ...],
    series: list[dict[str, np.ndarray]],
    key: str,
    colour: str,
    label: str = "",
    **style: Any,
) -> None:
    """Each model's ``key`` series on the shared axes ``ax``. A lone model's line is labelled
    ``label``; side by side, the labelled lines are labelled by side and the others unlabelled."""
    pair = len(models) > 1
    for index, (model, s, c) in enumerate(zip(models, series, _colours(models, colour), strict=True)):
        name = side_label(index, model) if pair and label else label
        ax.plot(np.arange(len(s[key])), s[key], color=c, label=name or None, **style)


def flow_figure(*models: OrgModel) -> Figure:
    """Demand items arrived and completed per day, and their lead time, over the trailing
    window; side by side, both models on shared axes."""
    title = f"Throughput (thin: arrived) and lead time, last {WINDOW_TICKS} days; grey: warm-up"
    fig, top, bottom, series = _time_panels(models, title)
    _plot(top, models, series, "throughput", "tab:blue", "completed")
    _plot(top, models, series, "arrivals", "0.5", "arrived" if len(models) == 1 else "", lw=0.8)
    top.set_ylabel("items per day")
    top.legend(fontsize=8, loc="upper left")
    _plot(bottom, models, series, "lead_time", "tab:purple")
    bottom.set_ylabel("mean lead time (days)")
    return fig


def rework_adoption_figure(*models: OrgModel) -> Figure:
    """Rework rate and rework share of effort, and the adoption curve; side by side, both
    models on shared axes."""
    title = f"Rework (thin: share of effort), last {WINDOW_TICKS} days; adoption"
    fig, top, bottom, series = _time_panels(models, title)
    _plot(top, models, series, "rework_rate", "tab:red", "items reworked or failed")
    share = "rework share of effort" if len(models) == 1 else ""
    _plot(top, models, series, "rework_effort_share", "tab:brown", share, lw=0.8)
    top.set_ylim(0, 1)
    top.set_ylabel("share")
    top.legend(fontsize=8, loc="upper left")
    _plot(bottom, models, series, "adoption", "tab:green")
    for model, colour in zip(models, _colours(models, "tab:green"), strict=True):
        bottom.axvline(model.config.spread_start_tick, color=colour, ls=":", lw=0.8)
    for level in (0.5, 0.9):
        bottom.axhline(level, color="0.6", ls="--", lw=0.6)
    bottom.set_ylim(0, 1.02)
    bottom.set_ylabel("teams adopted")
    return fig


def _side(page: Sides, index: int) -> solara.Element:
    """A side's status line (and any rejected settings) over its team network."""
    model = page.sides[index]
    line = status_line(model) if len(page.sides) == 1 else f"{side_label(index, model)} · {status_line(model)}"
    with solara.Column(gap="0px") as column:
        style = {"font-weight": "bold", "padding": "4px 8px"}
        solara.Text(line, style=style).meta(ref="status" if index == 0 else f"status {SIDES[index]}")
        if model.rejected:
            solara.Warning("Settings not applied, running the scenario file's values: " + model.rejected)
        _image(network_figure(model))
    return column


def TeamNetwork(page: Sides) -> solara.Element:
    """Side A's status line and team network."""
    return _side(page, 0)


def QueuesOrSideB(page: Sides) -> solara.Element:
    """Side B's status line and team network; without side B, A's queues."""
    return _side(page, 1) if len(page.sides) > 1 else _image(queues_figure(page.sides[0]))


def Flow(page: Sides) -> solara.Element:
    return _image(flow_figure(*page.sides))


def ReworkAndAdoption(page: Sides) -> solara.Element:
    return _image(rework_adoption_figure(*page.sides))


COMPONENTS = [(TeamNetwork, 0), (QueuesOrSideB, 0), (Flow, 0), (ReworkAndAdoption, 0)]


@solara.component
def Settings(params: dict[str, Any], values: solara.Reactive[dict[str, Any]]) -> None:
    """A switch or slider for each adjustable entry of ``params``, showing its value in ``values``
    (a slider's in its label)."""
    for key, spec in params.items():
        if not isinstance(spec, dict):
            continue  # fixed: the scenarios

        def change(value: Any, key: str = key) -> None:
            values.value = {**values.value, key: value}

        value, label = values.value[key], spec["label"]
        if spec["type"] == "Select":
            solara.Select(label, value=value, values=spec["values"], on_value=change)
        elif spec["type"] == "Checkbox":
            solara.Switch(label=label, value=value, on_value=change)
        else:
            slider = solara.SliderInt if spec["type"] == "SliderInt" else solara.SliderFloat
            slider(f"{label}: {value:g}", value, spec["min"], spec["max"], spec["step"], on_value=change)


@solara.component
def OrgView(base: Scenario, seed: int = 0, against: Scenario | None = None) -> None:
    """The page for ``base`` (and ``against``): one model per browser session, rebuilt by Reset
    from the settings; Mesa's controls step it by the render interval."""
    params = solara.use_memo(lambda: model_params(base, seed, against), [])
    values = solara.use_reactive({k: v["value"] if isinstance(v, dict) else v for k, v in params.items()})
    model: solara.Reactive[Sides] = solara.use_reactive(solara.use_memo(lambda: Sides(**values.value), []))
    render_days, play_ms, no_threads = solara.use_reactive(5), solara.use_reactive(50), solara.use_reactive(False)
    solara.Title(TITLE)
    with solara.AppBar():
        solara.AppBarTitle(f"{TITLE}: change a setting, the structure or side by side, then press Reset")
    with solara.Sidebar(), solara.Column():
        with solara.Card("Controls"):
            solara.SliderInt(f"Render interval: {render_days.value} days", render_days, 1, 100, 2)
            solara.SliderInt(f"Play interval: {play_ms.value} ms", play_ms, 10, 500, 10)
            controls = {"play_interval": play_ms, "render_interval": render_days, "use_threads": no_threads}
            ModelController(model, model_parameters=values, **controls)
        with solara.Card("Settings"):
            Settings(params, values)
    ComponentsView(COMPONENTS, model.value)


@solara.component
def Page() -> solara.Element:
    """The app `orgsim view` serves: the scenarios and seed it put in the environment."""
    base = solara.use_memo(lambda: Scenario.model_validate_json(os.environ[SCENARIO_ENV]), [])
    against = solara.use_memo(lambda: _from_env(AGAINST_ENV), [])
    return OrgView(base, int(os.environ.get(SEED_ENV, "0")), against)


def _from_env(name: str) -> Scenario | None:
    """The scenario the environment variable ``name`` holds as JSON, or None if it is empty."""
    text = os.environ.get(name)
    return Scenario.model_validate_json(text) if text else None


def serve(scenario: Scenario, seed: int, host: str, port: int, against: Scenario | None = None) -> None:
    """Serve the page for ``scenario`` (side by side with ``against``, if given) on ``host:port``
    until interrupted (KeyboardInterrupt)."""
    from click.exceptions import Abort
    from solara.__main__ import run
    from solara.server import settings

    os.environ[SCENARIO_ENV] = scenario.model_dump_json()
    os.environ[AGAINST_ENV] = against.model_dump_json() if against else ""
    os.environ[SEED_ENV] = str(seed)
    settings.telemetry.mixpanel_enable = False
    settings.theme.title = TITLE
    # Solara warns, on every page load over plain http, that it sets its session cookie SameSite=lax,
    # which is right for a page served on this machine and not embedded in another site.
    warnings.filterwarnings("ignore", "Cookies with samesite=none require https", UserWarning)
    args = ["sim.view:Page", "--host", host, "--port", str(port), "--production", "--no-open", "--no-check-version"]
    try:
        run.main(args, standalone_mode=False)
    except Abort:  # how click reports Ctrl-C
        raise KeyboardInterrupt from None

"""The interactive view (``orgsim view``): Mesa's SolaraViz page over an unchanged OrgModel.

A thin layer: :class:`WatchedModel` builds the scenario from a base scenario plus the
page's settings and stops at the horizon; the components only read the model's state
(teams, pools, work ties, the recorder's series and the item table). Needs the ``viz``
extra (Solara)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import solara
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from mesa.visualization import SolaraViz

from sim.model.org_model import OrgModel
from sim.model.recorder import CATEGORIES
from sim.model.work import FROM_DEMAND
from sim.scenario.errors import ScenarioError
from sim.scenario.files import validate_scenario
from sim.scenario.schema import Scenario

SCENARIO_ENV = "ORGSIM_VIEW_SCENARIO"  # the validated scenario, as JSON, that `orgsim view` serves
SEED_ENV = "ORGSIM_VIEW_SEED"
STRUCTURES = ["central_it", "micro_provider"]
WINDOW_TICKS = 20  # live lead time, throughput and rework are over the last this many days
MAX_BARS = 24  # queues shown; with more pools, the longest
FIGSIZE, DPI = (6.4, 4.0), 90

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


def apply_settings(base: Scenario, settings: dict[str, Any]) -> Scenario:
    """``base`` with each dotted-key setting applied, validated like a scenario file."""
    data = base.model_dump(mode="json")
    for key, value in settings.items():
        section, leaf = _holder(data, key)
        section[leaf] = value
    return validate_scenario(data, source="page settings")


class WatchedModel(OrgModel):
    """An OrgModel built from ``base`` and the page's settings, stopping at the horizon.

    Settings that fail validation are not applied: the model runs ``base`` and
    ``rejected`` says why (so no combination of sliders breaks the page). ``scenario`` is
    Mesa's experiment scenario, which SolaraViz's Reset hands to every model that takes
    keyword arguments; it carries nothing here (OrgSim's scenario is ``base``)."""

    def __init__(self, base: Scenario, seed: int = 0, scenario: object = None, **settings: Any) -> None:
        try:
            config, self.rejected = apply_settings(base, settings), ""
        except ScenarioError as exc:
            config, self.rejected = base, str(exc)
        super().__init__(config, seed)

    def step(self) -> None:
        # Mesa counts the step before calling this: step n runs tick n - 1.
        if self.steps <= self.config.simulation.ticks:
            super().step()
        self.running = self.steps < self.config.simulation.ticks


def model_params(base: Scenario, seed: int) -> dict[str, Any]:
    """SolaraViz's model parameters: the base scenario (fixed), the structure switch, the
    sliders (starting at the scenario's values) and the seed."""
    params: dict[str, Any] = {
        "base": base,
        "structure": {"type": "Select", "value": base.structure, "values": STRUCTURES, "label": "Structure"},
    }
    values = base.model_dump()
    for key, (label, low, high, step) in SLIDERS.items():
        section, leaf = _holder(values, key)
        value = section[leaf]
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
def _page_figure(rows: int = 1, left: float = 0.12, right: float = 0.97) -> tuple[Figure, Any]:
    """A figure of the page's size (a fixed layout: constrained layout is slow to draw)."""
    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    fig.subplots_adjust(left=left, right=right, top=0.92, bottom=0.12, hspace=0.12)
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
    fig, ax = _page_figure(left=0.0, right=1.0)
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
    ax.legend(loc="lower left", fontsize=8, frameon=False, bbox_to_anchor=(-0.05, -0.08))
    ax.set_title(f"Work ties between {len(model.teams)} teams ({model.ties.edges()} pairs)", fontsize=10)
    ax.set_xlim(-1.45, 1.45)
    ax.set_ylim(-1.3, 1.3)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig


def queues_figure(model: OrgModel) -> Figure:
    """Tasks waiting at each pool (a silo, or a team's own queue) and its people busy."""
    pools = model.structure.pools
    shown = pools if len(pools) <= MAX_BARS else sorted(pools, key=lambda p: len(p.heap), reverse=True)[:MAX_BARS]
    waiting = [len(p.heap) for p in shown]
    busy = [sum(t.busy for t in p.teams) for p in shown]
    fig, ax = _page_figure(left=0.2)
    rows = np.arange(len(shown))
    ax.barh(rows, waiting, color="tab:orange")
    for row, (n, people, pool) in enumerate(zip(waiting, busy, shown, strict=True)):
        ax.annotate(f" {people}/{pool.headcount} busy", (n, row), va="center", fontsize=7, color="0.3")
    ax.set_yticks(rows, [p.name for p in shown], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, max(5, *waiting) * 1.3)
    ax.set_xlabel("tasks waiting")
    more = f", {len(shown)} longest of {len(pools)}" if len(shown) < len(pools) else ""
    ax.set_title(f"Queues: {sum(len(p.heap) for p in pools)} tasks waiting{more}", fontsize=10)
    return fig


def _time_panels(model: OrgModel, title: str) -> tuple[Figure, Any, Any, dict[str, np.ndarray], np.ndarray]:
    """Two stacked panels over the run's days, the warm-up shaded, and the live series."""
    series = live_series(model)
    fig, axes = _page_figure(rows=2)
    sim = model.config.simulation
    for ax in axes:
        ax.axvspan(0, sim.warmup_ticks, color="0.93", zorder=0)
        ax.set_xlim(0, sim.ticks)
        ax.grid(alpha=0.3)
    axes[0].set_title(title, fontsize=10)
    axes[1].set_xlabel("day")
    return fig, *axes, series, np.arange(len(series["adoption"]))


def flow_figure(model: OrgModel) -> Figure:
    """Demand items arrived and completed per day, and their lead time, over the trailing window."""
    title = f"Throughput and lead time (last {WINDOW_TICKS} days; grey: warm-up)"
    fig, top, bottom, s, days = _time_panels(model, title)
    top.plot(days, s["throughput"], label="completed", color="tab:blue")
    top.plot(days, s["arrivals"], label="arrived", color="0.5", lw=0.8)
    top.set_ylabel("items per day")
    top.legend(fontsize=8, loc="upper left")
    bottom.plot(days, s["lead_time"], color="tab:purple")
    bottom.set_ylabel("mean lead time (days)")
    return fig


def rework_adoption_figure(model: OrgModel) -> Figure:
    """Rework rate and rework share of effort, and the adoption curve."""
    fig, top, bottom, s, days = _time_panels(model, f"Rework (last {WINDOW_TICKS} days) and the adoption curve")
    top.plot(days, s["rework_rate"], label="items reworked or failed", color="tab:red")
    top.plot(days, s["rework_effort_share"], label="rework share of effort", color="tab:brown", lw=0.8)
    top.set_ylim(0, 1)
    top.set_ylabel("share")
    top.legend(fontsize=8, loc="upper left")
    bottom.plot(days, s["adoption"], color="tab:green")
    bottom.axvline(model.config.spread_start_tick, color="tab:green", ls=":", lw=0.8)
    for level in (0.5, 0.9):
        bottom.axhline(level, color="0.6", ls="--", lw=0.6)
    bottom.set_ylim(0, 1.02)
    bottom.set_ylabel("teams adopted")
    return fig


def TeamNetwork(model: WatchedModel) -> solara.Element:
    """The status line (and any rejected settings) over the team network."""
    with solara.Column(gap="0px") as column:
        solara.Text(status_line(model), style={"font-weight": "bold", "padding": "4px 8px"}).meta(ref="status")
        if model.rejected:
            solara.Warning("Settings not applied, running the scenario file's values: " + model.rejected)
        _image(network_figure(model))
    return column


def Queues(model: WatchedModel) -> solara.Element:
    return _image(queues_figure(model))


def Flow(model: WatchedModel) -> solara.Element:
    return _image(flow_figure(model))


def ReworkAndAdoption(model: WatchedModel) -> solara.Element:
    return _image(rework_adoption_figure(model))


COMPONENTS = [(TeamNetwork, 0), (Queues, 0), (Flow, 0), (ReworkAndAdoption, 0)]


@solara.component
def OrgView(base: Scenario, seed: int = 0) -> solara.Element:
    """The page for ``base``: one model per browser session, rebuilt by Reset."""
    params = solara.use_memo(lambda: model_params(base, seed), [])
    model = solara.use_memo(
        lambda: WatchedModel(**{k: v["value"] if isinstance(v, dict) else v for k, v in params.items()}), []
    )
    return SolaraViz(
        model,
        components=COMPONENTS,
        model_params=params,
        name="OrgSim: change a setting or the structure, then press Reset",
        play_interval=50,
        render_interval=5,
    )


@solara.component
def Page() -> solara.Element:
    """The app `orgsim view` serves: the scenario and seed it put in the environment."""
    base = solara.use_memo(lambda: Scenario.model_validate_json(os.environ[SCENARIO_ENV]), [])
    return OrgView(base, int(os.environ.get(SEED_ENV, "0")))


def serve(scenario: Scenario, seed: int, host: str, port: int) -> None:
    """Serve the page for ``scenario`` on ``host:port`` until interrupted."""
    from solara.__main__ import run
    from solara.server import settings

    os.environ[SCENARIO_ENV] = scenario.model_dump_json()
    os.environ[SEED_ENV] = str(seed)
    settings.telemetry.mixpanel_enable = False
    args = ["sim.view:Page", "--host", host, "--port", str(port), "--production", "--no-open", "--no-check-version"]
    run.main(args, standalone_mode=False)

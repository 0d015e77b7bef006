"""The one boundary: ``run_scenario(config, seed=...) -> RunResult``.

Sweeps, the CLI and the tests all call it; it builds the model, runs it, and returns the
summary metrics, the per-tick series, the item table and provenance."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.metrics import Columns, MetricValue, Observed, columns, summarise
from sim.model.item_log import item_table
from sim.model.org_model import OrgModel
from sim.model.work import FROM_DEMAND
from sim.provenance import environment
from sim.scenario.files import config_hash, load_scenario, validate_scenario
from sim.scenario.schema import Scenario


@dataclass(frozen=True)
class RunResult:
    """Outcome of one run: summary metrics, per-tick series, item table, provenance."""

    summary: dict[str, MetricValue]
    series: pd.DataFrame
    items: pd.DataFrame
    provenance: dict[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """One flat row: scenario, structure and seed first, then every summary metric."""
        head = {k: self.provenance[k] for k in ("scenario", "structure", "seed")}
        return head | self.summary


def run_scenario(config: Scenario | dict[str, Any] | str | Path, seed: int = 0, ticks: int | None = None) -> RunResult:
    """Run one scenario (a validated config, a plain dict or a TOML path) with ``seed``."""
    scenario = _as_scenario(config)
    if ticks is not None:
        data = scenario.model_dump()
        data["simulation"]["ticks"] = ticks
        scenario = validate_scenario(data, source="ticks override")
    model = OrgModel(scenario, seed)
    model.run()
    # The series first: its temporaries (a column of every busy interval) are gone before
    # the item table's columns are gathered, so the two peaks do not add up.
    series, items = model.recorder.columns(copy=False), model.items.columns()  # the model runs no more
    adoption, edges = model.recorder.adoption_share, model.ties.edges()
    model.kernel = model.items = None  # the kernel's arrays go before the tables are filtered
    items["value"] = item_value(items, scenario)
    series["cost"] = tick_cost(series, scenario)
    sim = scenario.simulation
    observed = Observed.of_run(items, series, sim.warmup_ticks, sim.ticks, scenario.spread_start_tick, adoption)
    provenance = {
        "scenario": scenario.name or "unnamed",
        "structure": scenario.structure,
        "seed": seed,
        "config_hash": config_hash(scenario),
        "work_network_edges": edges,
    } | environment()
    return RunResult(summarise(observed), pd.DataFrame(series, copy=False), item_table(items), provenance)


def item_value(items: pd.DataFrame | Columns, scenario: Scenario) -> np.ndarray:
    """Business value of each completed demand item: value per person-day of its kind times
    its effort, less the cost of delay over its lead time; nothing for failure demand."""
    items = columns(items)
    value = scenario.value
    per_day = np.array([value.feature_per_day, value.incident_per_day, value.ktlo_per_day])  # by KIND_NAMES
    kept = np.maximum(1 - value.delay_cost_per_tick * items["lead_time"], 0.0)  # NaN while open
    worth = per_day[items["kind"]] * items["effort"] * kept
    paid = (items["origin"] == FROM_DEMAND) & ~np.isnan(items["completion"])
    return np.where(paid, worth, 0.0)


def tick_cost(series: pd.DataFrame | Columns, scenario: Scenario) -> np.ndarray:
    """Cost per tick: every person's day, busy or idle, plus bought person-days at their price."""
    series = columns(series)
    if "market_cost_days" in series:  # the internal market's external providers, each at its own price
        bought = series["market_cost_days"]
    else:
        bought = series["bought_days"] * scenario.sourcing.external_price_factor
    return (series["capacity_days"] + bought) * scenario.value.cost_per_person_day


def _as_scenario(config: Scenario | dict[str, Any] | str | Path) -> Scenario:
    if isinstance(config, Scenario):
        return config
    if isinstance(config, dict):
        return validate_scenario(config)
    return load_scenario(config)

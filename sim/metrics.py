"""Summary metrics: small pure functions over one run's item table and tick series,
collected in one registry. Names carry their unit or aggregation. Window metrics use
the measured window [warm-up, horizon); ``None`` means not defined (e.g. nothing done).

Item counts, throughput, lead time and work in progress are about *demand*: the items
the business asked for. Incidents caused by escaped defects (failure demand) are
reported on their own (``failure_demand_share``), count in time to restore, and their
effort counts as rework."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.model.spread import crossing_tick

MetricValue = float | int | None


@dataclass(frozen=True)
class Observed:
    """What the metrics read: the demand items and those completed in the window, every
    item completed in the window (failure demand included), the window's ticks."""

    items: pd.DataFrame
    done: pd.DataFrame
    done_all: pd.DataFrame
    series: pd.DataFrame
    start: int
    end: int
    spread_start: int
    adoption: np.ndarray

    @property
    def span(self) -> int:
        return self.end - self.start


METRICS: dict[str, Callable[[Observed], MetricValue]] = {}


def metric(fn: Callable[[Observed], MetricValue]) -> Callable[[Observed], MetricValue]:
    METRICS[fn.__name__] = fn
    return fn


def summarise(observed: Observed) -> dict[str, MetricValue]:
    """Every registered metric, in registry order."""
    return {name: fn(observed) for name, fn in METRICS.items()}


def _mean(values: pd.Series) -> float | None:
    return float(values.mean()) if len(values) else None


def _quantile(values: pd.Series, q: float) -> float | None:
    return float(values.quantile(q)) if len(values) else None


@metric
def items_arrived(o: Observed) -> int:
    return len(o.items)


@metric
def items_completed(o: Observed) -> int:
    return int(o.items["completion"].notna().sum())


@metric
def items_in_progress(o: Observed) -> int:
    return int(o.items["completion"].isna().sum())


@metric
def throughput_per_tick(o: Observed) -> float:
    return len(o.done) / o.span


@metric
def lead_time_mean_ticks(o: Observed) -> float | None:
    return _mean(o.done["lead_time"])


@metric
def lead_time_p50_ticks(o: Observed) -> float | None:
    return _quantile(o.done["lead_time"], 0.50)


@metric
def lead_time_p85_ticks(o: Observed) -> float | None:
    return _quantile(o.done["lead_time"], 0.85)


@metric
def lead_time_p95_ticks(o: Observed) -> float | None:
    return _quantile(o.done["lead_time"], 0.95)


@metric
def queue_wait_mean_ticks(o: Observed) -> float | None:
    return _mean(o.done["queue_wait"])


@metric
def dependency_wait_mean_ticks(o: Observed) -> float | None:
    return _mean(o.done["dependency_wait"])


@metric
def flow_efficiency(o: Observed) -> float | None:
    """Mean share of an item's lead time in which someone worked on it."""
    lead = o.done["lead_time"]
    return _mean((o.done["touch_time"] / lead.where(lead > 0)).clip(upper=1.0).fillna(1.0))


@metric
def wip_mean(o: Observed) -> float:
    """Time-averaged items in the system over the window (exact, from item times)."""
    completion = o.items["completion"].fillna(np.inf).to_numpy()
    inside = np.minimum(completion, o.end) - np.maximum(o.items["arrival"].to_numpy(), o.start)
    return float(np.clip(inside, 0, None).sum() / o.span)


@metric
def utilisation(o: Observed) -> float:
    busy = o.series.filter(like="busy_").to_numpy().sum()
    return float(busy / o.series["capacity_days"].sum())


@metric
def rework_rate(o: Observed) -> float | None:
    """Share of completed items that were reworked before release or failed after it."""
    return _mean(((o.done["reworks"] > 0) | o.done["escaped"]).astype(float))


@metric
def rework_effort_share(o: Observed) -> float | None:
    """Share of busy person-days spent on rework (early fixes and escaped-defect incidents)."""
    busy = o.series.filter(like="busy_").to_numpy().sum()
    return float(o.series["busy_rework_days"].sum() / busy) if busy > 0 else None


@metric
def change_failure_rate(o: Observed) -> float | None:
    changes = o.done[o.done["kind"] != "incident"]
    return _mean(changes["escaped"].astype(float))


@metric
def failure_demand_share(o: Observed) -> float | None:
    """Share of completed items that were incidents caused by escaped defects."""
    return _mean((o.done_all["origin"] != 0).astype(float))


@metric
def time_to_restore_mean_ticks(o: Observed) -> float | None:
    """Mean lead time of incidents, from demand and from escaped defects alike."""
    return _mean(o.done_all.loc[o.done_all["kind"] == "incident", "lead_time"])


@metric
def delivery_frequency_per_tick(o: Observed) -> float:
    return int((o.done["kind"] != "incident").sum()) / o.span


@metric
def handoffs_per_item(o: Observed) -> float | None:
    return _mean(o.done["handoffs"])


@metric
def adoption_final_share(o: Observed) -> float:
    return float(o.adoption[-1]) if len(o.adoption) else 0.0


@metric
def adoption_t50_ticks(o: Observed) -> int | None:
    return crossing_tick(o.adoption[o.spread_start :], 0.5)


@metric
def adoption_t90_ticks(o: Observed) -> int | None:
    return crossing_tick(o.adoption[o.spread_start :], 0.9)


@metric
def knowledge_held_mean(o: Observed) -> float:
    """What the organisation knows: per service, the best-informed team's knowledge, averaged."""
    return float(o.series["knowledge_held"].mean())


@metric
def tech_debt_mean(o: Observed) -> float:
    """Mean debt per service (0 unless tech debt is modelled)."""
    return float(o.series["tech_debt"].mean())


@metric
def ktlo_skipped_share(o: Observed) -> float | None:
    """Share of KTLO (upgrade) demand skipped under pressure."""
    skipped = int(o.series["ktlo_skipped"].sum())
    ktlo = o.items[o.items["kind"] == "ktlo"]
    arrived = int(((ktlo["arrival"] >= o.start) & (ktlo["arrival"] < o.end)).sum())
    total = skipped + arrived
    return skipped / total if total else None


@metric
def backlog_wait_mean_ticks(o: Observed) -> float | None:
    """Time completed items waited in an intake backlog before entering (WIP limit)."""
    return _mean(o.done["backlog_wait"])


@metric
def desk_resolved_share(o: Observed) -> float | None:
    """Share of completed incidents the service desk resolved itself."""
    return _mean(o.done_all.loc[o.done_all["kind"] == "incident", "desk_resolved"].astype(float))


@metric
def provider_switches_per_tick(o: Observed) -> float:
    return float(o.series["provider_switches"].sum() / o.span)


@metric
def bought_effort_share(o: Observed) -> float | None:
    """Share of the effort done (inside or bought) that external providers delivered."""
    bought = float(o.series["bought_days"].sum())
    total = float(o.series.filter(like="busy_").to_numpy().sum()) + bought
    return bought / total if total > 0 else None


@metric
def value_per_tick(o: Observed) -> float:
    """Business value of the demand completed in the window, per tick."""
    return float(o.done["value"].sum() / o.span)


@metric
def cost_per_tick(o: Observed) -> float:
    """Cost of capacity (and bought effort) per tick."""
    return float(o.series["cost"].mean())


@metric
def value_for_money(o: Observed) -> float:
    """Value delivered per unit of cost ("one dollar in, two dollars out")."""
    return value_per_tick(o) / cost_per_tick(o)

"""Summary metrics: small pure functions over one run's item table and tick series,
collected in one registry. Names carry their unit or aggregation. Window metrics use
the measured window [warm-up, horizon); ``None`` means not defined (e.g. nothing done).

Item counts, throughput, lead time and work in progress are about *demand*: the items
the business asked for. Incidents caused by escaped defects (failure demand) are
reported on their own (``failure_demand_share``), count in time to restore, and their
effort counts as rework."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy.special import stdtr  # the model's imports load scipy.special already; scipy.stats they do not

from sim.model.spread import crossing_tick
from sim.model.work import FEATURE, FROM_DEMAND, INCIDENT, KTLO
from sim.scenario.vocabulary import Term, key_term

MetricValue = float | int | None
Columns = Mapping[str, np.ndarray]


def columns(table: pd.DataFrame | Columns) -> dict[str, np.ndarray]:
    """A table as its columns, each an array (a category as its codes: the item kinds as
    ``sim.model.work.FEATURE`` ...)."""
    if not isinstance(table, pd.DataFrame):
        return dict(table)
    return {
        name: (col.cat.codes if isinstance(col.dtype, pd.CategoricalDtype) else col).to_numpy()
        for name, col in table.items()
    }


def rows(table: Columns, keep: np.ndarray) -> dict[str, np.ndarray]:
    """The rows of ``table`` where ``keep`` is true (the table itself where it is true for all)."""
    if keep.all():
        return dict(table)
    return {name: values[keep] for name, values in table.items()}


@dataclass(frozen=True)
class Observed:
    """What the metrics read, as columns of arrays (tables given as data frames are
    converted): the demand items and those completed in the window, every item completed
    in the window (failure demand included), the window's ticks."""

    items: Columns
    done: Columns
    done_all: Columns
    series: Columns
    start: int
    end: int
    spread_start: int
    adoption: np.ndarray

    def __post_init__(self) -> None:
        for name in ("items", "done", "done_all", "series"):
            object.__setattr__(self, name, columns(getattr(self, name)))

    @classmethod
    def of_run(
        cls, items: Columns, series: Columns, start: int, end: int, spread_start: int, adoption: np.ndarray
    ) -> Observed:
        """What the metrics read of a run's item table and tick series: demand items
        (``FROM_DEMAND``), completions in [``start``, ``end``), the series' rows of the window."""
        items, series = columns(items), columns(series)
        completion = items["completion"]
        done_all = rows(items, (completion >= start) & (completion < end))
        return cls(
            items=rows(items, items["origin"] == FROM_DEMAND),
            done=rows(done_all, done_all["origin"] == FROM_DEMAND),
            done_all=done_all,
            series={name: values[start:end] for name, values in series.items()},
            start=start,
            end=end,
            spread_start=spread_start,
            adoption=adoption,
        )

    @property
    def span(self) -> int:
        return self.end - self.start

    @cached_property
    def lead_time_quantiles(self) -> dict[float, float | None]:
        """The quantiles of ``LEAD_TIME_QUANTILES`` of the done items' lead times, in one
        call (numpy gives each the value it gives alone)."""
        return dict(zip(LEAD_TIME_QUANTILES, _quantiles(self.done["lead_time"], LEAD_TIME_QUANTILES), strict=True))


LEAD_TIME_QUANTILES = (0.50, 0.85, 0.95)


METRICS: dict[str, Callable[[Observed], MetricValue]] = {}


def metric(fn: Callable[[Observed], MetricValue]) -> Callable[[Observed], MetricValue]:
    METRICS[fn.__name__] = fn
    return fn


def summarise(observed: Observed) -> dict[str, MetricValue]:
    """Every registered metric, in registry order."""
    return {name: fn(observed) for name, fn in METRICS.items()}


def _mean(values: np.ndarray) -> float | None:
    """The mean of the values that are not NaN, summed as pandas sums them (NaN as 0 in
    place); NaN if all are, None if there are none."""
    if values.dtype.kind == "f":
        missing = np.isnan(values)
        if missing.any():
            count = len(values) - np.count_nonzero(missing)
            return float(np.where(missing, 0.0, values).sum() / count) if count else float("nan")
    return float(values.mean()) if len(values) else None


def _quantiles(values: np.ndarray, qs: tuple[float, ...]) -> list[float | None]:
    """The ``qs`` quantiles (linear interpolation) of the values that are not NaN; NaN if all
    are, None if there are none."""
    if not len(values):
        return [None] * len(qs)
    kept = values[~np.isnan(values)]
    return [float(v) for v in np.quantile(kept, qs)] if len(kept) else [float("nan")] * len(qs)


def _busy_days(o: Observed) -> float:
    """Busy person-days over the window: every busy category plus improvement work.

    The categories are summed laid out as the tick series always held them, a window of
    rows of a column-major block: numpy's order of summation (one pass over up to 8192
    values, else column by column) follows the layout, and so does the rounding."""
    categories = [values for name, values in o.series.items() if "busy_" in name]
    busy = 0.0
    if categories:
        block = np.empty((len(categories), len(categories[0]) + 1))  # a column more: not contiguous
        block[:, :-1] = categories
        busy = block[:, :-1].T.sum()
    if "improvement_days" in o.series:
        busy = busy + float(o.series["improvement_days"].sum())
    return busy


# The stability test (``stable``): batch means of open work, a one-sided t test on their
# slope at this level, and growth that matters against the window's arrivals.
STABILITY_BATCHES = 10
STABILITY_ALPHA = 0.05
STABILITY_GROWTH_SHARE = 0.05


def _wip_trend(o: Observed) -> tuple[float, float, int] | None:
    """Slope of open work per tick, its standard error and degrees of freedom, from the
    batch means of the window's ``wip`` series (None for a window under three ticks)."""
    wip = o.series["wip"].astype(float)
    batches = min(STABILITY_BATCHES, len(wip))
    if batches < 3:
        return None
    size = len(wip) // batches
    tail = wip[len(wip) - batches * size :]  # the first len % batches ticks are left out
    means = tail.reshape(batches, size).mean(axis=1)
    centres = (np.arange(batches) + 0.5) * size
    x = centres - centres.mean()
    slope = float(x @ (means - means.mean()) / (x @ x))
    residuals = means - means.mean() - slope * x
    df = batches - 2
    se = float(np.sqrt(residuals @ residuals / df / (x @ x)))
    return slope, se, df


@metric
def items_arrived(o: Observed) -> int:
    return len(o.items["arrival"])


@metric
def items_completed(o: Observed) -> int:
    return int(np.count_nonzero(~np.isnan(o.items["completion"])))


@metric
def items_in_progress(o: Observed) -> int:
    return int(np.count_nonzero(np.isnan(o.items["completion"])))


@metric
def stable(o: Observed) -> bool | None:
    """Whether open work stays bounded over the window (None for a window under three ticks).

    The window's ``wip`` series is cut into k = min(10, span) equal consecutive batches
    (the first ``span % k`` ticks left out) so that the batch means are close to
    independent despite the series' serial correlation; their least-squares slope b
    against the batch centres has the standard error se = sqrt(SSR / (k - 2) / Sxx). A run
    is *unstable* when both hold: the slope is significantly positive (one-sided t test,
    t = b / se against Student t with k - 2 = 8 degrees of freedom, p < 0.05; se = 0
    counts as significant when b > 0), and the growth matters: b x span exceeds 5% of the
    items that arrived in the window (completions fell short of arrivals by more than 5%)."""
    trend = _wip_trend(o)
    if trend is None:
        return None
    slope, se, df = trend
    if slope <= 0:
        return True
    p = float(stdtr(df, -slope / se)) if se > 0 else 0.0
    material = slope * o.span > STABILITY_GROWTH_SHARE * float(o.series["arrivals"].sum())
    return not (p < STABILITY_ALPHA and material)


@metric
def backlog_growth_per_tick(o: Observed) -> float | None:
    """Least-squares slope of open work (the ``wip`` series, all open items) against time
    over the window, fitted to its batch means (see :func:`stable`)."""
    trend = _wip_trend(o)
    return trend[0] if trend is not None else None


@metric
def unfinished_share(o: Observed) -> float | None:
    """Share of the demand items that arrived in the window and are still open at its end."""
    arrival, completion = o.items["arrival"], o.items["completion"]
    arrived = (arrival >= o.start) & (arrival < o.end)
    open_at_end = arrived & ~(completion < o.end)
    return float(open_at_end.sum() / arrived.sum()) if arrived.any() else None


@metric
def throughput_per_tick(o: Observed) -> float:
    return len(o.done["completion"]) / o.span


@metric
def lead_time_mean_ticks(o: Observed) -> float | None:
    return _mean(o.done["lead_time"])


@metric
def lead_time_p50_ticks(o: Observed) -> float | None:
    return o.lead_time_quantiles[0.50]


@metric
def lead_time_p85_ticks(o: Observed) -> float | None:
    return o.lead_time_quantiles[0.85]


@metric
def lead_time_p95_ticks(o: Observed) -> float | None:
    return o.lead_time_quantiles[0.95]


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
    share = np.minimum(o.done["touch_time"] / np.where(lead > 0, lead, np.nan), 1.0)
    return _mean(np.where(np.isnan(share), 1.0, share))


@metric
def wip_mean(o: Observed) -> float:
    """Time-averaged items in the system over the window (exact, from item times)."""
    completion = np.where(np.isnan(o.items["completion"]), np.inf, o.items["completion"])
    inside = np.minimum(completion, o.end) - np.maximum(o.items["arrival"], o.start)
    return float(np.clip(inside, 0, None).sum() / o.span)


@metric
def utilisation(o: Observed) -> float:
    busy = _busy_days(o)
    return float(busy / o.series["capacity_days"].sum())


@metric
def rework_rate(o: Observed) -> float | None:
    """Share of completed items that were reworked before release or failed after it."""
    return _mean(((o.done["reworks"] > 0) | o.done["escaped"]).astype(float))


@metric
def rework_effort_share(o: Observed) -> float | None:
    """Share of busy person-days spent on rework (early fixes and escaped-defect incidents)."""
    busy = _busy_days(o)
    return float(o.series["busy_rework_days"].sum() / busy) if busy > 0 else None


@metric
def change_failure_rate(o: Observed) -> float | None:
    return _mean(o.done["escaped"][o.done["kind"] != INCIDENT].astype(float))


@metric
def failure_demand_share(o: Observed) -> float | None:
    """Share of completed items that were incidents caused by escaped defects."""
    return _mean((o.done_all["origin"] != 0).astype(float))


@metric
def time_to_restore_mean_ticks(o: Observed) -> float | None:
    """Mean lead time of incidents, from demand and from escaped defects alike."""
    return _mean(o.done_all["lead_time"][o.done_all["kind"] == INCIDENT])


@metric
def delivery_frequency_per_tick(o: Observed) -> float:
    return int(np.count_nonzero(o.done["kind"] != INCIDENT)) / o.span


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
def adoption_horizon_ticks(o: Observed) -> int:
    """Ticks from the spread start to the horizon: where a run that never reaches an
    adoption level is censored (adoption t50/t90 count from the same start)."""
    return max(len(o.adoption) - o.spread_start, 0)


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
    arrival = o.items["arrival"][o.items["kind"] == KTLO]
    arrived = int(np.count_nonzero((arrival >= o.start) & (arrival < o.end)))
    total = skipped + arrived
    return skipped / total if total else None


@metric
def backlog_wait_mean_ticks(o: Observed) -> float | None:
    """Time completed items waited in an intake backlog before entering (WIP limit)."""
    return _mean(o.done["backlog_wait"])


@metric
def desk_resolved_share(o: Observed) -> float | None:
    """Share of completed incidents the service desk resolved itself."""
    return _mean(o.done_all["desk_resolved"][o.done_all["kind"] == INCIDENT].astype(float))


@metric
def provider_switches_per_tick(o: Observed) -> float:
    return float(o.series["provider_switches"].sum() / o.span)


@metric
def bought_effort_share(o: Observed) -> float | None:
    """Share of the effort done (inside or bought) that external providers delivered."""
    bought = float(o.series["bought_days"].sum())
    total = float(_busy_days(o)) + bought
    return bought / total if total > 0 else None


def _market_sum(o: Observed, column: str) -> float:
    """The window's sum of an internal-market series (0 where the market is off: no column)."""
    return float(o.series[column].sum()) if column in o.series else 0.0


@metric
def market_switches_per_tick(o: Observed) -> float:
    """Internal market: times a consumer moved a piece of work to another provider, per tick."""
    return _market_sum(o, "market_switches") / o.span


@metric
def market_flipback_share(o: Observed) -> float | None:
    """Internal market: share of switches that went back to the provider left at the previous
    switch of the same piece of work (churn); None without switches."""
    switches = _market_sum(o, "market_switches")
    return _market_sum(o, "market_flipbacks") / switches if switches else None


def _market_share(o: Observed, column: str) -> float | None:
    sent = sum(_market_sum(o, c) for c in ("market_default_days", "market_alternate_days", "market_external_days"))
    return _market_sum(o, column) / sent if sent > 0 else None


@metric
def market_alternate_share(o: Observed) -> float | None:
    """Internal market: share of the effort sent through the market that went to another
    internal team or silo than the usual provider; None where nothing was sent."""
    return _market_share(o, "market_alternate_days")


@metric
def market_external_share(o: Observed) -> float | None:
    """Internal market: share of the effort sent through the market that went to external
    providers; None where nothing was sent."""
    return _market_share(o, "market_external_days")


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


@metric
def run_knowledge_mean(o: Observed) -> float:
    """What the teams that run the services know of them: per service, the knowledge of its
    owner (micro-providers) or the mean of the operations silo's teams (central IT), averaged
    over services and ticks."""
    return float(o.series["run_knowledge"].mean())


@metric
def feature_lead_time_mean_ticks(o: Observed) -> float | None:
    """Mean lead time of the features completed in the window (under funded projects: from the
    business's request to the handover's release, the wait for funding included)."""
    return _mean(o.done["lead_time"][o.done["kind"] == FEATURE])


@metric
def incidents_after_release_per_tick(o: Observed) -> float:
    """Incidents per tick caused by features released in the window with a hidden defect
    (each such feature causes one); under funded projects a feature is released at its handover."""
    return int(np.count_nonzero(o.done["escaped"][o.done["kind"] == FEATURE])) / o.span


@metric
def project_people_share(o: Observed) -> float:
    """Share of the people's days spent on project teams (0 unless features are funded as projects)."""
    return float(o.series["project_people"].sum() / o.series["capacity_days"].sum())


@metric
def improvement_effort_share(o: Observed) -> float | None:
    """Share of busy person-days spent on improvement work (0 unless improvement is modelled)."""
    busy = _busy_days(o)
    return float(o.series["improvement_days"].sum() / busy) if busy > 0 else None


@metric
def improvements_done(o: Observed) -> int:
    """Improvements that took effect in the window (copies not counted)."""
    return int(o.series["improvements_done"].sum())


@metric
def improvements_failed(o: Observed) -> int:
    """Improvements finished in the window that carried a defect and took no effect."""
    return int(o.series["improvements_failed"].sum())


@metric
def improvements_copied(o: Observed) -> int:
    """Improvements teams copied from their work partners in the window."""
    return int(o.series["improvements_copied"].sum())


@metric
def effort_factor_final(o: Observed) -> float | None:
    """Services' mean effort factor at the window's last tick (1: nothing improved)."""
    return float(o.series["effort_factor"][-1]) if len(o.series["effort_factor"]) else None


@metric
def defect_factor_final(o: Observed) -> float | None:
    """Services' mean defect factor at the window's last tick (1: nothing improved)."""
    return float(o.series["defect_factor"][-1]) if len(o.series["defect_factor"]) else None


@metric
def ktlo_factor_final(o: Observed) -> float | None:
    """Services' mean KTLO-need factor at the window's last tick (1: nothing improved)."""
    return float(o.series["ktlo_factor"][-1]) if len(o.series["ktlo_factor"]) else None


# Every metric in plain words (sim.scenario.vocabulary): name, unit, one-line meaning.
TERMS: dict[str, Term] = {
    "items_arrived": Term("items arrived", "count", "Demand items that arrived over the whole run."),
    "items_completed": Term("items completed", "count", "Demand items finished over the whole run."),
    "items_in_progress": Term("items still open", "count", "Demand items not finished when the run ended."),
    "stable": Term("stable", "yes/no", "Open work stays bounded over the measured window (no significant growth)."),
    "backlog_growth_per_tick": Term(
        "backlog growth", "items per day", "How fast open work grows (negative: shrinks), from its trend."
    ),
    "unfinished_share": Term("unfinished", "share", "Share of items arriving in the window still open at its end."),
    "throughput_per_tick": Term("throughput", "items per day", "Demand items finished per working day."),
    "lead_time_mean_ticks": Term("mean lead time", "days", "Mean time from an item's arrival to its completion."),
    "lead_time_p50_ticks": Term("median lead time", "days", "Half of the items finish within this time."),
    "lead_time_p85_ticks": Term("85th percentile lead time", "days", "85% of the items finish within this time."),
    "lead_time_p95_ticks": Term("95th percentile lead time", "days", "95% of the items finish within this time."),
    "queue_wait_mean_ticks": Term("mean queue wait", "days", "Time an item waited in queues with nobody on it."),
    "dependency_wait_mean_ticks": Term(
        "mean dependency wait", "days", "Time an item waited for work on other teams' services."
    ),
    "flow_efficiency": Term("flow efficiency", "share", "Share of an item's lead time in which someone worked on it."),
    "wip_mean": Term("mean work in progress", "items", "Items in the system on an average day."),
    "utilisation": Term("utilisation", "share", "Share of people's capacity spent busy."),
    "rework_rate": Term("rework rate", "share", "Share of finished items reworked before release or failed after it."),
    "rework_effort_share": Term("rework effort", "share", "Share of busy person-days spent on rework."),
    "change_failure_rate": Term(
        "change failure rate", "share", "Share of released changes that failed in production (escaped defect)."
    ),
    "failure_demand_share": Term(
        "failure demand", "share", "Share of finished work that was incidents caused by escaped defects."
    ),
    "time_to_restore_mean_ticks": Term("mean time to restore", "days", "Mean time to resolve an incident."),
    "delivery_frequency_per_tick": Term("delivery frequency", "items per day", "Changes released per working day."),
    "handoffs_per_item": Term("handoffs", "per item", "Times a finished item crossed a team boundary."),
    "adoption_final_share": Term("adoption at the end", "share", "Share of teams using the practice at the end."),
    "adoption_t50_ticks": Term(
        "time to 50% adoption", "days", "Days from the practice's start until half the teams use it."
    ),
    "adoption_t90_ticks": Term(
        "time to 90% adoption", "days", "Days from the practice's start until 90% of teams use it."
    ),
    "adoption_horizon_ticks": Term(
        "adoption horizon", "days", "Days from the practice's start to the end of the run (where adoption is censored)."
    ),
    "knowledge_held_mean": Term(
        "knowledge held", "share", "Per service, the best-informed team's knowledge, averaged over services and days."
    ),
    "tech_debt_mean": Term("mean tech debt", "", "Mean debt per service (0 unless tech debt is modelled)."),
    "ktlo_skipped_share": Term("upgrades skipped", "share", "Share of keep-the-lights-on work skipped under pressure."),
    "backlog_wait_mean_ticks": Term(
        "mean intake wait", "days", "Time finished items waited in an intake backlog before work began."
    ),
    "desk_resolved_share": Term(
        "resolved by the desk", "share", "Share of incidents the service desk resolved itself."
    ),
    "provider_switches_per_tick": Term("provider switches", "per day", "Times consumers switched provider per day."),
    "bought_effort_share": Term("bought effort", "share", "Share of the effort delivered by external providers."),
    "market_switches_per_tick": Term(
        "market switches", "per day", "Times a consumer moved a piece of work to another provider, per day."
    ),
    "market_flipback_share": Term(
        "market churn", "share", "Share of provider switches back to the provider left at the previous switch."
    ),
    "market_alternate_share": Term(
        "sent to other teams", "share", "Share of market work done by another internal team or silo than the usual one."
    ),
    "market_external_share": Term("sent outside", "share", "Share of market work done by external providers."),
    "value_per_tick": Term("value delivered", "value per day", "Business value of the demand finished per day."),
    "cost_per_tick": Term("cost", "cost per day", "Cost of capacity and bought effort per day."),
    "value_for_money": Term("value for money", "ratio", "Value delivered per unit of cost."),
    "run_knowledge_mean": Term(
        "knowledge of the running teams", "share", "Per service, what the team(s) that run it know of it, averaged."
    ),
    "feature_lead_time_mean_ticks": Term(
        "mean feature lead time", "days", "Mean time from a feature's request to its release."
    ),
    "incidents_after_release_per_tick": Term(
        "incidents after release",
        "per day",
        "Incidents per day from features released with a hidden defect (under funded projects: at handover).",
    ),
    "project_people_share": Term(
        "people on projects", "share", "Share of people's days spent on project teams (funded projects)."
    ),
    "improvement_effort_share": Term(
        "improvement effort", "share", "Share of busy person-days spent improving services."
    ),
    "improvements_done": Term("improvements made", "count", "Improvements that took effect in the measured window."),
    "improvements_failed": Term(
        "improvements failed", "count", "Improvements finished with a defect, their gain lost, in the window."
    ),
    "improvements_copied": Term(
        "improvements copied", "count", "Improvements teams copied from their work partners in the window."
    ),
    "effort_factor_final": Term(
        "effort factor at the end", "ratio", "Services' mean effort multiplier at the end (1 = never improved)."
    ),
    "defect_factor_final": Term(
        "defect factor at the end", "ratio", "Services' mean defect-chance multiplier at the end (1 = never improved)."
    ),
    "ktlo_factor_final": Term(
        "upgrade work need at the end", "ratio", "Services' mean multiplier of upgrade work at the end (1 = none done)."
    ),
}


def term(name: str) -> Term:
    """The plain-words :class:`Term` of a metric or common scenario key; the name itself otherwise."""
    return TERMS.get(name) or key_term(name) or Term(name, "")

"""Oracles for every metric in ``sim.metrics.METRICS``.

Each expected value is worked out by hand in a comment from a small run written out
below (nine demand items, three incidents from escaped defects, ten ticks of series),
never by calling the metric's own formula. ``Observed`` is built the way ``run_scenario``
builds it: demand items, those completed in [start, end), and every item completed in
[start, end). Percentiles are pandas' default (linear interpolation between order
statistics, Hyndman & Fan type 7: position h = (n - 1) q, counted from 0).

The last tests are model-level: exact identities between what the model records per
tick and what its item table says, and mechanisms pinned where their effect is exact.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.metrics import METRICS, Observed
from sim.model.org_model import OrgModel
from sim.model.work import KIND_NAMES
from sim.run import item_value, run_scenario, tick_cost
from sim.scenario.schema import Scenario

START, END = 2, 12  # the measured window [2, 12): span 10 ticks
SPAN = END - START
SPREAD_START = 2

NAN = math.nan
# One row per item: name, kind, origin (0 demand, 1 escaped defect), arrival, completion,
# reworks, escaped, handoffs, queue_wait, touch_time, dependency_wait, backlog_wait,
# desk_resolved, value, effort.
ITEM_ROWS = [
    # demand items completed in the window
    ("A", "feature", 0, 0.0, 3.0, 1, False, 3, 0.5, 1.5, 0.0, 0.0, False, 10.0, 1.0),
    ("B", "feature", 0, 1.0, 11.0, 1, True, 0, 2.0, 2.5, 3.0, 1.0, False, 20.0, 2.0),
    ("C", "incident", 0, 4.0, 5.0, 0, True, 1, 0.0, 1.0, 0.0, 0.0, True, 2.0, 1.0),
    ("D", "ktlo", 0, 5.0, 7.0, 0, True, 2, 0.5, 1.0, 0.0, 0.0, False, 4.0, 1.0),
    ("F", "feature", 0, 3.0, 9.0, 0, False, 4, 1.0, 3.0, 1.5, 0.0, False, 8.0, 3.0),
    ("J", "ktlo", 0, 1.0, 2.5, 0, False, 0, 0.0, 1.5, 0.0, 0.5, False, 1.0, 1.0),
    # demand items not completed in the window
    ("E", "feature", 0, 6.0, 12.0, 0, True, 5, 9.0, 9.0, 9.0, 9.0, True, 100.0, 5.0),  # completes at the end
    ("G", "ktlo", 0, 8.0, NAN, 0, False, 7, 0.0, 0.0, 0.0, 0.0, False, 0.0, 4.0),  # still open
    ("H", "feature", 0, 0.0, 1.0, 3, True, 9, 9.0, 1.0, 9.0, 9.0, True, 100.0, 1.0),  # done before the window
    # failure demand: incidents caused by escaped defects (D at 7, B at 11, C at 5)
    ("K", "incident", 1, 7.0, 10.0, 0, False, 6, 3.0, 1.0, 0.0, 0.0, False, 0.0, 0.8),
    ("L", "incident", 1, 11.0, 11.5, 0, False, 6, 3.0, 0.5, 0.0, 0.0, True, 0.0, 1.6),
    ("M", "incident", 1, 5.0, 12.5, 0, False, 6, 3.0, 1.0, 0.0, 0.0, True, 0.0, 0.8),  # completes after the end
]
ITEM_COLUMNS = (
    "name",
    "kind",
    "origin",
    "arrival",
    "completion",
    "reworks",
    "escaped",
    "handoffs",
    "queue_wait",
    "touch_time",
    "dependency_wait",
    "backlog_wait",
    "desk_resolved",
    "value",
    "effort",
)

# Ten ticks of the window (ticks 2 .. 11); capacity 4 person-days a tick.
SERIES = {
    "capacity_days": [4.0] * 10,
    "busy_new_days": [2.0] * 5 + [1.0] * 5,  # sum 15
    "busy_dependency_days": [0.5] * 10,  # sum 5
    "busy_rework_days": [1.0] * 5 + [0.0] * 5,  # sum 5
    "busy_learning_days": [0.0] * 8 + [1.0] * 2,  # sum 2
    "busy_switching_days": [0.3] * 10,  # sum 3 -> busy 15 + 5 + 5 + 2 + 3 = 30
    "idle_days": [99.0] * 10,  # not busy: must not count
    "utilisation": [99.0] * 10,  # a per-tick column the metric must not read
    "bought_days": [0.0, 0.0, 1.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 1.0],  # sum 4
    "provider_switches": [0, 1, 0, 0, 2, 0, 0, 1, 0, 0],  # sum 4
    "ktlo_skipped": [0, 1, 0, 0, 0, 1, 0, 0, 0, 1],  # sum 3
    "knowledge_held": [0.3, 0.3, 0.4, 0.4, 0.5, 0.5, 0.6, 0.6, 0.7, 0.7],  # sum 5.0
    "tech_debt": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],  # sum 4.5
    "cost": [4.0, 4.0, 5.5, 4.0, 4.0, 7.0, 4.0, 4.0, 4.0, 5.5],  # sum 46
    "run_knowledge": [0.2] * 5 + [0.4] * 5,  # sum 3.0
    "project_people": [0, 0, 1, 1, 2, 2, 1, 1, 0, 0],  # sum 8 person-days
    # Improvement work: person-days kept apart from the busy_ categories, but busy all the same.
    "improvement_days": [0.0, 0.0, 0.5, 0.5, 0.5, 0.5, 1.0, 1.0, 0.0, 1.0],  # sum 5 -> busy 30 + 5 = 35
    "effort_factor": [1.0, 1.0, 0.95, 0.95, 0.9, 0.9, 0.9, 0.85, 0.85, 0.8],  # last 0.8
    "defect_factor": [1.0] * 9 + [0.7],  # last 0.7
    "ktlo_factor": [1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9],  # last 0.9
    "improvements_done": [0, 0, 1, 0, 1, 0, 2, 0, 0, 1],  # sum 5
    "improvements_failed": [0, 1, 0, 0, 0, 0, 0, 0, 1, 0],  # sum 2
    "improvements_copied": [0, 0, 0, 3, 0, 1, 0, 2, 0, 0],  # sum 6
    # internal market: switches sum 4, of which 2 flip-backs; effort sent: 10 to the usual
    # providers, 4 to other internal ones, 6 outside (20 in all)
    "market_switches": [0, 2, 0, 0, 1, 0, 0, 1, 0, 0],
    "market_flipbacks": [0, 1, 0, 0, 0, 0, 0, 1, 0, 0],
    "market_default_days": [1.0] * 10,
    "market_alternate_days": [0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0],
    "market_external_days": [0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0, 0.0],
}
# Adoption share for every tick of the run (not just the window), 20 teams: k / 20.
ADOPTION = [k / 20 for k in (0, 0, 2, 4, 8, 10, 12, 16, 17, 18, 18, 19)]


def item_table(rows: list[tuple]) -> pd.DataFrame:
    """An item table shaped like the model's (``OrgModel.items.table()``) plus the ``value`` column run.py adds."""
    frame = pd.DataFrame(rows, columns=ITEM_COLUMNS)
    frame["kind"] = pd.Categorical(frame["kind"], categories=KIND_NAMES)
    frame["escaped"] = frame["escaped"].astype(bool)
    frame["desk_resolved"] = frame["desk_resolved"].astype(bool)
    frame["lead_time"] = frame["completion"] - frame["arrival"]
    return frame


def observe(items: pd.DataFrame, series: pd.DataFrame, adoption=(), start=START, end=END, spread_start=SPREAD_START):
    """``Observed`` as ``run_scenario`` builds it from a run's tables."""
    done_all = items[(items["completion"] >= start) & (items["completion"] < end)]
    return Observed(
        items=items[items["origin"] == 0],
        done=done_all[done_all["origin"] == 0],
        done_all=done_all,
        series=series,
        start=start,
        end=end,
        spread_start=spread_start,
        adoption=np.asarray(adoption, dtype=float),
    )


@pytest.fixture
def run() -> Observed:
    return observe(item_table(ITEM_ROWS), pd.DataFrame(SERIES), ADOPTION)


def value(name: str, observed: Observed):
    return METRICS[name](observed)


# Done in the window (demand): A, B, C, D, F, J; lead times 3, 10, 1, 2, 6, 1.5.
# Sorted: 1, 1.5, 2, 3, 6, 10 (n = 6, so h = 5 q).
EXPECTED = {
    # demand items: A B C D E F G H J = 9; completed (ever, not windowed): all but G = 8; open: G
    "items_arrived": 9,
    "items_completed": 8,
    "items_in_progress": 1,
    "throughput_per_tick": 6 / 10,  # 6 done in a 10-tick window (K, L are failure demand)
    "lead_time_mean_ticks": 23.5 / 6,  # (1 + 1.5 + 2 + 3 + 6 + 10) / 6
    "lead_time_p50_ticks": 2.5,  # h = 2.5: 2 + 0.5 (3 - 2)
    "lead_time_p85_ticks": 7.0,  # h = 4.25: 6 + 0.25 (10 - 6)  [at 0.80: h = 4 -> 6]
    "lead_time_p95_ticks": 9.0,  # h = 4.75: 6 + 0.75 (10 - 6)
    "queue_wait_mean_ticks": 4.0 / 6,  # A .5 + B 2 + C 0 + D .5 + F 1 + J 0
    "dependency_wait_mean_ticks": 0.75,  # (B 3 + F 1.5) / 6
    # touch / lead: A 1.5/3 = .5, B 2.5/10 = .25, C 1/1, D 1/2, F 3/6, J 1.5/1.5 = 1
    "flow_efficiency": 3.75 / 6,  # (.5 + .25 + 1 + .5 + .5 + 1) / 6
    # time inside [2, 12) per demand item: A 3-2 = 1, B 11-2 = 9, C 1, D 2, E 12-6 = 6,
    # F 6, G (open) 12-8 = 4, H 0 (left before), J 2.5-2 = .5: sum 29.5 over 10 ticks
    "wip_mean": 2.95,
    "utilisation": 35 / 40,  # busy 30 + improvement 5 of capacity 10 x 4
    # reworked or escaped: A (rework), B (both), C (escaped), D (escaped); not F, J
    "rework_rate": 4 / 6,
    "rework_effort_share": 5 / 35,  # rework 5 of busy 30 + improvement 5
    "change_failure_rate": 2 / 5,  # non-incidents A B D F J; escaped B, D (C is an incident)
    "failure_demand_share": 2 / 8,  # done_all = 6 demand + K + L (M completes after the end)
    "time_to_restore_mean_ticks": 1.5,  # incidents done: C 1, K 3, L 0.5 -> 4.5 / 3
    "delivery_frequency_per_tick": 5 / 10,  # non-incidents done, KTLO included: A B D F J
    "handoffs_per_item": 10 / 6,  # 3 + 0 + 1 + 2 + 4 + 0
    "adoption_final_share": 19 / 20,  # the last tick's share
    # from the spread start (tick 2): .1 .2 .4 .5 .6 .8 .85 .9 .9 .95
    "adoption_t50_ticks": 4,  # .5 is the 4th value (1 = after the first tick)
    "adoption_t90_ticks": 8,  # .9 is the 8th value  [at 0.8: 6th]
    "knowledge_held_mean": 0.5,  # 5.0 / 10
    "tech_debt_mean": 0.45,  # 4.5 / 10
    # skipped 3; KTLO demand arriving in [2, 12): D (5), G (8), not J (1) -> 3 / (3 + 2)
    "ktlo_skipped_share": 0.6,
    "backlog_wait_mean_ticks": 0.25,  # (B 1 + J .5) / 6
    "desk_resolved_share": 2 / 3,  # incidents done: C yes, K no, L yes
    "provider_switches_per_tick": 0.4,  # 4 switches / 10 ticks
    "bought_effort_share": 4 / 39,  # bought 4 of (busy 30 + improvement 5 + bought 4)
    "market_switches_per_tick": 0.4,  # 4 switches / 10 ticks
    "market_flipback_share": 0.5,  # 2 of the 4 switches went back
    "market_alternate_share": 0.2,  # 4 of 10 + 4 + 6
    "market_external_share": 0.3,  # 6 of 20
    "value_per_tick": 4.5,  # (10 + 20 + 2 + 4 + 8 + 1) / 10
    "cost_per_tick": 4.6,  # 46 / 10
    "value_for_money": 4.5 / 4.6,
    "run_knowledge_mean": 0.3,  # 3.0 / 10
    "feature_lead_time_mean_ticks": 19 / 3,  # features done: A 3, B 10, F 6 (E ends at 12, H before)
    "incidents_after_release_per_tick": 0.1,  # escaped features done: B only (C is an incident, D KTLO) / 10
    "project_people_share": 8 / 40,  # 8 person-days on projects of capacity 10 x 4
    "improvement_effort_share": 5 / 35,  # improvement 5 of busy 30 + improvement 5
    "improvements_done": 5,  # 1 + 1 + 2 + 1
    "improvements_failed": 2,
    "improvements_copied": 6,  # 3 + 1 + 2
    "effort_factor_final": 0.8,  # the window's last tick (11)
    "defect_factor_final": 0.7,
    "ktlo_factor_final": 0.9,
}

# Metrics another engineer is adding, with their own oracles.
OWNED_ELSEWHERE = {"stable", "backlog_growth_per_tick", "unfinished_share", "adoption_horizon_ticks"}


def test_every_registered_metric_has_an_oracle() -> None:
    missing = set(METRICS) - set(EXPECTED) - OWNED_ELSEWHERE
    assert not missing, f"metrics without a hand-worked oracle here: {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_metric_on_the_hand_built_run(run: Observed, name: str) -> None:
    got = value(name, run)
    want = EXPECTED[name]
    if isinstance(want, int) and name.startswith(("items_", "adoption_t")):
        assert got == want and isinstance(got, int)
    else:
        assert got == pytest.approx(want, rel=1e-12, abs=1e-15)


# --- edge cases: fills, thresholds and denominators -----------------------------------
def test_flow_efficiency_fills_zero_lead_time_with_one_and_clips_at_one() -> None:
    # lead 4, touch 1 -> .25; lead 2, touch 3 -> clipped to 1; lead 0 -> filled with 1
    rows = [
        ("P", "feature", 0, 3.0, 7.0, 0, False, 0, 0.0, 1.0, 0.0, 0.0, False, 0.0, 1.0),
        ("Q", "feature", 0, 4.0, 6.0, 0, False, 0, 0.0, 3.0, 0.0, 0.0, False, 0.0, 1.0),
        ("R", "feature", 0, 5.0, 5.0, 0, False, 0, 0.0, 0.0, 0.0, 0.0, False, 0.0, 1.0),
    ]
    observed = observe(item_table(rows), pd.DataFrame(SERIES), ADOPTION)
    assert value("flow_efficiency", observed) == pytest.approx(2.25 / 3)  # (.25 + 1 + 1) / 3


def test_metrics_on_a_window_where_nothing_is_done() -> None:
    # Only G (open) and H (done before the window): nothing completes in [2, 12).
    rows = [r for r in ITEM_ROWS if r[0] in ("G", "H")]
    observed = observe(item_table(rows), pd.DataFrame(SERIES), ADOPTION)
    for name in (
        "lead_time_mean_ticks",
        "lead_time_p50_ticks",
        "lead_time_p85_ticks",
        "lead_time_p95_ticks",
        "queue_wait_mean_ticks",
        "dependency_wait_mean_ticks",
        "flow_efficiency",
        "rework_rate",
        "change_failure_rate",
        "failure_demand_share",
        "time_to_restore_mean_ticks",
        "handoffs_per_item",
        "backlog_wait_mean_ticks",
        "desk_resolved_share",
        "feature_lead_time_mean_ticks",
    ):
        assert value(name, observed) is None, name
    assert value("incidents_after_release_per_tick", observed) == 0.0
    assert value("throughput_per_tick", observed) == 0.0
    assert value("delivery_frequency_per_tick", observed) == 0.0
    assert value("value_per_tick", observed) == 0.0
    assert value("wip_mean", observed) == pytest.approx(0.4)  # G: 12 - 8 = 4 over 10 ticks


def test_market_metrics_without_the_market_or_without_switches() -> None:
    # Market off: no market columns; nothing switched, nothing sent.
    series = pd.DataFrame(SERIES).drop(columns=[c for c in SERIES if c.startswith("market_")])
    observed = observe(item_table(ITEM_ROWS), series, ADOPTION)
    assert value("market_switches_per_tick", observed) == 0.0
    for name in ("market_flipback_share", "market_alternate_share", "market_external_share"):
        assert value(name, observed) is None, name
    # Market on, never a switch: no churn share to speak of.
    quiet = pd.DataFrame(SERIES).assign(market_switches=0, market_flipbacks=0)
    assert value("market_flipback_share", observe(item_table(ITEM_ROWS), quiet, ADOPTION)) is None


def test_ratio_metrics_without_a_denominator_are_none() -> None:
    series = pd.DataFrame(SERIES)
    for column in series.filter(like="busy_").columns:
        series[column] = 0.0
    series["bought_days"] = 0.0
    series["improvement_days"] = 0.0
    series["ktlo_skipped"] = 0
    no_ktlo = [r for r in ITEM_ROWS if r[1] != "ktlo"]
    observed = observe(item_table(no_ktlo), series, ADOPTION)
    assert value("rework_effort_share", observed) is None
    assert value("bought_effort_share", observed) is None
    assert value("improvement_effort_share", observed) is None
    assert value("ktlo_skipped_share", observed) is None
    assert value("utilisation", observed) == 0.0


def test_ktlo_skipped_share_counts_arrivals_in_the_window_only() -> None:
    # KTLO arrivals at 1 (before), 2 (first tick: in), 11.9 (in), 12 (the end: out); skipped 2
    # -> 2 / (2 + 2) = .5 ; every KTLO arrival would give 2 / 6, arrivals alone 2 / 2.
    rows = [
        (n, "ktlo", 0, t, NAN, 0, False, 0, 0.0, 0.0, 0.0, 0.0, False, 0.0, 1.0)
        for n, t in (("S", 1.0), ("T", 2.0), ("U", 11.9), ("V", 12.0))
    ]
    series = pd.DataFrame(SERIES)
    series["ktlo_skipped"] = [0, 0, 0, 1, 0, 0, 0, 0, 1, 0]
    assert value("ktlo_skipped_share", observe(item_table(rows), series, ADOPTION)) == 0.5


@pytest.mark.parametrize(
    ("shares", "t50", "t90"),
    [
        # from the spread start: .1 .2 .4 .5 .6 .8 .85 .9 .9 .95
        ([k / 20 for k in (0, 0, 2, 4, 8, 10, 12, 16, 17, 18, 18, 19)], 4, 8),
        # 17 of 20 (.85) and 8 of 9 (.889) stay below .9: t90 not reached
        ([k / 20 for k in (0, 0, 10, 16, 17, 17, 17, 17, 17, 17, 17, 17)], 1, None),
        ([0, 0, 4 / 9, 5 / 9, 8 / 9, 8 / 9, 8 / 9, 8 / 9, 8 / 9, 8 / 9, 8 / 9, 8 / 9], 2, None),
        # 9 of 10 is .9 exactly: reached on the 3rd tick
        ([0, 0, 0.2, 0.6, 0.9, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], 2, 3),
        # a share reached before the spread start does not count
        ([0.9, 0.9, 0.1, 0.1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], 3, None),
    ],
)
def test_adoption_crossing_ticks(shares: list[float], t50: int, t90: int | None) -> None:
    observed = observe(item_table(ITEM_ROWS), pd.DataFrame(SERIES), shares)
    assert value("adoption_t50_ticks", observed) == t50
    assert value("adoption_t90_ticks", observed) == t90


def test_adoption_final_share_of_an_empty_curve_is_zero() -> None:
    assert value("adoption_final_share", observe(item_table(ITEM_ROWS), pd.DataFrame(SERIES), [])) == 0.0


def test_change_failure_rate_and_delivery_frequency_count_ktlo_as_a_change() -> None:
    # Done: one KTLO (escaped), one incident (escaped). Changes: the KTLO only -> CFR 1/1,
    # delivery 1 / 10 ticks; dropping KTLO would give no changes (None, 0).
    rows = [
        ("W", "ktlo", 0, 2.0, 4.0, 0, True, 0, 0.0, 1.0, 0.0, 0.0, False, 0.0, 1.0),
        ("X", "incident", 0, 2.0, 4.0, 0, True, 0, 0.0, 1.0, 0.0, 0.0, False, 0.0, 1.0),
    ]
    observed = observe(item_table(rows), pd.DataFrame(SERIES), ADOPTION)
    assert value("change_failure_rate", observed) == 1.0
    assert value("delivery_frequency_per_tick", observed) == pytest.approx(0.1)


# --- the value and cost columns run.py adds before the metrics read them ---------------
def test_item_value_by_hand() -> None:
    """Defaults: feature 4, incident 2, KTLO 2 per person-day; 1% of value lost per tick of lead time."""
    rows = [
        ("a", "feature", 0, 0.0, 10.0, 0, False, 0, 0.0, 0.0, 0.0, 0.0, False, 0.0, 2.0),  # 4 x 2 x .90 = 7.2
        ("b", "incident", 0, 3.0, 4.0, 0, False, 0, 0.0, 0.0, 0.0, 0.0, False, 0.0, 1.0),  # 2 x 1 x .99 = 1.98
        ("c", "ktlo", 0, 0.0, 50.0, 0, False, 0, 0.0, 0.0, 0.0, 0.0, False, 0.0, 3.0),  # 2 x 3 x .5 = 3
        ("d", "ktlo", 0, 0.0, 250.0, 0, False, 0, 0.0, 0.0, 0.0, 0.0, False, 0.0, 3.0),  # 1 - 2.5 -> 0
        ("e", "incident", 1, 0.0, 1.0, 0, False, 0, 0.0, 0.0, 0.0, 0.0, False, 0.0, 1.0),  # failure demand: 0
        ("f", "feature", 0, 0.0, NAN, 0, False, 0, 0.0, 0.0, 0.0, 0.0, False, 0.0, 1.0),  # open: 0
    ]
    got = item_value(item_table(rows), Scenario())
    assert got.tolist() == pytest.approx([7.2, 1.98, 3.0, 0.0, 0.0, 0.0])


def test_tick_cost_by_hand() -> None:
    """Every person-day costs 2 here; a bought person-day 1.5 times as much."""
    scenario = Scenario.model_validate({"value": {"cost_per_person_day": 2.0}})
    series = pd.DataFrame({"capacity_days": [4.0, 4.0], "bought_days": [0.0, 2.0]})
    assert tick_cost(series, scenario).tolist() == pytest.approx([8.0, 14.0])  # 2 x 4; 2 x (4 + 2 x 1.5)


# --- model level: the recorder against the item table, mechanisms with exact effects -------
# Everything that makes work longer than its effort or adds work is off unless a test says so.
QUIET = {
    "simulation": {"ticks": 40, "warmup_ticks": 5},
    "organisation": {"teams": 4, "team_size": 2, "services": 6, "self_service_share": 0.0},
    "demand": {"arrival_rate": 1.5, "effort": {"mean_days": 1.0}},
    "handoff": {"delay_ticks": 0.0, "loss_prob": 0.0},
    "quality": {"base_defect_prob": 0.0},
    "knowledge": {"unfamiliarity_penalty": 0.0},
    "context_switching": {"loss_by_concurrency": [0.0]},
    "spread": {"initial_adopters": 0, "external_prob": 0.0, "imitation_prob": 0.0, "capacity_coupling": False},
}


def scenario(**sections) -> Scenario:
    data = {k: dict(v) for k, v in QUIET.items()}
    for key, section in sections.items():
        if isinstance(section, dict):
            data[key] = data.get(key, {}) | section
        else:
            data[key] = section
    return Scenario.model_validate(data)


@pytest.mark.parametrize("structure", ["central_it", "micro_provider"])
@pytest.mark.parametrize("defects", [0.0, 0.3])
def test_recorded_wip_arrivals_and_completions_match_the_item_table(structure: str, defects: float) -> None:
    """The model's own open-item count at the end of tick t equals, from the item table,
    items that arrived before t + 1 less those completed before t + 1 (failure demand
    included: it is open work too); arrivals and completions per tick likewise."""
    config = scenario(structure=structure, quality={"base_defect_prob": defects, "early_detection_prob": 0.5})
    result = run_scenario(config, seed=11)
    items, series = result.items, result.series
    ends = np.arange(1, len(series) + 1)  # the end of tick t is time t + 1
    arrived = np.searchsorted(np.sort(items["arrival"].to_numpy()), ends, side="left")
    completion = np.sort(items["completion"].dropna().to_numpy())
    completed = np.searchsorted(completion, ends, side="left")
    assert series["wip"].max() > 2  # a run where the count moves
    np.testing.assert_array_equal(series["wip"].to_numpy(), arrived - completed)
    per_tick = np.bincount(np.minimum(items["arrival"].to_numpy().astype(int), len(series) - 1), minlength=len(series))
    np.testing.assert_array_equal(series["arrivals"].to_numpy(), per_tick)
    done_ticks = np.minimum(completion.astype(int), len(series) - 1)
    np.testing.assert_array_equal(series["completions"].to_numpy(), np.bincount(done_ticks, minlength=len(series)))


def test_one_person_serves_fixed_effort_items_first_come_first_served() -> None:
    """One team of one, one service, features only, effort fixed at 2.5 days, no friction:
    a single FIFO server, so completion = max(arrival, previous completion) + 2.5 (Lindley's
    recursion). From those times alone: the open count at each tick's end and the busy
    person-days per tick (the overlap of [completion - 2.5, completion) with the tick)."""
    config = scenario(
        structure="micro_provider",
        organisation={"teams": 1, "team_size": 1, "services": 1},
        demand={
            "arrival_rate": 0.3,
            "kinds": {"feature": 1.0, "incident": 0.0, "ktlo": 0.0},
            "effort": {"distribution": "fixed", "mean_days": 2.5},
        },
    )
    result = run_scenario(config, seed=3)
    arrivals = result.items["arrival"].to_numpy()
    assert len(arrivals) >= 8
    finish, previous = [], -math.inf
    for arrival in arrivals:
        previous = max(arrival, previous) + 2.5
        finish.append(previous)
    finish = np.array(finish)
    done = finish < 40
    np.testing.assert_allclose(result.items["completion"].to_numpy()[done], finish[done], rtol=0, atol=1e-9)
    assert result.items["completion"].isna().sum() == (~done).sum()
    ends = np.arange(1, 41)
    open_count = (arrivals[:, None] < ends).sum(axis=0) - (finish[:, None] < ends).sum(axis=0)
    np.testing.assert_array_equal(result.series["wip"].to_numpy(), open_count)
    lo, hi = np.arange(40), np.arange(1, 41)
    overlap = np.clip(np.minimum(finish[:, None], hi) - np.maximum(finish[:, None] - 2.5, lo), 0, None)
    busy = result.series.filter(like="busy_").sum(axis=1).to_numpy()
    np.testing.assert_allclose(busy, overlap.sum(axis=0), rtol=0, atol=1e-9)
    np.testing.assert_allclose(result.series["busy_new_days"].to_numpy(), busy, rtol=0, atol=1e-12)


def market_scenario(**sourcing) -> Scenario:
    """Two teams, each owning one service that depends on the other's; every item touches its
    dependency, so consumers send requests and the market has providers to judge."""
    base = {
        "enabled": True,
        "review_ticks": 1,
        "external_lead_ticks": 0.01,
        "failure_weight": 0.0,
        "switch_margin": 0.0,
        "switch_cost_days": 0.0,
    }
    return scenario(
        structure="micro_provider",
        simulation={"ticks": 60, "warmup_ticks": 5},
        organisation={"teams": 2, "team_size": 2, "services": 2, "dependencies_per_service": 1.0},
        demand={"arrival_rate": 1.0, "dependency_touch_prob": 1.0, "dependency_effort_share": 0.5},
        handoff={"delay_ticks": 1.0},
        sourcing=base | sourcing,
    )


@pytest.mark.parametrize(("defect_prob", "defective"), [(0.0, False), (1.0, True)])
def test_bought_requests_bring_defects_with_the_external_defect_chance(defect_prob: float, defective: bool) -> None:
    """No other source of defects: with chance 0 nothing is reworked or escapes even though
    work is bought; with chance 1 every item with a bought request is defective."""
    config = market_scenario(external_defect_prob=defect_prob)
    config = config.model_copy(update={"quality": config.quality.model_copy(update={"early_detection_prob": 1.0})})
    result = run_scenario(config, seed=5)
    assert result.series["bought_days"].sum() > 0  # work was bought
    reworked = int((result.items["reworks"] > 0).sum())
    escaped = int(result.items["escaped"].sum())
    if defective:
        assert reworked > 0  # early detection is certain, so every defect is reworked
    else:
        assert reworked == escaped == 0


def test_each_provider_switch_is_recorded_and_costs_its_migration() -> None:
    """Two consumers, each using the other's service, find the outside provider better at the
    first review (internal turnaround 100 ticks against 0.01): exactly two switches, at tick 0,
    and none back; each costs the consumer 3 person-days of dependency work. No demand, so
    nothing else is booked: dependency work = 2 x 3 = 6 person-days."""
    config = market_scenario(switch_cost_days=3.0)
    config = config.model_copy(update={"demand": config.demand.model_copy(update={"arrival_rate": 0.0})})
    model = OrgModel(config, seed=1)
    market, owners = model.structure.market, model.structure.owners
    assert sorted(owners.tolist()) == [0, 1]
    for consumer in (0, 1):
        market.used[consumer, int(np.flatnonzero(owners != consumer)[0])] = True
    market.scores.seen[:] = True
    market.scores.turnaround[:] = 100.0
    model.run()
    series = model.recorder.frame()
    assert series["provider_switches"].tolist() == [2] + [0] * 59
    assert market.external.sum() == 2
    assert series["busy_dependency_days"].sum() == pytest.approx(6.0)
    assert series.filter(like="busy_").to_numpy().sum() == pytest.approx(6.0)
    # the migrations start at the next tick (1), one per team (2 people each): 3 days each
    assert series["busy_dependency_days"].iloc[1:4].tolist() == pytest.approx([2.0, 2.0, 2.0])


def test_run_summary_reads_the_window_and_demand_as_documented() -> None:
    """``run_scenario`` builds ``Observed`` inline; its summary must equal the metrics applied
    to the run's own tables cut as documented: demand items, completions and series rows in
    [warm-up, horizon), adoption from the spread start."""
    config = scenario(structure="micro_provider", quality={"base_defect_prob": 0.3, "early_detection_prob": 0.5})
    result = run_scenario(config, seed=7)
    start, end = config.simulation.warmup_ticks, config.simulation.ticks
    own = observe(
        result.items,
        result.series.iloc[start:end],
        result.series["adoption_share"].to_numpy(),
        start=start,
        end=end,
        spread_start=config.spread_start_tick,
    )
    assert (result.items["origin"] == 1).any()  # failure demand present, to be told apart
    assert (result.items["completion"] < start).any()  # completions before the window, to be left out
    for name in EXPECTED:
        want, got = METRICS[name](own), result.summary[name]
        assert (got is None) == (want is None), name
        if want is not None:
            assert got == pytest.approx(want, rel=1e-12, abs=1e-15), name

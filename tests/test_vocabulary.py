"""The vocabulary: every metric and common scenario key has a plain name, a unit and a
meaning; numbers and p-values have fixed formats; a tick reads as a day."""

from __future__ import annotations

import math

import pytest

from sim.metrics import METRICS, TERMS, term
from sim.scenario.reference import reference_rows
from sim.scenario.vocabulary import KEYS, UNITS, format_number, format_p, key_term, side_name


def test_every_metric_has_a_term_with_a_known_unit_and_a_meaning() -> None:
    assert list(TERMS) == list(METRICS)
    for name, t in TERMS.items():
        assert t.name and t.name == t.name.lower(), name
        assert t.unit in UNITS, name
        assert t.meaning.endswith("."), name


def test_times_in_ticks_read_as_days_and_rates_per_tick_as_per_day() -> None:
    for name, t in TERMS.items():
        if name.endswith("_ticks"):
            assert t.unit == "days", name
        if name.endswith("_per_tick"):
            assert "per day" in UNITS[t.unit].text, name
        assert "tick" not in t.label().lower(), name


def test_every_common_key_exists_and_takes_its_meaning_from_the_schema() -> None:
    keys = {row[0]: row[4] for row in reference_rows()}
    for key in KEYS:
        t = key_term(key)
        assert t is not None and t.meaning == keys[key], key
        assert t.unit in UNITS
    assert term("handoff.delay_ticks").label() == "Handoff delay (days)"
    assert term("not.a.key").label() == "Not.a.key"


@pytest.mark.parametrize(
    ("p", "text"),
    [(1.394e-16, "< 0.001"), (0.000999, "< 0.001"), (0.001, "0.001"), (0.04123, "0.041"), (1.0, "1.000")],
)
def test_p_values_read_below_a_thousandth_or_with_three_decimals(p: float, text: str) -> None:
    assert format_p(p) == text


def test_missing_values_and_p_values_read_n_a() -> None:
    assert format_p(math.nan) == format_p(None) == format_number(math.nan, "days") == "n/a"


def test_each_unit_has_its_fixed_precision() -> None:
    assert term("lead_time_mean_ticks").amount(8.0891) == "8.1 days"
    assert term("throughput_per_tick").amount(8.9) == "8.90 items per day"
    assert term("rework_rate").amount(0.31127) == "31.1%"
    assert term("rework_rate").difference(-0.1668) == "-16.7 percentage points"
    assert term("stable").number(True) == "yes"


def test_structures_have_plain_names_and_other_labels_stay() -> None:
    assert (side_name("central_it"), side_name("micro_provider")) == ("Central IT", "Micro-providers")
    assert side_name("slow_handoffs") == "slow_handoffs"

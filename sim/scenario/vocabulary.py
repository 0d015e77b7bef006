"""The words and numbers people read: a plain name, a unit and a one-line meaning per term,
and the fixed formats every table, figure, report and sentence uses.

A tick is one working day (``simulation.ticks``), so a time in ticks is shown in days and
a rate per tick per day. Shares (fractions in [0, 1]) are shown as percentages, their
differences in percentage points. This module holds the units, the formats and the common
scenario keys (:data:`KEYS`, their meaning is the schema's description); the metrics'
terms sit beside their registry (:data:`sim.metrics.TERMS`), and :func:`sim.metrics.term`
finds either."""

from __future__ import annotations

import math
from dataclasses import dataclass

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: the CLI may read this module before --help
if TYPE_CHECKING:
    from typing import Any

TICK = "day"  # what one tick is called (1 tick = 1 working day)


@dataclass(frozen=True)
class Unit:
    """How values of one unit are written: ``text`` after a number, ``digits`` after the point;
    a ``share`` is a fraction shown as a percentage (its differences in percentage points)."""

    text: str
    digits: int
    share: bool = False


UNITS = {
    "days": Unit("days", 1),
    "items per day": Unit("items per day", 2),
    "items": Unit("items", 1),
    "count": Unit("items", 0),
    "share": Unit("%", 1, share=True),
    "per item": Unit("per item", 2),
    "per day": Unit("per day", 2),
    "teams": Unit("teams", 0),
    "people": Unit("people", 0),
    "services": Unit("services", 0),
    "value per day": Unit("value per day", 1),
    "cost per day": Unit("cost per day", 1),
    "person-days": Unit("person-days", 1),
    "ratio": Unit("", 2),
    "yes/no": Unit("", 0),
    "": Unit("", 2),
}


@dataclass(frozen=True)
class Term:
    """A metric or scenario key in plain words: ``name`` (lower case, no unit), ``unit`` (a key
    of :data:`UNITS`) and ``meaning`` (one line)."""

    name: str
    unit: str
    meaning: str = ""

    def label(self) -> str:
        """Axis and row label: the name with its unit, e.g. "Lead time, mean (days)"."""
        unit = UNITS[self.unit].text
        head = self.name[:1].upper() + self.name[1:]
        return f"{head} ({unit})" if unit else head

    def number(self, value: object) -> str:
        """``value`` at this unit's fixed precision, without the unit ("n/a" when missing)."""
        return format_number(value, self.unit)

    def amount(self, value: object) -> str:
        """``value`` with its unit, e.g. "3.6 days", "31.2%"."""
        text = self.number(value)
        unit = UNITS[self.unit]
        return text if unit.share or not unit.text or text == "n/a" else f"{text} {unit.text}"

    def difference(self, value: object) -> str:
        """A difference of two values with its unit: shares in percentage points."""
        if UNITS[self.unit].share and _finite(value):
            return f"{100 * float(value):.{UNITS[self.unit].digits}f} percentage points"  # type: ignore[arg-type]
        return self.amount(value)


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def format_number(value: object, unit: str = "") -> str:
    """``value`` at the fixed precision of ``unit``: shares as percentages, "n/a" when missing."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not _finite(value):
        return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    spec = UNITS[unit]
    number = float(value)  # type: ignore[arg-type]
    if spec.share:
        return f"{100 * number:.{spec.digits}f}%"
    return f"{number:.{spec.digits}f}"


def format_p(p: object) -> str:
    """A p-value as "< 0.001" or with three decimals ("n/a" when there is none)."""
    if not _finite(p):
        return "n/a"
    return "< 0.001" if float(p) < 0.001 else f"{float(p):.3f}"  # type: ignore[arg-type]


# Structures (and their scenario files' default names) as people call them.
STRUCTURES = {"central_it": "Central IT", "micro_provider": "Micro-providers"}


def side_name(label: object) -> str:
    """A compared side in plain words: a structure's plain name, any other label as given."""
    return STRUCTURES.get(str(label), str(label))


# The scenario keys people sweep and read most: plain name and unit (the meaning is the
# schema's field description, see :func:`key_term`).
KEYS: dict[str, tuple[str, str]] = {
    "structure": ("structure", ""),
    "simulation.ticks": ("run length", "days"),
    "simulation.warmup_ticks": ("warm-up", "days"),
    "organisation.teams": ("teams", "teams"),
    "organisation.team_size": ("team size", "people"),
    "organisation.services": ("services", "services"),
    "organisation.dependencies_per_service": ("dependencies per service", ""),
    "organisation.demand_skew": ("demand skew across services", ""),
    "organisation.self_service_share": ("self-service share", "share"),
    "demand.arrival_rate": ("demand", "items per day"),
    "demand.effort.mean_days": ("mean effort per item", "person-days"),
    "demand.effort.cv": ("effort variability (CV)", ""),
    "demand.dependency_touch_prob": ("chance an item touches a dependency", "share"),
    "handoff.delay_ticks": ("handoff delay", "days"),
    "handoff.loss_prob": ("information lost at a handoff", "share"),
    "quality.base_defect_prob": ("defect chance", "share"),
    "quality.early_detection_prob": ("defects found before release", "share"),
    "knowledge.learning_rate": ("learning rate", ""),
    "knowledge.forgetting_rate": ("forgetting per day", "share"),
    "context_switching.waiting_weight": ("weight of waiting work in switching", ""),
    "spread.initial_adopters": ("first adopters", "teams"),
    "spread.imitation_prob": ("imitation chance per day", "share"),
    "spread.external_prob": ("outside adoption chance per day", "share"),
    "spread.mandate_lag_ticks": ("mandate delay", "days"),
    "spread.learning_cost": ("capacity lost while learning", "share"),
    "relationship.mode": ("relationship between teams", ""),
    "relationship.negotiation_ticks": ("negotiation before transferred work starts", "days"),
    "relationship.over_ask_factor": ("over-ask factor on transferred work", "ratio"),
    "relationship.swarm_share": ("share of a person lent per transfer", "share"),
}


def key_term(key: str) -> Term | None:
    """The :class:`Term` of a common scenario key (meaning from the schema), None for others."""
    if key not in KEYS:
        return None
    from sim.scenario.schema import Scenario  # here: the schema loads pydantic

    model: Any = Scenario
    for part in key.split("."):
        field = model.model_fields[part]
        model = field.annotation
    name, unit = KEYS[key]
    return Term(name, unit, field.description or "")

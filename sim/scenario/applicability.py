"""Scenario keys that act under one structure only, and why: the one table the scenario
reference, the command line's note and docs/ODD.md read. Every other key can act under
both structures; tests/test_applicability.py checks each row by running the other
structure with the key changed."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, get_args

from sim.scenario.schema import Scenario

STRUCTURES: tuple[str, ...] = get_args(Scenario.model_fields["structure"].annotation)


@dataclass(frozen=True)
class Scope:
    """Where a key acts: under ``structure`` only, or also under the other structure
    unless the scenario's ``unless_key`` is ``unless_value``."""

    structure: str
    reason: str
    unless_key: str = ""
    unless_value: Any = None

    def inert_under(self, structure: str, values: Mapping[str, Any]) -> bool:
        """True if a key of this scope has no effect under ``structure`` given the scenario ``values``."""
        if structure == self.structure:
            return False
        return not self.unless_key or lookup(values, self.unless_key) == self.unless_value

    def label(self) -> str:
        """How the reference names it: ``micro_provider only`` or the condition."""
        if not self.unless_key:
            return f"{self.structure} only"
        others = ", ".join(s for s in STRUCTURES if s != self.structure)
        return f"{self.structure}; {others} only if {self.unless_key} ≠ {self.unless_value}"


ONE_STRUCTURE: dict[str, Scope] = {
    "central_it": Scope(
        "central_it",
        "micro-providers are cross-functional teams that do an item end to end: there are no stages to split it into",
    ),
    "micro_provider": Scope(
        "micro_provider",
        "it orders requests (dependency work one team asks of a service's owner) against the owner's own items; "
        "in central IT nobody owns a service, every task is a stage of the item itself, so there are no requests",
    ),
    "sourcing": Scope(
        "micro_provider",
        "make-or-buy replaces an internal provider of a service by an external one; in central IT no team "
        "provides a service to another (silos pass on stages of the same item), so there is no provider to replace",
    ),
    "organisation.self_service_share": Scope(
        "micro_provider",
        "self-service lets a consumer do dependency work itself instead of requesting it from the owner; in central "
        "IT every item passes the silos and nobody owns a service, so only the effort factor carries over",
        unless_key="organisation.self_service_effort_factor",
        unless_value=1.0,
    ),
}
"""Dotted key or section -> its scope; a section covers every key under it."""


def scope_of(key: str) -> Scope | None:
    """The scope of ``key`` (``sourcing.enabled``, ``central_it.stages[].name``), or None if
    it can act under both structures."""
    parts = key.replace("[]", "").split(".")
    for end in range(len(parts), 0, -1):
        found = ONE_STRUCTURE.get(".".join(parts[:end]))
        if found is not None:
            return found
    return None


def given_keys(file_keys: Mapping[str, str | None], scenario: Scenario) -> list[str]:
    """The keys a scenario's file chain gives: those set to other than the default, except
    those a base file sets for the structure it runs (``file_keys`` maps each key to the
    structure of the base that sets it, None where the named file sets it)."""
    values = scenario.model_dump(mode="json")
    defaults = Scenario().model_dump(mode="json")
    given = []
    for key, structure in file_keys.items():
        scope = scope_of(key)
        if lookup(values, key) != lookup(defaults, key) and not (scope and scope.structure == structure):
            given.append(key)
    return given


def ignored(keys: Iterable[str], structures: Collection[str], scenario: Scenario) -> dict[str, Scope]:
    """The ``keys`` that have no effect under any of ``structures`` (in ``scenario``), with their scope."""
    values = scenario.model_dump(mode="json")
    found = {}
    for key in dict.fromkeys(keys):
        scope = scope_of(key)
        if scope is not None and all(scope.inert_under(s, values) for s in structures):
            found[key] = scope
    return found


def note(keys: Mapping[str, Scope], structures: Collection[str]) -> str:
    """One line saying which ``keys`` have no effect under which of the ``structures`` run,
    and where they apply."""
    groups: dict[tuple[str, str, Any], list[str]] = {}
    for key, scope in keys.items():
        groups.setdefault((scope.structure, scope.unless_key, scope.unless_value), []).append(key)
    parts = []
    for (structure, unless_key, unless_value), names in groups.items():
        many = len(names) > 1
        under = " or ".join(s for s in structures if s != structure)
        where = f"{'they apply' if many else 'it applies'} to {structure} only"
        if unless_key:
            where += f" while {unless_key} = {unless_value}"
        parts.append(f"{', '.join(names)} {'have' if many else 'has'} no effect under {under} ({where})")
    return "; ".join(parts)


def lookup(values: Mapping[str, Any], key: str) -> Any:
    """The value at dotted ``key`` in nested ``values`` (None if absent)."""
    node: Any = values
    for part in key.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node

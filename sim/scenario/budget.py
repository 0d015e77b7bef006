"""What a run will need, estimated from its scenario alone, so that validation can refuse a
scenario that would exhaust the machine instead of starting it.

The estimate adds the model's largest parts: the team-by-team matrix of work ties (4 bytes a
pair), the team-by-service knowledge matrix (8 bytes a cell), the service dependency network
(drawn as a networkx graph, about ``EDGE_BYTES`` an edge), and every work item the run is
expected to create (arrivals x ticks, each item with its tasks, log row and table row about
``ITEM_BYTES``; measured about 1.3 KiB, rounded up for escaped-defect incidents), on top of
``BASE_BYTES`` for the interpreter and libraries."""

from __future__ import annotations

from sim.scenario.errors import ScenarioError
from sim.scenario.schema import Scenario

BASE_BYTES = 200 * 2**20
ITEM_BYTES = 2 * 2**10
TIE_BYTES = 4
KNOWLEDGE_BYTES = 8
EDGE_BYTES = 256  # a networkx DiGraph edge: adjacency dict entries both ways


def memory_estimate(scenario: Scenario) -> dict[str, float]:
    """Bytes each large part of a run of ``scenario`` needs, keyed by the scenario key that sizes it."""
    org = scenario.organisation
    items = scenario.demand.arrival_rate * scenario.simulation.ticks
    edges = org.services * min(org.dependencies_per_service, org.services - 1)
    return {
        "organisation.dependencies_per_service": edges * EDGE_BYTES,
        "organisation.teams": float(org.teams) ** 2 * TIE_BYTES + float(org.teams) * org.services * KNOWLEDGE_BYTES,
        "demand.arrival_rate or simulation.ticks": items * ITEM_BYTES,
    }


def check_memory(scenario: Scenario, limit: float, source: str) -> None:
    """Refuse ``scenario`` (ScenarioError, one line) if a run would need more than ``limit`` bytes,
    naming the estimate, its largest part's key and ``--max-memory``."""
    parts = memory_estimate(scenario)
    total = BASE_BYTES + sum(parts.values())
    if total <= limit:
        return
    key = max(parts, key=parts.__getitem__)
    items = scenario.demand.arrival_rate * scenario.simulation.ticks
    raise ScenarioError(
        f"{source}: a run needs about {size_text(total)} of memory ({scenario.organisation.teams} teams x "
        f"{scenario.organisation.services} services, about {items:.3g} work items), over the limit of "
        f"{size_text(limit)}; lower {key} or raise --max-memory"
    )


def size_text(size: float) -> str:
    """``size`` bytes as a short text in binary units (e.g. 37.3 GiB)."""
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
    power = 0
    while size >= 1024 and power < len(units) - 1:
        size /= 1024
        power += 1
    return f"{size:.3g} {units[power]}"

"""Work items (what the business asks for) and tasks (a piece of an item queued at a pool)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.model.team import Pool, Team

FEATURE, INCIDENT, KTLO = 0, 1, 2
KIND_NAMES = ("feature", "incident", "ktlo")
FROM_DEMAND, FROM_ESCAPED_DEFECT = 0, 1

# Effort categories a task's productive time is booked to.
NEW, DEPENDENCY, REWORK = 0, 1, 2


@dataclass(slots=True, eq=False)
class WorkItem:
    """One unit of demand, followed from arrival to release."""

    id: int
    kind: int
    origin: int
    service: int
    deps: tuple[int, ...]
    effort: float
    arrival: float
    plan_services: tuple[int, ...] = ()
    plan_efforts: tuple[float, ...] = ()
    planned: float = 0.0
    completion: float = float("nan")
    defects: int = 0
    reworks: int = 0
    escaped: bool = False
    handoffs: int = 0
    queue_wait: float = 0.0
    touch_time: float = 0.0
    dependency_wait: float = 0.0
    open_parts: int = 0
    own_done: float = 0.0
    requests: list[Task] = field(default_factory=list)
    intake_unit: int = -1
    backlog_wait: float = 0.0
    escalated: bool = False
    desk_resolved: bool = False
    order: int = -1  # place in arrival order, set when it arrives
    holders: list[Team] = field(default_factory=list)  # teams that worked on it, until it is released


@dataclass(slots=True, eq=False)
class Task:
    """Work on one item waiting at, or being done by, a pool's people."""

    item: WorkItem
    pool: Pool | None
    services: tuple[int, ...]
    service_efforts: tuple[float, ...]
    category_efforts: tuple[float, float, float]
    priority: int
    effort: float = 0.0
    stage: int = 0
    is_request: bool = False
    opens: bool = True  # the team doing it takes on the item (holds it until it is released)
    holds: bool = False  # set at start: the team doing it holds the item
    rework: bool = False
    scale: float = 1.0
    ready: float = 0.0
    seq: int = 0
    from_team: Team | None = None
    team: Team | None = None
    switch_loss: float = 0.0
    unfamiliarity: float = 0.0
    defective: bool = False
    bought: bool = False
    handler: object = None
    improving: bool = False  # improvement work: its productive time is booked as improvement
    # Internal market (sim/model/market.py): who sent the piece, of which unit, to which provider, when.
    consumer: int = -1
    unit: int = -1
    provider: int = -1
    sent: float = 0.0

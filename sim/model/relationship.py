"""The relationship on a transfer of work between teams: the practitioners' critique of
internal "service provider" and "customer" roles, and its alternative, collaboration.

A transfer is any handoff from one of the organisation's teams to another, under either
structure: a request from a consumer to a service's owner (micro-providers), a stage
handed to the next silo or a rework pass handed back (central IT, each silo the internal
provider of the next stage's work). The relationship (``relationship.mode``) decides what
a transfer costs besides the handoff itself:

- ``provider_customer``: the receiver negotiates before work can start
  (``negotiation_ticks`` after the handoff delay), and the sending "customer" over-asks:
  the effort of the transferred work is inflated by ``over_ask_factor``; a rework pass is
  not, its scope is set by the defect it mends.
- ``collaboration``: the sender's people join the receiver's work on it (swarming). When
  the receiver starts, ``swarm_share`` s of a person joins from the sender: the receiver
  does 1/(1+s) of the effort, and a helper task with s/(1+s) of it goes to the front of
  the sender's own queue; the transfer is done when both parts are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.scenario.schema import Relationship as RelationshipConfig

if TYPE_CHECKING:
    from sim.model.org_model import OrgModel
    from sim.model.team import Team
    from sim.model.work import Task

HELPER_PRIORITY = -1
"""Ahead of every queued task (task priorities are >= 0): the help comes before the sender's own work."""


def negotiation_delay(config: RelationshipConfig) -> float:
    """Ticks a transfer waits for negotiation after its handoff delay (0 unless provider/customer)."""
    return config.negotiation_ticks if config.mode == "provider_customer" else 0.0


def scaled(task: Task, factor: float) -> tuple[tuple[float, ...], tuple[float, float, float], float]:
    """``task``'s effort per service, per category and in all, each times ``factor``."""
    new, dependency, rework = task.category_efforts
    efforts = tuple(e * factor for e in task.service_efforts)
    return efforts, (new * factor, dependency * factor, rework * factor), task.effort * factor


def scale(task: Task, factor: float) -> None:
    """Multiply ``task``'s effort, its effort per service and per category by ``factor``."""
    task.service_efforts, task.category_efforts, task.effort = scaled(task, factor)


class Relationship:
    """The rules a transfer follows under the scenario's relationship."""

    def __init__(self, model: OrgModel) -> None:
        config = model.config.relationship
        self.model = model
        self.negotiation = negotiation_delay(config)
        self.over_ask = config.over_ask_factor if config.mode == "provider_customer" else 1.0
        self.swarm_share = config.swarm_share if config.mode == "collaboration" else 0.0

    def transfer(self, task: Task, sender: Team) -> None:
        """``task`` passes from ``sender`` to another team, its ready time already set by the handoff."""
        task.ready += self.negotiation
        if self.over_ask != 1.0 and not task.rework:
            scale(task, self.over_ask)
        if self.swarm_share > 0:
            Swarm(self.model, task, sender, self.swarm_share)


class Swarm:
    """The sender's help with one transferred task: it becomes the task's handler, splits the
    work when the receiver starts and hands the task on to its own handler (by default the
    structure) when both parts are done."""

    __slots__ = ("helper", "inner", "model", "parts", "sender", "share", "task")

    def __init__(self, model: OrgModel, task: Task, sender: Team, share: float) -> None:
        self.model, self.task, self.sender, self.share = model, task, sender, share
        self.inner = task.handler
        self.helper: Task | None = None
        self.parts = 1
        task.handler = self

    def on_start(self, task: Task, now: float) -> None:
        """The receiver starts: keep 1/(1+s) of the work, lend s/(1+s) to the sender's queue."""
        if task is not self.task:
            return  # the helper starting changes nothing
        model = self.model
        (self.inner or model.structure).on_start(task, now)
        efforts, categories, effort = scaled(task, self.share / (1 + self.share))
        helper = model.new_task(
            task.item, self.sender.pool, task.services, efforts, categories, effort,
            is_request=True, rework=task.rework, handler=self,
        )  # fmt: skip
        helper.priority = HELPER_PRIORITY
        scale(task, 1 / (1 + self.share))
        self.helper = helper
        self.parts = 2
        model.enqueue(helper, now)

    def on_done(self, task: Task, now: float) -> None:
        """One part is done; when both are, the transfer is, for the task's own handler."""
        self.parts -= 1
        if not self.parts:
            (self.inner or self.model.structure).on_done(self.task, now)

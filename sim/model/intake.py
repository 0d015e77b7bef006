"""Intake policies: how much work the organisation lets in at once.

``queue``: every item enters at once and waits in the queues until someone is free.
``accept_all``: every item enters at once and counts as open work for the people it is
queued at (everyone's number one: nothing postponed), so switching costs grow with it.
``wip_limit``: an item enters only while its intake (central IT: the whole organisation;
micro-providers: the owner team) has fewer open items than the limit per person; the rest
wait in a backlog in priority order, and lead time still counts from arrival."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable

from sim.model.work import WorkItem
from sim.scenario.schema import Intake


class WipLimit:
    """Admits items per intake unit up to ``wip_limit_per_person x people`` open items."""

    def __init__(self, config: Intake, people: list[int], rank: Callable[[WorkItem], int]) -> None:
        self.limits = [config.wip_limit_per_person * p for p in people]
        self.open = [0] * len(people)
        self.backlogs: list[list[tuple[int, float, int, float, WorkItem]]] = [[] for _ in people]
        self.rank = rank
        self._seq = itertools.count()

    def offer(self, item: WorkItem, unit: int, now: float) -> bool:
        """True if ``item`` may enter now (and count it), otherwise keep it in the backlog."""
        item.intake_unit = unit
        if self.open[unit] < self.limits[unit]:
            self.open[unit] += 1
            return True
        heapq.heappush(self.backlogs[unit], (self.rank(item), item.arrival, next(self._seq), now, item))
        return False

    def release(self, item: WorkItem, now: float) -> WorkItem | None:
        """``item`` left its unit: the next backlog item, which enters now in its place."""
        backlog = self.backlogs[item.intake_unit]
        if backlog:
            *_, since, following = heapq.heappop(backlog)
            following.backlog_wait = now - since
            return following
        self.open[item.intake_unit] -= 1
        return None

    def waiting(self) -> int:
        return sum(map(len, self.backlogs))

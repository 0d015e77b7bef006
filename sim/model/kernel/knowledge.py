"""What the teams know of the services (docs/ODD.md 7.4): read, written, forgotten, and the
most any team knows of each service.

Forgetting takes a share ``forgetting_rate`` of every value each tick, a multiplication by
``1 - forgetting_rate``. A standing team's values are not all multiplied every tick, a pass
over the whole teams x services matrix: each value counts the ticks of forgetting it has
had (``known_at``, against the run's count ``forgotten``) and takes the rest when it is next
read, one multiplication per tick, as rounded as before. A value still on the initial
level's chain (not written since the start) takes its place on that chain, which
``decayed`` keeps tick by tick. Rows read whole every tick (central IT's operations teams,
whose knowledge is recorded every tick) are not ``lazy``: they are multiplied every tick.
Rounding keeps order (a <= b gives a x k <= b x k), so forgetting does not change which
team knows a service best: the most known (``most``) falls with it, and only a write can
change it; a write that lowers the most known marks its service to be taken again
(``most_stale``) at the end of the tick. A project team's row (funded projects) forgets
only while its project runs, and is kept current.

Values read or written outside the kernel go through ``catch_up`` first
(``sim.model.kernel.engine.Kernel.knowledge``), which also marks every service stale."""

from __future__ import annotations

from numba import njit


@njit(cache=True)
def known(s, team, service):
    """What ``team`` knows of ``service`` now (its forgetting not yet applied, applied)."""
    value = s.knowledge[team, service]
    if team < len(s.lazy) and s.lazy[team]:
        now, since = s.forgotten[0], s.known_at[team, service]
        if now != since:
            if now < len(s.decayed) and value == s.decayed[since]:  # the same value, the same chain
                value = s.decayed[now]
            else:
                keep = 1 - s.params[0].forgetting_rate
                for _ in range(now - since):
                    value *= keep
            s.knowledge[team, service] = value
            s.known_at[team, service] = now
    return value


@njit(cache=True)
def learned(s, team, service, value):
    """``team`` now knows ``value`` of ``service`` (read with ``known`` just before), and the
    most known of the service follows."""
    old = s.knowledge[team, service]
    s.knowledge[team, service] = value
    if team >= len(s.known_at) or s.most_stale[service]:
        return
    if value >= s.most[service]:
        s.most[service] = value
    elif old == s.most[service]:
        s.most_stale[service] = True


@njit(cache=True)
def forget(s):
    """A tick's forgetting: counted for the standing teams' lazy rows (``known`` applies it),
    applied to the others and to a running project's team; the most known of each service
    falls with it."""
    p = s.params[0]
    keep = 1 - p.forgetting_rate
    s.forgotten[0] += 1
    if s.forgotten[0] < len(s.decayed):
        s.decayed[s.forgotten[0]] = s.decayed[s.forgotten[0] - 1] * keep
    for v in range(len(s.most)):
        s.most[v] *= keep
    for t in range(len(s.lazy)):
        if not s.lazy[t]:
            for v in range(len(s.most)):
                s.knowledge[t, v] *= keep
    if p.funded:
        for slot in range(p.slots):
            if s.proj_active[slot]:
                for v in range(len(s.most)):
                    s.knowledge[p.slot_team + slot, v] *= keep


@njit(cache=True)
def most_known(s, held):
    """The most any team knows of each service into ``held``: the standing teams' (those
    marked stale taken again, team by team), then a running project team's."""
    p = s.params[0]
    for v in range(len(s.most)):
        if s.most_stale[v]:
            value = known(s, 0, v)
            for t in range(1, len(s.known_at)):
                value = max(value, known(s, t, v))
            s.most[v] = value
            s.most_stale[v] = False
        held[v] = s.most[v]
    if p.funded:
        for slot in range(p.slots):
            if s.proj_active[slot]:
                row = p.slot_team + slot
                for v in range(len(held)):
                    held[v] = max(held[v], s.knowledge[row, v])


@njit(cache=True)
def catch_up(s):
    """Every standing team's values current (before they are read or written outside)."""
    for t in range(len(s.known_at)):
        for v in range(s.knowledge.shape[1]):
            known(s, t, v)

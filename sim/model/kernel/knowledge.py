"""What the teams know of the services (docs/ODD.md 7.4): read, written, forgotten, and the
most any team knows of each service.

Forgetting takes a share ``forgetting_rate`` of every value each tick. A standing team's
value is kept as it was last written (``knowledge``), with the ticks of forgetting there had
been then (``known_at``, against the run's count ``forgotten``); read ``n`` ticks of
forgetting later, it is that value times ``powers[n]``, ``(1 - forgetting_rate)`` to the
``n``th power (each power the one before times ``1 - forgetting_rate``). So a read costs the
same however long ago the write was, and changes nothing: whatever the kernel or Python
reads, and whenever, a run is the same. The most known of each service is kept the same way
(``most``, written at ``most_at``: the value and stamp of the team that knows it best, so
that the two stay equal). Forgetting scales every value alike, so only a write can
change which team knows a service best: a write above the most known becomes it; a write
that lowers the most known marks its service (``most_stale``) to be taken again at the end
of the tick. What the teams that run the services know of them, in total (``run_total``,
recorded every tick), follows every write and is forgotten with the values: summed in a
different order than anew, it is the same to rounding. A project team's row (funded
projects) forgets only while its project runs: it is kept current, multiplied each tick.

Python reads and writes the standing teams' values through ``sim.model.kernel.engine.Kernel``
(``knowledge``, ``set_knowledge``)."""

from __future__ import annotations

from numba import njit


@njit(cache=True)
def known(s, team, service):
    """What ``team`` knows of ``service`` now."""
    if team >= len(s.known_at):  # a project team's row: current
        return s.knowledge[team, service]
    return s.knowledge[team, service] * s.powers[s.forgotten[0] - s.known_at[team, service]]


@njit(cache=True)
def most_now(s, service):
    """The most any standing team knows of ``service`` now (unless it is marked stale)."""
    return s.most[service] * s.powers[s.forgotten[0] - s.most_at[service]]


@njit(cache=True)
def learned(s, team, service, value):
    """``team`` now knows ``value`` of ``service``, and the most known of the service follows."""
    if team >= len(s.known_at):
        s.knowledge[team, service] = value
        return
    old = known(s, team, service)
    now = s.forgotten[0]
    s.knowledge[team, service] = value
    s.known_at[team, service] = now
    if s.runner_rows[team] or s.runner_of[service] == team:
        s.run_total[0] += value - old
    if s.most_stale[service]:
        return
    most = most_now(s, service)
    if value >= most:
        s.most[service] = value
        s.most_at[service] = now
    elif old == most:
        s.most_stale[service] = True


@njit(cache=True)
def forget(s):
    """A tick's forgetting: counted for the standing teams (``known`` applies it), applied to
    the running teams' total and to a running project's team."""
    p = s.params[0]
    keep = 1 - p.forgetting_rate
    s.forgotten[0] += 1
    s.run_total[0] *= keep
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
        if s.most_stale[v]:  # kept as its team's value is, so that the two stay equal
            best, top = 0, known(s, 0, v)
            for t in range(1, len(s.known_at)):
                value = known(s, t, v)
                if value > top:
                    best, top = t, value
            s.most[v] = s.knowledge[best, v]
            s.most_at[v] = s.known_at[best, v]
            s.most_stale[v] = False
        held[v] = most_now(s, v)
    if p.funded:
        for slot in range(p.slots):
            if s.proj_active[slot]:
                row = p.slot_team + slot
                for v in range(len(held)):
                    held[v] = max(held[v], s.knowledge[row, v])

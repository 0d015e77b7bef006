"""The internal market (docs/ODD.md 7.11): its rules on their own, then the sign of its effect.

Rules: off by default and without effect when off; bad values refused with one line; an
external provider's finite capacity queues work first come first served; a unit's other
internal candidates never include its usual provider or the consumer itself, and a re-try
goes to one of them other than the current choice; a consumer scores a provider only from
work it got back from it (turnaround, defects and price), so without re-tries it never leaves
its usual provider; the review moves a unit to the best-scored provider seen when the current
one is worse by more than the margin, counts a move back to the provider left at the previous
switch as a flip-back, and charges the consumer (under central IT its intake silo) a
migration; an external provider's price shows in the cost. Each rule that differs between
the structures is tested under both.

The rules are tested on the engine a scenario runs in, the compiled kernel: end to end on
hand-built organisations (conftest.hand_built) whose times are worked out in the comments, or
by calling the kernel's rule (``flow.choose``, ``flow.market_score``, ``flow.market_review``)
on a model's arrays primed by hand.

The effect test is one-sided at ``EFFECT_ALPHA`` (1%) with Student's t on 10 paired seeds
(9 degrees of freedom); its false-failure rate is stated in its docstring."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import (
    CENTRAL_IT,
    SCENARIOS,
    TWO_SILOS,
    Estimate,
    arrive,
    deep_merge,
    hand_built,
    replication_seeds,
    run_all,
    small_scenario,
)

from sim import ScenarioError, load_scenario
from sim.model.kernel import flow
from sim.model.market import draw_alternates
from sim.model.org_model import OrgModel
from sim.run import run_scenario
from sim.scenario.schema import Market, Scenario

STRUCTURES = ["central_it", "micro_provider"]
SHIPPED = SCENARIOS / "operating" / "internal_market.toml"
SHORT = ["simulation.ticks=200", "simulation.warmup_ticks=50"]
# An external provider serving 2 person-days a tick, at once and without defects.
VENDOR = {"name": "vendor", "capacity_days_per_tick": 2.0, "lead_ticks": 0.0, "defect_prob": 0.0, "price_factor": 1.5}


def market_config(structure: str, **market) -> Scenario:
    """A small loaded organisation with the market on (``market`` laid over its defaults)."""
    return small_scenario(
        structure,
        simulation={"ticks": 120, "warmup_ticks": 20},
        demand={"arrival_rate": 3.0, "dependency_touch_prob": 0.8},
        organisation={"dependencies_per_service": 2.0},
        market={"enabled": True, **market},
    )


# --- rules ------------------------------------------------------------------------------
def test_the_market_is_off_by_default() -> None:
    assert Market().enabled is False
    assert load_scenario(CENTRAL_IT).market.enabled is False
    assert load_scenario(SHIPPED).market.enabled is True


@pytest.mark.parametrize("structure", STRUCTURES)
def test_market_keys_change_nothing_while_it_is_off(structure: str) -> None:
    short = [f"structure={structure}", *SHORT]
    plain = run_scenario(load_scenario(CENTRAL_IT, short), seed=4)
    keys = ["market.explore_prob=0.9", "market.internal_providers=3", "market.switch_cost_days=9", "market.smoothing=1"]
    changed = run_scenario(load_scenario(CENTRAL_IT, [*short, *keys]), seed=4)
    assert json.dumps(changed.summary, sort_keys=True) == json.dumps(plain.summary, sort_keys=True)
    assert not [c for c in plain.series if c.startswith("market_")]
    assert plain.summary["market_switches_per_tick"] == 0.0
    assert plain.summary["market_external_share"] is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["market.enabled=true", "sourcing.enabled=true"], "exclude each other"),
        (["market.enabled=true", "market.internal_providers=0", "market.externals=[]"], "needs another provider"),
        (["market.explore_prob=1.5"], "market.explore_prob"),
        (["market.review_ticks=0"], "market.review_ticks"),
        (
            ["market.externals=[{name='a', capacity_days_per_tick=0, lead_ticks=1, defect_prob=0, price_factor=1}]"],
            "capacity",
        ),
        (
            [
                "market.externals=[{name='a', capacity_days_per_tick=1, lead_ticks=1, defect_prob=0, price_factor=1},"
                " {name='a', capacity_days_per_tick=2, lead_ticks=1, defect_prob=0, price_factor=1}]"
            ],
            "unique",
        ),
    ],
)
def test_bad_market_values_are_refused_in_one_line(overrides: list[str], message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(CENTRAL_IT, overrides)
    lines = str(caught.value).splitlines()
    assert len(lines) == 1 and message in lines[0], lines


def test_an_external_provider_queues_work_beyond_its_capacity() -> None:
    # Team 0 (two people) owns service 0; its one other candidate for service 1's requests is
    # the vendor (no other team drawn), and every request goes to it (re-tries always). The
    # vendor serves 2 person-days a tick, no turnaround. Two 1-day items on service 0 touching
    # service 1 (4-day requests) start at 0 and send their requests: served one after the
    # other, they come back at 2 and 4, when their items are done (own parts done at 1). A
    # third (0.5 days, a 2-day request) sent at 10, after the queue emptied, is back at 11.
    model = hand_built(
        simulation={"ticks": 12},
        organisation={"teams": 2, "team_size": 2},
        demand={"dependency_effort_share": 4.0},
        market={"enabled": True, "internal_providers": 0, "explore_prob": 1.0, "externals": [VENDOR]},
    )
    for at, effort in ((0.0, 1.0), (0.0, 1.0), (10.0, 0.5)):
        arrive(model, at, effort, deps=(1,))
    run_all(model)
    items = model.items.table()
    assert items["completion"].tolist() == [2.0, 4.0, 11.0]
    assert items["dependency_wait"].tolist() == [1.0, 3.0, 0.5]
    series = model.recorder.frame()
    assert series["market_external_days"].tolist() == [8.0] + [0.0] * 9 + [2.0, 0.0]
    assert series["bought_days"].tolist() == series["market_external_days"].tolist()
    assert series["market_cost_days"].sum() == 10.0 * 1.5
    # The consumer scores the vendor (provider 2: after the two teams) from the turnarounds
    # 2, 4 and 1, smoothed with weight 0.2: 2, 2 + 0.2 x (4 - 2) = 2.4, 2.4 + 0.2 x (1 - 2.4).
    assert model.kernel.state.mk_turnaround[place(model, 0, 1), slot(model, 1, 2)] == pytest.approx(2.12, rel=1e-12)


def test_alternates_are_other_pools_without_repeats() -> None:
    rng = np.random.default_rng(3)
    defaults = np.array([0, 1, 2, 2, 4])
    for default, alternates in zip(defaults, draw_alternates(rng, defaults, pools=5, k=3), strict=True):
        assert len(alternates) == 3 == len(set(alternates)) and default not in alternates
    assert [len(a) for a in draw_alternates(rng, np.array([0, 1]), pools=2, k=4)] == [1, 1]


def test_scores_are_kept_for_a_units_own_providers() -> None:
    """A consumer's scores of a unit are kept for the unit's providers (usual, alternates,
    externals; ``Exchange.providers``), so they do not grow with the organisation's pools
    (kept per pool they were 205 GB at 1600 teams)."""
    model = OrgModel(market_config("micro_provider", internal_providers=1), seed=0)
    exchange = model.structure.exchange
    assert len(model.structure.pools) + len(exchange.externals) == 5
    assert exchange.scores.turnaround.shape == (len(exchange.unit), 1 + 1 + len(exchange.externals))
    assert exchange.providers[:, 0].tolist() == exchange.defaults.tolist()


@pytest.mark.parametrize("structure", STRUCTURES)
def test_a_consumer_keeps_places_only_for_the_units_it_may_send(structure: str) -> None:
    """A consumer's choices and scores are kept per unit it may send, not per unit of the
    organisation: under micro-providers a team's are the other teams' services its own
    depend on; the central organisation sends every stage of every service."""
    model = OrgModel(market_config(structure), seed=0)
    exchange = model.structure.exchange
    if structure == "central_it":
        assert units(model, 0) == list(range(len(exchange.defaults)))
        return
    owners, dependencies = model.structure.owners, model.services.dependencies
    for team in range(len(model.teams)):
        wanted = {d for service, needs in enumerate(dependencies) if owners[service] == team for d in needs}
        assert units(model, team) == sorted(d for d in wanted if owners[d] != team)
    assert 0 < len(exchange.unit) < len(model.teams) * len(exchange.defaults) / 2


def test_an_item_placed_by_hand_gives_its_owner_places_for_its_requests() -> None:
    """``OrgModel.place`` may touch any service: the owner gets a place for each request it
    sends (fresh: the usual provider, nothing seen) and each pool's queue room for one more
    migration per place."""
    model = hand_built(organisation={"teams": 3, "services": 3}, market={"enabled": True})
    owner, service = 0, 0
    margin = model.kernel.state.params[0]["queue_margin"]
    assert units(model, owner) == []
    arrive(model, 0.0, 1.0, service, deps=(2,))
    arrive(model, 0.0, 1.0, service, deps=(1,))  # placed before the first, in order
    s = model.kernel.state
    assert units(model, owner) == [1, 2] and s.mk_current[place(model, owner, 2)] == s.mk_defaults[2] == 2
    assert not s.mk_seen[place(model, owner, 1)].any() and s.params[0]["queue_margin"] == margin + 2
    run_all(model)
    assert s.mk_used[place(model, owner, 1)] and s.mk_used[place(model, owner, 2)]


def test_a_piece_on_a_unit_without_a_place_stops_the_run_as_a_bug() -> None:
    model = hand_built(organisation={"teams": 3, "services": 3}, market={"enabled": True})
    flow.choose(model.kernel.ref, model.rng, 0, 1)  # consumer 0 has no place for unit 1
    with pytest.raises(RuntimeError, match="a consumer sent work on a unit it has no place for"):
        model.run()


def slot(model: OrgModel, unit: int, *providers: int) -> int | list[int]:
    """Where the kernel keeps a consumer's scores of ``unit``'s ``providers`` (their places among
    the unit's providers): one index for one provider, else a list."""
    order = model.kernel.state.mk_providers[unit].tolist()
    places = [order.index(p) for p in providers]
    return places[0] if len(places) == 1 else places


def place(model: OrgModel, consumer: int, unit: int) -> int:
    """Where the kernel keeps ``consumer``'s choice and scores of ``unit`` (a unit it may send)."""
    exchange = model.structure.exchange
    first, last = exchange.first[consumer], exchange.first[consumer + 1]
    at = first + int(np.searchsorted(exchange.unit[first:last], unit))
    assert at < last and exchange.unit[at] == unit, f"consumer {consumer} has no place for unit {unit}"
    return at


def units(model: OrgModel, consumer: int) -> list[int]:
    """The units ``consumer`` may send, ascending."""
    exchange = model.structure.exchange
    return exchange.unit[exchange.first[consumer] : exchange.first[consumer + 1]].tolist()


def candidates(model: OrgModel, consumer: int, unit: int) -> list[int]:
    """The candidate providers of ``consumer``'s ``unit``: the unit's providers but the
    consumer's own pool."""
    exchange = model.structure.exchange
    own = exchange.consumer_pool[consumer]
    return [p for p in exchange.providers[unit].tolist() if p >= 0 and p != own]


@pytest.mark.parametrize("structure", STRUCTURES)
def test_a_retry_goes_to_another_candidate_never_the_consumer_itself(structure: str) -> None:
    """The kernel's choice (``flow.choose``) with re-tries always: each piece goes to one of
    the unit's other candidates, every one of them in 100 pieces, never to the current choice
    (the usual provider, then another) nor to the consumer's own pool."""
    model = OrgModel(market_config(structure, explore_prob=1.0, internal_providers=3), seed=2)
    s, ref = model.kernel.state, model.kernel.ref
    for consumer, own in enumerate(model.structure.exchange.consumer_pool):
        for unit in units(model, consumer):
            pool = candidates(model, consumer, unit)
            assert len(pool) > 2
            for current in (s.mk_defaults[unit], pool[-1]):
                s.mk_current[place(model, consumer, unit)] = current
                picks = {flow.choose(ref, model.rng, consumer, unit) for _ in range(100)}
                assert picks == set(pool) - {current} and own not in picks
    assert s.mk_used.all()  # every unit chosen for is marked used (the review looks at those only)


@pytest.mark.parametrize("structure", STRUCTURES)
def test_without_retries_a_consumer_never_learns_of_another_provider(structure: str) -> None:
    """Scores come only from work received: a provider never sent anything is never scored,
    so with no re-tries every piece stays with its usual provider and nobody switches."""
    result = run_scenario(market_config(structure, explore_prob=0.0), seed=6)
    assert result.series["market_default_days"].sum() > 0
    assert result.series[["market_alternate_days", "market_external_days", "market_switches"]].to_numpy().sum() == 0


@pytest.mark.parametrize("structure", STRUCTURES)
def test_retries_refresh_the_scores_of_providers_left(structure: str) -> None:
    """With re-tries, providers other than the usual one get work and are scored."""
    model = OrgModel(market_config(structure, explore_prob=0.3), seed=6)
    model.run()
    exchange = model.structure.exchange
    seen = exchange.scores.seen
    others = [
        seen[place(model, c, u), exchange.providers[u].tolist().index(p)]
        for c in range(len(exchange.consumer_pool))
        for u in units(model, c)
        if exchange.used[place(model, c, u)]
        for p in candidates(model, c, u)
        if p != exchange.defaults[u]
    ]
    assert sum(others) > 0


def primed(structure: str, **market) -> tuple[OrgModel, int, int, int]:
    """A model (nothing run yet) whose first consumer uses unit ``u`` and has seen its usual
    provider ``d`` and one other candidate ``o``, reviewing every tick without a migration
    cost (``market`` laid over that); returns (model, u, d, o)."""
    model = OrgModel(market_config(structure, **{"review_ticks": 1, "switch_cost_days": 0.0, **market}), seed=1)
    s = model.kernel.state
    own = model.structure.exchange.consumer_pool[0]  # a team never requests work on its own service
    unit = next(u for u in units(model, 0) if s.mk_defaults[u] != own)
    default = int(s.mk_defaults[unit])
    other = next(p for p in candidates(model, 0, unit) if p != default)
    s.mk_used[place(model, 0, unit)] = True
    s.mk_seen[place(model, 0, unit), slot(model, unit, default, other)] = True
    return model, unit, default, other


@pytest.mark.parametrize("structure", STRUCTURES)
def test_review_moves_a_unit_only_when_worse_by_more_than_the_margin(structure: str) -> None:
    """The kernel's review (``flow.market_review``) of the primed unit; consumer 0 is due at
    even ticks (every 2 ticks)."""
    model, unit, default, other = primed(structure, switch_margin=0.5, price_weight=0.0, review_ticks=2)
    s, ref = model.kernel.state, model.kernel.ref
    turnaround, both = s.mk_turnaround[place(model, 0, unit)], slot(model, unit, default, other)
    turnaround[both] = [1.4, 1.0]  # 1.4 <= 1.0 x 1.5: stay
    flow.market_review(ref, model.rng, 0)
    assert (s.mk_current[place(model, 0, unit)], s.mk_previous[place(model, 0, unit)]) == (default, -1)
    turnaround[both] = [1.6, 1.0]  # worse by more: move, at the next review
    flow.market_review(ref, model.rng, 1)
    assert s.mk_current[place(model, 0, unit)] == default
    flow.market_review(ref, model.rng, 2)
    assert (s.mk_current[place(model, 0, unit)], s.mk_previous[place(model, 0, unit)]) == (other, default)
    turnaround[both] = [1.0, 2.0]  # back to the provider left: a flip-back
    flow.market_review(ref, model.rng, 4)
    assert (s.mk_current[place(model, 0, unit)], s.mk_previous[place(model, 0, unit)]) == (default, other)
    assert s.mk_series[flow.SERIES_SWITCHES, :6].tolist() == [0, 0, 1, 0, 1, 0]
    assert s.mk_series[flow.SERIES_FLIPBACKS, :6].tolist() == [0, 0, 0, 0, 1, 0]


@pytest.mark.parametrize("structure", STRUCTURES)
def test_price_and_defects_count_in_the_score(structure: str) -> None:
    """The kernel's score (``flow.market_score``), and the review that reads it (no margin)."""
    model, unit, default, other = primed(structure, failure_weight=10.0, price_weight=2.0, switch_margin=0.0)
    s, ref = model.kernel.state, model.kernel.ref
    at, both = place(model, 0, unit), slot(model, unit, default, other)
    s.mk_turnaround[at, both] = [3.0, 1.0]
    s.mk_failure[at, both] = [0.0, 0.1]
    s.mk_price[at, both] = [1.0, 1.5]
    # 3 + 0 + 2 = 5 against 1 + 10 x 0.1 + 2 x 1.5 = 5: the other is no better, the unit stays.
    assert flow.market_score(ref, at, both[0]) == pytest.approx(5.0)
    assert flow.market_score(ref, at, both[1]) == pytest.approx(5.0)
    flow.market_review(ref, model.rng, 0)
    assert s.mk_current[place(model, 0, unit)] == default
    s.mk_price[at, both[1]] = 1.4  # 1 + 1 + 2.8 = 4.8: better, the unit moves
    assert flow.market_score(ref, at, both[1]) == pytest.approx(4.8)
    flow.market_review(ref, model.rng, 1)
    assert s.mk_current[place(model, 0, unit)] == other


@pytest.mark.parametrize(
    ("structure", "consumer", "unit", "switched_at", "knowledge", "busy"),
    [
        # Team 1's 1-day item on service 1 asks team 0, service 0's owner, for 0.5 days (unit 0:
        # team 1's requests on service 0), back at 0.5: team 1 scores its usual provider 0.5
        # against the vendor's 0.1. Its review at the end of tick 0 moves the unit to the
        # vendor and queues the migration, 4 person-days of service 0 at team 1 once its own
        # part is done: from 1 to 5. Team 1 learnt the migration's 4 days of service 0 and its
        # part's 1 day of service 1; team 0 the request's 0.5 days of service 0.
        ("micro_provider", 1, 0, 0, [[-np.expm1(-0.5), 0.0], [-np.expm1(-4.0), -np.expm1(-1.0)]], (1.0, 4.5)),
        # The central organisation's 1-day item on service 0 is built by silo 0 (team 0) from 0
        # to 0.5, then run by silo 1 (unit 2: stage 1 of service 0) from 0.5 to 1, when it is
        # back, in tick 1, scored 0.5. The review at the end of tick 1 moves the unit to the
        # vendor; the migration goes to the intake, silo 0, from 2 to 6, on service 0: team 0
        # learnt 0.5 + 4 days of service 0, team 1 its stage's 0.5 days.
        ("central_it", 0, 2, 1, [[-np.expm1(-4.5), 0.0], [-np.expm1(-0.5), 0.0]], (1.0, 4.0)),
    ],
)
def test_a_switch_costs_the_consumer_a_migration(
    structure: str, consumer: int, unit: int, switched_at: int, knowledge: list[list[float]], busy: tuple
) -> None:
    """Two one-person teams (central IT: two silos) knowing nothing, learning at rate 1; the
    consumer reviews every tick, weighs no price, and has seen the vendor (provider 2) deliver
    the unit's work in 0.1 ticks; the usual provider (1 - consumer) earns its score from the
    piece it does."""
    market = {"enabled": True, "internal_providers": 0, "explore_prob": 0.0, "review_ticks": 1, "price_weight": 0.0}
    sections = {
        "simulation": {"ticks": 7},
        "organisation": {"teams": 2},
        "knowledge": {"initial": 0.0, "learning_rate": 1.0},
        "market": market | {"switch_cost_days": 4.0},
    }
    model = hand_built(structure, **(deep_merge(TWO_SILOS, sections) if structure == "central_it" else sections))
    arrive(model, 0.0, 1.0, *((0, ()) if structure == "central_it" else (1, (0,))))
    s = model.kernel.state  # after the item: its request's unit has a place
    vendor = slot(model, unit, 2)
    s.mk_seen[place(model, consumer, unit), vendor], s.mk_turnaround[place(model, consumer, unit), vendor] = True, 0.1
    run_all(model)
    assert model.items.table()["completion"].tolist() == [1.0]
    usual = 1 - consumer
    assert s.mk_turnaround[place(model, consumer, unit), slot(model, unit, usual)] == 0.5
    assert (s.mk_current[place(model, consumer, unit)], s.mk_previous[place(model, consumer, unit)]) == (2, usual)
    series = model.recorder.frame()
    assert series["market_switches"].tolist() == [int(tick == switched_at) for tick in range(7)]
    assert (series["busy_new_days"].sum(), series["busy_dependency_days"].sum()) == busy
    np.testing.assert_allclose(model.knowledge, knowledge, rtol=1e-12, atol=0)


@pytest.mark.parametrize("structure", STRUCTURES)
def test_external_work_is_paid_at_its_price(structure: str) -> None:
    config = market_config(structure, explore_prob=0.5)
    result = run_scenario(config, seed=8)
    series = result.series
    price = config.market.externals[0].price_factor
    assert series["market_external_days"].sum() > 0
    np.testing.assert_allclose(series["market_cost_days"], series["market_external_days"] * price)
    np.testing.assert_allclose(series["bought_days"], series["market_external_days"])
    np.testing.assert_allclose(series["cost"], series["capacity_days"] + series["market_cost_days"])


# --- effect -----------------------------------------------------------------------------
EFFECT_SEEDS = replication_seeds(10, entropy=7301)
SLOW_VENDOR = (
    "market.externals=[{name='v', capacity_days_per_tick=50, lead_ticks=30, defect_prob=0.05, price_factor=1}]"
)
FAST_VENDOR = (
    "market.externals=[{name='v', capacity_days_per_tick=50, lead_ticks=0.5, defect_prob=0.05, price_factor=1}]"
)


@pytest.mark.slow
@pytest.mark.parametrize("structure", STRUCTURES)
def test_consumers_send_less_to_a_slow_provider(structure: str) -> None:
    """Market pressure: with the same ample, equally priced vendor, consumers send it a smaller
    share of their work when it takes 30 days than when it takes half a day, because they judge
    it by the work they got back. Paired over 10 seeds, one-sided t at 1% (9 degrees of
    freedom): a market without that effect fails this test 1% of the time."""
    base = [f"structure={structure}", *SHORT, "market.explore_prob=0.1"]
    slow, fast = (load_scenario(SHIPPED, [*base, vendor]) for vendor in (SLOW_VENDOR, FAST_VENDOR))
    diffs = [
        run_scenario(slow, seed=s).summary["market_external_share"]
        - run_scenario(fast, seed=s).summary["market_external_share"]
        for s in EFFECT_SEEDS
    ]
    estimate = Estimate.of(diffs)
    assert estimate.shows_sign(-1), f"expected a smaller external share with a slow vendor, got {estimate}"


def test_one_review_may_queue_a_migration_for_every_unit_of_a_consumer_in_its_pool() -> None:
    """Each pool's queue keeps room for all of one consumer's units (``params.queue_margin``),
    though not for every consumer's at once: team 0 reviews every tick and has seen the
    vendor serve each unit it may send better than the usual provider, so the end of tick 0
    queues a migration per unit (123, the other team's services its own depend on; room for
    one event's tasks alone is 96 places)
    in team 0's own pool, and the queue holds them within its room. (Without that room the
    queue runs past its end, into the next pool's: 121 entries in 96 places.)"""
    config = small_scenario(
        "micro_provider",
        organisation={"teams": 2, "services": 400},
        market={"enabled": True, "review_ticks": 1, "switch_cost_days": 1.0, "internal_providers": 0},
    )
    model = OrgModel(config, seed=1)
    s = model.kernel.state
    vendor = len(model.structure.pools)  # the first external, after the pools
    own = model.structure.exchange.consumer_pool[0]
    sent = units(model, 0)  # the other team's services its own depend on
    for unit in sent:
        both = slot(model, unit, int(s.mk_defaults[unit]), vendor)
        s.mk_used[place(model, 0, unit)] = True
        s.mk_seen[place(model, 0, unit), both] = True
        s.mk_turnaround[place(model, 0, unit), both] = [10.0, 1.0]
    model.step()
    assert model.recorder.frame()["market_switches"].iloc[0] == len(sent) > 100
    s = model.kernel.state  # grown meanwhile
    assert 100 < s.pool_len[own] <= s.pool_cap[own]

"""The internal market (docs/ODD.md 7.11): its rules on their own, then the sign of its effect.

Rules: off by default and without effect when off; bad values refused with one line; an
external provider's finite capacity queues work first come first served; a unit's other
internal candidates never include its usual provider or the consumer itself; a consumer
scores a provider only from work it got back from it, so without re-tries it never leaves its
usual provider; the review moves a unit to the best-scored provider seen when the current one
is worse by more than the margin, counts a move back to the provider left at the previous
switch as a flip-back, and charges the consumer (under central IT its intake silo) a
migration; an external provider's price shows in the cost. All under both structures.

The effect test is one-sided at ``EFFECT_ALPHA`` (1%) with Student's t on 10 paired seeds
(9 degrees of freedom); its false-failure rate is stated in its docstring."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import CENTRAL_IT, SCENARIOS, Estimate, replication_seeds, small_scenario

from sim import ScenarioError, load_scenario
from sim.model.market import External, draw_alternates
from sim.model.org_model import OrgModel
from sim.run import run_scenario
from sim.scenario.schema import Market, Scenario

STRUCTURES = ["central_it", "micro_provider"]
SHIPPED = SCENARIOS / "operating" / "internal_market.toml"
SHORT = ["simulation.ticks=200", "simulation.warmup_ticks=50"]


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
    """Capacity 1 person-day a tick, no turnaround: two pieces of 2 days sent at 0 come back
    at 2 and 4; one sent at 10, after the queue emptied, at 11."""
    vendor = External(capacity=1.0, lead=0.0, defect_prob=0.0, price=1.5)
    rng = np.random.default_rng(0)
    assert [vendor.serve(0.0, 2.0, rng), vendor.serve(0.0, 2.0, rng), vendor.serve(10.0, 1.0, rng)] == [2.0, 4.0, 11.0]


def test_alternates_are_other_pools_without_repeats() -> None:
    rng = np.random.default_rng(3)
    defaults = np.array([0, 1, 2, 2, 4])
    for default, alternates in zip(defaults, draw_alternates(rng, defaults, pools=5, k=3), strict=True):
        assert len(alternates) == 3 == len(set(alternates)) and default not in alternates
    assert [len(a) for a in draw_alternates(rng, np.array([0, 1]), pools=2, k=4)] == [1, 1]


@pytest.mark.parametrize("structure", STRUCTURES)
def test_a_retry_goes_to_another_candidate_never_the_consumer_itself(structure: str) -> None:
    model = OrgModel(market_config(structure, explore_prob=1.0, internal_providers=3), seed=2)
    exchange = model.structure.exchange
    for consumer, own in enumerate(exchange.consumer_pool):
        for unit in range(0, len(exchange.defaults), 7):
            chosen = exchange.choose(consumer, unit)
            assert chosen != exchange.current[consumer, unit] and chosen != own
            assert chosen in exchange.candidates[consumer][unit]


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
        seen[c, u, p]
        for c in range(len(exchange.consumer_pool))
        for u in np.flatnonzero(exchange.used[c])
        for p in exchange.candidates[c][u]
        if p != exchange.defaults[u]
    ]
    assert sum(others) > 0


def primed(structure: str, **market) -> tuple[OrgModel, int, int, int, int]:
    """A model whose consumer 0 (its first consumer) uses unit ``u`` and has seen its usual
    provider ``d`` and one other candidate ``o``; returns (model, consumer, u, d, o)."""
    model = OrgModel(market_config(structure, **market), seed=1)
    exchange = model.structure.exchange
    consumer = 0
    own = exchange.consumer_pool[consumer]  # a team never requests work on its own service
    unit = next(u for u, candidates in enumerate(exchange.candidates[consumer]) if exchange.defaults[u] != own)
    default = int(exchange.defaults[unit])
    other = next(p for p in exchange.candidates[consumer][unit] if p != default)
    exchange.used[consumer, unit] = True
    exchange.scores.seen[consumer, unit, [default, other]] = True
    return model, consumer, unit, default, other


@pytest.mark.parametrize("structure", STRUCTURES)
def test_review_moves_a_unit_only_when_worse_by_more_than_the_margin(structure: str) -> None:
    model, consumer, unit, default, other = primed(structure, switch_margin=0.5, price_weight=0.0, review_ticks=1)
    exchange = model.structure.exchange
    exchange.scores.turnaround[consumer, unit, [default, other]] = [1.4, 1.0]  # 1.4 <= 1.0 x 1.5: stay
    assert exchange.review(0) == []
    exchange.scores.turnaround[consumer, unit, [default, other]] = [1.6, 1.0]  # worse by more: move
    assert (consumer, unit) in exchange.review(1)
    assert exchange.current[consumer, unit] == other and exchange.previous[consumer, unit] == default
    assert exchange.series["market_switches"][1] >= 1 and exchange.series["market_flipbacks"][1] == 0
    exchange.scores.turnaround[consumer, unit, [default, other]] = [1.0, 2.0]  # back: a flip-back
    assert (consumer, unit) in exchange.review(2)
    assert exchange.current[consumer, unit] == default and exchange.series["market_flipbacks"][2] >= 1


@pytest.mark.parametrize("structure", STRUCTURES)
def test_price_and_defects_count_in_the_score(structure: str) -> None:
    model, consumer, unit, default, other = primed(structure, failure_weight=10.0, price_weight=2.0)
    scores = model.structure.exchange.scores
    scores.turnaround[consumer, unit, [default, other]] = [3.0, 1.0]
    scores.failure[consumer, unit, [default, other]] = [0.0, 0.1]
    scores.price[consumer, unit, [default, other]] = [1.0, 1.5]
    # 3 + 0 + 2 = 5 against 1 + 10 x 0.1 + 2 x 1.5 = 5
    assert scores.score((consumer, unit, default)) == pytest.approx(5.0)
    assert scores.score((consumer, unit, other)) == pytest.approx(5.0)


@pytest.mark.parametrize("structure", STRUCTURES)
def test_a_switch_costs_the_consumer_a_migration(structure: str) -> None:
    """At the first review the unit moves; the migration (4 person-days) is queued at the
    consumer's pool: its team under micro-providers, the intake silo under central IT."""
    model, consumer, unit, default, other = primed(structure, switch_cost_days=4.0, review_ticks=1)
    exchange = model.structure.exchange
    exchange.scores.turnaround[consumer, unit, [default, other]] = [50.0, 1.0]
    model.structure.end_tick(0)
    pool = model.structure.pools[0] if structure == "central_it" else model.teams[consumer].pool
    # Nothing else has started: the migration is the one task under way, by one of the pool's teams.
    migrations = [t for *_, t in model._events if getattr(t, "handler", None) is exchange.migration]
    assert [t.effort for t in migrations] == [4.0]
    assert migrations[0].services == (exchange.service_of(unit),) and migrations[0].team in pool.teams


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

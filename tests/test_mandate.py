"""The central mandate (docs/ODD.md 7.6): its rules on their own, then the sign of its effect.

Rules: the mandate is off unless ``spread.mandate_lag_ticks`` is set; no team adopts by
mandate before the lag has passed; from then on each non-adopter complies with chance
``spread.mandate_compliance_prob`` per tick (combined with imitation as 1 - (1 - P)(1 - m),
scaled by 1 - load when capacity is coupled); all of this under both structures, since
the mandate acts on teams, not on a structure's routing.

Agreement with a stated chance is two-sided at ``FALSE_FAILURE`` (0.2%) with Student's t
on the per-seed estimates (n - 1 degrees of freedom): a correct model fails it 0.2% of the
time. The effect test is one-sided at ``EFFECT_ALPHA`` (1%, 9 degrees of freedom); its
false-failure rate is stated in its docstring."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import CENTRAL_IT, Estimate, assert_matches, kernel_params, replication_seeds

from sim.model.kernel import ticks
from sim.run import run_scenario
from sim.scenario.files import load_scenario
from sim.scenario.schema import Spread

STRUCTURES = ["central_it", "micro_provider"]
TICKS, WARMUP = 80, 20  # the practice starts at the end of the warm-up, tick 20
# Only the mandate can make a team adopt: no outside influence, no imitation, nobody to start with.
MANDATE_ONLY = [
    f"simulation.ticks={TICKS}",
    f"simulation.warmup_ticks={WARMUP}",
    "spread.initial_adopters=0",
    "spread.external_prob=0",
    "spread.imitation_prob=0",
    "spread.capacity_coupling=false",
]


def adoption(structure: str, overrides: list[str], seed: int) -> np.ndarray:
    """Adoption share per tick of a run of the reference organisation."""
    config = load_scenario(CENTRAL_IT, [f"structure={structure}", *MANDATE_ONLY, *overrides])
    return run_scenario(config, seed=seed).series["adoption_share"].to_numpy()


# --- rules ------------------------------------------------------------------------------
def test_the_mandate_is_off_by_default() -> None:
    assert Spread().mandate_lag_ticks is None
    assert load_scenario(CENTRAL_IT).spread.mandate_lag_ticks is None


@pytest.mark.parametrize("structure", STRUCTURES)
def test_compliance_without_a_mandate_changes_nothing(structure: str) -> None:
    short = [f"structure={structure}", "simulation.ticks=150", "simulation.warmup_ticks=50"]
    plain = run_scenario(load_scenario(CENTRAL_IT, short), seed=4).summary
    complying = run_scenario(load_scenario(CENTRAL_IT, [*short, "spread.mandate_compliance_prob=1"]), seed=4).summary
    assert json.dumps(complying, sort_keys=True) == json.dumps(plain, sort_keys=True)


def test_adoption_chance_combines_imitation_and_mandate() -> None:
    spread = {"external_prob": 0.01, "imitation_prob": 0.2, "mandate_compliance_prob": 0.3}
    influence = np.array([0.0, 0.5, 1.0])
    bass = np.array([0.01, 0.11, 0.21])
    uncoupled = kernel_params(spread=spread | {"capacity_coupling": False})
    assert chances(uncoupled, influence, np.zeros(3), mandated=False) == pytest.approx(bass)
    assert chances(uncoupled, influence, np.zeros(3), mandated=True) == pytest.approx(1 - (1 - bass) * 0.7)
    coupled = kernel_params(spread=spread | {"capacity_coupling": True})
    loads = np.array([0.0, 0.5, 1.0])
    expected = (1 - (1 - bass) * 0.7) * (1 - loads)
    assert chances(coupled, influence, loads, mandated=True) == pytest.approx(expected)


def test_the_mandate_alone_gives_the_compliance_chance() -> None:
    p = kernel_params(spread={"external_prob": 0.0, "imitation_prob": 0.0, "mandate_compliance_prob": 0.3,
                              "capacity_coupling": False})  # fmt: skip
    assert chances(p, np.ones(2), np.zeros(2), mandated=True) == pytest.approx([0.3, 0.3])
    assert chances(p, np.ones(2), np.zeros(2), mandated=False) == pytest.approx([0.0, 0.0])


def chances(p, influence: np.ndarray, loads: np.ndarray, mandated: bool) -> list[float]:
    """The kernel's adoption chance of each team of ``influence`` and ``loads``."""
    return [ticks.adoption_probability(p, f, x, mandated) for f, x in zip(influence, loads, strict=True)]


@pytest.mark.parametrize("structure", STRUCTURES)
@pytest.mark.parametrize("lag", [0, 7])
def test_nobody_adopts_by_mandate_before_the_lag(structure: str, lag: int) -> None:
    """With certain compliance every team adopts exactly at start + lag, none before, under
    either structure (t50 = t90 = lag + 1 days, counted from the start)."""
    mandate = [f"spread.mandate_lag_ticks={lag}", "spread.mandate_compliance_prob=1"]
    result = run_scenario(load_scenario(CENTRAL_IT, [f"structure={structure}", *MANDATE_ONLY, *mandate]), seed=11)
    share = result.series["adoption_share"].to_numpy()
    assert share[: WARMUP + lag].tolist() == [0.0] * (WARMUP + lag)
    assert share[WARMUP + lag :].tolist() == [1.0] * (TICKS - WARMUP - lag)
    assert result.summary["adoption_t50_ticks"] == result.summary["adoption_t90_ticks"] == lag + 1


@pytest.mark.parametrize("structure", STRUCTURES)
def test_partial_compliance_waits_for_the_lag_too(structure: str) -> None:
    """With one initial adopter, the load coupling on and nothing else spreading, the share
    stays at that one team until the mandate starts, in every seed; the mandate then
    raises it."""
    lag, teams = 15, load_scenario(CENTRAL_IT).organisation.teams
    overrides = [
        "spread.initial_adopters=1",
        "spread.capacity_coupling=true",
        f"spread.mandate_lag_ticks={lag}",
        "spread.mandate_compliance_prob=0.5",
    ]
    for seed in range(5):
        share = adoption(structure, overrides, seed)
        assert share[WARMUP : WARMUP + lag] == pytest.approx([1 / teams] * lag)
        assert share[-1] > 1 / teams


@pytest.mark.parametrize("structure", STRUCTURES)
def test_each_non_adopter_complies_with_the_stated_chance_per_tick(structure: str) -> None:
    """Over the first five mandated ticks, the share of the non-adopters that adopt each
    tick has mean m = 0.1 (each tick's share has conditional mean m whatever came before,
    so their average is unbiased while some team has not adopted; with 12 teams all adopt
    within five ticks with probability 2e-5). One estimate per seed, 20 seeds; passes when
    within t(0.999, 19 df) SE of m: a correct model fails 0.2% of the time."""
    compliance, lag, window = 0.1, 10, 5
    teams = load_scenario(CENTRAL_IT).organisation.teams
    overrides = [f"spread.mandate_lag_ticks={lag}", f"spread.mandate_compliance_prob={compliance}"]
    estimates = []
    for seed in replication_seeds(20, entropy=7101):
        adopted = np.rint(adoption(structure, overrides, seed) * teams).astype(int)
        before = adopted[WARMUP + lag - 1 : WARMUP + lag - 1 + window]  # adopters before each mandated tick
        after = adopted[WARMUP + lag : WARMUP + lag + window]
        assert before[0] == 0 and (before < teams).all()
        estimates.append(np.mean((after - before) / (teams - before)))
    assert_matches(f"mandate compliance per tick ({structure})", Estimate.of(estimates), compliance, setting=structure)


# --- effect -----------------------------------------------------------------------------
EFFECT_SEEDS = replication_seeds(10, entropy=7102)
LOW_IMITATION = [
    "simulation.ticks=300",
    "simulation.warmup_ticks=100",
    "spread.imitation_prob=0.01",
]


def restricted_t50(structure: str, extra: list[str], seed: int) -> float:
    """Days to 50% adoption, a run that never got there counted at its horizon (the
    restricted time min(t50, horizon), defined in every run)."""
    config = load_scenario(CENTRAL_IT, [f"structure={structure}", *LOW_IMITATION, *extra])
    summary = run_scenario(config, seed=seed).summary
    t50, horizon = summary["adoption_t50_ticks"], summary["adoption_horizon_ticks"]
    return float(horizon if t50 is None else min(t50, horizon))


@pytest.mark.slow
@pytest.mark.parametrize("structure", STRUCTURES)
def test_a_mandate_spreads_a_practice_sooner_than_weak_imitation(structure: str) -> None:
    """At a low imitation chance (q = 0.01) half the teams adopt sooner with a mandate after
    10 days (the shipped compliance, 0.05 a day, and load coupling) than by imitation alone.

    Paired by seed (same demand), 10 seeds of 300 days (100 warm-up: 200 days to reach 50%).
    The restricted time min(t50, 200) is used, so runs that never reach 50% count at the
    horizon and none is dropped; passes when the mean of imitation-only minus mandate exceeds
    t(0.99, 9 df) SE. A mandate with no effect passes 1% of the time. When written, the
    difference was 156 days (SE 4.9) under central IT and 133 (SE 12.6) under
    micro-providers: were those the true effects, a correct model would fail with
    probability below 1e-9 per structure (noncentral t, 9 df, noncentrality mean / SE)."""
    differences = [
        restricted_t50(structure, [], seed) - restricted_t50(structure, ["spread.mandate_lag_ticks=10"], seed)
        for seed in EFFECT_SEEDS
    ]
    estimate = Estimate.of(differences)
    assert estimate.shows_sign(+1), f"expected the mandate to shorten t50, got {estimate}"

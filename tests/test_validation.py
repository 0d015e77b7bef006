"""Validation against reference cases with known answers (DESIGN.md, "Validation anchors").

Each comparison passes when ``|simulated mean - analytic| <= 3 SE + allowance`` with the
SE taken over independent replications (fixed seeds) and the allowance a computed
discretisation term; the figures are printed in a table at the end of the pytest run.

Allowances:

- Queues (M/M/c, M/M/1): zero. Within a tick the model processes arrivals, starts and
  completions in continuous time from an event heap, and arrivals (a Poisson count per
  tick, spread uniformly over the tick) form an exact Poisson process, so the tick grid
  adds no discretisation error. What remains is statistical: the warm-up from an empty
  system (1000 ticks, many relaxation times of these queues) and the window edge.
- Bass: the model applies the Bass hazard once per tick, so its mean path is the
  discrete recursion, not the continuous curve; against the continuous curve the
  allowance is ``|recursion - curve|``. On a complete network of ``n`` teams a
  non-adopter imitates the share of the *other* ``n - 1`` teams, so the recursion with
  ``q n / (n - 1)`` differs from the textbook one; that difference is allowed for too.
  (The O(1/n) gap between the mean of the random process and its mean-field recursion,
  about ``q Var(F)`` per tick, is not added: here it is below 0.001, a tenth of 3 SE.)
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import (
    BASS,
    CENTRAL_IT,
    MICRO_PROVIDER,
    MMC,
    Estimate,
    assert_matches,
    record_figure,
    replication_seeds,
    window_gap,
)

from sim import load_scenario, run_scenario
from sim.analytic import bass_cdf, bass_discrete, mm1_sojourn, mmc_sojourn, mmc_wait

# Queues: 20 replications of 10,000 ticks (1000 warm-up) each, about 18,000 measured
# items per replication at lambda = 2; more, shorter replications make the SE itself
# better estimated than few long ones for the same run time.
REPLICATIONS = 20
QUEUE_TICKS = 10_000
BASS_REPLICATIONS = 30
ENTROPY = 20240601  # root of every replication seed in this module
QUEUE_ALLOWANCE = 0.0  # see the module docstring
BASS_PERIOD_TICKS = 50  # bass.toml: p and q are per tick, 50 ticks = 1 Bass period


@functools.cache
def replicate(path: Path, overrides: tuple[str, ...], replications: int = REPLICATIONS) -> pd.DataFrame:
    """Summaries (one row per replication) of ``path`` with ``overrides``; cached per session."""
    scenario = load_scenario(path, list(overrides))
    seeds = replication_seeds(replications, ENTROPY)
    return pd.DataFrame([run_scenario(scenario, seed=seed).summary for seed in seeds])


def mmc_overrides(arrival_rate: float, *more: str) -> tuple[str, ...]:
    return (f"simulation.ticks={QUEUE_TICKS}", f"demand.arrival_rate={arrival_rate}", *more)


def queue_setting(path: Path, overrides: tuple[str, ...]) -> str:
    scenario = load_scenario(path, list(overrides))
    org, sim = scenario.organisation, scenario.simulation
    return (
        f"{org.teams} team(s) x {org.team_size}, lambda={scenario.demand.arrival_rate:g}, "
        f"{sim.ticks} ticks ({sim.warmup_ticks} warm-up), n={REPLICATIONS}"
    )


def test_mmc_scenario_is_a_pure_mmc_queue() -> None:
    # The reference case holds only if nothing but the queue is switched on.
    scenario = load_scenario(MMC)
    assert scenario.organisation.teams == 1
    assert scenario.organisation.dependencies_per_service == 0
    assert scenario.demand.effort.distribution == "exponential"
    assert scenario.demand.kinds.feature == 1.0
    assert scenario.quality.base_defect_prob == 0
    assert scenario.handoff.loss_prob == 0
    assert scenario.knowledge.unfamiliarity_penalty == 0
    assert scenario.context_switching.loss_by_concurrency == (0.0,)
    assert scenario.spread.capacity_coupling is False


@pytest.mark.slow
@pytest.mark.parametrize("arrival_rate", [1.5, 2.0, 2.5])
def test_mmc_reproduces_erlang_c(arrival_rate: float) -> None:
    overrides = mmc_overrides(arrival_rate)
    scenario = load_scenario(MMC, list(overrides))
    servers, mu = scenario.organisation.team_size, 1 / scenario.demand.effort.mean_days
    runs = replicate(MMC, overrides)
    setting = queue_setting(MMC, overrides)
    rho = arrival_rate / (servers * mu)
    assert_matches(
        f"M/M/{servers} W, rho={rho:.3f}",
        Estimate.of(runs["lead_time_mean_ticks"]),
        mmc_sojourn(servers, arrival_rate, mu),
        QUEUE_ALLOWANCE,
        setting,
    )
    assert_matches(
        f"M/M/{servers} Wq, rho={rho:.3f}",
        Estimate.of(runs["queue_wait_mean_ticks"]),
        mmc_wait(servers, arrival_rate, mu),
        QUEUE_ALLOWANCE,
        setting,
    )
    assert (runs["handoffs_per_item"] == 0).all()
    assert (runs["rework_rate"] == 0).all()


@pytest.mark.slow
def test_pooled_queue_beats_one_queue_per_owner() -> None:
    # DESIGN.md: one M/M/3 queue (W = 1.44) against three M/M/1 queues at the same load
    # (W = 3.0): three one-person micro-providers, each owning one of three equally busy
    # services, against one pooled team of three.
    pooled_overrides = mmc_overrides(2.0)
    split_overrides = mmc_overrides(
        2.0,
        "organisation.teams=3",
        "organisation.team_size=1",
        "organisation.services=3",
        "organisation.demand_skew=0",
    )
    pooled = Estimate.of(replicate(MMC, pooled_overrides)["lead_time_mean_ticks"])
    split_runs = replicate(MMC, split_overrides)
    split = Estimate.of(split_runs["lead_time_mean_ticks"])
    assert_matches(
        "pooled: 1 team of 3, W",
        pooled,
        mmc_sojourn(3, 2.0, 1.0),
        QUEUE_ALLOWANCE,
        queue_setting(MMC, pooled_overrides),
    )
    assert_matches(
        "split: 3 teams of 1, W", split, mm1_sojourn(2.0 / 3, 1.0), QUEUE_ALLOWANCE, queue_setting(MMC, split_overrides)
    )
    assert (split_runs["handoffs_per_item"] == 0).all()
    difference_se = float(np.hypot(pooled.se, split.se))
    assert split.mean - pooled.mean > 3 * difference_se


def test_bass_scenario_is_the_worked_example() -> None:
    scenario = load_scenario(BASS)
    spread = scenario.spread
    assert spread.external_prob * BASS_PERIOD_TICKS == pytest.approx(0.03)
    assert spread.imitation_prob * BASS_PERIOD_TICKS == pytest.approx(0.38)
    assert (spread.network, spread.capacity_coupling, spread.initial_adopters) == ("complete", False, 0)
    assert scenario.spread_start_tick == 0
    assert scenario.demand.arrival_rate == 0


@functools.cache
def bass_paths() -> np.ndarray:
    """Adoption share after each tick (replications x ticks) on bass.toml."""
    scenario = load_scenario(BASS)
    seeds = replication_seeds(BASS_REPLICATIONS, ENTROPY)
    return np.array([run_scenario(scenario, seed=seed).series["adoption_share"].to_numpy() for seed in seeds])


@pytest.mark.slow
@pytest.mark.parametrize("bass_time", [5, 10])
def test_bass_curve(bass_time: int) -> None:
    scenario = load_scenario(BASS)
    p, q, teams = scenario.spread.external_prob, scenario.spread.imitation_prob, scenario.organisation.teams
    ticks = bass_time * BASS_PERIOD_TICKS
    # adoption_share[k] is recorded at the end of tick k, i.e. after k + 1 ticks of spread.
    simulated = Estimate.of(bass_paths()[:, ticks - 1])
    recursion = bass_discrete(ticks, p, q)[ticks]
    finite_teams = abs(bass_discrete(ticks, p, q * teams / (teams - 1))[ticks] - recursion)
    curve = bass_cdf(bass_time, p * BASS_PERIOD_TICKS, q * BASS_PERIOD_TICKS)
    setting = f"{teams} teams, complete network, tick {ticks}, n={BASS_REPLICATIONS}"
    assert_matches(f"Bass F({bass_time}) vs per-tick recursion", simulated, recursion, finite_teams, setting)
    assert_matches(
        f"Bass F({bass_time}) vs continuous curve",
        simulated,
        curve,
        abs(recursion - curve) + finite_teams,
        setting,
    )


@pytest.mark.parametrize("path", [CENTRAL_IT, MICRO_PROVIDER], ids=lambda p: p.stem)
def test_littles_law_on_shipped_scenarios(path: Path) -> None:
    scenario = load_scenario(path)
    result = run_scenario(scenario, seed=replication_seeds(1, ENTROPY)[0])
    summary = result.summary
    wip = summary["wip_mean"]
    served = summary["throughput_per_tick"] * summary["lead_time_mean_ticks"]
    gap, bound = window_gap(result, scenario)
    record_figure(
        f"Little's law, {scenario.name}",
        f"L = {wip:.3f}",
        f"X W = {served:.3f}",
        f"{(wip - served) / wip:+.3%}",
        f"boundary {bound / wip:.3%}",
        abs(wip - served) <= bound,
        f"{scenario.simulation.ticks} ticks ({scenario.simulation.warmup_ticks} warm-up), 1 run",
    )
    assert wip - served == pytest.approx(gap, rel=1e-9)
    assert abs(wip - served) <= bound

"""Benchmark 2 - OrgSim against a dedicated discrete-event engine (SimPy) on M/M/c.

OrgSim runs ``scenarios/validation/mmc.toml`` (one team of c = 3 people, Poisson arrivals
lambda = 2/tick, exponential effort with mean 1, every other mechanism off) through
``run_scenario`` in the compiled kernel (the only engine: the object engine before it was
removed; its last figures are in the README); SimPy runs the same queue
(``benchmarks/simpy_mmc.py``) with the same lambda, mu and c and exactly as many customers
as OrgSim's run had work items. All run in this warm interpreter (untimed warm-up runs
first); only the simulation is timed, the engines in turn (kernel, kernel model only,
SimPy, repeated) so that load from other jobs falls on all alike; medians of 3 rounds.
Ratios are judged on wall time; the CPU-time ratio is shown too.

Reported: items per second of each and the ratios (target: the kernel >= 10x SimPy), the
kernel's model alone (``OrgModel.run()``, no item table or summary), and the kernel's and
SimPy's mean wait and sojourn next to the Erlang C values (Wq = 0.444, W = 1.444 for
c = 3, lambda = 2, mu = 1), each with a batch-means standard error so agreement can be
judged (|mean - exact| <= 3 SE).
"""

from __future__ import annotations

import math

import numpy as np

from benchmarks.common import MMC, SEED, Row, log, time_interleaved

NAME = "mmc"
TARGET_RATIO = 10.0
BATCHES = 20


def erlang_wait(servers: int, arrival_rate: float, service_rate: float) -> tuple[float, float]:
    """Exact (Wq, W) of M/M/c (Erlang C); taken from ``sim.analytic`` when it is there."""
    try:
        from sim.analytic import mmc_sojourn, mmc_wait

        return mmc_wait(servers, arrival_rate, service_rate), mmc_sojourn(servers, arrival_rate, service_rate)
    except ImportError:
        a = arrival_rate / service_rate
        rho = a / servers
        top = a**servers / math.factorial(servers) / (1 - rho)
        p_wait = top / (sum(a**k / math.factorial(k) for k in range(servers)) + top)
        wq = p_wait / (servers * service_rate - arrival_rate)
        return wq, wq + 1 / service_rate


def batch_se(values: np.ndarray, batches: int = BATCHES) -> float:
    """Standard error of the mean of a correlated sequence by the method of batch means."""
    means = [chunk.mean() for chunk in np.array_split(values, batches)]
    return float(np.std(means, ddof=1) / math.sqrt(batches))


def run(quick: bool = False) -> list[Row]:
    from benchmarks.simpy_mmc import simulate
    from sim.model.org_model import OrgModel
    from sim.run import run_scenario
    from sim.scenario.files import load_scenario

    ticks = 5000 if quick else 20000
    repeats = 1 if quick else 3
    budget_s = 0.0 if quick else 60.0
    config = load_scenario(MMC, [f"simulation.ticks={ticks}"])
    org = config.organisation
    servers = org.teams * org.team_size
    lam = config.demand.arrival_rate
    assert config.demand.effort.distribution == "exponential"
    mu = 1 / config.demand.effort.mean_days
    warmup = config.simulation.warmup_ticks
    wq_exact, w_exact = erlang_wait(servers, lam, mu)

    # Untimed warm-up of OrgSim and SimPy.
    run_scenario(load_scenario(MMC, [f"simulation.ticks={warmup + 200}"]), seed=SEED + 1)
    simulate(lam, mu, servers, 2000, 0.0, SEED + 1)

    # The SimPy run needs OrgSim's item count, so one (untimed) OrgSim run comes first.
    items = len(run_scenario(config, seed=SEED).items)
    timed = time_interleaved(
        {
            "orgsim": lambda: run_scenario(config, seed=SEED),
            "model": lambda: OrgModel(config, SEED).run(),
            "simpy": lambda: simulate(lam, mu, servers, items, warmup, SEED),
        },
        repeats,
        budget_s,
    )
    orgsim, model_only, simpy = (timed[k] for k in ("orgsim", "model", "simpy"))
    result, stats = orgsim.result, simpy.result
    done = result.items[(result.items["completion"] >= warmup) & (result.items["completion"] < ticks)]
    done = done.sort_values("arrival")

    org_rate = items / orgsim.wall_median
    simpy_rate = items / simpy.wall_median
    ratio = org_rate / simpy_rate
    log(f"  OrgSim run_scenario  {orgsim.spread()}  ({items:,} items, {ticks:,} ticks)")
    log(f"  OrgSim model only    {model_only.spread()}")
    log(f"  SimPy                {simpy.spread()}  ({items:,} customers)")

    figures = {
        "kernel": (done["queue_wait"].to_numpy(), done["lead_time"].to_numpy()),
        "SimPy": (stats.wait, stats.sojourn),
    }
    rows = [
        Row(NAME, f"OrgSim items/s (kernel, run_scenario, {items:,} items)", org_rate),
        Row(NAME, "OrgSim items/s (kernel, model only, no data collection)", items / model_only.wall_median),
        Row(NAME, f"SimPy items/s ({items:,} customers)", simpy_rate),
        Row(NAME, "kernel / SimPy items/s (wall time)", ratio, "x", f">= {TARGET_RATIO:g}x", ratio >= TARGET_RATIO),
        Row(NAME, "kernel / SimPy items/s (cpu time)", simpy.cpu_median / orgsim.cpu_median, "x"),
    ]
    for engine, (wait, sojourn) in figures.items():
        for label, values, exact in (("Wq", wait, wq_exact), ("W", sojourn, w_exact)):
            mean, se = float(values.mean()), batch_se(values)
            log(f"  {engine:<6} {label:<2} = {mean:.4f} +- {se:.4f} (exact {exact:.4f}, n={len(values):,})")
            rows.append(
                Row(
                    NAME,
                    f"{engine} mean {label} (+- {se:.3f} SE)",
                    mean,
                    "ticks",
                    f"{exact:.3f} +- 3 SE",
                    abs(mean - exact) <= 3 * se,
                )
            )
    return rows


if __name__ == "__main__":
    from benchmarks.run import main

    raise SystemExit(main(["--only", NAME]))

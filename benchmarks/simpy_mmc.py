"""The M/M/c queue of ``scenarios/validation/mmc.toml`` written in SimPy, the way SimPy's own
examples write it: a source process creates customers, each customer is a process that
requests one of ``c`` servers (``simpy.Resource``), holds it for its service time, and
records its arrival, start and end times.

Inter-arrival and service times are drawn up front with numpy (OrgSim also draws its
demand in vectorised blocks), so the timed part is the discrete-event engine and the
per-customer bookkeeping, as in OrgSim's run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import simpy


@dataclass(frozen=True)
class QueueStats:
    """Customers served and their mean waits over those arriving after the warm-up."""

    arrivals: int
    served: int
    wait: np.ndarray  # per measured customer, in arrival order
    sojourn: np.ndarray

    @property
    def wait_mean(self) -> float:
        return float(self.wait.mean())

    @property
    def sojourn_mean(self) -> float:
        return float(self.sojourn.mean())


def simulate(
    arrival_rate: float, service_rate: float, servers: int, items: int, warmup: float, seed: int
) -> QueueStats:
    """Run ``items`` customers through an M/M/``servers`` queue until the last one leaves."""
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1 / arrival_rate, items).tolist()
    services = rng.exponential(1 / service_rate, items).tolist()
    arrived = [0.0] * items
    started = [0.0] * items
    ended = [0.0] * items

    env = simpy.Environment()
    server = simpy.Resource(env, capacity=servers)

    def customer(index: int):
        arrived[index] = env.now
        with server.request() as request:
            yield request
            started[index] = env.now
            yield env.timeout(services[index])
        ended[index] = env.now

    def source():
        for index, gap in enumerate(gaps):
            yield env.timeout(gap)
            env.process(customer(index))

    env.process(source())
    env.run()

    arrival = np.array(arrived)
    measured = arrival >= warmup
    return QueueStats(
        arrivals=items,
        served=items,
        wait=(np.array(started) - arrival)[measured],
        sojourn=(np.array(ended) - arrival)[measured],
    )

"""A separately written SimPy model of central IT's stage pipeline (a test helper).

It is the reference that ``tests/test_independent_checks.py`` docks OrgSim's central IT
against, so it imports nothing from ``sim``: items arrive as a Poisson process, each with
an exponential effort; they pass the silos in order, each silo one pooled FIFO queue
served by ``capacity`` people (one ``simpy.Resource``), a stage taking ``share x effort``
of a person's time; between stages a handoff delays the item by a fixed time before it
joins the next silo's queue. There is no handoff before the first silo.

With ``independent=True`` each stage draws its own exponential work instead (mean
``share x mean effort``), which makes the pipeline a Jackson network of M/M/c stations.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import simpy


@dataclass(frozen=True)
class Silo:
    """One stage: the people who serve its queue and its share of an item's effort."""

    capacity: int
    share: float


@dataclass(frozen=True)
class PipelineRun:
    """Every item that arrived before the horizon: arrival and completion times (nan while
    open) and its wait in each silo's queue (items x silos, nan where not reached)."""

    arrival: np.ndarray
    completion: np.ndarray
    waits: np.ndarray

    def done_in(self, start: float, end: float) -> np.ndarray:
        """Mask of the items completed in ``[start, end)``."""
        with np.errstate(invalid="ignore"):
            return (self.completion >= start) & (self.completion < end)


def run_pipeline(
    arrival_rate: float,
    mean_effort: float,
    silos: Sequence[Silo],
    handoff_delay: float,
    horizon: float,
    seed: int,
    independent: bool = False,
) -> PipelineRun:
    """Simulate the pipeline over ``[0, horizon)`` with one seeded numpy generator."""
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    resources = [simpy.Resource(env, capacity=silo.capacity) for silo in silos]
    rows: list[list[float]] = []  # arrival, completion, wait per silo

    def item(effort: float) -> Iterator[simpy.Event]:
        row = [env.now, np.nan] + [np.nan] * len(silos)
        rows.append(row)
        for stage, (silo, resource) in enumerate(zip(silos, resources, strict=True)):
            if stage:
                yield env.timeout(handoff_delay)
            joined = env.now
            with resource.request() as request:
                yield request
                row[2 + stage] = env.now - joined
                work = rng.exponential(mean_effort) if independent else effort
                yield env.timeout(silo.share * work)
        row[1] = env.now

    def arrivals() -> Iterator[simpy.Event]:
        while True:
            yield env.timeout(rng.exponential(1 / arrival_rate))
            env.process(item(rng.exponential(mean_effort)))

    env.process(arrivals())
    env.run(until=horizon)
    table = np.array(rows, dtype=float).reshape(-1, 2 + len(silos))
    return PipelineRun(table[:, 0], table[:, 1], table[:, 2:])

"""The warm-up from the data: MSER-5 on the across-replication mean of per-tick series.

The method (docs/ODD.md, "Warm-up from the data"):

1. Run ``reps`` replications with no warm-up, so every tick is visible, and average each
   chosen per-tick series across them tick by tick (Welch's averaging of replications;
   Hoad, Robinson & Davies 2010 recommend MSER-5 on such averaged output).
2. Batch the mean series into means of 5 ticks and find the MSER-5 truncation point
   (White 1997; White, Cobb & Spratt 2000): the number of leading batches whose removal
   minimises the squared standard error of the remaining mean.
3. A truncation point in the second half of the series means no steady state was seen
   within the run (Hoad, Robinson & Davies 2010): run longer. Otherwise the recommended
   ``simulation.warmup_ticks`` is the largest truncation over the series, in ticks (a
   multiple of the batch size, 5).

Changing ``simulation.warmup_ticks`` changes no dynamics except where the spread start
follows it (``spread.start_tick`` unset): the replications here keep the scenario's
spread start, so they show the dynamics the scenario as given runs.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.experiment.design import run_seed
from sim.experiment.sweep import make_executor
from sim.scenario.errors import ScenarioError
from sim.scenario.files import validate_scenario
from sim.scenario.schema import Scenario

BATCH = 5  # observations per batch: the "5" of MSER-5
MIN_TAIL_BATCHES = 10  # candidates keep at least this many batches (see mser)
MIN_BATCHES = 4 * MIN_TAIL_BATCHES  # shortest series: room for a cut past its middle
DEFAULT_SERIES = ("wip", "completions", "knowledge_held")  # open work, throughput, knowledge


def batch_means(values: Sequence[float] | np.ndarray, size: int = BATCH) -> np.ndarray:
    """Means of consecutive batches of ``size`` observations; an incomplete last batch is
    dropped (White, Cobb & Spratt 2000, MSER-5's batching)."""
    data = np.asarray(values, dtype=float)
    count = len(data) // size
    return data[: count * size].reshape(count, size).mean(axis=1)


def mser(batches: Sequence[float] | np.ndarray) -> np.ndarray:
    """MSER(d) = sum_{j >= d} (Y_j - mean(Y_d..))^2 / (n - d)^2 for d = 0 .. n - MIN_TAIL_BATCHES
    (White 1997, with 0-based batches): the squared standard error of the mean of what is
    left after dropping the first ``d`` batches. At least ``MIN_TAIL_BATCHES`` batches stay:
    MSER of a one-batch tail is 0 by construction, and a tail of m stationary batches
    undercuts the whole series' MSER by chance as often as a chi-square with m - 1 degrees
    of freedom falls below m^2 / n (m = 10, n = 120: 3 in 10,000; m = 5: 1 in 200).
    The tail sums of squares are accumulated from the end with Welford's update, so a
    constant tail gives exactly zero."""
    y = np.asarray(batches, dtype=float)
    n = len(y)
    if n < MIN_BATCHES:
        raise ValueError(f"MSER-5 needs at least {MIN_BATCHES} batches (got {n})")
    squares = np.empty(n)
    mean = total = 0.0
    for count, value in enumerate(y[::-1].tolist(), start=1):
        delta = value - mean
        mean += delta / count
        total += delta * (value - mean)
        squares[n - count] = total
    kept = np.arange(n, 0, -1, dtype=float)
    return (squares / kept**2)[: n - MIN_TAIL_BATCHES + 1]


@dataclass(frozen=True)
class Truncation:
    """MSER-5's answer for one series: drop ``batches`` leading batches (``ticks`` ticks) of
    ``n_batches``; ``steady`` is False when the minimum fell in the second half."""

    batches: int
    n_batches: int
    steady: bool

    @property
    def ticks(self) -> int:
        return self.batches * BATCH


def mser5(values: Sequence[float] | np.ndarray) -> Truncation:
    """MSER-5 truncation of one series (White, Cobb & Spratt 2000): batch it by 5, take the
    ``d`` that minimises :func:`mser` (the smallest on ties); a ``d`` beyond half of the
    batches means the series shows no steady state (Hoad, Robinson & Davies 2010)."""
    batches = batch_means(values)
    statistic = mser(batches)
    best = int(np.argmin(statistic))
    return Truncation(best, len(batches), steady=best <= len(batches) // 2)


def welch_flat_after(
    values: Sequence[float] | np.ndarray, start: int, window: int = 50, tolerance: float = 0.02
) -> bool:
    """Welch's procedure made a rule (Welch 1983; Law, Simulation Modeling and Analysis,
    5th ed., 9.5.1): the ``window``-tick moving average of the replication mean stays within
    ``tolerance`` (relative) of its mean over ``[start, end)``. For slow state series that
    wander about a plateau, where MSER-5 sees no steady state at all."""
    tail = np.asarray(values, dtype=float)[start:]
    if len(tail) < window:
        return False
    moving = np.convolve(tail, np.ones(window) / window, mode="valid")
    level = tail.mean()
    return bool(np.all(np.abs(moving - level) <= tolerance * abs(level)))


def recommended_warmup(truncations: Sequence[Truncation]) -> int | None:
    """The warm-up every series needs: the largest truncation in ticks, or None if any
    series shows no steady state."""
    if not all(t.steady for t in truncations):
        return None
    return max(t.ticks for t in truncations)


# --- replications ---------------------------------------------------------------------
@dataclass(frozen=True)
class WarmupStudy:
    """Mean series over ``reps`` replications of ``ticks`` ticks and the MSER-5 truncation of each."""

    scenario: Scenario
    reps: int
    seed: int
    ticks: int
    means: dict[str, np.ndarray]
    truncations: dict[str, Truncation]

    @property
    def recommended(self) -> int | None:
        return recommended_warmup(list(self.truncations.values()))


def unwarmed(scenario: Scenario, ticks: int | None = None) -> Scenario:
    """``scenario`` with no warm-up (every tick visible) and its spread start pinned, so it
    runs as before; ``ticks`` long if given."""
    data = scenario.model_dump(mode="json")
    data["spread"]["start_tick"] = scenario.spread_start_tick
    data["simulation"]["warmup_ticks"] = 0
    if ticks is not None:
        data["simulation"]["ticks"] = ticks
    return validate_scenario(data, source="--ticks" if ticks is not None else "warm-up study")


def check_series(scenario: Scenario, names: Sequence[str]) -> list[str]:
    """``names`` if each is a per-tick series of a run of ``scenario``, else a ScenarioError
    naming the closest one (the columns are read from a one-tick run)."""
    from sim.run import run_scenario

    known = [c for c in run_scenario(scenario, seed=0, ticks=1).series.columns if c != "tick"]
    for name in names:
        if name not in known:
            hint = difflib.get_close_matches(name, known, n=1)
            fix = f"did you mean {hint[0]!r}?" if hint else f"known series: {', '.join(known)}"
            raise ScenarioError(f"--series {name}: unknown per-tick series; {fix}")
    return list(names)


def replicate_series(scenario: dict[str, Any], seed: int, names: Sequence[str]) -> dict[str, np.ndarray]:
    """Run ``scenario`` once with ``seed`` (in a worker); return only the series ``names``."""
    from sim.run import run_scenario

    series = run_scenario(scenario, seed=seed).series
    return {name: series[name].to_numpy(dtype=float) for name in names}


def study_warmup(
    scenario: Scenario,
    *,
    reps: int = 10,
    seed: int = 0,
    ticks: int | None = None,
    series: Sequence[str] = DEFAULT_SERIES,
    workers: int | None = None,
    quiet: bool = False,
) -> WarmupStudy:
    """Run ``reps`` replications of ``scenario`` (``ticks`` long if given) without warm-up,
    seeds derived from ``seed`` as ``orgsim compare`` does; average each of ``series``
    across them tick by tick and apply MSER-5 to each mean."""
    from tqdm import tqdm

    if reps < 2:
        raise ScenarioError(f"--reps {reps}: the warm-up needs at least 2 replications to average; e.g. --reps 10")
    plain = unwarmed(scenario, ticks)
    ticks = plain.simulation.ticks
    if ticks // BATCH < MIN_BATCHES:
        raise ScenarioError(
            f"simulation.ticks (or --ticks) {ticks}: MSER-5 needs at least {MIN_BATCHES * BATCH} ticks "
            f"({MIN_BATCHES} batches of {BATCH}); run longer, e.g. --ticks 600"
        )
    names = check_series(plain, series)
    data = plain.model_dump(mode="json")
    sums = {name: np.zeros(ticks) for name in names}
    progress = tqdm(total=reps, unit="run", desc="warmup", file=sys.stderr, disable=quiet, dynamic_ncols=True)
    try:
        with make_executor(workers) as info:
            futures: list[Future] = [
                info.executor.submit(replicate_series, data, run_seed(seed, {}, rep), names) for rep in range(reps)
            ]
            for future in futures:  # summed in replicate order: the same means on any executor
                for name, values in future.result().items():
                    sums[name] += values
                progress.update()
    finally:
        progress.close()
    means = {name: total / reps for name, total in sums.items()}
    truncations = {name: mser5(values) for name, values in means.items()}
    return WarmupStudy(scenario, reps, seed, ticks, means, truncations)

"""Experiment designs: a base scenario, varied parameters, replications and per-run seeds.

A design point sets some scenario keys, named by dotted paths exactly like ``--set``
(``handoff.delay_ticks``). Points come from a full grid, a Latin hypercube or a Sobol
sample over ranges (``scipy.stats.qmc``), optionally crossed with a grid of discrete
keys such as ``structure``. Every point is validated through the scenario schema when
the design is built, and its values are stored as the schema reads them back (so
``1`` and ``1.0`` for a float key are the same point).

Seeds give common random numbers: a run's seed comes from ``numpy.random.SeedSequence``
keyed by the base seed, a hash of the point's values *without* ``structure``, and the
replicate index. Both structures at a point and replicate therefore share a seed (a
paired comparison), and a run's seed depends neither on run order nor on how many
other points or replicates the design has. A run's id also hashes the config hash of the
scenario that runs, so the same point over two base scenarios gives two ids (but the same
seeds). :class:`Precision` is the rule that decides,
from a point's values, whether it needs more replicates. The design does no I/O.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import itertools
import json
import math
import types
import typing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel

from sim.experiment.tables import LEVEL
from sim.scenario.budget import check_memory
from sim.scenario.errors import ScenarioError
from sim.scenario.files import config_hash, load_scenario, model_in, validate_scenario
from sim.scenario.schema import Scenario

STRUCTURE = "structure"
Kind = Literal["grid", "lhs", "sobol", "points"]
_SAMPLER_KEY = 0x5341_4D50  # spawn key of the sampler's stream ("SAMP"); run seeds use longer keys


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: the text every hash in a design is taken of."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _digest(value: Any) -> bytes:
    return hashlib.sha256(canonical_json(value).encode()).digest()


def run_seed(base_seed: int, point: Mapping[str, Any], replicate: int) -> int:
    """Seed of one run: depends only on ``base_seed``, the point without ``structure``, ``replicate``.

    The point's values (``structure`` dropped) are hashed (SHA-256 of canonical JSON) into
    four 32-bit words that, with the replicate index, form the ``SeedSequence`` spawn key.
    The result is a non-negative 63-bit integer (fits a signed 64-bit table column).
    """
    if base_seed < 0 or replicate < 0:
        raise ScenarioError(f"seed and replicate must be non-negative (got seed={base_seed}, replicate={replicate})")
    values = {k: v for k, v in point.items() if k != STRUCTURE}
    digest = _digest(values)
    words = tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))
    state = np.random.SeedSequence(base_seed, spawn_key=(*words, replicate)).generate_state(1, dtype=np.uint64)
    return int(state[0]) >> 1


def run_id(point: Mapping[str, Any], replicate: int, seed: int, scenario_hash: str | None = None) -> str:
    """Stable id of one run: a hash of everything that makes it, the point (``structure``
    included), the replicate, the design's base seed (from which the run's seed derives) and
    ``scenario_hash``, the :func:`~sim.scenario.files.config_hash` of the scenario that runs
    (so one point over two base scenarios gives two ids). Without ``scenario_hash``: the id
    that runs.jsonl files written before carry, by which a sweep still resumes them."""
    made = {"point": dict(point), "replicate": replicate, "seed": seed}
    return _digest(made if scenario_hash is None else made | {"scenario": scenario_hash}).hex()[:16]


def point_id(point: Mapping[str, Any]) -> str:
    """Id shared by every run at a point whatever its structure (a hash of the other values)."""
    return _digest({k: v for k, v in point.items() if k != STRUCTURE}).hex()[:12]


@dataclass(frozen=True)
class RunSpec:
    """One run of a design: what to run, with which seed, and the labels its row carries."""

    run_id: str
    point: dict[str, Any]
    replicate: int
    seed: int
    scenario: dict[str, Any]

    @property
    def labels(self) -> dict[str, Any]:
        """Row labels before the metrics: point parameters, structure, replicate, seed."""
        params = {k: table_value(v) for k, v in self.point.items() if k != STRUCTURE}
        structure = self.point.get(STRUCTURE, self.scenario.get(STRUCTURE))
        return {"run_id": self.run_id, **params, STRUCTURE: structure, "replicate": self.replicate, "seed": self.seed}


def table_value(value: Any) -> Any:
    """A point value as a table cell: scalars as they are, lists and tables as JSON text."""
    return canonical_json(value) if isinstance(value, list | dict) else value


@dataclass(frozen=True, eq=False)
class Design:
    """A base scenario, design points (varied keys and their values), replications and a base seed.

    Build one with :meth:`grid`, :meth:`latin_hypercube`, :meth:`sobol` or
    :meth:`from_points`; they validate every point. ``runs()`` yields the runs lazily.
    """

    base: dict[str, Any]
    points: tuple[dict[str, Any], ...]
    reps: int = 1
    seed: int = 0
    kind: Kind = "points"
    spec: dict[str, Any] | None = None

    # --- constructors ---------------------------------------------------------------
    @classmethod
    def from_points(
        cls,
        base: Scenario | Mapping[str, Any] | str | Path,
        points: Sequence[Mapping[str, Any]],
        reps: int = 1,
        seed: int = 0,
        *,
        kind: Kind = "points",
        spec: Mapping[str, Any] | None = None,
    ) -> Design:
        """A design over explicit points (each a mapping of dotted key to value)."""
        base_dict = _base_dict(base)
        if not isinstance(reps, int) or reps < 1:
            raise ScenarioError(f"design: reps must be a whole number >= 1 (got {reps!r})")
        if not isinstance(seed, int) or seed < 0:
            raise ScenarioError(f"design: seed must be a whole number >= 0 (got {seed!r})")
        if not points:
            raise ScenarioError("design: no design points; give at least one value per varied key")
        keys = tuple(points[0])
        checked: list[dict[str, Any]] = []
        seen: dict[str, int] = {}
        for index, point in enumerate(points):
            if tuple(point) != keys:
                raise ScenarioError(f"design point {index}: keys {list(point)} differ from the first's {list(keys)}")
            canonical = canonical_point(base_dict, point)
            ident = run_id(canonical, 0, seed)
            if ident in seen:
                raise ScenarioError(f"design point {index}: {canonical} repeats point {seen[ident]}; give it once")
            seen[ident] = index
            checked.append(canonical)
        return cls(base_dict, tuple(checked), reps, seed, kind, dict(spec) if spec else None)

    @classmethod
    def grid(
        cls,
        base: Scenario | Mapping[str, Any] | str | Path,
        factors: Mapping[str, Sequence[Any]],
        reps: int = 1,
        seed: int = 0,
    ) -> Design:
        """Full factorial over ``factors`` (dotted key -> values), first key varying slowest."""
        grid = _check_factors(factors)
        points = [dict(zip(grid, combo, strict=True)) for combo in itertools.product(*grid.values())]
        spec = {"factors": {k: list(v) for k, v in grid.items()}}
        return cls.from_points(base, points or [{}], reps, seed, kind="grid", spec=spec)

    @classmethod
    def latin_hypercube(
        cls,
        base: Scenario | Mapping[str, Any] | str | Path,
        ranges: Mapping[str, tuple[float, float]],
        n: int,
        reps: int = 1,
        seed: int = 0,
        *,
        grid: Mapping[str, Sequence[Any]] | None = None,
        integers: Sequence[str] | None = None,
    ) -> Design:
        """``n`` Latin-hypercube samples over ``ranges``, crossed with ``grid`` (e.g. both structures)."""
        return cls._sampled("lhs", base, ranges, n, reps, seed, grid, integers)

    @classmethod
    def sobol(
        cls,
        base: Scenario | Mapping[str, Any] | str | Path,
        ranges: Mapping[str, tuple[float, float]],
        n: int,
        reps: int = 1,
        seed: int = 0,
        *,
        grid: Mapping[str, Sequence[Any]] | None = None,
        integers: Sequence[str] | None = None,
    ) -> Design:
        """``n`` (a power of two) scrambled Sobol points over ``ranges``, crossed with ``grid``.

        The first ``n`` points do not change when ``n`` grows, so neither do their runs' seeds."""
        return cls._sampled("sobol", base, ranges, n, reps, seed, grid, integers)

    @classmethod
    def _sampled(
        cls,
        kind: Literal["lhs", "sobol"],
        base: Scenario | Mapping[str, Any] | str | Path,
        ranges: Mapping[str, tuple[float, float]],
        n: int,
        reps: int,
        seed: int,
        grid: Mapping[str, Sequence[Any]] | None,
        integers: Sequence[str] | None,
    ) -> Design:
        if not ranges:
            raise ScenarioError(f"{kind} design: give at least one key with a (low, high) range")
        if not isinstance(n, int) or n < 1:
            raise ScenarioError(f"{kind} design: n must be a whole number >= 1 (got {n!r})")
        if kind == "sobol" and n & (n - 1):
            raise ScenarioError(f"sobol design: n must be a power of two for balance (got {n}; try {_pow2(n)})")
        if not isinstance(seed, int) or seed < 0:
            raise ScenarioError(f"design: seed must be a whole number >= 0 (got {seed!r})")
        ints = set(integers) if integers is not None else {k for k in ranges if is_integer_key(k)}
        bounds: dict[str, tuple[float, float]] = {}
        for key, pair in ranges.items():
            try:
                low, high = pair
            except (TypeError, ValueError):
                raise ScenarioError(f"{kind} design: {key}: range must be a (low, high) pair (got {pair!r})") from None
            if not (isinstance(low, int | float) and isinstance(high, int | float)) or not low < high:
                raise ScenarioError(f"{kind} design: {key}: range needs numbers low < high (got {pair!r})")
            bounds[key] = (low, high)
        from scipy.stats import qmc  # here, not at the top: slow to import, rarely needed

        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_SAMPLER_KEY,)))
        sampler = qmc.LatinHypercube(len(bounds), rng=rng) if kind == "lhs" else qmc.Sobol(len(bounds), rng=rng)
        unit = sampler.random(n)
        samples = []
        for row in unit:
            point: dict[str, Any] = {}
            for (key, (low, high)), u in zip(bounds.items(), row, strict=True):
                if key in ints:
                    lo, hi = math.ceil(low), math.floor(high)
                    point[key] = min(hi, lo + int(u * (hi - lo + 1)))
                else:
                    point[key] = float(low + u * (high - low))
            samples.append(point)
        cross = _check_factors(grid or {})
        overlap = set(cross) & set(bounds)
        if overlap:
            raise ScenarioError(f"{kind} design: {sorted(overlap)} given both as a range and in the grid")
        combos = [dict(zip(cross, c, strict=True)) for c in itertools.product(*cross.values())]
        points = [s | c for s in samples for c in combos]
        spec = {
            "ranges": {k: list(v) for k, v in bounds.items()},
            "n": n,
            "integers": sorted(ints & set(bounds)),
            "grid": {k: list(v) for k, v in cross.items()},
        }
        return cls.from_points(base, points, reps, seed, kind=kind, spec=spec)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Design:
        """Rebuild a design from :meth:`to_dict` (validating it again)."""
        return cls.from_points(
            data["base"], data["points"], data["reps"], data["seed"], kind=data["kind"], spec=data.get("spec")
        )

    # --- what the design holds --------------------------------------------------------
    @property
    def keys(self) -> tuple[str, ...]:
        """The varied keys, ``structure`` included if it varies."""
        return tuple(self.points[0])

    @property
    def parameters(self) -> tuple[str, ...]:
        """The varied keys other than ``structure`` (the columns that identify a point)."""
        return tuple(k for k in self.keys if k != STRUCTURE)

    @property
    def structures(self) -> tuple[str, ...]:
        """The structures the design runs, in first-seen order."""
        if STRUCTURE not in self.keys:
            return (self.base.get(STRUCTURE, "central_it"),)
        return tuple(dict.fromkeys(p[STRUCTURE] for p in self.points))

    @property
    def n_runs(self) -> int:
        return len(self.points) * self.reps

    @property
    def base_config_hash(self) -> str:
        return config_hash(validate_scenario(self.base, source="base scenario"))

    def scenario(self, point: Mapping[str, Any]) -> dict[str, Any]:
        """The full scenario dict of one point (base with the point's keys set)."""
        return apply_point(self.base, point)

    def scenario_hash(self, point: Mapping[str, Any]) -> str:
        """The config hash of the scenario that runs at ``point`` (worked out once per point)."""
        key = canonical_json(point)
        if key not in self._scenario_hashes:
            scenario = validate_scenario(self.scenario(point), source="design point")
            self._scenario_hashes[key] = config_hash(scenario)
        return self._scenario_hashes[key]

    @functools.cached_property
    def _scenario_hashes(self) -> dict[str, str]:
        return {}

    def check_memory(self, limit: float, source: str) -> None:
        """Refuse (one line, naming ``source`` and the point) the first point whose run would
        need more than ``limit`` bytes: a varied point may need more than the base."""
        for point in self.points:
            label = ", ".join(f"{k}={v}" for k, v in point.items())
            scenario = validate_scenario(self.scenario(point), source="design point")
            check_memory(scenario, limit, f"{source}: design point ({label})")

    def run_id(self, point: Mapping[str, Any], replicate: int) -> str:
        """The id of replicate ``replicate`` at ``point``: :func:`run_id` with the point's scenario."""
        return run_id(point, replicate, self.seed, self.scenario_hash(point))

    def runs(self, reps: Mapping[str, int] | None = None) -> Iterator[RunSpec]:
        """Every run, point by point and replicate by replicate (order does not affect seeds).

        ``reps`` maps a :func:`point_id` to its number of replicates where it differs from
        ``self.reps`` (a precision sweep); replicate r's seed is the same either way."""
        for point in self.points:
            scenario = self.scenario(point)
            count = reps.get(point_id(point), self.reps) if reps else self.reps
            for rep in range(count):
                yield self.run(point, rep, scenario)

    def run(self, point: dict[str, Any], replicate: int, scenario: dict[str, Any] | None = None) -> RunSpec:
        """Replicate ``replicate`` at ``point`` (``scenario``: the point's, if already built)."""
        scenario = self.scenario(point) if scenario is None else scenario
        return RunSpec(self.run_id(point, replicate), point, replicate, run_seed(self.seed, point, replicate), scenario)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data that rebuilds the design (written beside its results)."""
        return {
            "kind": self.kind,
            "spec": self.spec,
            "keys": list(self.keys),
            "reps": self.reps,
            "seed": self.seed,
            "n_points": len(self.points),
            "n_runs": self.n_runs,
            "base_config_hash": self.base_config_hash,
            "base": self.base,
            "points": [dict(p) for p in self.points],
        }

    def fingerprint(self) -> str:
        """Short hash of the whole design (base, points, reps, seed)."""
        data = {"base": self.base, "points": list(self.points), "reps": self.reps, "seed": self.seed}
        return _digest(data).hex()[:12]


# --- replicating to a precision ----------------------------------------------------------
DEFAULT_PRECISION_METRIC = "throughput_per_tick"  # defined in every run, unlike lead times or adoption times


@dataclass(frozen=True)
class Precision:
    """Replicate each point until its means are precise: Law & Kelton's sequential procedure.

    Law, *Simulation Modeling and Analysis*, 5th ed., 2015, §9.4.1. With n replications the
    95% interval half-width of a mean is delta(n) = t_{n-1,0.975} sqrt(S^2(n) / n); a point
    reaches relative error ``relative_error`` (gamma) once delta(n) <= gamma' |mean(n)| with
    gamma' = gamma / (1 + gamma), so that |mean - mu| / |mu| <= gamma holds with about 95%
    probability. The test must hold for each of ``metrics`` and for each structure at the
    point (per-structure means, not the paired difference), over the runs where the metric
    is defined (None/NaN left out, as in the summary table). Fewer than two defined values,
    or a zero mean with some spread, never reach it.

    Replications are added in rounds rather than one at a time: a point that misses adds
    what Law's estimate n*(gamma) = min{i > n: t_{i-1,0.975} S(n) / sqrt(i) <= gamma' |mean(n)|}
    asks for, at least one and at most n (never more than doubling on a noisy S(n)), and
    never beyond ``max_reps``. How many replicates a point ends with thus depends only on
    its runs' values, so on its seeds: not on the executor, the other points or interruptions.
    """

    relative_error: float
    max_reps: int
    metrics: tuple[str, ...] = (DEFAULT_PRECISION_METRIC,)

    @classmethod
    def checked(
        cls, relative_error: float, max_reps: int | None, metrics: Sequence[str] | None, reps: int
    ) -> Precision:
        """The procedure for a design of ``reps`` initial replications; bad values -> ScenarioError."""
        from sim.metrics import METRICS

        if isinstance(relative_error, bool) or not isinstance(relative_error, int | float):
            raise ScenarioError(f"--precision {relative_error!r}: give a relative error such as 0.05")
        if not (math.isfinite(relative_error) and relative_error > 0):
            raise ScenarioError(f"--precision {relative_error}: must be a relative error > 0, e.g. --precision 0.05")
        if max_reps is None:
            raise ScenarioError("--precision needs --max-reps N, the most replications per point, e.g. --max-reps 50")
        if reps < 2:
            raise ScenarioError(f"--reps {reps}: --precision needs at least 2 initial replications (3 or more advised)")
        if isinstance(max_reps, bool) or not isinstance(max_reps, int) or max_reps < reps:
            raise ScenarioError(f"--max-reps {max_reps}: must be a whole number >= --reps ({reps})")
        names = tuple(metrics) if metrics else (DEFAULT_PRECISION_METRIC,)
        for name in names:
            if name not in METRICS:
                raise ScenarioError(f"--precision-metric {name}: unknown metric; known metrics: {', '.join(METRICS)}")
        return cls(float(relative_error), max_reps, names)

    @property
    def target(self) -> float:
        """gamma' = gamma / (1 + gamma): the half-width allowed, as a share of |mean|."""
        return self.relative_error / (1 + self.relative_error)

    def assess(self, n: int, samples: Iterable[Sequence[float | None]]) -> tuple[bool, int]:
        """(reached, replicates wanted) for a point with ``n`` replicates, ``samples`` holding
        each metric's values for each structure there. Wanted is ``n`` once reached or at
        ``max_reps``, else a larger number."""
        add = 0
        for sample in samples:
            values = np.asarray([math.nan if v is None else v for v in sample], dtype=float)
            add = max(add, self._more_needed(values[np.isfinite(values)], n))
        return add == 0, n if add == 0 else min(self.max_reps, n + add)

    def _more_needed(self, x: np.ndarray, n: int) -> int:
        """0 if ``x`` meets the precision, else how many more values Law's n*(gamma) asks (1..n)."""
        k = len(x)
        if k < 2:
            return n
        allowed = self.target * abs(float(x.mean()))
        # delta(i) for i = k (now), k + 1, ..., k + n, with S fixed at S(k)
        counts = np.arange(k, k + n + 1)
        half = self._t(counts - 1) * float(x.std(ddof=1)) / np.sqrt(counts)
        enough = np.flatnonzero(half <= allowed)
        return int(enough[0]) if enough.size else n

    @staticmethod
    def _t(df: np.ndarray) -> np.ndarray:
        from scipy import stats  # slow to import, rarely needed

        return stats.t.ppf(0.5 + LEVEL / 2, df)

    def to_dict(self) -> dict[str, Any]:
        """The settings as written to design.json and table provenance."""
        return {
            "precision": self.relative_error,
            "metrics": list(self.metrics),
            "max_reps": self.max_reps,
            "level": LEVEL,
            "criterion": "per point, metric and structure: t_{n-1,0.975} S/sqrt(n) <= g/(1+g) |mean|, g = precision "
            "(Law & Kelton, relative precision)",
        }


# --- points: setting dotted keys, reading back validated values -----------------------
def apply_point(base: Mapping[str, Any], point: Mapping[str, Any], source: str = "design") -> dict[str, Any]:
    """A copy of ``base`` with each dotted key of ``point`` set (sections created as needed)."""
    data = copy.deepcopy(dict(base))
    for key, value in point.items():
        set_path(data, key, value, source)
    return data


def set_path(data: dict[str, Any], key: str, value: Any, source: str = "design") -> None:
    """Set ``data[a][b][c] = value`` for ``key = "a.b.c"`` (same rules as ``--set``)."""
    parts = key.split(".")
    if not key or any(not p for p in parts):
        raise ScenarioError(f"{source}: {key!r}: expected a dotted key path such as handoff.delay_ticks")
    node = data
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ScenarioError(f"{source}: {key}: {part!r} is a value, not a section")
        node = child
    node[parts[-1]] = copy.deepcopy(value)


def get_path(data: Mapping[str, Any], key: str) -> Any:
    node: Any = data
    for part in key.split("."):
        node = node[part]
    return node


def canonical_point(base: Mapping[str, Any], point: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``base`` with ``point`` applied; return the point's values as the schema reads them."""
    label = ", ".join(f"{k}={v!r}" for k, v in point.items()) or "base"
    for key in point:
        if not isinstance(key, str):
            raise ScenarioError(f"design point ({label}): key {key!r} must be a dotted key path string")
    source = f"design point ({label})"
    scenario = validate_scenario(apply_point(base, point, source), source=source)
    dumped = scenario.model_dump(mode="json")
    return {key: get_path(dumped, key) for key in point}


def is_integer_key(key: str) -> bool:
    """Whether the scenario schema types ``key`` as a whole number (samples are then rounded)."""
    model: type[BaseModel] | None = Scenario
    annotation: Any = None
    for part in key.split("."):
        if model is None or part not in model.model_fields:
            return False
        annotation = model.model_fields[part].annotation
        model = model_in(annotation)
    args = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else (annotation,)
    return int in args and float not in args and bool not in args


def _check_factors(factors: Mapping[str, Sequence[Any]]) -> dict[str, list[Any]]:
    checked: dict[str, list[Any]] = {}
    for key, values in factors.items():
        if isinstance(values, str | bytes) or not isinstance(values, Sequence):
            raise ScenarioError(f"design: {key}: give a list of values (got {values!r})")
        if not values:
            raise ScenarioError(f"design: {key}: no values given")
        checked[key] = list(values)
    return checked


def _base_dict(base: Scenario | Mapping[str, Any] | str | Path) -> dict[str, Any]:
    if isinstance(base, Scenario):
        scenario = base
    elif isinstance(base, Mapping):
        scenario = validate_scenario(dict(base), source="base scenario")
    else:
        scenario = load_scenario(base)
    return scenario.model_dump(mode="json")


def _pow2(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


# --- parsing command-line grids ---------------------------------------------------------
def parse_grid(assignment: str) -> tuple[str, list[Any]]:
    """``key.path=v1,v2,...`` -> (key, values); values read as TOML like ``--set`` (bare words as text)."""
    import tomllib

    key, sep, raw = assignment.partition("=")
    key = key.strip()
    if not sep or not key or not raw.strip():
        raise ScenarioError(f"--grid {assignment!r}: expected key.path=v1,v2,..., e.g. handoff.delay_ticks=0,1,2")
    try:
        values = tomllib.loads(f"v = [{raw.strip()}]")["v"]
    except tomllib.TOMLDecodeError:
        values = []
        for item in raw.split(","):
            text = item.strip()
            if not text:
                raise ScenarioError(f"--grid {key}: empty value in {raw!r}") from None
            try:
                values.append(tomllib.loads(f"v = {text}")["v"])
            except tomllib.TOMLDecodeError:
                values.append(text)
    if not values:
        raise ScenarioError(f"--grid {key}: no values given")
    return key, values

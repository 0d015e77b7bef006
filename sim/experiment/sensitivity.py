"""Global sensitivity analysis of any scenario metric: Morris screening and Sobol' indices.

Sampling and analysis are SALib's (the ``sensitivity`` extra); evaluation is the sweep
engine's. The pipeline:

1. ``parse_range("key=low:high")`` and :func:`check_problem` turn dotted scenario keys
   with ranges into a :class:`Problem` (each bound validated through the schema).
2. :func:`sample` draws Morris trajectories (``num_levels`` grid levels, one factor moved
   per step) or a Saltelli sample for first- and total-order Sobol' indices
   (``N (D + 2)`` rows; ``N`` a power of two).
3. :func:`evaluate` runs every distinct sample row as a design point through
   :func:`sim.experiment.sweep.run_sweep` (process pool, ``runs.jsonl`` resume, seeds from the base
   seed), ``reps`` replications each, and averages the replications. With
   ``difference=True`` both structures run at every point on the same seeds and the
   output is the mean paired difference micro_provider - central_it.
4. :func:`analyze` gives Morris mu*, its 95% bootstrap half-width, mu and sigma, or
   Sobol' S1 and ST with their 95% bootstrap half-widths.

Whole-number keys are sampled as continuous values and rounded to the nearest whole
number, so their indices describe the model as a function of the continuous input.
Replication noise in the averaged output counts as variance no parameter explains;
``noise_share`` estimates its share of the output's variance (the sample rows' mean
squared standard error over the rows' variance) so unreliable indices can be spotted.
Every random draw (sample, bootstrap, runs) derives from the base seed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from sim.experiment.design import STRUCTURE, Design, canonical_json, canonical_point, get_path, is_integer_key
from sim.experiment.discovery import Rule, discover, rules_table
from sim.experiment.plots import new_figure, save_figure
from sim.experiment.sweep import SweepResult, run_sweep
from sim.experiment.tables import HIGHER_IS_BETTER, table_provenance, to_markdown, write_table
from sim.scenario.errors import ScenarioError
from sim.scenario.schema import Scenario

Method = Literal["morris", "sobol"]
METHODS: tuple[Method, ...] = ("morris", "sobol")
PAIR = ("central_it", "micro_provider")  # the difference is PAIR[1] - PAIR[0] on the same point and seed
DEFAULT_N: dict[str, int] = {"morris": 10, "sobol": 64}
_SAMPLE_KEY, _BOOTSTRAP_KEY = 0x5341_4C31, 0x5341_4C32  # spawn keys of the sampler's and bootstrap's streams
RESAMPLES = 1000
TIE = 0.02  # a structure wins a point only by more than this share of the two structures' mean


@dataclass(frozen=True)
class Problem:
    """The varied scenario keys, each with its (low, high) range; ``integers`` are rounded."""

    ranges: dict[str, tuple[float, float]]
    integers: frozenset[str] = frozenset()

    @property
    def names(self) -> list[str]:
        return list(self.ranges)

    def salib(self) -> dict[str, Any]:
        """The problem as SALib reads it."""
        return {"num_vars": len(self.ranges), "names": self.names, "bounds": [list(b) for b in self.ranges.values()]}

    def point(self, row: Sequence[float]) -> dict[str, Any]:
        """One sample row as a design point (whole-number keys rounded)."""
        return {k: round(v) if k in self.integers else float(v) for k, v in zip(self.ranges, row, strict=True)}


# --- the problem ---------------------------------------------------------------------
def parse_range(text: str, option: str = "--params") -> tuple[str, tuple[float, float]]:
    """``key.path=LOW:HIGH`` -> (key, (low, high)) with numbers low < high; errors name ``option``."""
    key, sep, raw = text.partition("=")
    low_text, colon, high_text = raw.partition(":")
    fix = "expected KEY.PATH=LOW:HIGH with numbers LOW < HIGH, e.g. handoff.delay_ticks=0:2"
    if not sep or not key.strip() or not colon:
        raise ScenarioError(f"{option} {text!r}: {fix}")
    try:
        low, high = float(low_text), float(high_text)
    except ValueError:
        raise ScenarioError(f"{option} {text!r}: {fix}") from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ScenarioError(f"{option} {text!r}: {fix}")
    return key.strip(), (low, high)


def check_problem(base: Scenario, ranges: Mapping[str, tuple[float, float]]) -> Problem:
    """Check every key is a numeric scenario key and both ends of its range are valid values."""
    if not ranges:
        raise ScenarioError("--params: give at least one KEY.PATH=LOW:HIGH range, e.g. handoff.delay_ticks=0:2")
    data = base.model_dump(mode="json")
    integers = set()
    for key, (low, high) in ranges.items():
        source = f"--params {key}={low:g}:{high:g}"
        if key == STRUCTURE:
            raise ScenarioError(f"{source}: structure is not a number; use --difference to compare the structures")
        try:
            current = get_path(data, key)
        except (KeyError, TypeError):
            _check_value(data, key, low, source, "")  # raises the schema's "unknown key; did you mean ..."
            raise ScenarioError(f"{source}: not a scenario value; name a key listed in docs/scenarios.md") from None
        if is_integer_key(key):
            if low != round(low) or high != round(high):
                raise ScenarioError(f"{source}: {key} is a whole number; give whole-number bounds")
            integers.add(key)
        elif isinstance(current, dict):
            example = f"{key}.{next(iter(current))}" if current else key
            raise ScenarioError(f"{source}: {key} is a section, not a value; name one of its keys, e.g. {example}")
        elif isinstance(current, bool) or not isinstance(current, int | float):
            raise ScenarioError(f"{source}: {key} is not a number (it is {current!r}); vary numeric keys only")
        for value in (low, high):
            _check_value(data, key, round(value) if key in integers else value, source, "; narrow the range")
    return Problem({k: (float(lo), float(hi)) for k, (lo, hi) in ranges.items()}, frozenset(integers))


def _check_value(data: dict[str, Any], key: str, value: float, source: str, fix: str) -> None:
    """Raise a one-line ScenarioError (prefixed with ``source``) if the schema refuses ``key = value``."""
    try:
        canonical_point(data, {key: value})
    except ScenarioError as exc:
        detail = str(exc).splitlines()[0].split("): ", 1)[-1]
        raise ScenarioError(f"{source}: {detail}{fix}") from None


def _salib() -> tuple[Any, Any, Any, Any]:
    try:
        from SALib.analyze import morris as morris_analyze
        from SALib.analyze import sobol as sobol_analyze
        from SALib.sample import morris as morris_sample
        from SALib.sample import sobol as sobol_sample
    except ImportError:
        raise ScenarioError("sensitivity analysis needs SALib: pip install 'orgsim[sensitivity]'") from None
    return morris_sample, sobol_sample, morris_analyze, sobol_analyze


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ScenarioError(f"--method {method}: unknown method; use one of {', '.join(METHODS)}")


def _rng(seed: int, key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(key,)))


# --- sampling and analysis (SALib) ---------------------------------------------------------
def sample(method: Method, problem: Problem, n: int, *, levels: int = 4, seed: int = 0) -> np.ndarray:
    """Sample rows over the ranges: ``n`` Morris trajectories of D + 1 rows on a ``levels`` grid,
    or a Saltelli sample of ``n`` (a power of two) x (D + 2) rows for S1 and ST."""
    _check_method(method)
    if seed < 0:
        raise ScenarioError(f"--seed {seed}: give a whole number >= 0")
    morris_sample, sobol_sample, _, _ = _salib()
    if not isinstance(n, int) or n < 2:
        raise ScenarioError(f"--n {n}: need at least 2 ({'trajectories' if method == 'morris' else 'base samples'})")
    rng = _rng(seed, _SAMPLE_KEY)
    if method == "morris":
        if levels < 2 or levels % 2:
            raise ScenarioError(f"--levels {levels}: Morris needs an even number of grid levels >= 2, e.g. 4")
        return morris_sample.sample(problem.salib(), n, num_levels=levels, seed=rng)
    if n & (n - 1):
        raise ScenarioError(f"--n {n}: Sobol' sampling needs a power of two, e.g. {1 << n.bit_length()}")
    return sobol_sample.sample(problem.salib(), n, calc_second_order=False, seed=rng)


def analyze(
    method: Method, problem: Problem, x: np.ndarray, y: np.ndarray, *, levels: int = 4, seed: int = 0
) -> pd.DataFrame:
    """Indices per parameter: Morris ``mu_star``, ``mu_star_conf``, ``mu``, ``sigma`` or Sobol'
    ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` (``_conf``: half-width of the 95% bootstrap interval),
    and ``rank`` (1 = most influential by mu* or ST)."""
    _, _, morris_analyze, sobol_analyze = _salib()
    y = np.asarray(y, dtype=float)
    rng = _rng(seed, _BOOTSTRAP_KEY)
    if method == "morris":
        si = morris_analyze.analyze(
            problem.salib(), np.asarray(x, dtype=float), y, num_levels=levels, num_resamples=RESAMPLES, seed=rng
        )
        columns = ("mu_star", "mu_star_conf", "mu", "sigma")
        by = "mu_star"
    else:
        si = sobol_analyze.analyze(problem.salib(), y, calc_second_order=False, num_resamples=RESAMPLES, seed=rng)
        columns = ("S1", "S1_conf", "ST", "ST_conf")
        by = "ST"
    frame = pd.DataFrame({"parameter": problem.names} | {c: np.asarray(si[c], dtype=float) for c in columns})
    frame.insert(1, "low", [lo for lo, _ in problem.ranges.values()])
    frame.insert(2, "high", [hi for _, hi in problem.ranges.values()])
    frame["rank"] = frame[by].rank(ascending=False, method="min").astype(int)
    return frame


# --- evaluating the model at the sample -----------------------------------------------------
@dataclass
class Evaluation:
    """Model output per distinct sample point, and which point each sample row is."""

    outputs: pd.DataFrame  # point, parameters, metric, output, std, n (and each structure's mean)
    rows: np.ndarray
    sweep: SweepResult

    def y(self, metric: str) -> np.ndarray:
        """The output of every sample row for ``metric``, in sample order."""
        return self._by_row(metric, "output")

    def noise_share(self, metric: str) -> float:
        """Share of the output's variance that replication noise explains: the squared standard error
        of each sample row's mean, averaged over the rows, over the variance of the rows' outputs
        (the rows SALib analyses; NaN unless some point has two replicates)."""
        se2 = self._by_row(metric, "std") ** 2 / self._by_row(metric, "n")
        total = float(np.var(self.y(metric), ddof=1))
        if np.isnan(se2).all() or not total > 0:
            return math.nan
        return float(np.nanmean(se2)) / total

    def _by_row(self, metric: str, column: str) -> np.ndarray:
        part = self.outputs[self.outputs["metric"] == metric].sort_values("point")
        return part[column].to_numpy(dtype=float)[self.rows]


def distinct_points(problem: Problem, x: np.ndarray) -> tuple[list[dict[str, Any]], np.ndarray]:
    """The distinct design points of the sample rows, and each row's index among them."""
    index: dict[str, int] = {}
    points: list[dict[str, Any]] = []
    rows = np.empty(len(x), dtype=int)
    for i, row in enumerate(x):
        point = problem.point(row)
        rows[i] = index.setdefault(canonical_json(point), len(points))
        if rows[i] == len(points):
            points.append(point)
    return points, rows


def evaluate(
    base: Scenario,
    problem: Problem,
    x: np.ndarray,
    metrics: Sequence[str],
    out: str | Path,
    *,
    difference: bool = False,
    reps: int = 2,
    seed: int = 0,
    spec: Mapping[str, Any] | None = None,
    max_memory: float | None = None,
    **sweep: Any,
) -> Evaluation:
    """Run every distinct row of ``x`` ``reps`` times (both structures with ``difference``) into ``out``;
    with ``max_memory`` (bytes), refuse first if any point's run would need more."""
    points, rows = distinct_points(problem, x)
    sides = PAIR if difference else (base.structure,)
    design_points = [p | {STRUCTURE: s} for p in points for s in sides] if difference else points
    try:
        design = Design.from_points(base, design_points, reps, seed, spec=spec)
    except ScenarioError as exc:
        if not str(exc).startswith("design point"):
            raise
        # each bound is valid alone (check_problem), but not this combination
        both = " under both structures" if difference else ""
        raise ScenarioError(
            f"--params: {str(exc).splitlines()[0]}; narrow the ranges so every combination{both} is valid"
        ) from None
    if max_memory is not None:
        design.check_memory(max_memory, "--params")
    result = run_sweep(design, out, **sweep)
    where: dict[str, tuple[int, str, int]] = {}
    for k, point in enumerate(design.points):
        for rep in range(reps):
            where[design.run_id(point, rep)] = (k // len(sides), point.get(STRUCTURE, sides[0]), rep)
    labels = pd.DataFrame([where[r] for r in result.runs["run_id"]], columns=["point", STRUCTURE, "replicate"])
    runs = pd.concat([labels, result.runs[list(metrics)].reset_index(drop=True)], axis=1)
    params = pd.DataFrame([design.points[k * len(sides)] for k in range(len(points))])[problem.names]
    parts = [_point_outputs(runs, metric, sides, difference) for metric in metrics]
    outputs = pd.concat(parts, ignore_index=True)
    outputs = params.rename_axis("point").reset_index().merge(outputs, on="point")
    missing = outputs[outputs["n"] == 0]
    if not missing.empty:
        first = missing.iloc[0]
        where_text = ", ".join(f"{k}={first[k]:g}" for k in problem.names)
        raise ScenarioError(
            f"--metrics {first['metric']}: no value at {len(missing)} of {len(points)} points (e.g. {where_text}); "
            "choose another metric or narrower --params ranges"
        )
    return Evaluation(outputs, rows, result)


def _point_outputs(runs: pd.DataFrame, metric: str, sides: Sequence[str], difference: bool) -> pd.DataFrame:
    """Per point: the mean over replicates of the metric (or of the paired difference), std and n."""
    if difference:
        wide = runs.pivot(index=["point", "replicate"], columns=STRUCTURE, values=metric)
        values = (wide[sides[1]] - wide[sides[0]]).rename("value").reset_index()
        means = wide.groupby(level="point")[list(sides)].mean()
    else:
        values = runs[["point", metric]].rename(columns={metric: "value"})
        means = None
    grouped = values.groupby("point")["value"]
    frame = pd.DataFrame({"output": grouped.mean(), "std": grouped.std(ddof=1), "n": grouped.count()})
    if means is not None:
        frame = frame.join(means)
    frame.insert(0, "metric", metric)
    return frame.reset_index()


# --- the whole analysis ---------------------------------------------------------------------
@dataclass
class SensitivityResult:
    """What :func:`run_sensitivity` wrote: indices, per-point outputs, rules, and their paths."""

    out: Path
    indices: pd.DataFrame
    evaluation: Evaluation
    rules: dict[str, dict[str, list[Rule]]] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)


def output_label(base: Scenario, difference: bool) -> str:
    return f"{PAIR[1]} - {PAIR[0]}" if difference else base.structure


def run_sensitivity(
    base: Scenario,
    problem: Problem,
    metrics: Sequence[str],
    out: str | Path,
    *,
    method: Method = "morris",
    n: int | None = None,
    levels: int = 4,
    difference: bool = False,
    reps: int = 2,
    seed: int = 0,
    depth: int = 2,
    tie: float = TIE,
    max_memory: float | None = None,
    **sweep: Any,
) -> SensitivityResult:
    """Sample, run (or resume) and analyse; write indices, outputs, a plot and (with ``difference``) rules.

    ``max_memory`` as for :func:`evaluate`; ``sweep`` goes to :func:`sim.experiment.sweep.run_sweep`
    (``workers``, ``scheduler``, ``executor``, ``lost_timeout``, ``quiet``). Files in ``out``: the
    sweep's tables (``runs``, ``summary``, ``comparison``), ``outputs`` (per point and metric: the
    analysed output), ``indices`` (CSV, Parquet, Markdown, provenance JSON), ``indices.png`` and,
    with ``difference``, ``rules.md`` (see :func:`discover_wins` for ``depth`` and ``tie``)."""
    _check_method(method)
    n = DEFAULT_N[method] if n is None else n
    x = sample(method, problem, n, levels=levels, seed=seed)
    spec = {"sensitivity": {"method": method, "n": n, "levels": levels, "ranges": problem.ranges, "rows": len(x)}}
    evaluation = evaluate(
        base,
        problem,
        x,
        metrics,
        out,
        difference=difference,
        reps=reps,
        seed=seed,
        spec=spec,
        max_memory=max_memory,
        **sweep,
    )
    output = output_label(base, difference)
    parts = []
    for metric in metrics:
        frame = analyze(method, problem, x, evaluation.y(metric), levels=levels, seed=seed)
        frame.insert(0, "metric", metric)
        frame.insert(1, "output", output)
        frame["noise_share"] = evaluation.noise_share(metric)
        parts.append(frame)
    indices = pd.concat(parts, ignore_index=True)
    out = Path(out)
    design = evaluation.sweep.design
    extra = {"method": method, "n": n, "levels": levels, "sample_rows": len(x), "output": output}
    result = SensitivityResult(out, indices, evaluation)
    for name, frame in (("indices", indices), ("outputs", evaluation.outputs)):
        result.paths[name] = write_table(frame, out, name, table_provenance(design, table=name, **extra))["csv"]
    result.paths["plot"] = plot_indices(indices, out / "indices.png", method=method)
    if difference:
        result.rules = discover_wins(evaluation, problem, metrics, depth=depth, tie=tie, seed=seed)
        result.paths["rules"] = out / "rules.md"
        result.paths["rules"].write_text(rules_markdown(result, problem, tie), encoding="utf-8")
    return result


# --- scenario discovery: where does each structure win? -------------------------------------
def discover_wins(
    evaluation: Evaluation,
    problem: Problem,
    metrics: Sequence[str],
    *,
    depth: int = 2,
    tie: float = TIE,
    seed: int = 0,
) -> dict[str, dict[str, list[Rule]]]:
    """Per metric with a better direction: rules (a depth-``depth`` tree) for the points where each
    structure wins, i.e. its mean is better by more than ``tie`` x the mean of the two structures'
    absolute means; smaller differences are ties and count for neither."""
    found: dict[str, dict[str, list[Rule]]] = {}
    for metric in metrics:
        if metric not in HIGHER_IS_BETTER:
            continue
        part = evaluation.outputs[evaluation.outputs["metric"] == metric].sort_values("point")
        params = part[problem.names].reset_index(drop=True)
        found[metric] = {
            side: discover(params, won, max_depth=depth, seed=seed) for side, won in point_wins(part, tie).items()
        }
    return found


def point_wins(part: pd.DataFrame, tie: float = TIE) -> dict[str, np.ndarray]:
    """Which of ``part``'s rows (one metric's outputs with ``difference``) each structure wins,
    micro_provider first: its mean is better by more than ``tie`` x the mean of the two
    structures' absolute means."""
    metric = part["metric"].iat[0]
    diff = part["output"].to_numpy(dtype=float)
    gain = diff if HIGHER_IS_BETTER[metric] else -diff  # > 0 where micro_provider is better
    clear = np.abs(diff) > tie * (part[PAIR[0]].abs() + part[PAIR[1]].abs()).to_numpy(dtype=float) / 2
    return {PAIR[1]: clear & (gain > 0), PAIR[0]: clear & (gain < 0)}


def rules_markdown(result: SensitivityResult, problem: Problem, tie: float = TIE) -> str:
    """The discovered rules of every metric as a Markdown document."""
    outputs = result.evaluation.outputs
    ranges = ", ".join(f"{k} in [{lo:g}, {hi:g}]" for k, (lo, hi) in problem.ranges.items())
    lines = [
        "# Where each structure wins",
        "",
        f"Points: {outputs['point'].nunique()} distinct parameter combinations ({ranges}), each run with both "
        "structures on the same seeds. A structure *wins* at a point when its mean over the replicates is "
        f"better by more than {tie:.0%} of the two structures' mean; smaller differences are ties. Rules come "
        "from a shallow decision tree (scikit-learn) on the points; coverage = share of all winning points "
        "inside the rule's box, density = share of the box's points where that structure wins.",
        "",
    ]
    for metric, by_side in result.rules.items():
        part = outputs[outputs["metric"] == metric]
        wins = {side: int(won.sum()) for side, won in point_wins(part, tie).items()}
        ties = len(part) - sum(wins.values())
        lines += [f"## {metric}", "", f"Ties at {ties} of {len(part)} points ({ties / len(part):.0%}).", ""]
        for side, rules in by_side.items():
            total = wins[side]
            lines += [f"**{side} better** at {total} of {len(part)} points ({total / len(part):.0%}).", ""]
            if rules:
                lines += [to_markdown(rules_table(rules)), ""]
            elif total:
                lines += ["No rule: these points are the majority in no box of the tree.", ""]
    return "\n".join(lines).rstrip() + "\n"


# --- the plot --------------------------------------------------------------------------------
def plot_indices(indices: pd.DataFrame, path: str | Path, *, method: Method) -> Path:
    """One panel per metric: Morris mu* (bars, 95% CI) with sigma (markers), or Sobol' S1 and ST (95% CI)."""
    metrics = list(dict.fromkeys(indices["metric"]))
    figure = new_figure(4.2 * len(metrics), 0.45 * indices["parameter"].nunique() + 1.6)
    for i, metric in enumerate(metrics):
        axes = figure.add_subplot(1, len(metrics), i + 1)
        part = indices[indices["metric"] == metric].iloc[::-1]
        y = np.arange(len(part))
        if method == "morris":
            axes.barh(y, part["mu_star"], xerr=part["mu_star_conf"], color="#7f7f7f", alpha=0.8, label="mu*")
            axes.plot(part["sigma"], y, "D", color="#d62728", label="sigma")
        else:
            axes.barh(y + 0.2, part["S1"], height=0.4, xerr=part["S1_conf"], color="#1f77b4", label="S1")
            axes.barh(y - 0.2, part["ST"], height=0.4, xerr=part["ST_conf"], color="#ff7f0e", label="ST")
        axes.axvline(0, color="black", linewidth=0.8)
        axes.set_yticks(y, part["parameter"] if i == 0 else [""] * len(part))
        axes.set_title(f"{metric}\n({part['output'].iat[0]})", fontsize=9)
        axes.grid(axis="x", alpha=0.3)
        axes.legend(fontsize=8, loc="lower right")
    what = "elementary effect: output change per full range" if method == "morris" else "share of output variance"
    figure.supxlabel(f"{what} (error bars: 95% CI)", fontsize=9)
    return save_figure(figure, path)

"""Result tables: per-run rows, a summary per design point and structure, a comparison
between structures; written as CSV, Parquet and Markdown with provenance beside them.

Statistics (all two-sided, default level 95%):

- summary: n (non-missing values), mean, sample standard deviation and the t interval
  mean +- t_{0.975, n-1} s / sqrt(n).
- comparison of b against a (``micro_provider - central_it`` for structures): when the
  rows pair up (same point and replicate, hence the same seed: common random numbers)
  the difference, its interval and the primary p-value come from the paired t test on
  the per-replicate differences; otherwise from Welch's t test. Welch's p-value, the
  Mann-Whitney U p-value and Hedges' g (pooled-SD standardised mean difference with the
  small-sample correction J = 1 - 3 / (4 (n_a + n_b) - 9)) are always reported.
- multiplicity: ``p_adj`` is ``p`` adjusted by Benjamini-Hochberg
  (``scipy.stats.false_discovery_control``) across all cells (design points) of the
  same metric in the table; ``significant`` and ``verdict`` use ``p_adj``.
- censored times (:data:`CENSORED`: adoption t50/t90, censored at
  ``adoption_horizon_ticks`` in a run that never reached the level): summarised by the
  Kaplan-Meier median with its interval and the share of runs that reached the level
  (``estimator`` = ``km_median``; :mod:`sim.experiment.survival`); compared by the
  log-rank test, whose p replaces the t test's. A runs table without the horizon column
  falls back to the statistics of the runs that reached the level.
- stability: ``unstable_a`` / ``unstable_b`` are the shares of each side's runs whose
  ``stable`` metric is false. A metric that only finished items define
  (:func:`depends_on_finished_items`) is not compared where a majority of either side's
  runs are unstable: :func:`verdict` says "unstable", whatever its p.

Otherwise a metric that is missing in a run (``None``/NaN, e.g. nothing finished) is
left out of that metric's statistics, so ``n`` counts what was observed.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.experiment.survival import km_median, logrank_p
from sim.metrics import METRICS
from sim.provenance import environment
from sim.scenario.errors import ScenarioError

if TYPE_CHECKING:
    from sim.experiment.design import Design

LEVEL = 0.95

# The metrics a leader asks about first (throughput, lead time, rework, failure, spread).
HEADLINE_METRICS = (
    "throughput_per_tick",
    "backlog_growth_per_tick",
    "lead_time_mean_ticks",
    "lead_time_p85_ticks",
    "rework_rate",
    "rework_effort_share",
    "change_failure_rate",
    "utilisation",
    "adoption_t50_ticks",
)

# Which way is better, for the win/lose map; metrics not listed have no better direction.
HIGHER_IS_BETTER = {
    "items_completed": True,
    "throughput_per_tick": True,
    "delivery_frequency_per_tick": True,
    "flow_efficiency": True,
    "adoption_final_share": True,
    "items_in_progress": False,
    "lead_time_mean_ticks": False,
    "lead_time_p50_ticks": False,
    "lead_time_p85_ticks": False,
    "lead_time_p95_ticks": False,
    "queue_wait_mean_ticks": False,
    "dependency_wait_mean_ticks": False,
    "wip_mean": False,
    "rework_rate": False,
    "rework_effort_share": False,
    "change_failure_rate": False,
    "time_to_restore_mean_ticks": False,
    "handoffs_per_item": False,
    "adoption_t50_ticks": False,
    "adoption_t90_ticks": False,
    "stable": True,
    "backlog_growth_per_tick": False,
    "unfinished_share": False,
    "feature_lead_time_mean_ticks": False,
    "incidents_after_release_per_tick": False,
}

# Censored times: metric -> the runs-table column with each run's censoring horizon.
CENSORED = {"adoption_t50_ticks": "adoption_horizon_ticks", "adoption_t90_ticks": "adoption_horizon_ticks"}

# Times and shares of finished items besides the lead times: in an unstable run they
# describe only the items that happened to finish.
FINISHED_ITEM_METRICS = frozenset(
    {
        "queue_wait_mean_ticks",
        "dependency_wait_mean_ticks",
        "backlog_wait_mean_ticks",
        "time_to_restore_mean_ticks",
        "flow_efficiency",
        "feature_lead_time_mean_ticks",
    }
)

NOT_SIGNIFICANT = "no significant difference"
UNSTABLE = "unstable: compare throughput and backlog growth"


def alpha(level: float) -> float:
    """The significance level of a ``level`` interval (1 - level, without its rounding error)."""
    return round(1 - level, 12)


def depends_on_finished_items(metric: str) -> bool:
    """Whether ``metric`` is read from finished items only (``lead_time*`` and
    :data:`FINISHED_ITEM_METRICS`), so that it means nothing where work piles up."""
    return metric.startswith("lead_time") or metric in FINISHED_ITEM_METRICS


def verdict(row: Mapping[str, Any], higher_is_better: bool | None = None, level: float = LEVEL) -> str:
    """Which side of a comparison row (``metric``, ``a``, ``b``, ``diff`` = b - a, ``p_adj``,
    ``unstable_a``, ``unstable_b``) is better.

    :data:`UNSTABLE` for a metric that :func:`depends_on_finished_items` where more than
    half of either side's runs are unstable; :data:`NOT_SIGNIFICANT` unless p_adj <
    1 - level and diff != 0; else "<side> better" by the metric's direction
    (``higher_is_better``, default :data:`HIGHER_IS_BETTER`), or "<side> higher" for a
    metric without one. Missing shares of unstable runs count as stable."""
    metric = str(row["metric"])
    shares = (float(row.get("unstable_a", math.nan)), float(row.get("unstable_b", math.nan)))
    if depends_on_finished_items(metric) and any(share > 0.5 for share in shares):
        return UNSTABLE
    diff, p = float(row["diff"]), float(row["p_adj"])
    if not p < alpha(level) or diff == 0 or math.isnan(diff):
        return NOT_SIGNIFICANT
    higher = diff > 0
    direction = HIGHER_IS_BETTER.get(metric) if higher_is_better is None else higher_is_better
    if direction is None:
        return f"{row['b'] if higher else row['a']} higher"
    return f"{row['b'] if higher == direction else row['a']} better"


def metric_names(frame: pd.DataFrame) -> list[str]:
    """The registered summary metrics present in ``frame``, in registry order."""
    return [name for name in METRICS if name in frame.columns]


# --- statistics on one sample / two samples ------------------------------------------------
def _floats(values: Any) -> np.ndarray:
    """Values as floats, with None and non-numbers as NaN."""
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=float)


def _clean(values: Any) -> np.ndarray:
    array = _floats(values)
    return array[np.isfinite(array)]


def describe(values: Any, level: float = LEVEL) -> dict[str, float | int]:
    """n (non-missing), mean, std (ddof=1) and the t interval of the mean."""
    x = _clean(values)
    n = len(x)
    mean = float(x.mean()) if n else math.nan
    std = float(x.std(ddof=1)) if n > 1 else math.nan
    half = _t_crit(level, n - 1) * std / math.sqrt(n) if n > 1 else math.nan
    return {"n": n, "mean": mean, "std": std, "ci_low": mean - half, "ci_high": mean + half}


# scipy.stats is imported where it is used: it takes longer to import than the rest of
# OrgSim, and the sweep's worker processes and most commands never need it.
def _t_crit(level: float, df: float) -> float:
    from scipy import stats

    return float(stats.t.ppf(0.5 + level / 2, df))


def _t_p(t: float, df: float) -> float:
    from scipy import stats

    return float(2 * stats.t.sf(abs(t), df))


def compare_samples(
    a: Any, b: Any, paired: tuple[Any, Any] | None = None, level: float = LEVEL
) -> dict[str, float | int | str]:
    """Compare sample ``b`` with ``a`` (difference = b - a).

    ``paired`` gives the matched values (a_i, b_i) of the pairs where both were observed;
    with at least two pairs the difference's interval and the primary p-value are paired,
    otherwise Welch. A test whose samples have no spread gives p = 1 for equal means and
    p = 0 otherwise (the t statistic is 0 or infinite).
    """
    xa, xb = _clean(a), _clean(b)
    na, nb = len(xa), len(xb)
    ma = float(xa.mean()) if na else math.nan
    mb = float(xb.mean()) if nb else math.nan
    out: dict[str, Any] = {"n_a": na, "mean_a": ma, "n_b": nb, "mean_b": mb, "diff": mb - ma}
    welch = _welch(xa, xb, level)
    pairs = 0
    if paired is not None:
        pa, pb = (np.asarray(v, dtype=float) for v in paired)
        keep = np.isfinite(pa) & np.isfinite(pb)
        diffs = pb[keep] - pa[keep]
        pairs = len(diffs)
    out["n_pairs"] = pairs
    if pairs >= 2:
        mean_d = float(diffs.mean())
        sd_d = float(diffs.std(ddof=1))
        half = _t_crit(level, pairs - 1) * sd_d / math.sqrt(pairs)
        p_paired = _p_from(mean_d, sd_d / math.sqrt(pairs), pairs - 1)
        out |= {"diff_paired": mean_d, "ci_low": mean_d - half, "ci_high": mean_d + half, "method": "paired t"}
        primary = p_paired
    else:
        p_paired = math.nan
        out |= {"diff_paired": math.nan, "ci_low": welch["ci_low"], "ci_high": welch["ci_high"], "method": "welch"}
        primary = welch["p"]
    out |= {
        "p": primary,
        "p_paired_t": p_paired,
        "p_welch": welch["p"],
        "p_mannwhitney": _mann_whitney(xa, xb),
        "hedges_g": _hedges_g(xa, xb),
    }
    return out


def _p_from(effect: float, se: float, df: float) -> float:
    if not math.isfinite(se) or df <= 0:
        return math.nan
    if se == 0:
        return 1.0 if effect == 0 else 0.0
    return _t_p(effect / se, df)


def _welch(xa: np.ndarray, xb: np.ndarray, level: float) -> dict[str, float]:
    na, nb = len(xa), len(xb)
    if na < 2 or nb < 2:
        return {"p": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    va, vb = xa.var(ddof=1) / na, xb.var(ddof=1) / nb
    se = math.sqrt(va + vb)
    diff = float(xb.mean() - xa.mean())
    if se == 0:
        return {"p": 1.0 if diff == 0 else 0.0, "ci_low": diff, "ci_high": diff}
    df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
    half = _t_crit(level, df) * se
    return {"p": _t_p(diff / se, df), "ci_low": diff - half, "ci_high": diff + half}


def _mann_whitney(xa: np.ndarray, xb: np.ndarray) -> float:
    if len(xa) == 0 or len(xb) == 0:
        return math.nan
    if np.all(np.concatenate([xa, xb]) == xa[0]):
        return 1.0
    from scipy import stats

    return float(stats.mannwhitneyu(xb, xa, alternative="two-sided").pvalue)


def _hedges_g(xa: np.ndarray, xb: np.ndarray) -> float:
    na, nb = len(xa), len(xb)
    if na < 2 or nb < 2:
        return math.nan
    pooled = math.sqrt(((na - 1) * xa.var(ddof=1) + (nb - 1) * xb.var(ddof=1)) / (na + nb - 2))
    if pooled == 0:
        return math.nan
    correction = 1 - 3 / (4 * (na + nb) - 9)
    return float(correction * (xb.mean() - xa.mean()) / pooled)


# --- tables -------------------------------------------------------------------------------
SUMMARY_COLUMNS = ("n", "mean", "std", "ci_low", "ci_high", "estimator", "reached_share")
# Per-point replication outcome a precision sweep adds beside the parameters (not parameters).
REPLICATION_COLUMNS = ("reps", "precision_reached")


def summary_table(
    runs: pd.DataFrame, by: Sequence[str], metrics: Sequence[str] | None = None, level: float = LEVEL
) -> pd.DataFrame:
    """One row per group of ``by`` (design point and structure) and metric: n, mean, std, CI;
    for a censored time (``estimator`` = ``km_median``) n counts every run, ``mean`` and the
    CI are the Kaplan-Meier median and its interval, ``reached_share`` the share of runs
    that reached the level."""
    metrics = list(metrics) if metrics is not None else metric_names(runs)
    rows = []
    for key, group in _groups(runs, by):
        for name in metrics:
            rows.append(key | {"metric": name} | _summary(group, name, level))
    return pd.DataFrame(rows, columns=[*by, "metric", *SUMMARY_COLUMNS])


def _summary(group: pd.DataFrame, name: str, level: float) -> dict[str, Any]:
    horizon = _horizon_column(group, name)
    if horizon is None:
        return describe(group[name], level) | {"estimator": "mean", "reached_share": math.nan}
    km = km_median(_floats(group[name].to_numpy()), _floats(group[horizon].to_numpy()), level)
    return {
        "n": km["n"],
        "mean": km["median"],
        "std": math.nan,
        "ci_low": km["ci_low"],
        "ci_high": km["ci_high"],
        "estimator": "km_median",
        "reached_share": km["reached_share"],
    }


def _horizon_column(frame: pd.DataFrame, name: str) -> str | None:
    """The censoring-horizon column of a censored metric, when ``frame`` has it."""
    horizon = CENSORED.get(name)
    return horizon if horizon is not None and horizon in frame.columns else None


def comparison_table(
    runs: pd.DataFrame,
    by: Sequence[str],
    *,
    group: str = "structure",
    a: str = "central_it",
    b: str = "micro_provider",
    pair_on: str | None = "replicate",
    metrics: Sequence[str] | None = None,
    level: float = LEVEL,
) -> pd.DataFrame:
    """Per group of ``by`` (a design point) and metric: ``b`` against ``a`` (difference b - a).

    Rows of a and b with the same ``pair_on`` value are paired. Columns: ``estimator``; n,
    mean and CI of each side (for a censored time: every run, the Kaplan-Meier median and
    its interval, and ``reached_share_a``/``_b``); ``n_pairs``; ``diff`` (b - a: the mean of
    the paired differences when at least two pairs exist, else the difference of the
    means; for a censored time the difference of the medians, a median not reached within
    the horizon counting as +inf) with its CI; ``method``; ``p`` (paired t when paired,
    else Welch; log-rank for a censored time), ``p_adj`` (Benjamini-Hochberg across the
    table's cells of the metric), ``p_paired_t``, ``p_welch``, ``p_mannwhitney``;
    ``hedges_g``; ``significant`` (p_adj < 1 - level); ``unstable_a``/``_b`` (shares of
    unstable runs); ``verdict`` (:func:`verdict`).
    """
    metrics = list(metrics) if metrics is not None else metric_names(runs)
    rows = []
    for key, frame in _groups(runs, by):
        side_a, side_b = frame[frame[group] == a], frame[frame[group] == b]
        stability = {"unstable_a": _unstable_share(side_a), "unstable_b": _unstable_share(side_b)}
        index_a, index_b = _pairs(side_a, side_b, pair_on)
        for name in metrics:
            head = key | {"metric": name, "a": a, "b": b}
            horizon = _horizon_column(frame, name)
            if horizon is None:
                cell = _compare_means(side_a[name], side_b[name], index_a, index_b, level)
            else:
                cell = _compare_censored(side_a, side_b, name, horizon, level)
            rows.append(head | cell | stability)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table.insert(table.columns.get_loc("p") + 1, "p_adj", _adjust(table))
    table.insert(table.columns.get_loc("hedges_g") + 1, "significant", table["p_adj"] < alpha(level))
    table["verdict"] = [verdict(row, level=level) for row in table.to_dict("records")]
    return table


def _compare_means(
    a: pd.Series, b: pd.Series, index_a: np.ndarray | None, index_b: np.ndarray | None, level: float
) -> dict[str, Any]:
    xa, xb = _floats(a.to_numpy()), _floats(b.to_numpy())
    paired = (xa[index_a], xb[index_b]) if index_a is not None else None
    result = compare_samples(xa, xb, paired, level)
    ci_a, ci_b = describe(xa, level), describe(xb, level)
    return {
        "estimator": "mean",
        "n_a": result["n_a"],
        "mean_a": result["mean_a"],
        "ci_low_a": ci_a["ci_low"],
        "ci_high_a": ci_a["ci_high"],
        "reached_share_a": math.nan,
        "n_b": result["n_b"],
        "mean_b": result["mean_b"],
        "ci_low_b": ci_b["ci_low"],
        "ci_high_b": ci_b["ci_high"],
        "reached_share_b": math.nan,
        "n_pairs": result["n_pairs"],
        "diff": result["diff_paired"] if result["method"] == "paired t" else result["diff"],
        "diff_ci_low": result["ci_low"],
        "diff_ci_high": result["ci_high"],
        "method": result["method"],
        "p": result["p"],
        "p_paired_t": result["p_paired_t"],
        "p_welch": result["p_welch"],
        "p_mannwhitney": result["p_mannwhitney"],
        "hedges_g": result["hedges_g"],
    }


def _compare_censored(
    side_a: pd.DataFrame, side_b: pd.DataFrame, name: str, horizon: str, level: float
) -> dict[str, Any]:
    """Kaplan-Meier medians of both sides and the log-rank test (unpaired)."""
    times = [(_floats(side[name].to_numpy()), _floats(side[horizon].to_numpy())) for side in (side_a, side_b)]
    km_a, km_b = (km_median(t, h, level) for t, h in times)
    median_a, median_b = (math.inf if math.isnan(km["median"]) else km["median"] for km in (km_a, km_b))
    return {
        "estimator": "km_median",
        "n_a": km_a["n"],
        "mean_a": km_a["median"],
        "ci_low_a": km_a["ci_low"],
        "ci_high_a": km_a["ci_high"],
        "reached_share_a": km_a["reached_share"],
        "n_b": km_b["n"],
        "mean_b": km_b["median"],
        "ci_low_b": km_b["ci_low"],
        "ci_high_b": km_b["ci_high"],
        "reached_share_b": km_b["reached_share"],
        "n_pairs": 0,
        "diff": median_b - median_a if math.isfinite(median_a) or math.isfinite(median_b) else math.nan,
        "diff_ci_low": math.nan,
        "diff_ci_high": math.nan,
        "method": "logrank",
        "p": logrank_p(*times[0], *times[1]),
        "p_paired_t": math.nan,
        "p_welch": math.nan,
        "p_mannwhitney": math.nan,
        "hedges_g": math.nan,
    }


def _unstable_share(side: pd.DataFrame) -> float:
    """Share of the runs whose ``stable`` metric is false (NaN without the column or values)."""
    if "stable" not in side.columns:
        return math.nan
    flags = _clean(side["stable"].to_numpy())
    return float((flags == 0).mean()) if len(flags) else math.nan


def _adjust(table: pd.DataFrame) -> pd.Series:
    """Benjamini-Hochberg adjusted p-values across each metric's rows (NaN stays NaN)."""
    from scipy import stats

    adjusted = pd.Series(math.nan, index=table.index)
    for _, rows in table.groupby("metric", sort=False):
        p = rows["p"].astype(float)
        tested = p[np.isfinite(p)]
        if len(tested):
            adjusted[tested.index] = stats.false_discovery_control(tested.to_numpy(), method="bh")
    return adjusted


def _pairs(side_a: pd.DataFrame, side_b: pd.DataFrame, pair_on: str | None) -> tuple[Any, Any]:
    """Row positions in a and b of the rows that share a ``pair_on`` value (None: no pairing)."""
    if pair_on is None:
        return None, None
    keys_a, keys_b = side_a[pair_on].tolist(), side_b[pair_on].tolist()
    if len(set(keys_a)) < len(keys_a) or len(set(keys_b)) < len(keys_b):
        return None, None  # not one row per pair key: pairing is undefined
    where_b = {k: i for i, k in enumerate(keys_b)}
    common = [(i, where_b[k]) for i, k in enumerate(keys_a) if k in where_b]
    return np.array([i for i, _ in common], dtype=int), np.array([j for _, j in common], dtype=int)


def _groups(frame: pd.DataFrame, by: Sequence[str]) -> list[tuple[dict[str, Any], pd.DataFrame]]:
    if not by:
        return [({}, frame)]
    groups = frame.groupby(list(by), sort=False, dropna=False)
    return [(dict(zip(by, key, strict=True)), part) for key, part in groups]


# --- rendering and writing ----------------------------------------------------------------
def to_markdown(frame: pd.DataFrame, floatfmt: str = ".4g") -> str:
    """A GitHub Markdown table; missing values shown as blanks."""
    cells = frame.astype(object).where(frame.notna(), None)
    return cells.to_markdown(index=False, floatfmt=floatfmt, missingval="")


MULTIPLICITY = "p_adj: Benjamini-Hochberg (scipy.stats.false_discovery_control) across the cells of each metric"
"""How a comparison table's p-values are adjusted; in its provenance and Markdown footer."""


def table_provenance(design: Design | None = None, *, table: str, **extra: Any) -> dict[str, Any]:
    """Where a table came from: versions, git commit, base config hash, base seed, the design;
    for a comparison table, how its p-values are adjusted (:data:`MULTIPLICITY`)."""
    info: dict[str, Any] = {"table": table, "created_utc": datetime.now(UTC).isoformat(timespec="seconds")}
    if table == "comparison":
        info["multiplicity"] = MULTIPLICITY
    info |= environment()
    info |= {lib: _library_version(lib) for lib in ("pyarrow", "tabulate")}
    if design is not None:
        info |= {"config_hash": design.base_config_hash, "seed": design.seed, "design": design.to_dict()}
    return info | extra


def _library_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def output_directory(out: str | Path) -> Path:
    """``out`` as a directory to write into (created if missing), or a ScenarioError naming
    ``--out`` when it is a file, lies under one or cannot be written."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        if not os.access(out, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, "Permission denied")
    except OSError as exc:
        raise ScenarioError(f"--out {out}: cannot use it ({exc.strerror}); give a writable directory path") from None
    return out


def write_table(
    frame: pd.DataFrame,
    directory: str | Path,
    name: str,
    provenance: Mapping[str, Any],
    *,
    markdown: bool = True,
) -> dict[str, Path]:
    """Write ``name``.csv, .parquet, (.md) and .provenance.json into ``directory``; return the paths.
    Each file is written beside its place and renamed into it, so a kill never leaves a torn table."""
    directory = output_directory(directory)
    paths = {
        "csv": directory / f"{name}.csv",
        "parquet": directory / f"{name}.parquet",
        "provenance": directory / f"{name}.provenance.json",
    }
    with _replacing(paths["csv"]) as tmp:
        frame.to_csv(tmp, index=False)
    with _replacing(paths["parquet"]) as tmp:
        frame.to_parquet(tmp, index=False)
    if markdown:
        paths["md"] = directory / f"{name}.md"
        with _replacing(paths["md"]) as tmp:
            tmp.write_text(to_markdown(frame) + "\n\n" + _footer(provenance) + "\n", encoding="utf-8")
    info = dict(provenance) | {"files": {k: p.name for k, p in paths.items()}, "columns": list(frame.columns)}
    with _replacing(paths["provenance"]) as tmp:
        tmp.write_text(json.dumps(info, indent=2, default=str) + "\n", encoding="utf-8")
    return paths


@contextlib.contextmanager
def _replacing(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path``, renamed onto it once written (removed on failure)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        yield tmp
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def _footer(provenance: Mapping[str, Any]) -> str:
    design = provenance.get("design") or {}
    parts = [
        f"orgsim {provenance.get('orgsim', '?')}",
        f"commit {str(provenance.get('git_commit', '?'))[:12]}",
        f"config {provenance.get('config_hash', '?')}",
        f"seed {provenance.get('seed', '?')}",
    ]
    if design:
        parts.append(f"{design.get('n_runs')} runs ({design.get('n_points')} points x {design.get('reps')} reps)")
    if "difference" in provenance:
        parts.append(f"difference = {provenance['difference']}")
    if "multiplicity" in provenance:
        parts.append(str(provenance["multiplicity"]))
    return "_" + "; ".join(parts) + "_"

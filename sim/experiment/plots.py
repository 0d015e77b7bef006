"""Figures from result tables (matplotlib, Agg canvas; the only I/O is saving the given PNG path).

- :func:`plot_metric_vs_parameter`: a metric's mean against a swept parameter, one line
  per structure, with its 95% confidence band (from the summary table).
- :func:`plot_win_map`: over two parameters, which structure has the better metric
  (decided by :func:`win_cells` from the comparison table, by
  :func:`sim.experiment.tables.verdict`); cells whose difference is not significant
  after adjustment are marked, cells too unstable to compare on the metric are hatched.
- :func:`plot_metric_by_point`: a metric's mean per design point (bars per structure,
  with 95% intervals), for categorical or mixed designs.
- :func:`plot_adoption_curves`: mean adoption share per tick per structure with a 95%
  band (from the adoption table a sweep writes with ``collect_adoption=True``).
- :func:`plot_side_by_side`: two compared scenarios, one panel per metric (``orgsim compare``).
- :func:`plot_run`: one run's open work, completions and adoption per day (``orgsim run``).

Titles, axes and legends use the vocabulary (:func:`sim.metrics.term`): plain names with
units, a tick shown as a day, shares as percentages, structures by their plain names.

:func:`new_figure` and :func:`save_figure` are the blank figure and the PNG writer these
share; figures drawn elsewhere (e.g. :func:`sim.experiment.sensitivity.plot_indices`) use them too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import PercentFormatter
from scipy import stats

from sim.experiment.tables import (
    HIGHER_IS_BETTER,
    LEVEL,
    REPLICATION_COLUMNS,
    SUMMARY_COLUMNS,
    UNSTABLE,
    verdict,
)
from sim.metrics import term
from sim.scenario.vocabulary import UNITS, side_name

BAND = f"shaded: {LEVEL:.0%} CI"
WHISKERS = f"bars: {LEVEL:.0%} CI"

COLOURS = {"central_it": "#1f77b4", "micro_provider": "#d62728"}
_FALLBACK = ("#2ca02c", "#9467bd", "#8c564b", "#e377c2")


def new_figure(width: float = 6.4, height: float = 4.2) -> Figure:
    """An empty ``width`` x ``height`` inch figure, constrained layout, on its own Agg canvas
    (no pyplot state, no display)."""
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure: Figure, path: str | Path) -> Path:
    """Write ``figure`` to ``path`` as a 110 dpi PNG, empty margins trimmed; return the path."""
    path = Path(path)
    figure.savefig(path, dpi=110, bbox_inches="tight", pad_inches=0.08)
    return path


def _value_axis(axes: Any, metric: str, axis: str = "y") -> None:
    """Label an axis with ``metric``'s plain name and unit; shares as percentages."""
    t = term(metric)
    target = axes.yaxis if axis == "y" else axes.xaxis
    target.set_label_text(t.label())
    if UNITS[t.unit].share:
        target.set_major_formatter(PercentFormatter(xmax=1, decimals=0))


def _legend(axes: Any, title: str | None = None) -> None:
    """The legend beside the plot, so it hides no data and every entry shows in full."""
    axes.legend(title=title, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0, frameon=False)


def _colour(label: Any, index: int) -> str:
    return COLOURS.get(str(label), _FALLBACK[index % len(_FALLBACK)])


def _select(frame: pd.DataFrame, where: Mapping[str, Any] | None) -> pd.DataFrame:
    for key, value in (where or {}).items():
        if key not in frame.columns:
            raise ValueError(f"where: no column {key!r}; columns: {', '.join(map(str, frame.columns))}")
        frame = frame[frame[key] == value]
    return frame


def _check_single(frame: pd.DataFrame, fixed: Sequence[str], free: Sequence[str]) -> None:
    """Raise unless ``free`` columns alone identify the rows (other point columns constant)."""
    varying = [c for c in fixed if c in frame.columns and frame[c].nunique(dropna=False) > 1]
    if varying:
        raise ValueError(f"{', '.join(varying)} also vary; pick one value with where={{...}} first")
    if frame.duplicated(list(free)).any():
        raise ValueError(f"several rows per {', '.join(free)}; pick the other parameters with where={{...}}")


def plot_metric_vs_parameter(
    summary: pd.DataFrame,
    parameter: str,
    metric: str,
    path: str | Path,
    *,
    by: str = "structure",
    where: Mapping[str, Any] | None = None,
    title: str | None = None,
) -> Path:
    """Mean of ``metric`` against ``parameter``, one line per ``by`` group, with CI bands.

    ``summary`` is :func:`sim.experiment.tables.summary_table` output; ``where`` fixes other varied
    parameters (e.g. ``{"handoff.loss_prob": 0.1}``)."""
    frame = _select(summary[summary["metric"] == metric], where)
    if frame.empty:
        raise ValueError(f"no summary rows for metric {metric!r}{' with ' + str(where) if where else ''}")
    if parameter not in frame.columns:
        raise ValueError(f"summary has no parameter column {parameter!r}")
    others = [c for c in frame.columns if c not in (parameter, by, "metric", *SUMMARY_COLUMNS, *REPLICATION_COLUMNS)]
    _check_single(frame, others, [parameter, by])
    figure = new_figure()
    axes = figure.add_subplot()
    for index, (label, group) in enumerate(frame.groupby(by, sort=False)):
        group = group.sort_values(parameter)
        x = group[parameter].to_numpy(dtype=float)
        colour = _colour(label, index)
        axes.plot(x, group["mean"], marker="o", color=colour, label=side_name(label))
        axes.fill_between(x, group["ci_low"], group["ci_high"], color=colour, alpha=0.2, linewidth=0)
    axes.set_xlabel(term(parameter).label())
    _value_axis(axes, metric)
    axes.set_title(title or f"{term(metric).name.capitalize()} by {term(parameter).name}\n(mean; {BAND})")
    axes.grid(alpha=0.3)
    _legend(axes, term(by).name.capitalize())
    return save_figure(figure, path)


def win_cells(
    comparison: pd.DataFrame,
    x: str,
    y: str,
    metric: str,
    *,
    higher_is_better: bool | None = None,
    where: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The win map's decision: one row per (``x``, ``y``) point of a comparison table, sorted
    by ``y`` then ``x``, with the difference ``diff`` (b - a) and ``winner``: the better side's
    label, or the not-significant or unstable text, as :func:`sim.experiment.tables.verdict`
    decides. ``higher_is_better`` defaults to the metric's direction in :data:`HIGHER_IS_BETTER`."""
    if higher_is_better is None and metric not in HIGHER_IS_BETTER:
        raise ValueError(f"{metric}: no better direction known; pass higher_is_better=True or False")
    frame = _select(comparison[comparison["metric"] == metric], where)
    if frame.empty:
        raise ValueError(f"no comparison rows for metric {metric!r}")
    for column in (x, y):
        if column not in frame.columns:
            raise ValueError(f"comparison has no parameter column {column!r}")
    _check_single(frame, [], [x, y])
    winners = {f"{side} better": side for side in (str(frame["a"].iat[0]), str(frame["b"].iat[0]))}
    decided = [winners.get(d, d) for d in (verdict(row, higher_is_better) for _, row in frame.iterrows())]
    cells = pd.DataFrame({x: frame[x].to_numpy(), y: frame[y].to_numpy(), "diff": frame["diff"].to_numpy()})
    return cells.assign(winner=decided).sort_values([y, x], ignore_index=True)


def plot_win_map(
    comparison: pd.DataFrame,
    x: str,
    y: str,
    metric: str,
    path: str | Path,
    *,
    higher_is_better: bool | None = None,
    where: Mapping[str, Any] | None = None,
    title: str | None = None,
) -> Path:
    """Which side wins ``metric`` at each (``x``, ``y``) point of a comparison table, as
    :func:`win_cells` decides: coloured for the better side, grey and marked "n.s." when the
    adjusted difference is not significant, uncoloured and hatched when a majority of either
    side's runs are unstable and the metric is read from finished items only (e.g. lead
    time). Each cell shows the difference (b - a)."""
    cells = win_cells(comparison, x, y, metric, higher_is_better=higher_is_better, where=where)
    rows = comparison[comparison["metric"] == metric]
    a, b = str(rows["a"].iat[0]), str(rows["b"].iat[0])
    xs, ys = sorted(cells[x].unique()), sorted(cells[y].unique())
    codes = np.full((len(ys), len(xs)), np.nan)
    figure = new_figure(max(6.0, 3.6 + 0.9 * len(xs)), max(3.2, 1.6 + 0.7 * len(ys)))
    axes = figure.add_subplot()
    for cell in cells.to_dict("records"):
        i, j, diff = ys.index(cell[y]), xs.index(cell[x]), cell["diff"]
        if cell["winner"] == UNSTABLE:
            axes.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///", edgecolor="#555555"))
            shown = "" if math.isnan(diff) else f"{diff:+.3g}\n"
            axes.text(j, i, f"{shown}unstable", ha="center", va="center", fontsize=8)
        elif not math.isnan(diff):
            codes[i, j] = {a: 1, b: 2}.get(cell["winner"], 0)
            mark = "" if codes[i, j] else "\nn.s."
            axes.text(j, i, f"{diff:+.3g}{mark}", ha="center", va="center", fontsize=8)
    colours = ["#d9d9d9", _colour(a, 0), _colour(b, 1)]
    axes.imshow(np.ma.masked_invalid(codes), cmap=ListedColormap(colours), vmin=0, vmax=2, origin="lower", alpha=0.75)
    axes.set_xlim(-0.5, len(xs) - 0.5)
    axes.set_ylim(-0.5, len(ys) - 0.5)
    axes.set_xticks(range(len(xs)), [f"{v:g}" if isinstance(v, int | float) else str(v) for v in xs])
    axes.set_yticks(range(len(ys)), [f"{v:g}" if isinstance(v, int | float) else str(v) for v in ys])
    axes.set_xlabel(term(x).label())
    axes.set_ylabel(term(y).label())
    legend = [
        Patch(color=colours[1], label=f"{side_name(a)} better"),
        Patch(color=colours[2], label=f"{side_name(b)} better"),
        Patch(color=colours[0], label="not significant (BH-adjusted p)"),
    ]
    if (cells["winner"] == UNSTABLE).any():
        label = UNSTABLE.replace(": ", ":\n")
        legend.append(Patch(fill=False, hatch="///", edgecolor="#555555", label=label))
    axes.legend(handles=legend, loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=8)
    cells_text = f"cells: {side_name(b)} - {side_name(a)}, {term(metric).label()}"
    axes.set_title(title or f"{term(metric).name.capitalize()}: which structure wins\n({cells_text})", fontsize=10)
    return save_figure(figure, path)


def plot_metric_by_point(
    summary: pd.DataFrame,
    metric: str,
    path: str | Path,
    *,
    by: str = "structure",
    where: Mapping[str, Any] | None = None,
    title: str | None = None,
) -> Path:
    """Mean of ``metric`` per design point as grouped bars (one per ``by`` group) with 95%
    interval whiskers; each point is labelled by the parameters that vary."""
    frame = _select(summary[summary["metric"] == metric], where)
    if frame.empty:
        raise ValueError(f"no summary rows for metric {metric!r}{' with ' + str(where) if where else ''}")
    stats_columns = (by, "metric", *SUMMARY_COLUMNS, *REPLICATION_COLUMNS)
    varied = [c for c in frame.columns if c not in stats_columns and frame[c].nunique(dropna=False) > 1]
    labels = (
        frame[varied].astype(str).agg(lambda row: "\n".join(f"{term(k).name}={v}" for k, v in row.items()), axis=1)
        if varied
        else pd.Series("all", index=frame.index)
    )
    frame = frame.assign(_label=labels)
    order = list(dict.fromkeys(frame["_label"]))
    groups = list(dict.fromkeys(frame[by]))
    width = 0.8 / len(groups)
    figure = new_figure(max(6.4, 1.1 * len(order) + 2), 4.6)
    axes = figure.add_subplot()
    for index, label in enumerate(groups):
        group = frame[frame[by] == label].set_index("_label").reindex(order)
        x = np.arange(len(order)) + (index - (len(groups) - 1) / 2) * width
        errors = np.vstack([group["mean"] - group["ci_low"], group["ci_high"] - group["mean"]])
        axes.bar(
            x,
            group["mean"],
            width,
            yerr=np.nan_to_num(errors),
            capsize=3,
            color=_colour(label, index),
            label=side_name(label),
        )
    axes.set_xticks(np.arange(len(order)), order, fontsize=7)
    _value_axis(axes, metric)
    axes.set_title(title or f"{term(metric).name.capitalize()} by design point\n(mean; {WHISKERS})")
    axes.grid(alpha=0.3, axis="y")
    _legend(axes, term(by).name.capitalize())
    return save_figure(figure, path)


def plot_adoption_curves(
    adoption: pd.DataFrame,
    path: str | Path,
    *,
    by: str = "structure",
    where: Mapping[str, Any] | None = None,
    title: str | None = None,
) -> Path:
    """Mean adoption share per tick for each ``by`` group, with a 95% band.

    ``adoption`` is a sweep's adoption table (per point, structure and tick: mean, std,
    n). Points not fixed by ``where`` are pooled (weighted by their n)."""
    frame = _select(adoption, where)
    if frame.empty:
        raise ValueError("no adoption rows to plot")
    figure = new_figure()
    axes = figure.add_subplot()
    for index, (label, group) in enumerate(frame.groupby(by, sort=False)):
        pooled = _pool(group)
        colour = _colour(label, index)
        axes.plot(pooled["tick"], pooled["mean"], color=colour, label=side_name(label))
        axes.fill_between(pooled["tick"], pooled["low"], pooled["high"], color=colour, alpha=0.2, linewidth=0)
    axes.set_xlabel("Day")
    axes.set_ylabel("Teams that adopted the practice (%)")
    axes.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
    axes.set_ylim(-0.02, 1.02)
    axes.set_title(title or f"Adoption over time (mean; {BAND})")
    axes.grid(alpha=0.3)
    _legend(axes, term(by).name.capitalize())
    return save_figure(figure, path)


def _pool(group: pd.DataFrame) -> pd.DataFrame:
    """Combine per-point means and stds per tick into one mean and t interval, by tick."""
    n = group["n"].to_numpy()
    mean = group["adoption_share_mean"].to_numpy()
    std = np.nan_to_num(group["adoption_share_std"].to_numpy())  # a point with one run has none
    parts = pd.DataFrame(
        {"tick": group["tick"].to_numpy(), "n": n, "sum": n * mean, "sq": (n - 1) * std**2 + n * mean**2}
    )
    totals = parts.groupby("tick").sum()  # sorted by tick
    count = totals["n"].to_numpy()
    pooled_mean = totals["sum"].to_numpy() / count
    var = (totals["sq"].to_numpy() - count * pooled_mean**2) / np.maximum(count - 1, 1)
    df = np.maximum(count - 1, 1)
    half = stats.t.ppf(0.5 + LEVEL / 2, df) * np.sqrt(np.clip(var, 0, None) / count)  # 0 for one run
    return pd.DataFrame(
        {"tick": totals.index.to_numpy(), "mean": pooled_mean, "low": pooled_mean - half, "high": pooled_mean + half}
    )


def plot_side_by_side(
    summary: pd.DataFrame, metrics: Sequence[str], path: str | Path, *, by: str = "variant", columns: int = 3
) -> Path:
    """Two (or more) compared scenarios, one panel per metric: each side's mean (Kaplan-Meier
    median for an adoption time) as a bar with its 95% interval; ``summary`` is
    :func:`sim.experiment.tables.summary_table` output grouped by ``by``."""
    metrics = [m for m in metrics if (summary["metric"] == m).any()]
    if not metrics:
        raise ValueError("no summary rows for the metrics to plot")
    sides = list(dict.fromkeys(summary[by]))
    rows = math.ceil(len(metrics) / columns)
    figure = new_figure(3.0 * min(columns, len(metrics)), 2.5 * rows + 0.6)
    grid = figure.subplots(rows, min(columns, len(metrics)), squeeze=False)
    for axes, metric in zip(grid.flat, metrics, strict=False):
        frame = summary[summary["metric"] == metric].set_index(by).reindex(sides)
        mean = frame["mean"].to_numpy(dtype=float)
        errors = np.vstack(
            [mean - frame["ci_low"].to_numpy(dtype=float), frame["ci_high"].to_numpy(dtype=float) - mean]
        )
        colours = [_colour(side, i) for i, side in enumerate(sides)]
        axes.bar(range(len(sides)), np.nan_to_num(mean), yerr=np.nan_to_num(errors), capsize=4, color=colours)
        for x in np.flatnonzero(np.isnan(mean)):
            axes.text(x, 0, "not reached", ha="center", va="bottom", fontsize=8)
        axes.set_xticks(range(len(sides)), [side_name(side) for side in sides], fontsize=8)
        t = term(metric)
        median = (frame["estimator"] == "km_median").any()
        axes.set_title(f"{t.name.capitalize()}{', median' if median else ''}", fontsize=9)
        _value_axis(axes, metric)
        axes.yaxis.label.set_fontsize(8)
        axes.grid(alpha=0.3, axis="y")
    for axes in list(grid.flat)[len(metrics) :]:
        axes.set_visible(False)
    figure.suptitle(f"{' vs '.join(side_name(s) for s in sides)} (mean; {WHISKERS})", fontsize=10)
    return save_figure(figure, path)


def plot_run(series: pd.DataFrame, path: str | Path, *, warmup: int = 0, title: str | None = None) -> Path:
    """One run day by day: open work, items finished (7-day mean) and the share of teams that
    adopted the practice; the warm-up (not measured) shaded grey."""
    figure = new_figure(6.4, 6.0)
    panels = figure.subplots(3, 1, sharex=True)
    day = series["tick"].to_numpy()
    panels[0].plot(day, series["wip"], color=COLOURS["central_it"], label="open work")
    panels[0].set_ylabel("Open work (items)")
    panels[1].plot(day, series["completions"], color="#bbbbbb", linewidth=0.8, label="each day")
    weekly = series["completions"].rolling(7, min_periods=1).mean()
    panels[1].plot(day, weekly, color=COLOURS["micro_provider"], label="7-day mean")
    panels[1].set_ylabel("Finished (items per day)")
    panels[2].plot(day, series["adoption_share"], color="#2ca02c", label="adopted")
    panels[2].set_ylabel("Teams adopted (%)")
    panels[2].yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
    panels[2].set_ylim(-0.02, 1.02)
    panels[2].set_xlabel("Day")
    for axes in panels:
        if warmup > 0:
            axes.axvspan(day[0], warmup, color="#eeeeee", label="warm-up (not measured)")
        axes.grid(alpha=0.3)
        _legend(axes)
    figure.suptitle(title or "One run, day by day", fontsize=10)
    return save_figure(figure, path)

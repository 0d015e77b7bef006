"""What a comparison says, in words and on one page: verdict sentences, readable tables, and
the report (``report.html``, self-contained with its figures embedded, and ``report.md``).

Everything here reads the comparison and summary tables (:mod:`sim.experiment.tables`): the
verdict per row, the unstable shares, the Kaplan-Meier medians. No statistic is computed
again. Names, units and precision come from the vocabulary (:func:`sim.metrics.term`)."""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sim.experiment.tables import LEVEL, NOT_SIGNIFICANT, UNSTABLE, to_markdown
from sim.metrics import term
from sim.scenario.vocabulary import UNITS, Term, format_p, side_name

if TYPE_CHECKING:
    from sim.experiment.design import Design
    from sim.experiment.sweep import SweepResult

METHODS = {"paired t": "paired t", "welch": "Welch t", "logrank": "log-rank"}
UNSTABLE_MAJORITY = 0.5  # as in tables.verdict: more than half of a side's runs


# --- words ------------------------------------------------------------------------------------
def plain_verdict(verdict: str) -> str:
    """A table's verdict with plain side names ("micro_provider better" -> "Micro-providers better")."""
    if verdict == UNSTABLE:
        return "not compared: a side is unstable"
    for suffix in (" better", " higher"):
        if verdict.endswith(suffix):
            return side_name(verdict.removesuffix(suffix)) + suffix
    return verdict


def _p_text(row: Mapping[str, Any]) -> str:
    p, p_adj = row["p"], row.get("p_adj", row["p"])
    name = "p" if format_p(p) == format_p(p_adj) else "adjusted p"
    text = format_p(p_adj)
    return f"{METHODS.get(row['method'], row['method'])}, {name} {text if text.startswith('<') else '= ' + text}"


def _signed(t: Term, value: float) -> str:
    """A difference's number in the unit its sentence states (percentage points for shares)."""
    unit = UNITS[t.unit]
    if not math.isfinite(value):
        return "n/a"
    return f"{100 * value:.{unit.digits}f}" if unit.share else t.number(value)


def _words(t: Term) -> tuple[str, str]:
    return ("longer", "shorter") if t.unit == "days" else ("higher", "lower")


def stability_sentences(comparison: pd.DataFrame) -> list[str]:
    """One sentence per side whose runs are mostly unstable, with its backlog growth."""
    if comparison.empty or "unstable_a" not in comparison.columns:
        return []
    first = comparison.iloc[0]
    growth = comparison[comparison["metric"] == "backlog_growth_per_tick"]
    lines = []
    for side in ("a", "b"):
        share = float(first[f"unstable_{side}"])
        if not share > UNSTABLE_MAJORITY:
            continue
        rate = term("backlog_growth_per_tick").amount(float(growth[f"mean_{side}"].iat[0])) if len(growth) else None
        grows = f": its backlog grows by {rate}" if rate else ""
        lines.append(
            f"{side_name(first[side])} is unstable{grows} ({share:.0%} of runs); compare it on throughput and "
            "backlog growth, not on lead time."
        )
    return lines


def sentence(row: Mapping[str, Any]) -> str:
    """One comparison row (``verdict``, ``diff`` = b - a and its CI, ``p_adj``) as a plain sentence."""
    t = term(str(row["metric"]))
    name = t.name
    a, b = side_name(row["a"]), side_name(row["b"])
    verdict, diff = str(row["verdict"]), float(row["diff"])
    censored = row.get("estimator") == "km_median"
    if verdict == UNSTABLE:
        shares = [f"{side_name(row[s])} in {float(row[f'unstable_{s}']):.0%}" for s in ("a", "b")]
        return f"{name.capitalize()}: not compared; runs are unstable ({', '.join(shares)} of runs)."
    if censored:
        medians = f"Kaplan-Meier medians: {a} {_median(t, row, 'a')}; {b} {_median(t, row, 'b')}; {_p_text(row)}"
    if verdict == NOT_SIGNIFICANT:
        if censored:
            return f"{name.capitalize()}: no significant difference ({medians})."
        ci = f"{LEVEL:.0%} CI {_signed(t, row['diff_ci_low'])} to {_signed(t, row['diff_ci_high'])}"
        return (
            f"{name.capitalize()}: no significant difference ({b} - {a}: {t.difference(diff)}, {ci}; {_p_text(row)})."
        )
    winner_is_b = verdict.startswith(str(row["b"]))
    winner = b if winner_is_b else a
    delta = diff if winner_is_b else -diff
    low, high = (
        (row["diff_ci_low"], row["diff_ci_high"]) if winner_is_b else (-row["diff_ci_high"], -row["diff_ci_low"])
    )
    more, less = _words(t)
    word = more if delta > 0 else less
    if delta < 0:
        delta, low, high = -delta, -high, -low
    if censored:
        amount = f"{t.difference(delta)} " if math.isfinite(delta) else ""
        return f"{winner}: {name} {amount}{word} ({medians})."
    ci = f"{LEVEL:.0%} CI {_signed(t, low)} to {_signed(t, high)}"
    return f"{winner}: {name} {t.difference(delta)} {word} ({ci}; {_p_text(row)})."


def _median(t: Term, row: Mapping[str, Any], side: str) -> str:
    median = float(row[f"mean_{side}"])
    if math.isfinite(median):
        return t.amount(median)
    return f"not reached, {float(row[f'reached_share_{side}']):.0%} of runs got there"


def verdict_sentences(comparison: pd.DataFrame, metrics: Sequence[str]) -> list[str]:
    """The verdict of a one-point comparison: the unstable sides, then one sentence per metric."""
    rows = comparison.set_index("metric", drop=False)
    return stability_sentences(comparison) + [sentence(rows.loc[m].to_dict()) for m in metrics if m in rows.index]


def verdict_counts(comparison: pd.DataFrame, metrics: Sequence[str], points: int) -> list[str]:
    """The verdict of a comparison over several points: per metric, how many points each side wins."""
    lines = []
    for name in metrics:
        verdicts = comparison.loc[comparison["metric"] == name, "verdict"].map(plain_verdict).value_counts()
        parts = [f"{label} at {count} of {points} points" for label, count in verdicts.items()]
        lines.append(f"{term(name).name.capitalize()}: {'; '.join(parts)}.")
    return lines


# --- tables -----------------------------------------------------------------------------------
def comparison_display(comparison: pd.DataFrame, metrics: Sequence[str], by: Sequence[str] = ()) -> pd.DataFrame:
    """The comparison as people read it: one row per point (``by``) and metric, values at the
    metric's precision with their 95% CI, the difference B - A, p and the verdict in words."""
    if comparison.empty:
        return pd.DataFrame()
    a, b = side_name(comparison["a"].iat[0]), side_name(comparison["b"].iat[0])
    order = {name: i for i, name in enumerate(metrics)}
    chosen = comparison[comparison["metric"].isin(order)]
    chosen = chosen.assign(_order=chosen["metric"].map(order)).sort_values([*by, "_order"], kind="stable")
    rows = []
    for row in chosen.to_dict("records"):
        t = term(row["metric"])
        censored = row["estimator"] == "km_median"
        reps = max(int(row["n_a"]), int(row["n_b"]))
        diff = (
            _signed(t, row["diff"])
            if censored
            else _interval(t, row["diff"], row["diff_ci_low"], row["diff_ci_high"], row["n_pairs"], reps, "pairs")
        )
        if UNITS[t.unit].share and diff != "n/a":
            diff = f"{diff} pp"
        rows.append(
            {term(k).label(): _point_value(k, row[k]) for k in by}
            | {
                "metric": t.label(),
                f"A: {a}": _cell(t, row, "a", censored),
                f"B: {b}": _cell(t, row, "b", censored),
                "B - A": diff,
                "p": f"{format_p(row.get('p_adj', row['p']))} ({METHODS.get(row['method'], row['method'])})",
                "verdict": plain_verdict(row["verdict"]),
                "unstable runs A / B": f"{row['unstable_a']:.0%} / {row['unstable_b']:.0%}",
            }
        )
    return pd.DataFrame(rows)


def _point_value(key: str, value: Any) -> str:
    return term(key).number(value) if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


def _cell(t: Term, row: Mapping[str, Any], side: str, censored: bool) -> str:
    mean, low, high, n = row[f"mean_{side}"], row[f"ci_low_{side}"], row[f"ci_high_{side}"], row[f"n_{side}"]
    if censored:
        reached = f"reached {row[f'reached_share_{side}']:.0%}"
        return f"median {_interval(t, mean, low, high, n, n)}, {reached}" if math.isfinite(mean) else reached
    return _interval(t, mean, low, high, n, max(int(row["n_a"]), int(row["n_b"])))


def _interval(t: Term, mean: float, low: float, high: float, n: int, reps: int, what: str = "n") -> str:
    """ "mean [low, high]" at the term's precision, "(n=k)" when defined in fewer than ``reps`` runs."""
    if math.isnan(mean):
        return "not reached"
    number = (lambda v: _signed(t, v)) if what == "pairs" else t.number
    text = number(mean) if math.isnan(low) else f"{number(mean)} [{number(low)}, {number(high)}]"
    return text if n >= reps else f"{text} ({what}={n})"


def summary_display(summary: pd.DataFrame, metrics: Sequence[str], by: Sequence[str] = ()) -> pd.DataFrame:
    """The summary as people read it: one row per point (``by``) and metric, one column per
    structure with its mean (adoption times: Kaplan-Meier median) and 95% CI."""
    structures = list(dict.fromkeys(summary["structure"]))
    rows = []
    chosen = summary[summary["metric"].isin(metrics)]
    for key, group in chosen.groupby([*by, "metric"], sort=False, dropna=False):
        values = key if isinstance(key, tuple) else (key,)
        t = term(str(values[-1]))
        row = {term(k).label(): _point_value(k, v) for k, v in zip(by, values, strict=False)} | {"metric": t.label()}
        for record in group.to_dict("records"):
            censored = record["estimator"] == "km_median"
            mean, low, high, n = record["mean"], record["ci_low"], record["ci_high"], record["n"]
            text = _interval(t, mean, low, high, n, n)
            if censored:
                reached = f"reached {record['reached_share']:.0%}"
                text = f"median {text}, {reached}" if math.isfinite(mean) else reached
            row[side_name(record["structure"])] = text
        rows.append(row)
    order = [side_name(s) for s in structures]
    frame = pd.DataFrame(rows)
    return frame[[c for c in frame.columns if c not in order] + order] if rows else frame


# --- the report -------------------------------------------------------------------------------
@dataclass
class Report:
    """One report: a title, what was run, the verdict, tables (caption, frame of text) and
    figures (caption, PNG path), and notes on how to read them."""

    title: str
    context: list[str]
    verdict: list[str]
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    figures: list[tuple[str, Path]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


STYLE = """
body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 1.5rem auto; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; margin-bottom: 0.3rem; } h2 { font-size: 1.15rem; margin-top: 1.6rem; }
p.context { color: #555; margin: 0.2rem 0; }
ul.verdict { background: #f4f7fb; border-left: 4px solid #1f77b4; padding: 0.7rem 1rem 0.7rem 2rem; }
ul.verdict li { margin: 0.25rem 0; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #eee; }
figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption, p.note { color: #555; font-size: 0.85rem; }
"""


def write_report(report: Report, out: str | Path) -> dict[str, Path]:
    """Write ``report.html`` (figures embedded as base64 PNG) and ``report.md`` (figures
    linked by file name) into ``out``; return their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"html": out / "report.html", "md": out / "report.md"}
    paths["html"].write_text(_html(report), encoding="utf-8")
    paths["md"].write_text(_markdown(report, out), encoding="utf-8")
    return paths


def _html(report: Report) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(report.title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{e(report.title)}</h1>",
        *(f'<p class="context">{e(line)}</p>' for line in report.context),
        '<h2>Verdict</h2><ul class="verdict">',
        *(f"<li>{e(line)}</li>" for line in report.verdict),
        "</ul>",
    ]
    for caption, frame in report.tables:
        parts += [f"<h2>{e(caption)}</h2>", frame.to_html(index=False, border=0, na_rep="")]
    if report.figures:
        parts.append("<h2>Figures</h2>")
    for caption, path in report.figures:
        data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
        parts.append(
            f'<figure><img src="data:image/png;base64,{data}" alt="{e(caption)}"><figcaption>{e(caption)}'
            "</figcaption></figure>"
        )
    parts += [*(f'<p class="note">{e(line)}</p>' for line in report.notes), "</body></html>"]
    return "\n".join(parts) + "\n"


def _markdown(report: Report, out: Path) -> str:
    lines = [f"# {report.title}", "", *_paragraphs(report.context), "## Verdict", ""]
    lines += [f"- {line}" for line in report.verdict] + [""]
    for caption, frame in report.tables:
        lines += [f"## {caption}", "", to_markdown(frame), ""]
    if report.figures:
        lines += ["## Figures", ""]
    for caption, path in report.figures:
        lines += [f"![{caption}]({Path(path).relative_to(out).as_posix()})", "", f"_{caption}_", ""]
    lines += _paragraphs(report.notes)
    return "\n".join(lines)


def _paragraphs(lines: Iterable[str]) -> list[str]:
    return [part for line in lines for part in (line, "")]


def sweep_report(result: SweepResult, metrics: Sequence[str]) -> Report:
    """A sweep's report: the design, a verdict per metric over the points, the tables, and the
    figures the design's shape allows (written into the sweep's directory)."""
    design, out = result.design, Path(result.out)
    parameters = list(design.parameters)
    points = len(design.points) // max(len(design.structures), 1)
    context = [
        f"Base scenario {design.base.get('name') or 'unnamed'}; structures: "
        f"{', '.join(side_name(s) for s in design.structures)}.",
        f"Design: {_design_words(design)}; {len(result.runs)} runs ({design.reps} replications per point and "
        f"structure unless replicated to a precision), base seed {design.seed}; "
        f"{design.base['simulation']['ticks']} days per run, the first {design.base['simulation']['warmup_ticks']} "
        "not measured.",
    ]
    if result.comparison is not None and not result.comparison.empty:
        comparison = result.comparison
        verdict = (
            verdict_sentences(comparison, metrics)
            if points == 1
            else _unstable_points(comparison, parameters, points) + verdict_counts(comparison, metrics, points)
        )
        tables = [
            (
                "Comparison per point (B - A; p adjusted over the points)",
                comparison_display(comparison, metrics, parameters),
            )
        ]
    else:
        verdict = [f"One structure ({side_name(design.structures[0])}): no comparison; see the summary."]
        tables = []
    tables.append(("Summary per point (mean [95% CI])", summary_display(result.summary, metrics, parameters)))
    return Report(
        title=f"Sweep: {', '.join(term(k).name for k in design.keys) or 'one point'}",
        context=context,
        verdict=verdict,
        tables=tables,
        figures=_sweep_figures(result, metrics, out),
        notes=[f"Result tables (CSV, Parquet, Markdown, provenance JSON) in {out}."],
    )


def _design_words(design: Design) -> str:
    spec = design.spec or {}
    if design.kind in ("lhs", "sobol"):
        ranges = "; ".join(f"{term(k).name} {lo:g} to {hi:g}" for k, (lo, hi) in spec["ranges"].items())
        kind = "Latin hypercube" if design.kind == "lhs" else "Sobol'"
        return f"{kind}, {spec['n']} points over {ranges}"
    factors = spec.get("factors") or {}
    grid = "; ".join(f"{term(k).name} {', '.join(map(str, v))}" for k, v in factors.items())
    return f"grid of {len(design.points)} points ({grid})" if grid else "one point"


def _unstable_points(comparison: pd.DataFrame, parameters: Sequence[str], points: int) -> list[str]:
    first = comparison.drop_duplicates(list(parameters)) if parameters else comparison.head(1)
    lines = []
    for side in ("a", "b"):
        count = int((first[f"unstable_{side}"] > UNSTABLE_MAJORITY).sum())
        if count:
            name = side_name(first[side].iat[0])
            lines.append(f"{name} is unstable at {count} of {points} points (its lead times are not compared there).")
    return lines


def _sweep_figures(result: SweepResult, metrics: Sequence[str], out: Path) -> list[tuple[str, Path]]:
    """Figures for the design's shape: bars for one point, lines over one numeric parameter,
    win maps over two (a grid), bars per point otherwise; adoption curves when collected."""
    from sim.experiment import plots

    parameters = list(result.design.parameters)
    numeric = [p for p in parameters if pd.api.types.is_numeric_dtype(result.summary[p])]
    figures: list[tuple[str, Path]] = []
    if not parameters:
        path = plots.plot_side_by_side(result.summary, metrics, out / "figure-metrics.png", by="structure")
        return [("Each metric per structure: mean (adoption times: median) with its 95% CI", path)]
    for metric in metrics:
        path = out / f"figure-{metric}.png"
        name = term(metric).name
        try:
            if len(parameters) == 1 and numeric:
                plots.plot_metric_vs_parameter(result.summary, parameters[0], metric, path)
                caption = f"{name.capitalize()} by {term(parameters[0]).name} (shaded: 95% CI)"
            elif (
                len(numeric) == 2 == len(parameters) and result.design.kind == "grid" and result.comparison is not None
            ):
                plots.plot_win_map(result.comparison, numeric[0], numeric[1], metric, path)
                caption = f"{name.capitalize()}: which structure wins at each point"
            else:
                plots.plot_metric_by_point(result.summary, metric, path)
                caption = f"{name.capitalize()} per point (bars: 95% CI)"
        except ValueError:  # a metric without a better direction has no win map; then no figure
            continue
        figures.append((caption, path))
    if result.adoption is not None and not result.adoption.empty:
        path = plots.plot_adoption_curves(result.adoption, out / "figure-adoption.png")
        figures.append(("Share of teams that adopted the practice, pooled over the points (shaded: 95% CI)", path))
    return figures

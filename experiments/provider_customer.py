"""Operating models 6, the provider/customer critique: when do its costs outweigh ownership's gains?

Every transfer of work between teams (a request to a service's owner; under central IT a stage
handed to the next silo) follows one relationship: none (a plain handoff), provider/customer
(negotiation before work starts and an over-asking customer; light 0.5 days and x1.1, shipped
1 day and x1.25, heavy 3 days and x1.5) or collaboration (the sender lends half a person to
the receiver's work on each transfer). Each relationship runs the same grid: both structures
x dependencies per service (2, 4) x load (3, 5, 6, 7 items a day at 2 dependencies; the arrival
rate is scaled with density so the offered effort is the same), 10 replications on the same
seeds for every relationship and structure (common random numbers; replication is fixed, not
to a precision, so that every cell pairs with every other).

Writes results/provider_customer/: one sweep per relationship in its own folder, and over all
of them ``runs``, ``summary``, ``comparison`` (micro_provider - central_it per relationship and
cell), ``relationship`` (each relationship - none, per structure and cell, paired by seed) and
``critique`` (micro-providers trading as providers and customers - central IT with plain
handoffs or collaborating, paired by seed); p adjusted (Benjamini-Hochberg) over each table's
cells of a metric."""

from __future__ import annotations

import time
from pathlib import Path

from common import OPERATING, QUICK_POINT, STRUCTURES, arguments, one_line_errors, sweep_options

import pandas as pd

from sim.experiment.design import Design
from sim.experiment.plots import plot_metric_by_point
from sim.experiment.sweep import run_sweep
from sim.experiment.tables import comparison_table, summary_table, table_provenance, write_table
from sim.scenario.files import load_scenario

SCENARIO = OPERATING / "provider_customer.toml"
RATE, DEPS = "demand.arrival_rate", "organisation.dependencies_per_service"
RELATIONSHIP = "relationship"
VARIANTS: dict[str, list[str]] = {
    "none": ["relationship.mode=none"],
    "pc_light": [
        "relationship.mode=provider_customer",
        "relationship.negotiation_ticks=0.5",
        "relationship.over_ask_factor=1.1",
    ],
    "provider_customer": ["relationship.mode=provider_customer"],  # the shipped 1 day and x1.25
    "pc_heavy": [
        "relationship.mode=provider_customer",
        "relationship.negotiation_ticks=3.0",
        "relationship.over_ask_factor=1.5",
    ],
    "collaboration": ["relationship.mode=collaboration"],  # the shipped half a person
}
QUICK_VARIANTS = ("none", "provider_customer", "collaboration")
CRITIQUE = ("pc_light", "provider_customer", "pc_heavy")
METRICS = [
    "throughput_per_tick",
    "backlog_growth_per_tick",
    "lead_time_mean_ticks",
    "dependency_wait_mean_ticks",
    "rework_rate",
    "utilisation",
    "stable",
]
REPS, SEED = 10, 2041
DIFFERENCES = {
    "comparison": "micro_provider - central_it, per relationship and cell",
    "relationship": "the relationship named in pair - none, per structure and cell",
    "critique": "micro-providers under the relationship named in pair - central IT under the other",
}
ADJUSTED = "Benjamini-Hochberg over every row of the table for each metric; pairs share a seed"
# Offered effort per item relative to its own effort: 1 + touch x dependencies x effort share.
TOUCH, SHARE = 0.5, 0.3


def rate_at(load: float, deps: float) -> float:
    """The arrival rate at ``deps`` offering the effort of ``load`` items a day at 2 dependencies."""
    return round(load * (1 + TOUCH * 2 * SHARE) / (1 + TOUCH * deps * SHARE), 4)


def design(variant: str, quick: bool) -> Design:
    loads, densities = ([5.0], [2.0]) if quick else ([3.0, 5.0, 6.0, 7.0], [2.0, 4.0])
    points = [
        {"structure": structure, DEPS: deps, RATE: rate_at(load, deps)} | (QUICK_POINT if quick else {})
        for structure in STRUCTURES
        for deps in densities
        for load in loads
    ]
    base = load_scenario(SCENARIO, VARIANTS[variant])
    return Design.from_points(base, points, reps=2 if quick else REPS, seed=SEED)


def paired(pairs: list[tuple[str, pd.DataFrame, pd.DataFrame]], by: list[str], names: tuple[str, str]) -> pd.DataFrame:
    """One comparison table over ``pairs`` (label, side a, side b): b - a paired by seed, p adjusted
    over all of them; the sides are called ``names``."""
    a, b = names
    parts = []
    for label, first, second in pairs:
        parts += [first.assign(pair=label, side=a), second.assign(pair=label, side=b)]
    stacked = pd.concat(parts, ignore_index=True)
    return comparison_table(stacked, ["pair", *by], group="side", a=a, b=b, pair_on="seed", metrics=METRICS)


def tables(runs: pd.DataFrame, variants: list[str]) -> dict[str, pd.DataFrame]:
    cell = [DEPS, RATE]
    by_variant = {v: runs[runs[RELATIONSHIP] == v] for v in variants}
    summary = summary_table(runs, [RELATIONSHIP, *cell, "structure"], METRICS)
    comparison = comparison_table(runs, [RELATIONSHIP, *cell], pair_on="seed", metrics=METRICS)
    changes = [(v, by_variant["none"], by_variant[v]) for v in variants if v != "none"]
    relationship = paired(changes, ["structure", *cell], ("none", "changed"))
    micro = {v: frame[frame["structure"] == "micro_provider"] for v, frame in by_variant.items()}
    central = {v: frame[frame["structure"] == "central_it"] for v, frame in by_variant.items()}
    critique = [
        (f"micro {v} - central {c}", central[c], micro[v])
        for v in variants
        if v in CRITIQUE
        for c in ("none", "collaboration")
        if c in variants
    ]
    frames = {"summary": summary, "comparison": comparison, "relationship": relationship}
    if critique:
        frames["critique"] = paired(critique, cell, ("central_it", "micro_provider"))
    return frames


def plots(summary: pd.DataFrame, out: Path) -> None:
    for structure in STRUCTURES:
        for deps in sorted(summary[DEPS].unique()):
            for metric in ("throughput_per_tick", "lead_time_mean_ticks", "backlog_growth_per_tick"):
                plot_metric_by_point(
                    summary,
                    metric,
                    out / f"{metric}_{structure}_deps_{deps:g}.png",
                    by=RELATIONSHIP,
                    where={"structure": structure, DEPS: deps},
                    title=f"{metric} by relationship, {structure}, {deps:g} dependencies per service",
                )


def main() -> None:
    args = arguments("provider_customer", __doc__, precision=False)
    started = time.perf_counter()
    variants = list(QUICK_VARIANTS if args.quick else VARIANTS)
    parts = []
    with one_line_errors(args):
        for variant in variants:
            result = run_sweep(design(variant, args.quick), args.out / variant, **sweep_options(args))
            print(f"{variant}: {len(result.runs)} runs ({result.ran} run now, {result.skipped} resumed)")
            parts.append(result.runs.assign(**{RELATIONSHIP: variant}))
    runs = pd.concat(parts, ignore_index=True)
    runs.insert(1, RELATIONSHIP, runs.pop(RELATIONSHIP))
    base = design("none", args.quick)
    settings = {"variants": {v: VARIANTS[v] for v in variants}, "sweeps": variants, "scenario": SCENARIO.name}
    frames = {"runs": runs, **tables(runs, variants)}
    for name, frame in frames.items():
        extra = {"difference": DIFFERENCES[name], "p_adj": ADJUSTED} if name in DIFFERENCES else {}
        write_table(frame, args.out, name, table_provenance(base, table=name, **settings, **extra))
    plots(frames["summary"], args.out)
    print(f"{len(runs)} runs in {time.perf_counter() - started:.1f} s -> {args.out}")


if __name__ == "__main__":
    main()

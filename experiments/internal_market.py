"""Operating models 7, internal markets: does letting consumers choose among several
providers improve lead time and value for money for the whole, and do switching costs make
it churn?

scenarios/operating/internal_market.toml: each piece of work a consumer sends out (a team's
requests on a service under micro-providers; a stage of the items on a service under central
IT, where the consumer is the central organisation) may go to its usual provider, one other
internal team or silo, or an external vendor (4 person-days a day, 2 days' turnaround, 5%
defects, price 1.5). Consumers judge providers only by the work they got back and re-try
another now and then (5% of pieces). Three variants of the organisation, each a sweep of its
own over structure x demand skew (0.5, the shipped spread; 1.5, demand concentrated on a few
services) x load (7 items a day, just under where central IT tips over without a market, 7.5 in
results/load; 9, beyond it; the shipped load is 6):

- ``off``: no market (the reference);
- ``switch_cost_0``: the market, switching free;
- ``switch_cost_8``: the market, each switch costing the consumer 8 person-days.

The variants differ only in their base scenario, so replicate r of a point runs on the same
seed in all three (a run's seed depends on the point and replicate, not on the base), and
every comparison between variants is paired by seed. Besides each sweep's tables (in
``off/``, ``switch_cost_0/``, ``switch_cost_8/``: runs, summary, comparison between the
structures), the script writes ``market_effect`` to the output folder: per structure and
load and skew, switch_cost_0 against off, switch_cost_8 against off and switch_cost_8 against
switch_cost_0, each metric's paired difference with its 95% interval and paired t p-value,
``p_adj`` Benjamini-Hochberg over all the table's tests of the same metric, the unstable
shares and the verdict (lead times not compared where either side is mostly unstable)."""

from __future__ import annotations

import argparse
import math

from common import OPERATING, QUICK_POINT, STRUCTURES, arguments, bar_plots, run

import pandas as pd
from scipy import stats

from sim.experiment.design import STRUCTURE, Design
from sim.experiment.tables import alpha, comparison_table, table_provenance, verdict, write_table
from sim.scenario.files import load_scenario

SCENARIO = OPERATING / "internal_market.toml"
SKEW, RATE = "organisation.demand_skew", "demand.arrival_rate"
VARIANT = "variant"
VARIANTS = {
    "off": ["market.enabled=false"],
    "switch_cost_0": ["market.switch_cost_days=0"],
    "switch_cost_8": ["market.switch_cost_days=8"],
}
CONTRASTS = [("off", "switch_cost_0"), ("off", "switch_cost_8"), ("switch_cost_0", "switch_cost_8")]
METRICS = [
    "throughput_per_tick",
    "backlog_growth_per_tick",
    "lead_time_mean_ticks",
    "lead_time_p85_ticks",
    "value_for_money",
    "value_per_tick",
    "cost_per_tick",
    "rework_rate",
    "utilisation",
    "market_switches_per_tick",
    "market_flipback_share",
    "market_alternate_share",
    "market_external_share",
]
REPS, QUICK_REPS, SEED = 10, 2, 2043
MULTIPLICITY = (
    "p_adj: Benjamini-Hochberg (scipy.stats.false_discovery_control) over all the table's tests of the same metric"
)


def design(variant: str, quick: bool) -> Design:
    skews, rates = ([1.5], [7.0]) if quick else ([0.5, 1.5], [7.0, 9.0])
    points = [
        {STRUCTURE: s, SKEW: skew, RATE: rate} | (QUICK_POINT if quick else {})
        for rate in rates
        for skew in skews
        for s in STRUCTURES
    ]
    base = load_scenario(SCENARIO, VARIANTS[variant])
    return Design.from_points(base, points, reps=QUICK_REPS if quick else REPS, seed=SEED)


def effect_table(runs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Each contrast between variants per structure, load and skew, paired by seed, adjusted together."""
    frame = pd.concat([r.assign(**{VARIANT: name}) for name, r in runs.items()], ignore_index=True)
    parts = [
        comparison_table(frame, [STRUCTURE, RATE, SKEW], group=VARIANT, a=a, b=b, pair_on="seed", metrics=METRICS)
        for a, b in CONTRASTS
    ]
    table = pd.concat(parts, ignore_index=True)
    table["p_adj"] = math.nan
    for _, rows in table.groupby("metric", sort=False):
        tested = rows["p"][rows["p"].notna()]
        if len(tested):
            table.loc[tested.index, "p_adj"] = stats.false_discovery_control(tested.to_numpy(float), method="bh")
    table["significant"] = table["p_adj"] < alpha(0.95)
    table["verdict"] = [verdict(row) for row in table.to_dict("records")]
    return table.sort_values(["metric", STRUCTURE, RATE, SKEW, "a", "b"], kind="stable", ignore_index=True)


def main(args: argparse.Namespace) -> None:
    # Fixed replications: every variant needs the same seeds for the pairing.
    args.precision = args.max_reps = args.precision_metric = None
    out = args.out
    runs, designs = {}, {}
    for variant in VARIANTS:
        sub = argparse.Namespace(**{**vars(args), "out": out / variant})
        designs[variant] = design(variant, args.quick)
        runs[variant] = run(sub, designs[variant], bar_plots(METRICS[:6])).runs
    seeds = [r.set_index([STRUCTURE, RATE, SKEW, "replicate"])["seed"].sort_index() for r in runs.values()]
    assert all(s.equals(seeds[0]) for s in seeds), "the variants must run on the same seeds"
    table = effect_table(runs)
    provenance = table_provenance(designs["off"], table="market_effect", multiplicity=MULTIPLICITY, variants=VARIANTS)
    write_table(table, out, "market_effect", provenance)
    print(f"market_effect table -> {out}")


if __name__ == "__main__":
    main(arguments("internal_market", __doc__))

"""Operating models 6, value for money by structure and operating model.

Every completed demand item carries value (per person-day of its effort, by kind, less a
1% cost of delay per tick of lead time); every person-day of capacity costs 1. Compares
value delivered, cost and their ratio for both structures under the product and the
project model, across loads. Writes to results/value_for_money/."""

from __future__ import annotations

from common import OPERATING, QUICK, REPS, STRUCTURES, arguments, bar_plots, run

from sim.experiment.design import Design

SCENARIO = OPERATING / "value_for_money.toml"
METRICS = ["value_per_tick", "cost_per_tick", "value_for_money"]


def design(quick: bool) -> Design:
    factors = {
        "structure": STRUCTURES,
        "operating_model.kind": ["product", "project"],
        "demand.arrival_rate": [7.0] if quick else [5.0, 8.0, 11.0],
    }
    if quick:
        factors |= QUICK
    return Design.grid(SCENARIO, factors, reps=2 if quick else REPS, seed=2036)


if __name__ == "__main__":
    args = arguments("value_for_money", __doc__)
    run(args, design(args.quick), bar_plots(METRICS))

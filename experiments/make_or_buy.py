"""Operating models 5, make-or-buy between micro-providers.

Consumer teams review their providers and may buy a service's requests from an external
provider (mean turnaround 2 or 8 ticks, price 1.5x) or bring them back, at a switching
cost. Compares no market with a market under no and a 20% switching margin, at 10
items per tick; central IT, which has no providers to switch between, runs the
same points as the reference. Writes to results/make_or_buy/."""

from __future__ import annotations

from common import OPERATING, QUICK_POINT, REPS, STRUCTURES, arguments, bar_plots, run

from sim.experiment.design import Design

SCENARIO = OPERATING / "make_or_buy.toml"
METRICS = [
    "lead_time_mean_ticks",
    "throughput_per_tick",
    "provider_switches_per_tick",
    "bought_effort_share",
    "value_for_money",
]
RATE = 10.0
MARKETS = [(False, 4.0, 0.2), (True, 2.0, 0.2), (True, 8.0, 0.2), (True, 2.0, 0.0), (True, 8.0, 0.0)]


def design(quick: bool) -> Design:
    markets = MARKETS[:2] if quick else MARKETS
    points = [
        {
            "structure": structure,
            "demand.arrival_rate": RATE,
            "sourcing.enabled": enabled,
            "sourcing.external_lead_ticks": lead,
            "sourcing.switch_margin": margin,
        }
        | (QUICK_POINT if quick else {})
        for structure in STRUCTURES
        for enabled, lead, margin in markets
    ]
    return Design.from_points(SCENARIO, points, reps=2 if quick else REPS, seed=2035)


if __name__ == "__main__":
    args = arguments("make_or_buy", __doc__)
    run(args, design(args.quick), bar_plots(METRICS))

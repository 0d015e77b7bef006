"""Operating models 2, keep-the-lights-on and tech debt: the capability trap.

Services age into debt that makes work on them slower and riskier; each completed KTLO
(upgrade) item pays most of it down. The maintenance policy is the share of KTLO work
protected from being skipped when the intake is under pressure ("working harder").
Sweeps that share and the arrival rate under both structures over 1500 ticks, and plots
how debt and delivery evolve when maintenance is skipped or protected (Repenning &
Sterman 2001). Writes to results/tech_debt/."""

from __future__ import annotations

from pathlib import Path

from common import OPERATING, QUICK, QUICK_TICKS, REPS, STRUCTURES, arguments, bar_plots, plot_series_over_time, run

from sim.experiment.design import Design
from sim.experiment.sweep import SweepResult

SCENARIO = OPERATING / "tech_debt.toml"
SHARE, RATE = "tech_debt.protected_share", "demand.arrival_rate"
METRICS = [
    "throughput_per_tick",
    "lead_time_mean_ticks",
    "tech_debt_mean",
    "ktlo_skipped_share",
    "change_failure_rate",
    "value_for_money",
]
TRAP_RATE = 8.0


def design(quick: bool) -> Design:
    factors = {
        "structure": STRUCTURES,
        SHARE: [0.0, 1.0] if quick else [0.0, 0.5, 1.0],
        RATE: [TRAP_RATE] if quick else [7.0, TRAP_RATE, 9.0],
    }
    if quick:
        factors |= QUICK
    return Design.grid(SCENARIO, factors, reps=2 if quick else REPS, seed=2032)


def plots(quick: bool):
    def draw(result: SweepResult, out: Path) -> None:
        bar_plots(METRICS)(result, out)
        cases = {
            f"{structure}, {'protect' if share else 'skip under pressure'}": [
                f"structure={structure}",
                f"{SHARE}={share}",
                f"{RATE}={TRAP_RATE}",
                *(QUICK_TICKS if quick else []),
            ]
            for structure in STRUCTURES
            for share in (0.0, 1.0)
        }
        seeds = 1 if quick else 3
        title = f"The capability trap at {TRAP_RATE:g} items per tick"
        plot_series_over_time(SCENARIO, cases, "completions", out / "trap_completions.png", seeds, title)
        plot_series_over_time(SCENARIO, cases, "tech_debt", out / "trap_debt.png", seeds, title)

    return draw


if __name__ == "__main__":
    args = arguments("tech_debt", __doc__)
    run(args, design(args.quick), plots(args.quick))

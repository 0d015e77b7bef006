"""Operating models 3, overcommitment: the intake policy.

Accepting everything makes every accepted item everyone's number one: each item queued at
a team counts as open work for its people, so context switching grows with the queue.
A WIP limit keeps items in a backlog until open items per person are under the limit;
"queue" lets items wait without counting as open. Sweeps the policy and the arrival rate
under both structures. Writes to results/overcommitment/."""

from __future__ import annotations

from common import OPERATING, QUICK, REPS, STRUCTURES, arguments, bar_plots, run

from sim.experiment.design import Design

SCENARIO = OPERATING / "overcommitment.toml"
METRICS = [
    "throughput_per_tick",
    "lead_time_mean_ticks",
    "rework_rate",
    "change_failure_rate",
    "backlog_wait_mean_ticks",
]


def design(quick: bool) -> Design:
    factors = {
        "structure": STRUCTURES,
        "intake.policy": ["accept_all", "wip_limit"] if quick else ["queue", "accept_all", "wip_limit"],
        "demand.arrival_rate": [7.0] if quick else [5.0, 7.0],
    }
    if quick:
        factors |= QUICK
    return Design.grid(SCENARIO, factors, reps=2 if quick else REPS, seed=2033)


if __name__ == "__main__":
    args = arguments("overcommitment", __doc__)
    run(args, design(args.quick), bar_plots(METRICS))

"""Operating models 4, the service desk as a feedback loop.

Compares no desk with a desk whose routing is poor or good (50% or 95% routed right
first time) and which feeds resolved incidents back to the responsible team or not, under
both structures. Measures time to restore, lead time, the share the desk resolves and
the knowledge the organisation holds. Writes to results/service_desk/."""

from __future__ import annotations

from common import OPERATING, QUICK_POINT, REPS, STRUCTURES, arguments, bar_plots, run

from sim.experiment.design import Design

SCENARIO = OPERATING / "service_desk.toml"
METRICS = [
    "time_to_restore_mean_ticks",
    "lead_time_mean_ticks",
    "change_failure_rate",
    "desk_resolved_share",
    "knowledge_held_mean",
]
DESKS = [(False, 0.8, 0.5), (True, 0.5, 0.0), (True, 0.5, 1.0), (True, 0.95, 0.0), (True, 0.95, 1.0)]


def design(quick: bool) -> Design:
    desks = DESKS[:2] if quick else DESKS
    points = [
        {
            "structure": structure,
            "service_desk.enabled": enabled,
            "service_desk.routing_accuracy": accuracy,
            "service_desk.feedback_share": feedback,
        }
        | (QUICK_POINT if quick else {})
        for structure in STRUCTURES
        for enabled, accuracy, feedback in desks
    ]
    return Design.from_points(SCENARIO, points, reps=2 if quick else REPS, seed=2034)


if __name__ == "__main__":
    args = arguments("service_desk", __doc__)
    run(args, design(args.quick), bar_plots(METRICS))

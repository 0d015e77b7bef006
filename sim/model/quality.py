"""Rules for speed and quality: context-switching loss, defect and detection chances."""

from __future__ import annotations

from sim.scenario.schema import Quality


def switching_loss(open_per_person: float, loss_by_concurrency: tuple[float, ...]) -> float:
    """Capacity share lost at ``open_per_person`` open items per person: linear between
    the tabulated values at 1, 2, 3, ... items; the first value at or below one item, the
    last beyond the table."""
    if open_per_person <= 1.0:
        return loss_by_concurrency[0]
    last = len(loss_by_concurrency)
    if open_per_person >= last:
        return loss_by_concurrency[-1]
    low = int(open_per_person)
    frac = open_per_person - low
    return loss_by_concurrency[low - 1] * (1 - frac) + loss_by_concurrency[low] * frac


def defect_probability(
    quality: Quality,
    unfamiliarity: float,
    pressure: float,
    switch_loss: float,
    practice_reduction: float,
    weight: float,
    debt_factor: float = 1.0,
) -> float:
    """Chance that a task injects a defect into its item.

    ``base x (1 + f_fam (1 - knowledge)) x (1 + f_press pressure) x (1 + f_switch loss)
    x (1 - practice reduction) x weight x debt factor``, where ``weight`` is the task's
    share of the item's effort, so an item split over several tasks carries the same base
    risk, and the debt factor is ``1 + defect_effect x debt`` of its services (1 without)."""
    p = (
        quality.base_defect_prob
        * (1 + quality.familiarity_effect * unfamiliarity)
        * (1 + quality.pressure_effect * pressure)
        * (1 + quality.switching_effect * switch_loss)
        * (1 - practice_reduction)
        * weight
        * debt_factor
    )
    return min(1.0, p)


def detection_probability(early_detection_prob: float, detection_gain: float) -> float:
    """Chance a defect is caught before release; ``detection_gain`` catches that share of the rest."""
    return early_detection_prob + (1 - early_detection_prob) * detection_gain

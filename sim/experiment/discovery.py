"""Scenario discovery: simple rules that say where in parameter space an outcome holds.

A shallow decision tree (scikit-learn, the ``sensitivity`` extra) splits the sampled
points into boxes, each a conjunction of bounds ``low < key <= high``; every leaf in which
the outcome is the majority becomes a :class:`Rule`. Each rule is reported with the two
measures of scenario discovery (Bryant and Lempert 2010, the ones PRIM reports), counted
on the points themselves:

- coverage: the share of all cases (points where the outcome holds) inside the box;
- density: the share of the box's points where the outcome holds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.scenario.errors import ScenarioError


@dataclass(frozen=True)
class Rule:
    """A box ``low < key <= high`` per bounded key, and how many points and cases it holds."""

    bounds: dict[str, tuple[float, float]]
    points: int
    cases: int
    total_cases: int

    @property
    def coverage(self) -> float:
        return self.cases / self.total_cases if self.total_cases else math.nan

    @property
    def density(self) -> float:
        return self.cases / self.points if self.points else math.nan

    @property
    def text(self) -> str:
        """The box in words, e.g. ``0.5 < handoff.delay_ticks <= 1.2 and organisation.teams > 8``."""
        parts = []
        for key, (low, high) in self.bounds.items():
            if math.isfinite(low) and math.isfinite(high):
                parts.append(f"{low:.3g} < {key} <= {high:.3g}")
            elif math.isfinite(high):
                parts.append(f"{key} <= {high:.3g}")
            else:
                parts.append(f"{key} > {low:.3g}")
        return " and ".join(parts) or "anywhere in the ranges"


def in_box(points: pd.DataFrame, bounds: Mapping[str, tuple[float, float]]) -> np.ndarray:
    """Which rows of ``points`` lie in the box."""
    inside = np.ones(len(points), dtype=bool)
    for key, (low, high) in bounds.items():
        values = points[key].to_numpy(dtype=float)
        inside &= (values > low) & (values <= high)
    return inside


def box_rule(points: pd.DataFrame, outcome: np.ndarray, bounds: Mapping[str, tuple[float, float]]) -> Rule:
    """The rule of a box, its points and cases counted on ``points``."""
    inside = in_box(points, bounds)
    return Rule(dict(bounds), int(inside.sum()), int((inside & outcome).sum()), int(outcome.sum()))


def discover(
    points: pd.DataFrame, outcome: np.ndarray, *, max_depth: int = 2, min_share: float = 0.05, seed: int = 0
) -> list[Rule]:
    """Rules for the leaves of a depth-``max_depth`` tree where ``outcome`` is the majority,
    densest first; each leaf holds at least ``min_share`` of the points. Empty if no case."""
    try:
        from sklearn.tree import DecisionTreeClassifier
    except ImportError:
        raise ScenarioError("scenario discovery needs scikit-learn: pip install 'orgsim[sensitivity]'") from None
    outcome = np.asarray(outcome, dtype=bool)
    if len(outcome) != len(points):
        raise ValueError(f"{len(points)} points but {len(outcome)} outcomes")
    if not outcome.any():
        return []
    names = list(points.columns)
    leaf = max(1, math.ceil(min_share * len(points)))
    tree = DecisionTreeClassifier(max_depth=max_depth, min_samples_leaf=leaf, random_state=seed)
    tree.fit(points.to_numpy(dtype=float), outcome)
    nodes, case = tree.tree_, list(tree.classes_).index(True)
    rules = []
    stack: list[tuple[int, dict[str, tuple[float, float]]]] = [(0, {})]
    while stack:
        node, bounds = stack.pop()
        left, right = nodes.children_left[node], nodes.children_right[node]
        if left == right:  # a leaf
            if int(np.argmax(nodes.value[node][0])) == case:
                rules.append(box_rule(points, outcome, {k: bounds[k] for k in names if k in bounds}))
            continue
        key, cut = names[nodes.feature[node]], float(nodes.threshold[node])
        low, high = bounds.get(key, (-math.inf, math.inf))
        stack.append((left, bounds | {key: (low, min(high, cut))}))
        stack.append((right, bounds | {key: (max(low, cut), high)}))
    return sorted(rules, key=lambda r: (-r.density, -r.coverage))


def rules_table(rules: list[Rule]) -> pd.DataFrame:
    """One row per rule: the box, its points, cases, coverage and density."""
    rows = [
        {"rule": r.text, "points": r.points, "cases": r.cases, "coverage": r.coverage, "density": r.density}
        for r in rules
    ]
    return pd.DataFrame(rows, columns=["rule", "points", "cases", "coverage", "density"])

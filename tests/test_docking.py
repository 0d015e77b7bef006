"""Docking (Axtell et al. 1996): the engine reproduces the summary distributions stored from
the object-based engine before the compiled kernel (issue 16).

tests/data/docking/ holds every shipped scenario's summary metrics at seeds 0-29 and the
commit that made them (``scripts/docking_data.py``). Each scenario is re-run at the same
seeds and every summary metric compared with its stored sample:

- a number: two-sample Kolmogorov-Smirnov test (``scipy.stats.ks_2samp``, exact at n = 30);
- a boolean: Fisher's exact test on the counts of True;
- a metric None in some runs: also Fisher's exact test on the counts of None;
- a metric constant in both samples: the two constants must be equal (to rounding);
- a metric None in every run of both samples: nothing to compare.

A scenario's p-values are Holm-adjusted (step-down, valid whatever the dependence between
metrics) and it fails if any adjusted p is below ``ALPHA = SUITE_ALPHA / scenarios``.

False failures: an engine with the stored distributions fails a scenario with probability at
most ALPHA, the suite with at most SUITE_ALPHA = 5% (Bonferroni over scenarios; less in fact,
as exact KS with ties and Fisher's test are conservative). The outcome is deterministic: an
engine docks or not at every run. The engine that made the data reproduces it exactly.
Reproduced exactly: the same runs must also give the stored values run by run (each metric
within ``ROUNDING`` relative): the stored engine and this one make the same draws in the same
order, so any change to a rule shows here first, however small. A change made on purpose fails
this test; docking then says whether its results stay within the stored distributions, and
only then is the data stored again (``scripts/docking_data.py``).

Power is modest at 30 runs a side: one metric shifted by 1.5 standard deviations (between
seeds) is flagged with probability about 0.8, by 1 SD about 0.2 (normal data, 33 tests);
lead time x 1.1 alone is flagged in the scenarios whose lead time varies little between seeds
(central_it, micro_provider, mmc, ...), not in funded_projects, overcommitment or tech_debt.
The ``flags`` tests show the decision failing.
"""

from __future__ import annotations

import importlib.util
import json
import math
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor
from statistics import median

import numpy as np
import pandas as pd
import pytest
from conftest import BASS, ROOT, ROUNDING, SHIPPED_SCENARIOS
from scipy.stats import fisher_exact, ks_2samp

from sim import run_scenario
from sim.experiment.sweep import process_pool


def _script():  # scripts/ is not a package: the generator is loaded from its file
    spec = importlib.util.spec_from_file_location("docking_data", ROOT / "scripts" / "docking_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


docking = _script()
SHIPPED = [p.relative_to(ROOT).as_posix() for p in SHIPPED_SCENARIOS]
SUITE_ALPHA = 0.05
ALPHA = SUITE_ALPHA / len(SHIPPED)
REGENERATE = (
    "store every scenario again with .venv/bin/python scripts/docking_data.py "
    "(it runs the current engine: do it only where the engine docks)"
)


# --- the decision -------------------------------------------------------------------------
def holm(p: Sequence[float]) -> np.ndarray:
    """Holm's (1979) step-down adjusted p-values: the i-th smallest of m times (m - i + 1),
    made non-decreasing in that order, capped at 1."""
    p = np.asarray(p, dtype=float)
    order = np.argsort(p, kind="stable")
    steps = np.maximum.accumulate(p[order] * (len(p) - np.arange(len(p))))
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(steps, 1.0)
    return adjusted


def metric_set_problems(stored: Iterable[str], fresh: Iterable[str]) -> list[str]:
    """A message if the stored metrics are not the engine's summary metrics."""
    stored, fresh = list(stored), list(fresh)
    missing, gone = [m for m in fresh if m not in stored], [m for m in stored if m not in fresh]
    if not (missing or gone):
        return []
    return [f"summary metrics missing from the docking data: {missing}; no longer reported: {gone}; {REGENERATE}"]


def _fisher(k_a: int, n_a: int, k_b: int, n_b: int) -> float:
    return float(fisher_exact([[k_a, n_a - k_a], [k_b, n_b - k_b]]).pvalue)


def dock(stored: pd.DataFrame, fresh: pd.DataFrame, alpha: float) -> list[str]:
    """Every difference between two samples of summary metrics (a column per metric, a row per
    run): metric sets, unequal constants, and tests whose Holm-adjusted p is below ``alpha``."""
    problems = metric_set_problems(stored.columns, fresh.columns)
    tests: list[tuple[str, float]] = []  # (what was compared, p)
    for metric in (m for m in fresh.columns if m in stored.columns):
        a = [v for v in stored[metric] if not pd.isna(v)]
        b = [v for v in fresh[metric] if not pd.isna(v)]
        none_a, none_b = len(stored) - len(a), len(fresh) - len(b)
        if 0 < none_a + none_b < len(stored) + len(fresh):
            p = _fisher(none_a, len(stored), none_b, len(fresh))
            tests.append((f"{metric} is None in {none_a}/{len(stored)} stored runs, {none_b}/{len(fresh)} new", p))
        if not (a and b):
            continue
        flags = all(isinstance(v, bool | np.bool_) for v in a + b)
        if len(set(a)) == len(set(b)) == 1:
            if not (a[0] == b[0] if flags else math.isclose(a[0], b[0], rel_tol=ROUNDING, abs_tol=ROUNDING)):
                problems.append(f"{metric}: {a[0]} in every stored run, {b[0]} in every new one")
        elif flags:
            p = _fisher(sum(a), len(a), sum(b), len(b))
            tests.append((f"{metric} is True in {sum(a)}/{len(a)} stored runs, {sum(b)}/{len(b)} new", p))
        else:
            with warnings.catch_warnings():  # scipy's exact p fails at the smallest distances
                # (one run of 30 apart, as rounding can put it) and gives the asymptotic p, near 1
                warnings.filterwarnings("ignore", "ks_2samp: Exact calculation unsuccessful", RuntimeWarning)
                p = float(ks_2samp(a, b).pvalue)
            tests.append((f"{metric}: median {median(a):.4g} stored, {median(b):.4g} new (KS)", p))
    adjusted = holm([p for _, p in tests])
    problems += [
        f"{label}: p = {p:.2g}, Holm-adjusted {q:.2g} < {alpha:.2g}"
        for (label, p), q in zip(tests, adjusted, strict=True)
        if q < alpha
    ]
    return problems


# --- the stored data ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def stored() -> pd.DataFrame:
    return docking.read()


def _metrics(frame: pd.DataFrame, path: str) -> pd.DataFrame:
    return frame[frame["scenario"] == path].drop(columns=list(docking.KEYS)).reset_index(drop=True)


def test_every_shipped_scenario_is_stored(stored: pd.DataFrame) -> None:
    missing = sorted(set(SHIPPED) - set(stored["scenario"]))
    gone = sorted(set(stored["scenario"]) - set(SHIPPED))
    assert not (missing or gone), f"not in the docking data: {missing}; no longer shipped: {gone}; {REGENERATE}"
    seeds = stored.groupby("scenario")["seed"].apply(list)
    assert all(s == list(docking.SEEDS) for s in seeds), f"each scenario's seeds must be 0-29; {REGENERATE}"


def test_stored_metrics_are_the_summary_metrics(stored: pd.DataFrame) -> None:
    summary = run_scenario(BASS, seed=0, ticks=20).summary
    assert metric_set_problems(stored.columns[len(docking.KEYS) :], summary) == []


# --- the decision can fail ------------------------------------------------------------------
def test_holm_matches_a_hand_computed_example() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 -> 0.02, 0.03, 0.06, 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_a_stored_sample_docks_with_itself(stored: pd.DataFrame) -> None:
    sample = _metrics(stored, "scenarios/central_it.toml")
    assert dock(sample, sample.copy(), ALPHA) == []


def _scaled(frame: pd.DataFrame) -> None:
    frame["lead_time_mean_ticks"] = frame["lead_time_mean_ticks"] * 1.1


def _unstable(frame: pd.DataFrame) -> None:
    frame.loc[::2, "stable"] = False  # stored: stable in every run


def _none(frame: pd.DataFrame) -> None:
    frame.loc[::2, "lead_time_p95_ticks"] = None


def _constant(frame: pd.DataFrame) -> None:
    frame["adoption_horizon_ticks"] = frame["adoption_horizon_ticks"] + 1


def _added(frame: pd.DataFrame) -> None:
    frame["new_metric_share"] = 0.5  # a metric the stored data lack


def _dropped(frame: pd.DataFrame) -> None:
    del frame["rework_rate"]


@pytest.mark.parametrize(
    ("change", "metric"),
    [
        (_scaled, "lead_time_mean_ticks"),
        (_unstable, "stable"),
        (_none, "lead_time_p95_ticks"),
        (_constant, "adoption_horizon_ticks"),
        (_added, "new_metric_share"),
        (_dropped, "rework_rate"),
    ],
)
def test_docking_flags_a_changed_sample(
    stored: pd.DataFrame, change: Callable[[pd.DataFrame], None], metric: str
) -> None:
    """central_it's stored sample with one metric changed in every (or every other) run
    fails, and only on that metric: lead time x 1.1 is about 1.5 standard deviations there."""
    sample = _metrics(stored, "scenarios/central_it.toml")
    changed = sample.copy()
    change(changed)
    problems = dock(sample, changed, ALPHA)
    assert problems
    assert all(metric in problem for problem in problems), problems


# --- docking ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pool() -> Iterator[Executor]:
    with process_pool(2) as executor:  # two cores; the sweep's own worker runs each seed
        yield executor


@pytest.fixture(scope="module")
def fresh(pool: Executor) -> Callable[[str], pd.DataFrame]:
    """A scenario's runs at the stored seeds (each scenario run once for both tests)."""
    runs: dict[str, pd.DataFrame] = {}

    def of(path: str) -> pd.DataFrame:
        if path not in runs:
            runs[path] = _metrics(docking.summaries([path], docking.SEEDS, pool), path)
        return runs[path]

    return of


def _commit() -> str:
    return json.loads((docking.DATA / "meta.json").read_text())["commit"][:12]


@pytest.mark.slow
@pytest.mark.parametrize("path", SHIPPED)
def test_scenario_docks(path: str, stored: pd.DataFrame, fresh: Callable[[str], pd.DataFrame]) -> None:
    sample = _metrics(stored, path)
    assert len(sample), f"{path} is not in the docking data: {REGENERATE}"
    problems = dock(sample, fresh(path), ALPHA)
    assert not problems, f"{path} does not dock with the engine at {_commit()}:\n" + "\n".join(problems)


def differences(stored: pd.DataFrame, fresh: pd.DataFrame) -> list[str]:
    """Every (run, metric) whose value differs between two sets of the same runs: numbers by
    more than ``ROUNDING`` relative, anything else (booleans, None) at all."""
    found = []
    for metric in (m for m in stored.columns if m in fresh.columns):
        for seed, (a, b) in enumerate(zip(stored[metric], fresh[metric], strict=True)):
            numbers = not (pd.isna(a) or pd.isna(b) or isinstance(a, bool | np.bool_) or isinstance(b, bool | np.bool_))
            same = math.isclose(a, b, rel_tol=ROUNDING, abs_tol=ROUNDING) if numbers else a is b or a == b
            if not same:
                found.append(f"seed {seed}, {metric}: {a} stored, {b} now")
    return found


def test_a_run_that_differs_in_one_metric_is_found(stored: pd.DataFrame) -> None:
    sample = _metrics(stored, "scenarios/central_it.toml")
    changed = sample.copy()
    changed.loc[3, "rework_rate"] = changed.loc[3, "rework_rate"] * (1 + 1e-6)
    changed.loc[5, "stable"] = not changed.loc[5, "stable"]
    assert differences(sample, sample.copy()) == []
    found = differences(sample, changed)
    assert [f.split(":")[0] for f in found] == ["seed 5, stable", "seed 3, rework_rate"]


@pytest.mark.slow
@pytest.mark.parametrize("path", SHIPPED)
def test_scenario_reproduces_the_stored_runs(
    path: str, stored: pd.DataFrame, fresh: Callable[[str], pd.DataFrame]
) -> None:
    found = differences(_metrics(stored, path), fresh(path))
    assert not found, (
        f"{path}: {len(found)} values differ from the runs of the engine at {_commit()} "
        "(a rule changed; see the module docstring):\n" + "\n".join(found[:10])
    )

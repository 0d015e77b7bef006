"""Shared helpers: paths, seeds, small scenarios, CLI runners, and the validation report.

Validation tests compare a simulated mean over independent replications with an
analytic value: they pass when ``|mean - analytic| <= 3 SE + allowance``, where SE is
the standard error over replications and the allowance is a stated, computed
discretisation term (zero where the model is exact). Every comparison is also printed
in a table at the end of the pytest run, so the figures can be quoted.
"""

from __future__ import annotations

import copy
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import settings
from hypothesis.database import DirectoryBasedExampleDatabase
from scipy import stats

from sim.analytic import littles_law_window_gap
from sim.cli import main as cli_main
from sim.model.org_model import OrgModel
from sim.model.work import FEATURE, FROM_DEMAND
from sim.run import RunResult
from sim.scenario.schema import Scenario

# A shell starts a background job (``make test &``) with Ctrl-C ignored, and the commands the
# tests start would inherit that: they could not be interrupted, and the tests of Ctrl-C
# (exit 130, one line) would fail. The suite runs as a terminal's foreground job would.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
SHIPPED_SCENARIOS = sorted(SCENARIOS.glob("**/*.toml"))
CENTRAL_IT = SCENARIOS / "central_it.toml"
MICRO_PROVIDER = SCENARIOS / "micro_provider.toml"
MMC = SCENARIOS / "validation" / "mmc.toml"
BASS = SCENARIOS / "validation" / "bass.toml"

# Hypothesis: a fixed, derandomised set of examples by default, so every run tests the
# same cases; ``pytest --hypothesis-profile=explore`` searches afresh with many more.
settings.register_profile("default", max_examples=25, deadline=None, derandomize=True, database=None)
settings.register_profile(
    "explore",
    max_examples=1000,
    deadline=None,
    derandomize=False,
    database=DirectoryBasedExampleDatabase(ROOT / ".hypothesis"),
)
settings.load_profile("default")

# Busy time per tick is a floating-point sum of many parts (sim/model/recorder.py), so a fully
# busy tick can exceed its capacity by rounding (about 1e-15 relative); no more is allowed.
ROUNDING = 1e-9

# Agreement tests (simulated vs known value) fail a correct model with this probability:
# the tolerance is the two-sided Student t quantile for the estimate's degrees of freedom.
FALSE_FAILURE = 0.002
# For estimates from thousands of draws (t ~ normal): the same rate as a normal multiple (3.09).
SE_MULTIPLE = float(stats.norm.ppf(1 - FALSE_FAILURE / 2))
# Effect tests declare a sign when a one-sided paired t test rejects "no effect" at this level:
# a mechanism with no effect passes with probability 1%.
EFFECT_ALPHA = 0.01


# --- seeds and estimates ------------------------------------------------------------
def replication_seeds(n: int, entropy: int) -> list[int]:
    """``n`` independent run seeds spawned from one fixed ``entropy`` (numpy SeedSequence)."""
    return [int(child.generate_state(1)[0]) for child in np.random.SeedSequence(entropy).spawn(n)]


@dataclass(frozen=True)
class Estimate:
    """Mean of independent replications with its standard error."""

    mean: float
    se: float
    n: int

    @classmethod
    def of(cls, values: Any) -> Estimate:
        sample = np.asarray(values, dtype=float)
        if len(sample) < 2:
            raise ValueError("an estimate needs at least two replications")
        return cls(float(sample.mean()), float(sample.std(ddof=1) / np.sqrt(len(sample))), len(sample))

    def t_multiple(self, two_sided_alpha: float = FALSE_FAILURE) -> float:
        """Student t quantile with this estimate's n - 1 degrees of freedom."""
        return float(stats.t.ppf(1 - two_sided_alpha / 2, self.n - 1))

    def shows_sign(self, sign: int, alpha: float = EFFECT_ALPHA) -> bool:
        """One-sided t test: the mean lies beyond zero in the direction ``sign`` at level ``alpha``."""
        return sign * self.mean > self.t_multiple(2 * alpha) * self.se

    @property
    def ci95(self) -> float:
        """Half-width of the 95% confidence interval (Student t, n - 1 degrees of freedom)."""
        return float(stats.t.ppf(0.975, self.n - 1) * self.se)

    def __str__(self) -> str:
        return f"{self.mean:.4f} ± {self.ci95:.4f} (95% CI, SE {self.se:.4f}, n={self.n})"


VALIDATION_ROWS: list[tuple[str, ...]] = []


def assert_matches(label: str, estimate: Estimate, analytic: float, allowance: float = 0.0, setting: str = "") -> None:
    """Assert ``|estimate - analytic| <= t SE + allowance`` (t: two-sided Student quantile at
    FALSE_FAILURE with the estimate's degrees of freedom) and record the row for the report."""
    gap = estimate.mean - analytic
    multiple = estimate.t_multiple()
    tolerance = multiple * estimate.se + allowance
    within = abs(gap) <= tolerance
    record_figure(label, str(estimate), f"{analytic:.4f}", f"{gap:+.4f}", f"{tolerance:.4f}", within, setting)
    assert within, (
        f"{label}: simulated {estimate} vs analytic {analytic:.4f}: gap {gap:+.4f} exceeds "
        f"{multiple:.3g} SE + allowance {allowance:.4f} = {tolerance:.4f} [{setting}]"
    )


def record_figure(label: str, simulated: str, reference: str, gap: str, tolerance: str, ok: bool, setting: str) -> None:
    """Add one row to the validation table printed at the end of the run."""
    VALIDATION_ROWS.append((label, simulated, reference, gap, tolerance, "ok" if ok else "FAIL", setting))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not VALIDATION_ROWS:
        return
    terminalreporter.section("validation figures (simulated vs analytic)")
    header = ("case", "simulated", "reference", "gap", "tolerance", "verdict", "setting")
    widths = [max(len(row[i]) for row in [header, *VALIDATION_ROWS]) for i in range(len(header))]
    for row in [header, *VALIDATION_ROWS]:
        terminalreporter.write_line("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


# --- scenarios ------------------------------------------------------------------------
def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``top``'s values laid over it, section by section (neither is changed)."""
    merged = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


SMALL = {
    "name": "small",
    "simulation": {"ticks": 40, "warmup_ticks": 5},
    "organisation": {"teams": 4, "team_size": 2, "services": 6},
    "demand": {"arrival_rate": 2.0, "effort": {"mean_days": 1.0}},
    "spread": {"start_tick": 0},
}

# Everything that makes work longer than its effort, or adds work, switched off.
FRICTIONLESS = {
    "handoff": {"delay_ticks": 0.0, "loss_prob": 0.0},
    "quality": {"base_defect_prob": 0.0},
    "knowledge": {"unfamiliarity_penalty": 0.0},
    "context_switching": {"loss_by_concurrency": [0.0]},
    "spread": {"initial_adopters": 0, "external_prob": 0.0, "imitation_prob": 0.0, "capacity_coupling": False},
}


def small_scenario(structure: str = "micro_provider", **sections: Any) -> Scenario:
    """A small, fast scenario (4 teams of 2, 40 ticks) with ``sections`` laid over it."""
    data = deep_merge(SMALL, {"structure": structure})
    return Scenario.model_validate(deep_merge(data, sections))


# --- hand-built organisations ----------------------------------------------------------
# One person per team, two services, no dependency network (items get their dependencies when
# placed), no self-service, no random demand, and nothing that stretches work or adds to it
# unless a test says so: the expected times and person-days can be worked out by hand.
HAND_BUILT: dict[str, Any] = {
    "name": "hand-built",
    "simulation": {"ticks": 6, "warmup_ticks": 0},
    "organisation": {
        "teams": 1,
        "team_size": 1,
        "services": 2,
        "dependencies_per_service": 0.0,
        "demand_skew": 0.0,
        "self_service_share": 0.0,
    },
    "demand": {"arrival_rate": 0.0, "dependency_effort_share": 0.5},
    "handoff": {"delay_ticks": 0.0, "loss_prob": 0.0},
    "quality": {"base_defect_prob": 0.0},
    "knowledge": {"unfamiliarity_penalty": 0.0, "learning_rate": 0.0, "forgetting_rate": 0.0},
    "context_switching": {"loss_by_concurrency": [0.0]},
    "spread": {
        "start_tick": 0,
        "initial_adopters": 0,
        "external_prob": 0.0,
        "imitation_prob": 0.0,
        "capacity_coupling": False,
    },
}

# Central IT in two silos of one team each, half of every item's effort in each.
TWO_SILOS: dict[str, Any] = {
    "organisation": {"teams": 2},
    "central_it": {"stages": [{"name": "build", "effort_share": 0.5}, {"name": "operations", "effort_share": 0.5}]},
}


def hand_built(structure: str = "micro_provider", seed: int = 0, **sections: Any) -> OrgModel:
    """A ``HAND_BUILT`` organisation under ``structure`` with ``sections`` laid over it."""
    data = deep_merge(deep_merge(HAND_BUILT, {"structure": structure}), sections)
    return OrgModel(Scenario.model_validate(data), seed)


def arrive(
    model: OrgModel, at: float, effort: float, service: int = 0, deps: tuple[int, ...] = (), kind: int = FEATURE
) -> None:
    """An item of the business arriving at ``at``."""
    model.place(kind, service, effort, at, deps)


def kernel_params(**sections: Any) -> np.record:
    """The kernel's constants (``state.params[0]``) for a small scenario with ``sections``."""
    return OrgModel(small_scenario(**sections), seed=0).kernel.state.params[0]


def run_all(model: OrgModel) -> None:
    """Every tick of ``model``, one step at a time."""
    for _ in range(model.config.simulation.ticks):
        model.step()


def demand_items(result: RunResult) -> pd.DataFrame:
    """The items the business asked for (the summary's counts, lead time and WIP are about
    these), without the incidents that escaped defects cause."""
    return result.items[result.items["origin"] == FROM_DEMAND]


def window_gap(result: RunResult, scenario: Scenario) -> tuple[float, float]:
    """Little's law over the measured window for demand items: (signed gap L - X W, bound)."""
    items, sim = demand_items(result), scenario.simulation
    return littles_law_window_gap(items["arrival"], items["completion"], sim.warmup_ticks, sim.ticks)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Load the compiled kernel before any test (compiling it on a machine whose cache is
    cold, about a minute): the tests that time a command or wait for one with a deadline
    then measure the command, not the compiler."""
    import sim.model.preload  # noqa: F401


# --- the command line -------------------------------------------------------------------
def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Call ``orgsim`` in this process; return (exit code, stdout, stderr)."""
    code = cli_main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def run_module(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m sim ARGS`` in a fresh interpreter from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "sim", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

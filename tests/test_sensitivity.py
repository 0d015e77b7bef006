"""Sensitivity analysis and scenario discovery: the pipeline against functions with known
indices (Ishigami), rule discovery against a planted box, and ``orgsim sensitivity``
end to end on a short scenario.

Tolerances come from the estimates' own uncertainty: SALib reports each index with the
half-width of its 95% bootstrap interval, so SE = half-width / z_0.975, and an estimate
passes when it is within 3 SE of the analytic value (as the other validation tests).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import CENTRAL_IT, MICRO_PROVIDER, SE_MULTIPLE, record_figure, run_cli
from SALib.test_functions import Ishigami
from scipy import stats

from sim.cli import build_parser
from sim.experiment.discovery import box_rule, discover, in_box
from sim.experiment.sensitivity import (
    DEFAULT_N,
    METHODS,
    PAIR,
    TIE,
    Evaluation,
    Problem,
    SensitivityResult,
    analyze,
    check_problem,
    discover_wins,
    parse_range,
    rules_markdown,
    sample,
)
from sim.scenario.files import load_scenario

Z = float(stats.norm.ppf(0.975))
A, B = 7.0, 0.1
PI = math.pi
ISHIGAMI = Problem({name: (-PI, PI) for name in ("x1", "x2", "x3", "x4")})  # x4 does not enter the function


def ishigami(x: np.ndarray) -> np.ndarray:
    return Ishigami.evaluate(x[:, :3], A=A, B=B)


def ishigami_indices(a: float = A, b: float = B) -> dict[str, tuple[float, float]]:
    """Analytic (S1, ST) of f = sin x1 + a sin^2 x2 + b x3^4 sin x1 on [-pi, pi]^3 (Ishigami and
    Homma 1990; Saltelli et al. 2008, the Primer): V1 = (1 + b pi^4 / 5)^2 / 2, V2 = a^2 / 8,
    V13 = b^2 pi^8 (1/18 - 1/50) = 8 b^2 pi^8 / 225, V = V1 + V2 + V13; ST1 = (V1 + V13) / V."""
    v1 = 0.5 * (1 + b * PI**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = 8 * b**2 * PI**8 / 225
    v = v1 + v2 + v13
    return {"x1": (v1 / v, (v1 + v13) / v), "x2": (v2 / v, v2 / v), "x3": (0.0, v13 / v), "x4": (0.0, 0.0)}


def within(label: str, estimate: float, half_width: float, analytic: float) -> None:
    """Assert |estimate - analytic| <= 3 SE (SE from the 95% half-width) and record the figure."""
    se = half_width / Z
    gap = estimate - analytic
    ok = abs(gap) <= SE_MULTIPLE * se
    record_figure(label, f"{estimate:.4f} ± {half_width:.4f} (95% CI)", f"{analytic:.4f}", f"{gap:+.4f}",
                  f"{SE_MULTIPLE * se:.4f}", ok, "SALib via sim.experiment.sensitivity")  # fmt: skip
    assert ok, f"{label}: {estimate:.4f} ± {half_width:.4f} vs analytic {analytic:.4f}"


# --- the pipeline on the Ishigami function -----------------------------------------------
def test_analytic_ishigami_indices_are_the_published_ones() -> None:
    values = ishigami_indices()
    assert [round(values[k][0], 3) for k in ("x1", "x2", "x3")] == [0.314, 0.442, 0.0]
    assert [round(values[k][1], 3) for k in ("x1", "x2", "x3")] == [0.558, 0.442, 0.244]


def test_sobol_recovers_the_ishigami_indices() -> None:
    x = sample("sobol", ISHIGAMI, 2048, seed=11)
    assert x.shape == (2048 * (4 + 2), 4)
    indices = analyze("sobol", ISHIGAMI, x, ishigami(x), seed=11).set_index("parameter")
    for name, (s1, st) in ishigami_indices().items():
        row = indices.loc[name]
        if name == "x4":  # no effect at all: every estimate is exactly zero
            assert (row["S1"], row["ST"]) == (0.0, 0.0)
            continue
        within(f"Ishigami S1 {name}", row["S1"], row["S1_conf"], s1)
        within(f"Ishigami ST {name}", row["ST"], row["ST_conf"], st)
    assert list(indices.sort_values("rank").index[:2]) == ["x1", "x2"]  # ST 0.558 > 0.442


def test_morris_sees_x3_only_through_its_interaction_with_x1() -> None:
    """On a 4-level grid the Morris step is 2/3 of the range, so x2 moves between sin^2 = 0 and
    3/4: every effect is a (3/4) / (2/3) = 7.875 in size. x3 acts only as b x3^4 sin x1: its
    effect is +-b (pi^4 - (pi/3)^4) sin x1 / (2/3), zero when x1 sits at -pi or pi and
    +-14.43 sqrt(3)/2 at the inner levels, so mu* = 6.25, mu = 0 and sigma > mu*."""
    r = 200
    x = sample("morris", ISHIGAMI, r, seed=5)
    indices = analyze("morris", ISHIGAMI, x, ishigami(x), seed=5).set_index("parameter")
    assert indices.loc["x2", "mu_star"] == pytest.approx(A * 0.75 * 1.5, rel=1e-9)
    x3 = indices.loc["x3"]
    within("Ishigami Morris mu* x3", x3["mu_star"], x3["mu_star_conf"], B * (PI**4 - (PI / 3) ** 4) * 1.5 * 3**0.5 / 4)
    assert x3["mu_star"] - x3["mu_star_conf"] > 0  # influential ...
    assert abs(x3["mu"]) <= SE_MULTIPLE * x3["sigma"] / math.sqrt(r)  # ... with no mean effect of its own
    assert x3["sigma"] > x3["mu_star"]  # ... because its sign depends on x1
    assert (indices.loc["x4", "mu_star"], indices.loc["x4", "sigma"]) == (0.0, 0.0)
    assert indices.loc["x4", "rank"] == 4


def test_sampling_is_seeded() -> None:
    for method in ("morris", "sobol"):
        np.testing.assert_array_equal(sample(method, ISHIGAMI, 8, seed=3), sample(method, ISHIGAMI, 8, seed=3))
        assert not np.array_equal(sample(method, ISHIGAMI, 8, seed=3), sample(method, ISHIGAMI, 8, seed=4))


# --- scenario discovery ----------------------------------------------------------------------
PLANTED = {"a": (0.6, math.inf), "b": (-math.inf, 0.3)}  # the outcome holds where a > 0.6 and b <= 0.3


def planted_data(noise: float, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """A 20 x 20 x 5 grid of cell centres in [0, 1]^3 (the planted edges fall between levels, and
    every level has the same share of cases, so a greedy split can find the edge exactly), with
    the outcome of a ``noise`` share of points flipped."""
    levels = [(np.arange(k) + 0.5) / k for k in (20, 20, 5)]
    points = pd.DataFrame(np.array(np.meshgrid(*levels)).reshape(3, -1).T, columns=["a", "b", "c"])
    rng = np.random.default_rng(seed)
    return points, in_box(points, PLANTED) ^ (rng.uniform(size=len(points)) < noise)


def test_discovery_recovers_a_planted_box() -> None:
    points, outcome = planted_data(noise=0.0, seed=1)
    best = discover(points, outcome, max_depth=2)[0]
    assert best.bounds == {"a": (pytest.approx(0.6), math.inf), "b": (-math.inf, pytest.approx(0.3))}
    assert (best.points, best.cases, best.total_cases) == (8 * 6 * 5, 8 * 6 * 5, 8 * 6 * 5)
    assert (best.coverage, best.density) == (1.0, 1.0)
    assert best.text == "a > 0.6 and b <= 0.3"


def test_discovery_reports_the_planted_box_coverage_and_density_under_noise() -> None:
    """With 10% of labels flipped the planted box itself has density ~0.9 and coverage ~0.55
    (0.12 x 0.9 of the points are true cases inside, 0.88 x 0.1 false ones outside); the
    discovered box must match what the planted box scores on the same points."""
    points, outcome = planted_data(noise=0.1, seed=2)
    planted = box_rule(points, outcome, PLANTED)
    best = discover(points, outcome, max_depth=2, min_share=0.05)[0]
    assert set(best.bounds) == {"a", "b"}
    inside = in_box(points, best.bounds)
    assert (best.points, best.cases, best.total_cases) == (inside.sum(), (inside & outcome).sum(), outcome.sum())
    n_in = planted.points
    se_density = math.sqrt(planted.density * (1 - planted.density) / n_in)
    assert abs(best.density - planted.density) <= SE_MULTIPLE * se_density
    se_coverage = math.sqrt(planted.coverage * (1 - planted.coverage) / planted.total_cases)
    assert abs(best.coverage - planted.coverage) <= SE_MULTIPLE * se_coverage


def test_discovery_without_cases_or_with_only_cases() -> None:
    points, _ = planted_data(noise=0.0, seed=3)
    assert discover(points, np.zeros(len(points), dtype=bool)) == []
    (everywhere,) = discover(points, np.ones(len(points), dtype=bool))
    assert (everywhere.text, everywhere.coverage, everywhere.density) == ("anywhere in the ranges", 1.0, 1.0)


def test_wins_need_a_margin_and_follow_the_metrics_better_direction() -> None:
    """micro - central at four points: clearly lower, clearly higher, within the 2% tie band, and
    higher by a margin; lower lead time is better, higher throughput is better."""
    problem = Problem({"k": (0.0, 1.0)})
    central = np.array([10.0, 10.0, 10.0, 10.0])
    micro = np.array([6.0, 14.0, 10.1, 11.0])
    outputs = pd.concat(
        pd.DataFrame({"point": range(4), "k": [0.1, 0.4, 0.6, 0.9], "metric": m, "output": micro - central,
                      "central_it": central, "micro_provider": micro})
        for m in ("lead_time_mean_ticks", "throughput_per_tick")
    )  # fmt: skip
    evaluation = Evaluation(outputs, np.arange(4), sweep=None)  # type: ignore[arg-type]
    found = discover_wins(evaluation, problem, ["lead_time_mean_ticks", "throughput_per_tick"], depth=1)
    wins = {m: {side: sum(r.cases for r in rules) for side, rules in by.items()} for m, by in found.items()}
    assert wins == {
        "lead_time_mean_ticks": {"micro_provider": 1, "central_it": 2},
        "throughput_per_tick": {"micro_provider": 2, "central_it": 1},
    }


def test_rules_report_counts_wins_no_rule_covers() -> None:
    """micro_provider has the lower lead time at 3 scattered points of 100: no leaf of the tree
    holds mostly wins, so there is no rule, but the report still counts the 3 wins."""
    problem = Problem({"k": (0.0, 1.0)})
    central, micro = np.full(100, 10.0), np.full(100, 10.0)
    micro[[10, 50, 90]] = 5.0
    outputs = pd.DataFrame({"point": range(100), "k": np.arange(100) / 100, "metric": "lead_time_mean_ticks",
                            "output": micro - central, "central_it": central, "micro_provider": micro})  # fmt: skip
    evaluation = Evaluation(outputs, np.arange(100), sweep=None)  # type: ignore[arg-type]
    result = SensitivityResult(Path("."), pd.DataFrame(), evaluation)
    result.rules = discover_wins(result.evaluation, problem, ["lead_time_mean_ticks"])
    assert result.rules == {"lead_time_mean_ticks": {"micro_provider": [], "central_it": []}}
    report = rules_markdown(result, problem)
    assert "Ties at 97 of 100 points" in report
    assert "**micro_provider better** at 3 of 100 points" in report
    assert "**central_it better** at 0 of 100 points" in report


def test_noise_share_weights_points_as_the_sample_rows_do() -> None:
    """Point 0 (output 1, std 2, n 2) is sample rows 0 and 1, point 1 (output 4, std 0, n 2) row 2:
    the rows' outputs 1, 1, 4 have variance 3, their squared standard errors 2, 2, 0 mean 4/3."""
    outputs = pd.DataFrame({"point": [1, 0], "metric": "m", "output": [4.0, 1.0], "std": [0.0, 2.0], "n": [2, 2]})
    evaluation = Evaluation(outputs, np.array([0, 0, 1]), sweep=None)  # type: ignore[arg-type]
    np.testing.assert_array_equal(evaluation.y("m"), [1.0, 1.0, 4.0])
    assert evaluation.noise_share("m") == pytest.approx((4 / 3) / 3)
    single = outputs.assign(std=np.nan, n=1)  # one replicate: no noise estimate
    assert math.isnan(Evaluation(single, np.array([0, 1]), sweep=None).noise_share("m"))  # type: ignore[arg-type]


# --- the command line ----------------------------------------------------------------------------
SHORT = ("--ticks", "60", "--set", "simulation.warmup_ticks=10", "--workers", "1", "--quiet")
PARAMS = ("--params", "handoff.delay_ticks=0:1.5", "demand.arrival_rate=5:9")


def test_cli_difference_writes_indices_plot_rules_and_resumes(capsys: pytest.CaptureFixture[str], tmp_path: Path):
    out = tmp_path / "sens"
    args = ("sensitivity", CENTRAL_IT, *PARAMS, "--difference", "--n", "3", "--reps", "2", "--out", out, *SHORT)
    code, stdout, err = run_cli(capsys, *args, "--metrics", "lead_time_mean_ticks", "rework_rate")
    assert (code, err) == (0, "")
    assert "micro_provider - central_it" in stdout
    indices = pd.read_csv(out / "indices.csv")
    assert list(indices["metric"]) == ["lead_time_mean_ticks"] * 2 + ["rework_rate"] * 2
    assert list(indices["parameter"]) == ["handoff.delay_ticks", "demand.arrival_rate"] * 2
    assert {"mu_star", "mu_star_conf", "mu", "sigma", "rank", "noise_share"} <= set(indices.columns)
    assert np.isfinite(indices[["mu_star", "mu_star_conf", "sigma"]].to_numpy()).all()
    provenance = json.loads((out / "indices.provenance.json").read_text())
    assert (provenance["method"], provenance["output"]) == ("morris", "micro_provider - central_it")
    assert provenance["seed"] == 0 and provenance["design"]["reps"] == 2
    assert (out / "indices.png").stat().st_size > 0
    rules = (out / "rules.md").read_text()
    assert "## lead_time_mean_ticks" in rules and "## rework_rate" in rules and "Ties at" in rules
    # both structures ran at every point with the same seed per replicate, and the analysed
    # output is the mean over replicates of the paired difference
    runs = pd.read_csv(out / "runs.csv")
    keys = ["handoff.delay_ticks", "demand.arrival_rate", "replicate"]
    wide = runs.pivot(index=keys, columns="structure", values=["seed", "lead_time_mean_ticks"])
    assert (wide["seed"][PAIR[0]] == wide["seed"][PAIR[1]]).all()
    assert runs.groupby(keys[:2])["seed"].nunique().eq(2).all()  # the two replicates differ
    diff = (wide["lead_time_mean_ticks"][PAIR[1]] - wide["lead_time_mean_ticks"][PAIR[0]]).groupby(keys[:2]).mean()
    outputs = pd.read_csv(out / "outputs.csv")
    lead = outputs[outputs["metric"] == "lead_time_mean_ticks"].set_index(keys[:2])["output"]
    pd.testing.assert_series_equal(lead.sort_index(), diff.sort_index(), check_names=False)
    # the same command again runs nothing and gives the same indices
    code, stdout, _ = run_cli(capsys, *args, "--metrics", "lead_time_mean_ticks", "rework_rate")
    assert code == 0 and f"(0 run now, {len(runs)} already done)" in stdout
    pd.testing.assert_frame_equal(pd.read_csv(out / "indices.csv"), indices)


def test_cli_sobol_on_the_scenarios_own_structure(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "sobol"
    args = ("sensitivity", MICRO_PROVIDER, *PARAMS, "--method", "sobol", "--n", "4", "--reps", "1", "--out", out)
    code, _, err = run_cli(capsys, *args, *SHORT, "--metrics", "throughput_per_tick")
    assert (code, err) == (0, "")
    indices = pd.read_csv(out / "indices.csv")
    assert {"S1", "S1_conf", "ST", "ST_conf"} <= set(indices.columns)
    assert set(indices["output"]) == {"micro_provider"}
    assert set(pd.read_csv(out / "runs.csv")["structure"]) == {"micro_provider"}
    assert len(pd.read_csv(out / "outputs.csv")) <= 4 * (2 + 2)
    assert not (out / "rules.md").exists()  # rules describe where a structure wins: --difference only


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--params", "handoff.delay_tick=0:1"), "handoff.delay_tick: unknown key; did you mean 'delay_ticks'?"),
        (("--params", "handoff.delay_ticks=2:1"), "expected KEY.PATH=LOW:HIGH with numbers LOW < HIGH"),
        (("--params", "handoff.delay_ticks=0-2"), "expected KEY.PATH=LOW:HIGH"),
        (("--params", "handoff.loss_prob=0:1.5"), "less than or equal to 1 (got 1.5); narrow the range"),
        (("--params", "demand.effort.distribution=0:1"), "is not a number"),
        (("--params", "structure=0:1"), "use --difference"),
        (("--params", "organisation.teams=8:12.5"), "give whole-number bounds"),
        ((*PARAMS, "--metrics", "lead_time_mean"), "--metrics lead_time_mean: unknown metric; did you mean"),
        ((*PARAMS, "--method", "sobol", "--n", "6"), "--n 6: Sobol' sampling needs a power of two"),
        (("--params", "handoff.delay_ticks=0:1", "handoff.delay_ticks=0:2"), "given twice"),
        (("--params", "handoff.delay_ticks"), "expected KEY.PATH=LOW:HIGH"),
        (("--params", "=0:1"), "expected KEY.PATH=LOW:HIGH"),
        (("--params", "handoff.delay_ticks=low:high"), "expected KEY.PATH=LOW:HIGH"),
        (("--params", "handoff=0:1"), "handoff is a section, not a value; name one of its keys, e.g. handoff.delay"),
        ((*PARAMS, "--levels", "3"), "--levels 3: Morris needs an even number of grid levels"),
        ((*PARAMS, "--n", "1"), "--n 1: need at least 2"),
        ((*PARAMS, "--reps", "0"), "--reps 0: need at least 1"),
        ((*PARAMS, "--seed", "-1"), "--seed -1: give a whole number >= 0"),
        ((*PARAMS, "--depth", "0"), "--depth 0"),
        ((*PARAMS, "--tie", "1"), "--tie 1.0: give a share in [0, 1)"),
    ],
)
def test_bad_input_is_one_line_with_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path, args, message) -> None:
    code, stdout, err = run_cli(capsys, "sensitivity", CENTRAL_IT, *args, "--out", tmp_path / "x", *SHORT)
    assert code == 2 and stdout == ""
    assert err.count("\n") == 1 and err.startswith("orgsim: --") and message in err, err
    assert not (tmp_path / "x").exists()  # nothing ran


def test_ranges_valid_alone_but_not_together_are_refused_before_running(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """2 teams suit micro_provider.toml, but --difference also runs central_it, which needs 4."""
    args = ("--params", "organisation.teams=2:8", "--difference", "--out", tmp_path / "x", *SHORT)
    code, stdout, err = run_cli(capsys, "sensitivity", MICRO_PROVIDER, *args)
    assert code == 2 and stdout == "" and err.count("\n") == 1, err
    assert err.startswith("orgsim: --params: design point (organisation.teams=2, structure='central_it')")
    assert err.endswith("narrow the ranges so every combination under both structures is valid\n")
    assert not (tmp_path / "x").exists()


def test_command_line_defaults_are_the_modules() -> None:
    """The command states sim.experiment.sensitivity's defaults (its parser does not import the module)."""
    (command,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    options = {a.dest: a for a in command.choices["sensitivity"]._actions}
    assert (tuple(options["method"].choices), options["method"].default) == (METHODS, "morris")
    assert options["tie"].default == TIE and f"(default {TIE})" in str(options["tie"].help)
    assert f"default {DEFAULT_N['morris']} for morris, {DEFAULT_N['sobol']} for sobol" in str(options["n"].help)


def test_check_problem_keeps_whole_number_keys_whole() -> None:
    problem = check_problem(load_scenario(CENTRAL_IT), dict([parse_range("organisation.teams=8:16")]))
    assert problem.integers == {"organisation.teams"}
    assert problem.point([11.6]) == {"organisation.teams": 12}

"""Sweeps: tables on disk, resuming after an interruption or a torn write, identical tables
from every executor, bounded memory, and the ``sweep``/``compare`` commands."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.experiment.design import Design, canonical_json, run_id, run_seed, table_value
from sim.experiment.sweep import RUNS_LOG, RunLog, SerialExecutor, execute, run_pair, run_sweep, write_tables
from sim.experiment.tables import metric_names
from sim.run import run_scenario
from sim.scenario.errors import ScenarioError
from sim.scenario.files import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
TINY = ["simulation.ticks=60", "simulation.warmup_ticks=10", "organisation.teams=4", "demand.arrival_rate=2.5"]
TINY_ARGS = [arg for item in TINY for arg in ("--set", item)]
STRUCTURES = ["central_it", "micro_provider"]


class Interrupt(Exception):
    """Stands in for Ctrl-C part-way through a sweep."""


@pytest.fixture(scope="module")
def design() -> Design:
    base = load_scenario(SCENARIOS / "central_it.toml", TINY)
    return Design.grid(base, {"handoff.delay_ticks": [0, 1.5], "structure": STRUCTURES}, reps=3, seed=11)


@pytest.fixture(scope="module")
def reference(design, tmp_path_factory):
    """The uninterrupted serial sweep every other run is compared with."""
    return run_sweep(design, tmp_path_factory.mktemp("reference"), workers=1, quiet=True, collect_adoption=True)


def assert_same_tables(result, expected) -> None:
    pd.testing.assert_frame_equal(result.runs, expected.runs)
    pd.testing.assert_frame_equal(result.summary, expected.summary)
    pd.testing.assert_frame_equal(result.comparison, expected.comparison)


def test_sweep_writes_every_table_with_provenance(reference, design):
    runs = reference.runs
    assert len(runs) == design.n_runs == 12
    assert runs["run_id"].is_unique
    head = ["run_id", "handoff.delay_ticks", "structure", "replicate", "seed", "scenario"]
    assert list(runs.columns[: len(head)]) == head
    assert metric_names(runs) and set(metric_names(runs)) <= set(runs.columns)
    paired = runs.groupby(["handoff.delay_ticks", "replicate"])["seed"].nunique()
    assert (paired == 1).all()
    assert set(reference.paths) == {"runs", "summary", "comparison", "adoption"}
    for name, paths in reference.paths.items():
        assert all(p.exists() and p.stat().st_size > 0 for p in paths.values()), name
        info = json.loads(paths["provenance"].read_text())
        assert info["seed"] == 11 and info["config_hash"] == design.base_config_hash
        assert info["design"]["n_runs"] == 12 and info["git_commit"]
    on_disk = pd.read_parquet(reference.paths["runs"]["parquet"])
    pd.testing.assert_frame_equal(on_disk, runs)
    comparison = reference.comparison
    assert len(comparison) == 2 * len(metric_names(runs))
    assert (comparison["n_pairs"][comparison["metric"] == "throughput_per_tick"] == 3).all()
    assert json.loads(reference.paths["comparison"]["provenance"].read_text())["difference"] == (
        "micro_provider - central_it"
    )


def test_adoption_table_is_per_point_structure_and_tick(reference, design):
    adoption = reference.adoption
    ticks = design.base["simulation"]["ticks"]
    assert len(adoption) == 2 * 2 * ticks
    assert (adoption["n"] == 3).all()
    assert adoption["adoption_share_mean"].between(0, 1).all()
    assert list(adoption.columns) == ["handoff.delay_ticks", "structure", "tick", *adoption.columns[3:]]


def test_interrupted_sweep_resumes_without_losing_or_repeating_runs(reference, design, tmp_path):
    seen = []

    def stop_after_five(row):
        seen.append(row["run_id"])
        if len(seen) == 5:
            raise Interrupt

    with pytest.raises(Interrupt):
        run_sweep(design, tmp_path, workers=1, quiet=True, collect_adoption=True, on_run=stop_after_five)
    assert len(RunLog(tmp_path / RUNS_LOG).run_ids()) == 5
    resumed = run_sweep(design, tmp_path, workers=1, quiet=True, collect_adoption=True)
    assert (resumed.ran, resumed.skipped) == (7, 5)
    assert_same_tables(resumed, reference)
    pd.testing.assert_frame_equal(resumed.adoption, reference.adoption)
    lines = (tmp_path / RUNS_LOG).read_text().splitlines()
    assert len(lines) == design.n_runs


def test_a_torn_last_line_is_dropped_and_rerun(reference, design, tmp_path):
    run_sweep(design, tmp_path, workers=1, quiet=True, collect_adoption=True)
    log = tmp_path / RUNS_LOG
    data = log.read_bytes()
    lines = data.splitlines(keepends=True)
    cut = sum(len(line) for line in lines[:4]) + len(lines[4]) // 2  # killed while writing line 5
    log.write_bytes(data[:cut])
    assert len(RunLog(log).run_ids()) == 4
    resumed = run_sweep(design, tmp_path, workers=1, quiet=True, collect_adoption=True)
    assert (resumed.ran, resumed.skipped) == (8, 4)
    assert_same_tables(resumed, reference)
    assert len(log.read_text().splitlines()) == design.n_runs
    assert all(json.loads(line) for line in log.read_text().splitlines())


def test_a_finished_sweep_reruns_nothing(reference, design):
    again = run_sweep(design, reference.out, workers=1, quiet=True, collect_adoption=True)
    assert (again.ran, again.skipped) == (0, 12)
    assert_same_tables(again, reference)


def test_a_directory_with_another_design_is_refused(reference, design):
    other = Design.grid(design.base, {"handoff.delay_ticks": [0, 2], "structure": STRUCTURES}, reps=3, seed=11)
    with pytest.raises(ScenarioError, match="different design"):
        run_sweep(other, reference.out, workers=1, quiet=True)


def test_run_ids_name_the_scenario_that_ran_but_seeds_do_not(design):
    base = load_scenario(SCENARIOS / "central_it.toml", [*TINY, "handoff.loss_prob=0.2"])
    other = Design.grid(base, {"handoff.delay_ticks": [0, 1.5], "structure": STRUCTURES}, reps=3, seed=11)
    mine, theirs = list(design.runs()), list(other.runs())
    assert [spec.point for spec in mine] == [spec.point for spec in theirs]
    assert [spec.seed for spec in mine] == [spec.seed for spec in theirs]
    assert [spec.seed for spec in mine] == [run_seed(11, spec.point, spec.replicate) for spec in mine]
    assert {spec.run_id for spec in mine}.isdisjoint(spec.run_id for spec in theirs)
    spec = mine[0]  # the scenario named is the one the run records in its provenance
    ran = run_scenario(spec.scenario, seed=spec.seed)
    assert design.scenario_hash(spec.point) == ran.provenance["config_hash"] != other.scenario_hash(spec.point)
    assert spec.run_id == run_id(spec.point, spec.replicate, 11, ran.provenance["config_hash"])


def test_a_folder_with_ids_from_before_they_named_the_scenario_resumes(reference, design, tmp_path):
    specs = {spec.run_id: spec for spec in design.runs()}
    rows = list(RunLog(reference.out / RUNS_LOG).rows())
    (tmp_path / "design.json").write_bytes((reference.out / "design.json").read_bytes())
    with RunLog(tmp_path / RUNS_LOG).appender() as append:
        append([row | {"run_id": run_id(specs[row["run_id"]].point, row["replicate"], 11)} for row in rows])
    assert RunLog(tmp_path / RUNS_LOG).run_ids().isdisjoint(specs)
    resumed = run_sweep(design, tmp_path, workers=1, quiet=True, collect_adoption=True)
    assert (resumed.ran, resumed.skipped) == (0, 12)
    assert_same_tables(resumed, reference)
    pd.testing.assert_frame_equal(resumed.adoption, reference.adoption)
    assert RunLog(tmp_path / RUNS_LOG).run_ids() == set(specs)


@pytest.mark.parametrize("log", sorted((ROOT / "results").glob("**/" + RUNS_LOG)), ids=lambda p: p.parent.name)
def test_committed_results_keep_their_seeds(log):
    # run_seed never changes: every committed run's seed is the one its design gives it today
    saved = json.loads((log.parent / "design.json").read_text())
    keys = saved["keys"]
    points = {canonical_json({k: table_value(p[k]) for k in keys}): p for p in saved["points"]}
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert rows
    for row in rows:
        point = points[canonical_json({k: row[k] for k in keys})]
        assert row["seed"] == run_seed(saved["seed"], point, row["replicate"])


def test_corrupt_line_in_the_middle_is_reported(tmp_path):
    log = tmp_path / RUNS_LOG
    log.write_text('{"run_id": "a"}\n{"run_id": \n{"run_id": "c"}\n')
    with pytest.raises(ScenarioError, match=r"runs.jsonl:1: damaged run record \(its check digest"):
        RunLog(log).run_ids()


def test_runs_are_taken_lazily_so_memory_stays_flat(design):
    pulled = []

    def specs():
        for spec in design.runs():
            pulled.append(spec.run_id)
            yield spec

    pulled_at_first_rows = []

    def on_rows(rows):
        if not pulled_at_first_rows:
            pulled_at_first_rows.append(len(pulled))

    done = execute(specs(), SerialExecutor(), on_rows, parallelism=1, chunksize=1)
    assert done == design.n_runs
    assert pulled_at_first_rows[0] <= 3  # at most 2 x parallelism chunks in flight, not the whole design


# Dask workers make a scratch space, by default under the shared /tmp/dask-scratch-space and
# its machine-wide lock, and warn (a UserWarning, an error under filterwarnings = error) when
# that takes over a second: on a loaded machine, or while another session's workers hold the
# lock, the Dask tests failed by timing alone. Each test's cluster gets a scratch space of its
# own, and the warning, a hint about slow disks, is no failure of the sweep.
DASK_SCRATCH_WARNING = "ignore:Creating scratch directories is taking a surprisingly long time:UserWarning"


def local_cluster(distributed, tmp_path: Path):
    """An in-process cluster, one worker of two threads, its scratch space under ``tmp_path``."""
    return distributed.LocalCluster(
        processes=False,
        n_workers=1,
        threads_per_worker=2,
        dashboard_address=None,
        local_directory=str(tmp_path / "dask-scratch"),
    )


@pytest.mark.slow
@pytest.mark.filterwarnings(DASK_SCRATCH_WARNING)
def test_process_pool_and_dask_give_the_same_tables(reference, design, tmp_path):
    distributed = pytest.importorskip("distributed")
    pool = run_sweep(design, tmp_path / "pool", workers=2, quiet=True, collect_adoption=True)
    assert_same_tables(pool, reference)
    pd.testing.assert_frame_equal(pool.adoption, reference.adoption)
    with local_cluster(distributed, tmp_path) as cluster, distributed.Client(cluster) as client:
        executor = client.get_executor()
        dask = run_sweep(design, tmp_path / "dask", executor=executor, quiet=True, collect_adoption=True)
    assert_same_tables(dask, reference)
    pd.testing.assert_frame_equal(dask.adoption, reference.adoption)


def test_tables_do_not_depend_on_the_order_the_runs_finished_in(reference, design, tmp_path):
    """A pool or a cluster records runs as they finish: the same runs.jsonl lines in reverse
    order give the same tables, the adoption curves' groups in the design's order."""
    lines = (reference.out / RUNS_LOG).read_text().splitlines(keepends=True)
    (tmp_path / RUNS_LOG).write_text("".join(reversed(lines)))
    reversed_ = write_tables(design, tmp_path, collect_adoption=True)
    assert_same_tables(reversed_, reference)
    pd.testing.assert_frame_equal(reversed_.adoption, reference.adoption)


@pytest.mark.filterwarnings(DASK_SCRATCH_WARNING)
def test_sweep_command_on_a_dask_scheduler(reference, tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    with local_cluster(distributed, tmp_path) as cluster:
        code = main(
            [
                "sweep",
                str(SCENARIOS / "central_it.toml"),
                *TINY_ARGS,
                "--grid",
                "handoff.delay_ticks=0,1.5",
                "--grid",
                "structure=central_it,micro_provider",
                "--reps",
                "3",
                "--seed",
                "11",
                "--out",
                str(tmp_path / "out"),
                "--scheduler",
                cluster.scheduler_address,
                "--quiet",
            ]
        )
    assert code == 0, capsys.readouterr().err
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out" / "runs.parquet"), reference.runs)


def test_sweep_command_writes_tables_prints_the_comparison_and_resumes(tmp_path, capsys):
    argv = [
        "sweep",
        str(SCENARIOS / "central_it.toml"),
        *TINY_ARGS,
        "--grid",
        "structure=central_it,micro_provider",
        "--grid",
        "handoff.delay_ticks=0,2",
        "--reps",
        "2",
        "--workers",
        "1",
        "--out",
        str(tmp_path),
        "--quiet",
        "--metrics",
        "lead_time_mean_ticks",
        "rework_rate",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "8 runs (4 points x 2 reps; 8 run now, 0 already done)" in out
    assert "micro_provider - central_it" in out
    assert "| Mean lead time (days)" in out and "| Rework rate (%)" in out and "| Throughput" not in out
    for name in ("runs", "summary", "comparison"):
        for ext in ("csv", "parquet", "md", "provenance.json"):
            assert (tmp_path / f"{name}.{ext}").exists()
    assert main(argv) == 0
    assert "0 run now, 8 already done" in capsys.readouterr().out
    argv[argv.index("handoff.delay_ticks=0,2")] = "handoff.delay_ticks=0,3"
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("orgsim: ") and "different design" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--grid", "handoff.delay_tick=0,1"], "did you mean 'delay_ticks'?"),
        (["--grid", "handoff.delay_ticks=0,1", "--grid", "handoff.delay_ticks=2"], "given twice"),
        (["--grid", "handoff.delay_ticks"], "expected key.path=v1,v2"),
        (["--metrics", "lead_time"], "unknown metric"),
        (["--workers", "0"], "--workers must be >= 1"),
    ],
)
def test_sweep_command_rejects_bad_input_with_exit_2(tmp_path, capsys, extra, message):
    argv = ["sweep", str(SCENARIOS / "central_it.toml"), *TINY_ARGS, "--out", str(tmp_path), "--quiet", *extra]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_compare_command_prints_a_side_by_side_table(capsys):
    argv = [
        "compare",
        str(SCENARIOS / "central_it.toml"),
        str(SCENARIOS / "micro_provider.toml"),
        *TINY_ARGS,
        "--reps",
        "3",
        "--workers",
        "1",
        "--quiet",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "central_it (A) vs micro_provider (B): 3 replications" in out
    header = next(line for line in out.splitlines() if line.startswith("| metric"))
    assert [cell.strip() for cell in header.strip("|").split("|")] == [
        "metric",
        "A: Central IT",
        "B: Micro-providers",
        "B - A",
        "p",
        "verdict",
        "unstable runs A / B",
    ]
    assert "| Throughput (items per day)" in out and "| Mean lead time (days)" in out
    verdict = out.split("Verdict:\n", 1)[1].splitlines()
    assert any(
        line.startswith("- Throughput: ")
        or line.startswith("- Micro-providers: throughput")
        or line.startswith("- Central IT: throughput")
        for line in verdict
    )


def test_run_pair_uses_common_seeds():
    base = load_scenario(SCENARIOS / "central_it.toml", TINY)
    other = base.model_copy(update={"structure": "micro_provider", "name": "micro"})
    result = run_pair(base, other, reps=2, seed=5, workers=1, quiet=True)
    runs = result.runs
    assert result.labels == ("central_it", "micro")
    assert runs.groupby("replicate")["seed"].nunique().eq(1).all()
    assert runs["variant"].tolist() == ["central_it", "micro", "central_it", "micro"]
    assert (result.comparison["n_pairs"][result.comparison["metric"] == "throughput_per_tick"] == 2).all()


def test_the_fork_server_preloads_modules_that_exist_one_thread_first() -> None:
    import importlib.util

    from sim.experiment.workers import WORKER_PRELOAD

    assert WORKER_PRELOAD[0] == "sim.experiment.single_thread"  # before numpy loads
    assert all(importlib.util.find_spec(name) for name in WORKER_PRELOAD)


def test_pool_workers_keep_the_numeric_libraries_to_one_thread() -> None:
    # A fresh process whose environment sets no thread counts: its workers' environment does.
    import os
    import subprocess
    import sys

    from sim.experiment.single_thread import THREAD_VARIABLES

    probe = (
        "import os\n"
        "from sim.experiment.sweep import process_pool\n"
        "if __name__ == '__main__':\n"
        "    with process_pool(1) as pool:\n"
        f"        print([pool.submit(os.getenv, v).result() for v in {THREAD_VARIABLES!r}])\n"
        f"    print([os.getenv(v) for v in {THREAD_VARIABLES!r}])\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=300, env=env
    )
    workers, own = out.stdout.splitlines()
    assert workers == str(["1"] * len(THREAD_VARIABLES))
    assert own == str([None] * len(THREAD_VARIABLES))  # a script's own process is left alone


def test_the_fork_server_freezes_what_it_loaded() -> None:
    # The workers it forks then share those pages instead of copying them when they collect.
    import subprocess
    import sys

    probe = "import gc, sim.model.preload; print(gc.get_freeze_count())"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=300)
    assert int(out.stdout) > 100_000  # numpy, pandas, scipy, mesa, numba and the kernel's objects


def test_the_fork_server_imports_the_libraries_without_collecting_and_its_workers_collect() -> None:
    import subprocess
    import sys

    from sim.experiment.workers import WORKER_PRELOAD

    assert WORKER_PRELOAD.index("sim.experiment.gc_paused") < WORKER_PRELOAD.index("sim.experiment.sweep")
    imports = (  # as the server does, up to the kernel's load; with the collector on there are full collections
        "import gc, sim.experiment.single_thread, sim.experiment.gc_paused\n"
        "before = gc.get_stats()[2]['collections']\n"
        "import sim.experiment.sweep, sim.model.org_model\n"
        "print(gc.get_stats()[2]['collections'] - before)\n"
    )
    pool = (
        "import gc\n"
        "from sim.experiment.sweep import process_pool\n"
        "if __name__ == '__main__':\n"
        "    with process_pool(1) as pool:\n"
        "        print(pool.submit(gc.isenabled).result())\n"
    )
    out = [
        subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=300).stdout
        for probe in (imports, pool)
    ]
    assert out == ["0\n", "True\n"]  # no full collection while importing; the preload turned it back on

"""The same seed gives the same results serial, on a local pool or on Dask: ``orgsim compare``
and ``orgsim sensitivity`` with ``--workers 2`` and with ``--scheduler`` on a
``distributed.LocalCluster`` (a scheduler and a worker in this process) print and write what
``--workers 1`` does. The sweep's own checks are in tests/test_sweep.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from conftest import CENTRAL_IT, MICRO_PROVIDER, run_cli
from test_sweep import DASK_SCRATCH_WARNING, local_cluster

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.filterwarnings(DASK_SCRATCH_WARNING)

TINY = [
    *("--ticks", "60", "--set", "simulation.warmup_ticks=10", "--set", "organisation.teams=4"),
    *("--set", "demand.arrival_rate=2.5", "--seed", "7", "--quiet"),
]
COMPARE = ["compare", CENTRAL_IT, MICRO_PROVIDER, *TINY, "--reps", "3"]
SENSITIVITY = [
    *("sensitivity", CENTRAL_IT, *TINY, "--difference", "--n", "2", "--reps", "2"),
    *("--params", "handoff.delay_ticks=0:1.5", "demand.arrival_rate=2:3", "--metrics", "throughput_per_tick"),
]
TABLES = {"compare": ["runs", "summary", "comparison"], "sensitivity": ["runs", "outputs", "indices"]}


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with local_cluster(distributed, tmp_path_factory.mktemp("cluster")) as cluster:
        yield cluster.scheduler_address


def chunks_done(scheduler: str) -> int:
    """How many chunks of runs the cluster has finished so far."""

    def count(dask_scheduler) -> int:  # type: ignore[no-untyped-def]
        prefix = dask_scheduler.task_prefixes.get("run_chunk")
        return prefix.state_counts["memory"] if prefix is not None else 0

    with distributed.Client(scheduler) as client:
        return client.run_on_scheduler(count)


def results(capsys: pytest.CaptureFixture[str], args: list, out: Path) -> tuple[str, dict[str, pd.DataFrame]]:
    """What the command printed (its output folder written as OUT) and the tables it wrote."""
    code, stdout, err = run_cli(capsys, *args, "--out", out)
    assert (code, err) == (0, ""), err
    printed = "\n".join(line for line in stdout.splitlines() if not line.startswith("wrote "))
    tables = {name: pd.read_parquet(out / f"{name}.parquet") for name in TABLES[str(args[0])]}
    return printed.replace(str(out), "OUT"), tables


@pytest.mark.slow
@pytest.mark.parametrize("command", [COMPARE, SENSITIVITY], ids=["compare", "sensitivity"])
def test_pool_and_dask_give_the_serial_results(
    command: list, scheduler: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    if command[0] == "sensitivity":
        pytest.importorskip("SALib")
    serial = results(capsys, [*command, "--workers", "1"], tmp_path / "serial")
    assert serial[1]["runs"]["seed"].nunique() > 1  # replicates differ: equal tables are no accident
    for name, executor in {"pool": ["--workers", "2"], "dask": ["--scheduler", scheduler]}.items():
        before = chunks_done(scheduler)
        printed, tables = results(capsys, [*command, *executor], tmp_path / name)
        assert (chunks_done(scheduler) > before) == (name == "dask"), f"{name}: not where it was sent"
        assert printed == serial[0], name
        for table, frame in tables.items():
            pd.testing.assert_frame_equal(frame, serial[1][table], obj=f"{name} {table}")

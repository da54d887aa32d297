"""A real multi-process Dask cluster on 127.0.0.1: a scheduler and worker processes started
here with the `dask` command, a flow cell called through it, a worker killed mid-job."""

import io
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from distributed import Client
from job_files import folder_bytes, invoke, wait_for
from opensbs.jobs import EngineOptions, JobReport, TileJob, run_tile_jobs

DASK = Path(sys.executable).with_name("dask")


@dataclass
class DaskProcesses:
    """The scheduler's address and the processes started for it."""

    folder: Path
    scheduler_file: Path
    address: str = ""
    workers: list[subprocess.Popen] = field(default_factory=list)
    processes: list[subprocess.Popen] = field(default_factory=list)

    def start(self, *args: str) -> subprocess.Popen:
        log = open(self.folder / f"process_{len(self.processes)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen([str(DASK), *args], stdout=log, stderr=subprocess.STDOUT,
                                   cwd=self.folder)
        self.processes.append(process)
        return process

    def start_worker(self) -> subprocess.Popen:
        """One more single-threaded worker process (no nanny: its pid is the worker)."""
        worker = self.start("worker", "--scheduler-file", str(self.scheduler_file),
                            "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny",
                            "--no-dashboard")
        self.workers.append(worker)
        return worker

    def wait_for_workers(self, count: int) -> None:
        with Client(self.address, timeout=60) as client:
            client.wait_for_workers(count, timeout=180)


def _scheduler_address(path: Path) -> str | None:
    try:
        return str(json.loads(path.read_text())["address"])
    except (OSError, ValueError, KeyError):
        return None


@pytest.fixture(scope="module")
def dask_processes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dask_cluster")
    cluster = DaskProcesses(folder, folder / "scheduler.json")
    try:
        cluster.start("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                      "--scheduler-file", str(cluster.scheduler_file))
        cluster.start_worker()
        cluster.start_worker()
        cluster.address = wait_for(lambda: _scheduler_address(cluster.scheduler_file),
                                   "the scheduler file")
        cluster.wait_for_workers(2)
        yield cluster
    finally:
        for process in reversed(cluster.processes):  # workers first, while the scheduler lives
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_a_scheduler_and_two_worker_processes_call_like_one_process(
        dask_processes, flow_cell, in_process_calls, tmp_path) -> None:
    assert dask_processes.address.startswith("tcp://127.0.0.1:")
    log = invoke("basecall", str(flow_cell), "--out", str(tmp_path / "calls"),
                 "--scheduler", dask_processes.address)
    assert f"on {dask_processes.address} of 2 workers" in log
    assert folder_bytes(tmp_path / "calls") == in_process_calls
    ran_on = {int(line.rsplit(":", 1)[1]) for line in log.splitlines()
              if line.startswith("basecall: tile_")}
    assert ran_on and ran_on <= {worker.pid for worker in dask_processes.workers}


def test_a_killed_worker_has_its_tile_run_elsewhere(dask_processes, tmp_path) -> None:
    dask_processes.start_worker()  # stands in for the one killed below
    dask_processes.wait_for_workers(3)
    go, out = tmp_path / "go", tmp_path / "out"

    def blocking_tile(name: str) -> dict[str, int]:
        """Announce the start, wait for the test's go, write the tile's one output."""
        (tmp_path / f"started_{name}_{os.getpid()}").touch()
        while not go.exists():
            time.sleep(0.05)
        (out / f"{name}.txt").write_text(name)
        return {"pid": os.getpid()}

    names = [f"tile_{i}" for i in range(4)]
    jobs = [TileJob(name, out, (f"{name}.txt",), blocking_tile, (name,)) for name in names]
    reports: list[JobReport | BaseException] = []

    def run() -> None:
        try:
            reports.append(run_tile_jobs(jobs, EngineOptions(scheduler=dask_processes.address),
                                         "kill-test", stream=io.StringIO()))
        except BaseException as exc:  # handed to the test thread
            reports.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    started = wait_for(lambda: next(tmp_path.glob("started_*"), None), "a tile to start")
    victim_name, victim_pid = started.name.removeprefix("started_").rsplit("_", 1)
    victim = next(w for w in dask_processes.workers if w.pid == int(victim_pid))
    victim.kill()
    victim.wait()
    go.touch()
    thread.join(timeout=300)
    assert not thread.is_alive() and len(reports) == 1
    report = reports[0]
    assert isinstance(report, JobReport), report
    assert list(report.results) == names and not report.skipped
    assert report.results[victim_name]["pid"] != victim.pid  # re-run on another worker
    assert {r["pid"] for r in report.results.values()} <= {w.pid for w in dask_processes.workers}
    assert [(out / f"{name}.txt").read_text() for name in names] == names

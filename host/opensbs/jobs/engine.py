"""Run tile jobs: skip the complete ones, run the rest in-process or on a Dask cluster.

(`distributed` is imported only when a cluster is used: every `opensbs` command loads this.)
"""

import os
import resource
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .completion import clear_marker, completed_result, job_digest, write_marker
from .progress import TileProgress


class JobError(Exception):
    """A tile job cannot run: bad options, no cluster, or a tile that kills its workers."""


@dataclass(frozen=True)
class TileJob:
    """One tile's work: ``task(*args)`` reads ``inputs`` (files), writes ``outputs`` (paths
    relative to ``root``, an absolute folder) and returns a JSON-serialisable result.
    ``name`` is unique in the job and file-name safe."""

    name: str
    root: Path
    outputs: tuple[str, ...]
    task: Callable[..., dict[str, Any]]
    args: tuple[Any, ...] = ()
    inputs: tuple[Path, ...] = ()

    def digest(self) -> str:
        """What the tile was asked to do (task, arguments, input files' sizes and times)."""
        return job_digest(self.task, self.args, self.inputs)


@dataclass(frozen=True)
class EngineOptions:
    """Where tiles run: ``scheduler`` (an existing cluster's address), else ``workers``
    local worker processes (None: one per core; 1: in this process, no cluster)."""

    workers: int | None = None
    scheduler: str | None = None


@dataclass(frozen=True)
class TileOutcome:
    """A tile that ran: its result, wall and CPU seconds of the task, and the peak resident
    memory of the process that ran it (MiB, over that process's life so far)."""

    name: str
    result: dict[str, Any]
    task_s: float
    cpu_s: float
    peak_rss_mib: float
    worker: str


@dataclass
class JobReport:
    """Every tile's result (job order), the tiles that ran and those skipped as complete."""

    results: dict[str, dict[str, Any]]
    ran: list[TileOutcome] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    workers: int = 1
    cluster_ready_s: float = 0.0  # of wall_s, until the cluster was connected or started


def default_workers() -> int:
    """One worker per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


def peak_rss_mib() -> float:
    """Peak resident memory of this process (MiB): Linux's VmHWM, which unlike ``ru_maxrss``
    does not count the parent's memory before ``exec``."""
    try:
        status = Path("/proc/self/status").read_text()
        return int(status.split("VmHWM:")[1].split()[0]) / 1024
    except (OSError, IndexError, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_tile(job: TileJob) -> TileOutcome:
    """Run one tile job here (on a worker or in-process) and mark it complete."""
    job.root.mkdir(parents=True, exist_ok=True)
    clear_marker(job.root, job.name)
    started_s, started_cpu_s = time.perf_counter(), time.process_time()
    result = job.task(*job.args)
    task_s, cpu_s = time.perf_counter() - started_s, time.process_time() - started_cpu_s
    write_marker(job.root, job.name, job.digest(), job.outputs, result)
    return TileOutcome(job.name, result, task_s, cpu_s, peak_rss_mib(),
                       f"{socket.gethostname()}:{os.getpid()}")


def run_tile_jobs(jobs: Sequence[TileJob], options: EngineOptions, label: str,
                  stream: TextIO | None = None) -> JobReport:
    """Run every tile job not already complete; progress goes to ``stream`` (stderr)."""
    names = [job.name for job in jobs]
    if len(set(names)) != len(names):
        raise JobError(f"{label}: tile job names must be unique, got {names}")
    if options.workers is not None and options.workers < 1:
        raise JobError(f"--workers must be at least 1, got {options.workers}")
    results: dict[str, dict[str, Any]] = {}
    pending = []
    for job in jobs:
        done = completed_result(job.root, job.name, job.digest(), job.outputs)
        if done is None:
            pending.append(job)
        else:
            results[job.name] = done
    report = JobReport({}, skipped=[n for n in names if n in results])
    started_s = time.monotonic()
    with TileProgress(label, len(jobs), len(report.skipped), stream or sys.stderr) as progress:
        if report.skipped:
            progress.note(f"{label}: {len(report.skipped)} of {len(jobs)} tiles already "
                          "complete, skipped")
        for outcome in _outcomes(pending, options, label, progress, report, started_s):
            results[outcome.name] = outcome.result
            report.ran.append(outcome)
            progress.tile_done(outcome.name, f"in {outcome.task_s:.1f} s on {outcome.worker}")
    report.results = {name: results[name] for name in names}
    report.wall_s = time.monotonic() - started_s
    return report


def _outcomes(pending: list[TileJob], options: EngineOptions, label: str,
              progress: TileProgress, report: JobReport, started_s: float
              ) -> Iterator[TileOutcome]:
    if not pending:
        return
    workers = min(options.workers or default_workers(), len(pending))
    if options.scheduler is None and workers == 1:
        progress.note(f"{label}: {len(pending)} tiles in this process")
        for job in pending:
            yield run_tile(job)
        return
    from .cluster import ClusterError, dashboard_link, dask_client

    try:
        with dask_client(options.scheduler, workers) as client:
            report.workers = len(client.scheduler_info().get("workers", {}))
            report.cluster_ready_s = time.monotonic() - started_s
            link = dashboard_link(client, local=options.scheduler is None)
            where = options.scheduler or "a local cluster"
            progress.note(f"{label}: {len(pending)} tiles on {where} of {report.workers} "
                          f"workers" + (f", dashboard {link}" if link else ""))
            yield from _gathered(client, pending, label)
    except ClusterError as exc:
        raise JobError(str(exc)) from None


def _gathered(client: Any, pending: list[TileJob], label: str) -> Iterator[TileOutcome]:
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    token = uuid.uuid4().hex[:8]
    futures = [client.submit(run_tile, job, key=f"{label}-{job.name}-{token}", pure=False)
               for job in pending]
    try:
        for future in as_completed(futures):
            yield future.result()
            future.release()
    except KilledWorker as exc:
        raise JobError(f"{label}: a tile kept killing its workers (out of memory?): {exc}"
                       ) from None
    finally:
        client.cancel([f for f in futures if not f.done()])

"""Per-tile jobs on Dask: the engine of `opensbs basecall`, `simulate` and
`basecall-recalibrate` (and of any sweep of independent tiles).

Each tile is a `TileJob`: a task function, its (small, picklable) arguments such as file
paths, and the files it writes under its output folder. `run_tile_jobs` runs the jobs whose
outputs are not already complete and returns every tile's result in job order::

    from opensbs.jobs import EngineOptions, TileJob, run_tile_jobs
    jobs = [TileJob("tile_1101", out, ("tiles/R1_1101.fastq.gz",), call_stored_tile, (...))]
    report = run_tile_jobs(jobs, EngineOptions(workers=None), label="basecall")
    report.results["tile_1101"]

Layouts (`EngineOptions`): ``workers=1`` runs the tasks in this process, one after another
(debugging); otherwise a Dask `LocalCluster` with one single-threaded worker process per core
(or ``workers``), or with ``scheduler="tcp://HOST:PORT"`` an existing Dask cluster. Each task
must be deterministic from its arguments, so the files are the same whatever the layout.

A finished tile leaves a completion marker (`completion`): a digest of its task, arguments
and input files, its outputs' sizes and CRC-32s and its result; a re-run skips a tile whose
marker matches all of these. A worker that dies has its
running tiles re-run elsewhere by the Dask scheduler.
"""

from .completion import completed_result
from .engine import EngineOptions, JobError, JobReport, TileJob, TileOutcome, run_tile_jobs

__all__ = ["EngineOptions", "JobError", "JobReport", "TileJob", "TileOutcome",
           "completed_result", "run_tile_jobs"]

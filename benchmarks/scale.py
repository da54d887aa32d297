"""Flow-cell-scale simulation and re-calling on the Dask job engine: 1 worker vs N workers.

A flow cell of 16 tiles (1024 x 1024 px, 50 cycles, four-colour) is simulated and then
re-called, each once in this process (``--workers 1``) and once on a local Dask cluster of N
worker processes (default: one per core). Reported: wall time of each (the cluster's start
included), speed-up, the workers' idle time beyond the tiles' own work (scheduler, transfers,
completion markers, imbalance) as a fraction of that work, whether the N-worker files are
byte-identical to the 1-worker ones, peak memory per worker, and a separate one-tile
2048 x 2048 px simulation and basecall, each in a child process (peak memory, CPU). From the
measured basecall CPU seconds per tile and cycle (of the 2048 px tile for the JSON figure):
the cores needed to call 1,000 tiles per 5-minute cycle in real time.

BLAS is limited to one thread per process, as in the Dask workers. The machine may be shared:
the load average is printed with the figures.

    .venv/bin/python benchmarks/scale.py [--quick] [--workers N] [--keep DIR]
        [--tile-px PX] [--cycles N] [--rss-px PX]

Last line: JSON with ``speedup_2_workers``, ``overhead_fraction``, ``peak_rss_mib_per_worker``,
``cores_for_1000_tiles_realtime``.
"""

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

from opensbs.basecall.fastq import ReadNaming  # noqa: E402
from opensbs.basecall.image_set import open_image_set  # noqa: E402
from opensbs.jobs import EngineOptions, JobReport, TileJob, run_tile_jobs  # noqa: E402
from opensbs.jobs.completion import MARKER_FOLDER  # noqa: E402
from opensbs.jobs.engine import default_workers  # noqa: E402
from opensbs.jobs.tiles import ReadSpan, basecall_jobs  # noqa: E402
from opensbs.sim import SimConfig  # noqa: E402
from opensbs.sim.jobs import simulation_jobs  # noqa: E402

TILES_PER_CYCLE = 1000
CYCLE_S = 300.0


def idle_fraction(report: JobReport) -> float:
    """Worker time not spent in tile tasks, as a fraction of the tasks' time (job phase:
    from the cluster being ready to the last tile)."""
    busy_s = sum(o.task_s for o in report.ran)
    job_s = report.wall_s - report.cluster_ready_s
    return (report.workers * job_s - busy_s) / busy_s


def run(kind: str, jobs: list[TileJob], workers: int) -> JobReport:
    return run_tile_jobs(jobs, EngineOptions(workers=workers), f"{kind} x{workers}",
                         stream=io.StringIO())


_CHILD = """import resource, sys
from opensbs.cli import app
from opensbs.jobs.engine import peak_rss_mib
try:
    app(sys.argv[1:], standalone_mode=False)
finally:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print("PEAK", peak_rss_mib(), usage.ru_utime + usage.ru_stime, file=sys.stderr)
"""


def child_rss_mib_cpu_s(args: list[str]) -> tuple[float, float]:
    """Run ``opensbs ARGS`` in a child process; its peak resident memory (MiB) and CPU s."""
    done = subprocess.run([sys.executable, "-c", _CHILD, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"opensbs {args} failed: {done.stderr[-2000:]}")
    _, peak_mib, cpu_s = done.stderr.strip().splitlines()[-1].split()
    return float(peak_mib), float(cpu_s)


def folder_digests(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root`` except the completion markers."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and MARKER_FOLDER not in p.parts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="16 tiles of 256 px, 12 cycles; the memory tile 512 px")
    parser.add_argument("--tile-px", type=int, help="Tile size (default 1024; quick 256)")
    parser.add_argument("--cycles", type=int, help="Cycles (default 50; quick 12)")
    parser.add_argument("--rss-px", type=int, help="Memory tile size (default 2048; quick 512)")
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--keep", type=Path, help="Keep the flow cells here (else a temp dir)")
    args = parser.parse_args()
    tile_px, cycles, rss_px = (256, 12, 512) if args.quick else (1024, 50, 2048)
    tile_px, cycles, rss_px = args.tile_px or tile_px, args.cycles or cycles, args.rss_px or rss_px
    tiles = [1101 + i for i in range(16)]
    config = SimConfig(seed=11, tile_width_px=tile_px, tile_height_px=tile_px,
                       read_length=cycles)
    with tempfile.TemporaryDirectory(prefix="opensbs-scale-") as scratch:
        base = args.keep or Path(scratch)
        reports: dict[str, dict[int, JobReport]] = {"simulate": {}, "basecall": {}}
        identical = {}
        for workers in (1, args.workers):
            reports["simulate"][workers] = run("simulate", simulation_jobs(
                (base / f"sim_{workers}").resolve(), config, tiles, cycles), workers)
        images = open_image_set((base / "sim_1").resolve() / "images")
        for workers in (1, args.workers):
            reports["basecall"][workers] = run("basecall", basecall_jobs(
                images, (base / f"calls_{workers}").resolve(), None, None, False, ReadNaming(),
                [ReadSpan("R1", 1, 1)]), workers)
        for kind, prefix in (("simulate", "sim"), ("basecall", "calls")):
            identical[kind] = (folder_digests(base / f"{prefix}_1")
                               == folder_digests(base / f"{prefix}_{args.workers}"))
        rss_dir = base / "rss"
        sim_rss, _ = child_rss_mib_cpu_s([
            "simulate", "--out", str(rss_dir), "--tiles", "1", "--tile-size",
            str(rss_px), "--cycles", str(cycles), "--seed", "11", "--workers", "1"])
        call_rss, call_cpu_big_s = child_rss_mib_cpu_s([
            "basecall", str(rss_dir), "--out", str(base / "rss_calls"),
            "--workers", "1"])
    load = os.getloadavg()
    n = args.workers
    print(f"flow cell: {len(tiles)} tiles of {tile_px} px, {cycles} cycles; {n} workers; "
          f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on "
          f"{os.cpu_count()} cores")
    print(f"{'job':<10}{'1 worker s':>12}{f'{n} workers s':>14}{'cluster start s':>17}"
          f"{'speed-up':>10}{'job-phase speed-up':>20}{'idle/work':>11}{'identical':>11}"
          f"{'peak RSS MiB':>14}")
    figures = {}
    for kind, by_workers in reports.items():
        one, many = by_workers[1], by_workers[n]
        speedup = one.wall_s / many.wall_s
        phase = one.wall_s / (many.wall_s - many.cluster_ready_s)
        idle = idle_fraction(many)
        rss = max(o.peak_rss_mib for o in many.ran)
        cpu_per_tile_cycle_s = sum(o.cpu_s for o in one.ran) / len(one.ran) / cycles
        figures[kind] = {"speedup": speedup, "phase_speedup": phase, "idle": idle, "rss": rss,
                         "cpu_per_tile_cycle_s": cpu_per_tile_cycle_s}
        print(f"{kind:<10}{one.wall_s:>12.1f}{many.wall_s:>14.1f}{many.cluster_ready_s:>17.1f}"
              f"{speedup:>10.2f}{phase:>20.2f}{idle:>11.3f}{str(identical[kind]):>11}"
              f"{rss:>14.0f}")
    call_cpu = figures["basecall"]["cpu_per_tile_cycle_s"]
    overhead = max(figures["basecall"]["idle"], 0.0)
    cores = math.ceil(TILES_PER_CYCLE * call_cpu / CYCLE_S / (1 - min(overhead, 0.5)))
    print(f"basecall CPU per tile and cycle ({tile_px} px): {call_cpu:.3f} s; "
          f"{TILES_PER_CYCLE} tiles per {CYCLE_S:.0f} s cycle need {cores} cores "
          f"(at the measured overhead {overhead:.3f})")
    big_cpu = call_cpu_big_s / cycles
    big_cores = math.ceil(TILES_PER_CYCLE * big_cpu / CYCLE_S / (1 - min(overhead, 0.5)))
    print(f"one {rss_px} px tile, {cycles} cycles, one process: peak RSS simulate "
          f"{sim_rss:.0f} MiB, basecall {call_rss:.0f} MiB; basecall CPU {big_cpu:.3f} s per "
          f"cycle (process start and imports included): {big_cores} cores for "
          f"{TILES_PER_CYCLE} such tiles per cycle")
    worker_rss = max(figures["basecall"]["rss"], figures["simulate"]["rss"])
    print(json.dumps({
        "speedup_2_workers": figures["basecall"]["speedup"] if n == 2 else None,
        "speedup_n_workers": {k: f["speedup"] for k, f in figures.items()},
        "job_phase_speedup": {k: f["phase_speedup"] for k, f in figures.items()},
        "workers": n, "overhead_fraction": overhead,
        "idle_fraction": {k: f["idle"] for k, f in figures.items()},
        "peak_rss_mib_per_worker": worker_rss,
        f"peak_rss_mib_{rss_px}px_tile": {"simulate": sim_rss, "basecall": call_rss},
        "cores_for_1000_tiles_realtime": big_cores,  # tiles of rss_px (2048: production size)
        f"cores_for_1000_tiles_realtime_{tile_px}px": cores,
        "basecall_cpu_s_per_tile_cycle": call_cpu, "tile_px": tile_px, "cycles": cycles,
        "tiles": len(tiles), "identical_files": identical, "load_average": load}))


if __name__ == "__main__":
    main()

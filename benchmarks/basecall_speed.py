"""Images -> calls throughput of the base caller on a 2048 x 2048 four-channel tile.

A tile is simulated cycle by cycle (simulator defaults: ~250,000 clusters at 600k/mm^2) and
each cycle's images are handed to one ``TileBasecaller``; only the caller's CPU time is counted
(every stage: template generation, overlap matrix, registration, extraction with background,
unmixing, crosstalk, phasing correction and calls, qualities, filter, metrics). Single thread:
BLAS is limited to one thread so the figure is per core.

Prints a per-stage table and, as the last line, JSON with ``cluster_cycles_per_s``.

    .venv/bin/python benchmarks/basecall_speed.py [--cycles 40] [--tile-px 2048]
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

from opensbs.basecall import FOUR_COLOUR, TileBasecaller  # noqa: E402
from opensbs.sim import SimConfig, TileSimulator  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=40)
    parser.add_argument("--tile-px", type=int, default=2048)
    args = parser.parse_args()
    config = SimConfig(seed=7, tile_width_px=args.tile_px, tile_height_px=args.tile_px,
                       read_length=args.cycles)
    simulator = TileSimulator(config, 1101)
    caller = TileBasecaller(FOUR_COLOUR)
    called = 0
    caller_seconds = wall_seconds = 0.0
    for _ in range(args.cycles):
        images = simulator.next_cycle()
        start, wall = time.process_time(), time.perf_counter()
        called += len(caller.add_cycle(images))
        caller_seconds += time.process_time() - start
        wall_seconds += time.perf_counter() - wall
    start, wall = time.process_time(), time.perf_counter()
    called += len(caller.finish())
    caller_seconds += time.process_time() - start
    wall_seconds += time.perf_counter() - wall
    assert caller.positions is not None and called == args.cycles
    clusters = len(caller.positions)
    rate = clusters * args.cycles / caller_seconds
    print(f"tile {args.tile_px}x{args.tile_px}, {args.cycles} cycles, {clusters} clusters "
          f"detected ({len(simulator.positions)} simulated), 1 thread")
    print(f"{'stage':<30}{'seconds':>10}{'share':>8}{'ms/cycle':>10}")
    for stage, seconds in sorted(caller.times.seconds.items(), key=lambda kv: -kv[1]):
        print(f"{stage:<30}{seconds:>10.2f}{100 * seconds / caller_seconds:>7.1f}%"
              f"{1000 * seconds / args.cycles:>10.1f}")
    print(f"{'total':<30}{caller_seconds:>10.2f}{100.0:>7.1f}%"
          f"{1000 * caller_seconds / args.cycles:>10.1f}")
    print(f"cluster-cycles per CPU-second (one core): {rate:,.0f}; wall {wall_seconds:.1f} s "
          f"(the machine is shared: wall time includes other processes' load)")
    print(json.dumps({"cluster_cycles_per_s": rate, "clusters": clusters, "cycles": args.cycles,
                      "tile_px": args.tile_px, "caller_cpu_seconds": caller_seconds,
                      "caller_wall_seconds": wall_seconds,
                      "stage_seconds": caller.times.seconds}))


if __name__ == "__main__":
    main()

"""Speed and memory of the flow-cell simulator: one 2048 x 2048 four-channel tile per cycle.

``--preset NAME`` times a simulator preset (opensbs.sim.presets) instead of ``SimConfig()``.

Prints a table per cycle, then as the LAST line one JSON object: ``seconds_per_cycle`` (median
wall time over the timed cycles; the simulator uses one core), ``cpu_seconds_per_cycle`` (the
same in process CPU time, which other jobs on a shared machine do not inflate), ``clusters``,
``setup_seconds`` and the
process's peak RSS after the first and the last cycle (``rss_mib_first_cycle``,
``rss_mib_last_cycle``): equal figures mean memory does not grow with the number of cycles.
"""

import argparse
import json
import resource
import statistics
import sys
import time

from opensbs.sim import SimConfig, TileSimulator


def peak_rss_mib() -> float:
    """Peak resident set size of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=12)
    parser.add_argument("--tile-size", type=int, default=2048)
    parser.add_argument("--density", type=float, default=600_000.0, help="clusters per mm²")
    parser.add_argument("--chemistry", default="four_colour")
    parser.add_argument("--preset", default=None,
                        help="simulator preset (its own density and chemistry win)")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    if args.preset is None:
        config = SimConfig(seed=1, tile_width_px=args.tile_size, tile_height_px=args.tile_size,
                           density_per_mm2=args.density, chemistry=args.chemistry,
                           read_length=max(args.cycles, 1))
    else:
        config = SimConfig.preset(args.preset, seed=1, tile_width_px=args.tile_size,
                                  tile_height_px=args.tile_size,
                                  read_length=max(args.cycles, 1))
    simulator = TileSimulator(config)
    setup_s = time.perf_counter() - start
    print(f"tile {args.tile_size}x{args.tile_size}, {config.n_channels} channels, "
          f"{len(simulator.positions)} clusters, setup {setup_s:.2f} s")
    print(f"{'cycle':>5} {'seconds':>8} {'cpu s':>8} {'peak RSS MiB':>13}")
    seconds, cpu_seconds, rss = [], [], []
    for cycle in range(1, args.cycles + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        simulator.next_cycle()
        seconds.append(time.perf_counter() - t0)
        cpu_seconds.append(time.process_time() - c0)
        rss.append(peak_rss_mib())
        print(f"{cycle:>5} {seconds[-1]:>8.3f} {cpu_seconds[-1]:>8.3f} {rss[-1]:>13.1f}")
    skip = 1 if len(seconds) > 1 else 0  # cycle 1 includes first-touch costs
    result = {
        "seconds_per_cycle": round(statistics.median(seconds[skip:]), 4),
        "seconds_per_cycle_max": round(max(seconds[skip:]), 4),
        "cpu_seconds_per_cycle": round(statistics.median(cpu_seconds[skip:]), 4),
        "clusters": len(simulator.positions),
        "channels": config.n_channels,
        "preset": args.preset,
        "tile_px": args.tile_size,
        "cycles": args.cycles,
        "setup_seconds": round(setup_s, 3),
        "rss_mib_first_cycle": round(rss[0], 1),
        "rss_mib_last_cycle": round(rss[-1], 1),
    }
    print(json.dumps(result))
    sys.stdout.flush()


if __name__ == "__main__":
    main()

"""Wall time and base-calling lag of a simulated run (`opensbs run --sim`), default recipe.

Runs the default SBS recipe (2 tiles of 1024 x 1024, 50 cycles, four-colour) on the virtual
instrument into a temporary folder and reads its run log: wall time in total and per cycle,
how far the base caller was behind the chemistry when each cycle finished imaging (cycles
imaged but not yet base-called), and the headline numbers. `--cycles` shortens the read,
`--speed` caps the virtual clock (virtual seconds per wall second) to emulate a slower,
more realistic chemistry pace.

    .venv/bin/python benchmarks/sim_run.py [--cycles 50] [--speed 1000] [--seed 0]

Prints a table and, as the LAST line, one JSON object with the figures. The CPU seconds (all
threads, and the main thread that runs the chemistry, the imaging and the simulated instrument)
tell what the run needs on a machine shared with other jobs: on two idle cores the wall time
is about max(main thread, all threads / 2).
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

from opensbs.recipe import default_recipe_text
from opensbs.run import RunRequest, start_run
from opensbs.runfolder import read_run_log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=50)
    parser.add_argument("--speed", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        recipe = Path(tmp) / "recipe.toml"
        recipe.write_text(default_recipe_text().replace("cycles = 50", f"cycles = {args.cycles}"))
        start = time.monotonic()
        cpu_start, main_start = time.process_time(), time.thread_time()
        outcome = start_run(RunRequest(sim=True, recipe=recipe, out=Path(tmp) / "run",
                                       seed=args.seed, speed=args.speed))
        wall_s = time.monotonic() - start
        cpu_s, main_cpu_s = time.process_time() - cpu_start, time.thread_time() - main_start
        log = read_run_log(Path(tmp) / "run" / "run_log.jsonl")
    summary = outcome.summary
    imaged = {r["cycle"]: r["wall_elapsed_s"] for r in log if r["event"] == "cycle_imaged"}
    called = {r["cycle"]: r["wall_elapsed_s"] for r in log if r["event"] == "cycle_complete"}
    lags = [sum(1 for c, t in imaged.items() if t <= imaged[cycle] and called.get(c, 1e18)
                > imaged[cycle]) for cycle in sorted(imaged)]
    virtual_s = max(r["t_s"] for r in log if r["event"] == "telemetry")
    per_cycle = [imaged[c] - imaged.get(c - 1, 0.0) for c in sorted(imaged)]
    print(f"{'cycle':>6}{'imaged at (s)':>15}{'called at (s)':>15}{'lag (cycles)':>14}")
    for cycle, lag in zip(sorted(imaged), lags, strict=True):
        print(f"{cycle:>6}{imaged[cycle]:>15.2f}{called.get(cycle, float('nan')):>15.2f}"
              f"{lag:>14}")
    figures = {
        "cycles": args.cycles, "tiles": 2, "tile_px": 1024, "speed_cap": args.speed,
        "wall_s": round(wall_s, 1),
        "cpu_s_all_threads": round(cpu_s, 1), "cpu_s_main_thread": round(main_cpu_s, 1),
        "chemistry_virtual_s_per_cycle": round(virtual_s / args.cycles, 1),
        "wall_s_per_cycle_median": round(sorted(per_cycle)[len(per_cycle) // 2], 2),
        "max_basecall_lag_cycles": max(lags),
        "final_flush_s": round(wall_s - max(imaged.values()), 1),
        "clusters": summary["clusters"], "pf_fraction": round(summary["pf_fraction"], 4),
        "q30_fraction": round(summary["q30_fraction"], 4),
        "error_rate": None if summary["error_rate"] is None else round(summary["error_rate"], 5),
    }
    print(f"wall {wall_s:.1f} s for {args.cycles} cycles; base caller at most {max(lags)} "
          f"cycles behind; CPU {cpu_s:.1f} s in all threads, {main_cpu_s:.1f} s in the main "
          "thread (chemistry, imaging, simulated instrument)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

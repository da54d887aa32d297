"""A full 2048 x 2048 sensor frame through the RTL capture path (Verilator, cocotb).

Runs the ``large_frame_streams`` cocotb test of fpga_sim/tests/test_capture_top.py on a
2048 x 2048 sensor build with the synthesised 512-word elastic FIFO (the RTL default): the
frame must come out unflagged (no OVERFLOW/TRUNCATED), every pixel delivered, byte-equal to
the Python model, while the FT601 bus model is busy on a random quarter of its write clocks.
Version 1 of the image link stored whole frames and flagged anything above 16 Ki pixels.

Usage: python benchmarks/fpga_large_frame.py [--width N --height N]
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "fpga_sim" / "tests"), str(ROOT / "fpga_sim")]  # as conftest.py

from cocotb_tools.runner import get_results  # noqa: E402
from sim_runner import rtl_sources, run_cocotb  # noqa: E402

FIFO_ADDR_BITS = 9  # the RTL default, as synthesised (benchmarks/fpga_synth.py)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=2048)
    parser.add_argument("--height", type=int, default=2048)
    args = parser.parse_args()
    params = {"BPP": 12, "FIFO_ADDR_BITS": FIFO_ADDR_BITS, "SENSOR_WIDTH": args.width,
              "SENSOR_HEIGHT": args.height}
    t0 = time.perf_counter()
    results = run_cocotb("verilator", "capture_top", rtl_sources(), "test_capture_top",
                         params, {"TB_SEED": "1"}, "large_frame")
    wall_s = time.perf_counter() - t0
    tests, failed = get_results(results)
    passed = tests == 1 and failed == 0
    pixels = args.width * args.height
    print(f"\n{'frame':<28}{args.width} x {args.height} ({pixels} pixels)")
    print(f"{'elastic FIFO':<28}{1 << FIFO_ADDR_BITS} words ({2 << FIFO_ADDR_BITS} pixels)")
    print(f"{'unflagged, equal to model':<28}{'yes' if passed else 'NO'}")
    print(f"{'wall time (build + run)':<28}{wall_s:.1f} s")
    print(json.dumps({"width": args.width, "height": args.height, "pixels": pixels,
                      "fifo_words": 1 << FIFO_ADDR_BITS, "unflagged_and_exact": passed,
                      "wall_s": round(wall_s, 1)}))
    if not passed:
        sys.exit(1)


if __name__ == "__main__":
    main()

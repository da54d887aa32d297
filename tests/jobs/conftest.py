"""A small simulated flow cell and its in-process calls, shared by the job-engine tests."""

from pathlib import Path

import pytest
from job_files import SIMULATE, folder_bytes, invoke


@pytest.fixture(scope="session")
def flow_cell(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("flow_cell") / "sim"
    invoke("simulate", "--out", str(out), *SIMULATE, "--workers", "1")
    return out


@pytest.fixture(scope="session")
def in_process_calls(flow_cell, tmp_path_factory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("calls") / "calls"
    invoke("basecall", str(flow_cell), "--out", str(out), "--workers", "1")
    return folder_bytes(out)

"""Helpers of the job-engine tests: run a CLI command, read a folder's files."""

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from opensbs.cli import app
from opensbs.jobs.completion import MARKER_FOLDER
from typer.testing import CliRunner

TILES = 3
SIMULATE = ["--tiles", str(TILES), "--tile-size", "96", "--cycles", "8", "--seed", "4"]
T = TypeVar("T")


def invoke(*args: str) -> str:
    """Run ``opensbs ARGS`` in this process; its output (stdout and stderr)."""
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def folder_bytes(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` except the completion markers, by relative path."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and MARKER_FOLDER not in p.parts}


def wait_for(condition: Callable[[], T | None], what: str, limit_s: float = 180.0) -> T:
    """Poll ``condition`` until it returns a value (the limit only guards a hang)."""
    deadline = time.monotonic() + limit_s
    while (value := condition()) is None or value is False:
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)
    return value

"""`opensbs run` off a terminal (a pipe, as under CI or nohup): plain progress lines, at most one
per cycle, and a headline that is never wrapped."""

import os
import subprocess
import sys
from pathlib import Path

TINY = Path(__file__).parents[1] / "run" / "tiny_recipe.toml"


def test_run_into_a_pipe_prints_one_plain_line_per_cycle_and_an_unwrapped_headline(
        tmp_path: Path):
    out = tmp_path / "a-rather-long-run-folder-name-that-would-wrap-at-eighty-columns"
    result = subprocess.run(
        [sys.executable, "-c", "from opensbs.cli import main; main()", "run", "--sim",
         "--recipe", str(TINY), "--out", str(out), "--seed", "5"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "COLUMNS": "80", "TERM": "xterm-256color"})
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "\x1b[" not in result.stdout  # no terminal control codes in a log file
    progress = [line for line in lines if line.startswith("cycle ")]
    assert 1 <= len(progress) <= 8 + 1 and progress[-1].startswith("cycle 8/8  step ")
    for line in progress:
        assert "flow cell" in line and "set-point" in line and "error (PhiX)" in line
    assert f"run folder: {out}" in lines
    [figures] = [line for line in lines if line.startswith("clusters ")]
    assert "%PF" in figures and "error rate (PhiX)" in figures

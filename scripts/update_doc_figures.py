#!/usr/bin/env python3
"""Regenerate the figures the README and docs/runs.md quote, from ONE run of `make sim-run`'s
default recipe, so they cannot drift apart: the headline lines, the figures table row and the
report screenshot (docs/report.png, headless Chromium).

    .venv/bin/python scripts/update_doc_figures.py [--seed 0] [--keep runs/doc-figures]

The text between `<!-- figures:NAME -->` and `<!-- /figures:NAME -->` markers is replaced.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from opensbs.cli.run import headline
from opensbs.run import RunRequest, start_run

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                  "--virtual-time-budget=20000"]


def replace_block(path: Path, name: str, text: str) -> None:
    """Replace what lies between the `name` markers of `path` with `text`."""
    pattern = re.compile(rf"(<!-- figures:{name} -->\n).*?(<!-- /figures:{name} -->)", re.S)
    source = path.read_text("utf-8")
    if not pattern.search(source):
        raise SystemExit(f"{path}: no <!-- figures:{name} --> markers")
    path.write_text(pattern.sub(lambda m: m.group(1) + text + m.group(2), source), "utf-8")


def headline_text(root: Path, summary: dict[str, Any]) -> str:
    """The lines `opensbs run` prints at the end (run folder path shortened)."""
    text = "".join(f"{line}\n" for line in headline(root, summary))
    return text.replace(str(root), "runs/<date>_OPENSBS1_0001_OSBS0001")


def screenshot(report: Path, png: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium not found (scripts/install-test-deps.sh installs it)")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                        "--window-size=1400,2300", f"--screenshot={png}", report.as_uri()],
                       check=True, capture_output=True, timeout=180)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="keep the run folder here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp) / "run"
        start = time.monotonic()
        summary = start_run(RunRequest(sim=True, out=out, seed=args.seed)).summary
        wall_s = time.monotonic() - start
        load = os.getloadavg()[1]  # 5-minute load average: other jobs sharing the machine
        headline = headline_text(out, summary)
        screenshot(out / "report.html", ROOT / "docs" / "report.png")

    def pct(key: str, digits: int = 2) -> str:
        return "n/a" if summary[key] is None else f"{100 * summary[key]:.{digits}f} %"

    block = f"```\n{headline}```\n"
    replace_block(ROOT / "README.md", "headline", block)
    replace_block(ROOT / "docs" / "runs.md", "headline", block)
    row = (f"| `make sim-run` (50 cycles, 2 × 1024 px tiles, seed {args.seed}) | "
           f"{wall_s:.0f} s (load {load:.1f}) | {summary['clusters']:,} | {pct('pf_fraction')} | "
           f"{pct('q30_fraction')} | {pct('aligned_fraction')} | {pct('error_rate', 3)} | "
           f"{pct('sim_truth_error_rate', 3)} |\n")
    replace_block(ROOT / "docs" / "runs.md", "table",
                  "| run | wall | clusters | %PF | %≥Q30 | % aligned (PhiX) | error (PhiX) | "
                  "error vs simulation truth |\n|---|---|---|---|---|---|---|---|\n" + row)
    print(headline + row, end="")


if __name__ == "__main__":
    main()

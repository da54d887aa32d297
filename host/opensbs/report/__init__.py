"""The self-contained run report (report.html) built from a run folder.

Public API: build_report(run_dir) -> str; write_report(run_dir) -> Path.
"""

from .html import build_report, write_report

__all__ = ["build_report", "write_report"]

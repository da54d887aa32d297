"""report.html is self-contained and shows the run's numbers and plots."""

import re
from pathlib import Path

from opensbs.cli import app
from opensbs.report import build_report
from synthetic_run import synthetic_run
from typer.testing import CliRunner


def test_report_is_self_contained_with_the_expected_plots(tmp_path: Path):
    _, summary = synthetic_run(tmp_path)
    html = build_report(tmp_path)
    assert not re.search(r"<(script|link|img)\b", html)  # no external assets
    assert "http" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    for title in ("Intensity by cycle", "% base by cycle", "Q-score distribution",
                  "% ≥ Q30 by cycle", "Error rate by cycle (against truth)", "%PF per tile",
                  "Phasing / prephasing per read", "Flow-cell temperature", "Run timeline"):
        assert f'aria-label="{title}"' in html, title
    assert f"{summary['clusters']:,}" in html
    assert f"{100 * summary['q30_fraction']:.2f} %" in html
    assert "OVER_TEMPERATURE zone 0" in html


def test_report_command_rebuilds_and_reports_missing_summary(tmp_path: Path):
    synthetic_run(tmp_path)
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "report.html").read_text().startswith("<!DOCTYPE html>")
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(app, ["report", str(empty)])
    assert result.exit_code == 2
    assert "summary.json: missing" in result.output

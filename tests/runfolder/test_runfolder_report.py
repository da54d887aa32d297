"""report.html is self-contained and shows the run's numbers and plots."""

import json
import re
from pathlib import Path

from opensbs.cli import app
from opensbs.report import build_report
from synthetic_run import synthetic_run
from typer.testing import CliRunner


def _specs(html: str) -> dict[str, dict]:
    """Each embedded plot specification by its title, and the flow-cell data."""
    specs = {}
    for match in re.finditer(r"<script type='application/json' id='([\w-]+)-spec'>(.*?)</script>",
                             html, re.S):
        spec = json.loads(match.group(2))
        specs[spec["layout"]["title"]["text"] if "layout" in spec else match.group(1)] = spec
    return specs


def test_report_is_self_contained_with_the_sav_table_and_plots(tmp_path: Path):
    _, summary = synthetic_run(tmp_path)
    html = build_report(tmp_path)
    assert not re.search(r"<(link|img|iframe)\b|<script[^>]*\bsrc=", html)  # nothing fetched
    assert html.count("<script>") == 2  # plotly.js inlined once, then the drawing script
    specs = _specs(html)
    for title in ("Corrected intensity by cycle", "Called intensity by cycle", "% base by cycle",
                  "Signal-to-noise by cycle", "Intensity (P90) by cycle", "Focus (FWHM) by cycle",
                  "% ≥ Q30 by cycle", "Q-score heat map by cycle", "Q-score distribution",
                  "Error rate (PhiX) by cycle", "Temperature: set-point vs end of step",
                  "Run timeline"):
        assert title in specs, title
    for spec in specs.values():
        if "layout" in spec and spec["data"][0]["type"] == "scatter" and "cycle" == spec[
                "layout"]["xaxis"]["title"]["text"]:
            assert spec["layout"]["yaxis"]["rangemode"] == "tozero"
    colours = {t["name"]: t["line"]["color"] for title in ("Corrected intensity by cycle",
                                                           "% base by cycle",
                                                           "Focus (FWHM) by cycle")
               for t in specs[title]["data"]}
    assert len(set(colours.values())) == len(colours) == 5  # one colour per base throughout
    flowcell = specs["flowcell"]
    names = [m["name"] for m in flowcell["metrics"]]
    assert {"% PF", "Density", "% ≥ Q30", "Error rate (PhiX)", "FWHM A", "Signal-to-noise"} <= set(
        names)
    q30 = flowcell["metrics"][names.index("% ≥ Q30")]
    assert q30["cycles"] == list(range(1, 15)) and len(q30["z"][0][0]) == 2  # 2 tiles a swath
    table = html[html.index("<table id='sav-summary'>"):]
    table = table[:table.index("</table>")]
    assert table.count("<tr>") == 3  # header and the two reads
    for read in summary["reads"]:
        assert f"{read['yield_bases']:,}" in table
        assert f"{100 * read['error_rate']:.3f} %" in table
    assert f"{summary['clusters']:,}" in html
    assert f"{100 * summary['q30_fraction']:.2f} %" in html
    assert "OVER_TEMPERATURE zone 0" in html
    thermal = {t["name"]: t["y"] for t in specs["Temperature: set-point vs end of step"]["data"]}
    assert thermal == {"step 2 set-point": [60.0] * 14, "step 2 measured": [59.5] * 14}


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
    assert f"opensbs run --resume {empty}" in " ".join(result.output.split())


def test_basecall_on_a_run_without_images_says_what_to_do_instead(tmp_path: Path):
    synthetic_run(tmp_path)
    result = CliRunner().invoke(app, ["basecall", str(tmp_path)])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "recorded without --keep-images" in text
    assert f"opensbs report {tmp_path}" in text and "opensbs run --keep-images" in text


def test_simulate_defaults_are_the_run_recipes_flow_cell():
    import inspect

    from opensbs.cli.simulate import simulate
    from opensbs.recipe import default_recipe_text, parse_recipe

    recipe = parse_recipe(default_recipe_text())
    defaults = {name: p.default for name, p in inspect.signature(simulate).parameters.items()}
    assert (defaults["tiles"], defaults["tile_size"], defaults["cycles"]) == (
        recipe.flowcell.tiles, recipe.flowcell.width_px, recipe.total_cycles)
    assert recipe.flowcell.width_px == recipe.flowcell.height_px

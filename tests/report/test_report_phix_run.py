"""A 30-cycle simulated run, long enough for its reads to align to PhiX: the one truth-free
error figure (live, final, InterOp), every InterOp set read back by Illumina's `interop`, and
report.html rendered in headless Chromium with each plot holding the run's numbers."""

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from opensbs.report.sav import InterOp, read_rows
from opensbs.run import RunProgress, RunRequest, start_run
from opensbs.runfolder import RunFolderLayout

interop = pytest.importorskip("interop")

TINY = Path(__file__).parents[1] / "run" / "tiny_recipe.toml"
CYCLES = 30
LIVE: list[RunProgress] = []


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    recipe = tmp_path_factory.mktemp("recipe") / "thirty.toml"
    recipe.write_text(TINY.read_text().replace("cycles = 8", f"cycles = {CYCLES}"))
    out = tmp_path_factory.mktemp("run") / "run"
    start_run(RunRequest(sim=True, recipe=recipe, out=out, seed=5), LIVE.append)
    return out


def _summary(run: Path) -> dict:
    return json.loads((run / "summary.json").read_text())


def _run_metrics(run: Path):
    from interop import py_interop_run_metrics

    metrics = py_interop_run_metrics.run_metrics()
    metrics.read(str(run))
    return metrics


def test_phix_error_rate_is_one_figure_live_final_and_in_interop(run: Path):
    from interop import py_interop_summary

    summary = _summary(run)
    # reads aligned to PhiX give the error the simulation truth knows, without knowing it
    assert summary["aligned_fraction"] > 0.95
    assert summary["error_rate"] == pytest.approx(summary["sim_truth_error_rate"], rel=0.3,
                                                  abs=5e-5)
    [progress] = LIVE  # the live view ends on the final figures
    assert progress.q30_fraction == summary["q30_fraction"]
    assert progress.error_rate == summary["error_rate"]
    assert progress.truth_error_rate == summary["sim_truth_error_rate"]
    result = py_interop_summary.run_summary()
    py_interop_summary.summarize_run_metrics(_run_metrics(run), result)
    assert result.total_summary().error_rate() / 100 == pytest.approx(summary["error_rate"],
                                                                      rel=1e-5)


def _by_tile_cycle(metric_set) -> dict:
    records = [metric_set.at(i) for i in range(metric_set.size())]
    return {(m.tile(), m.cycle()): m for m in records}


def test_interop_reads_back_every_metric_set_equal_to_ours(run: Path):
    metrics = _run_metrics(run)
    ours = InterOp.read(RunFolderLayout(run))
    extraction = _by_tile_cycle(metrics.extraction_metric_set())
    assert len(extraction) == len(ours.extraction) == 2 * CYCLES
    for rec in ours.extraction:
        theirs = extraction[int(rec["tile"]), int(rec["cycle"])]
        assert [theirs.focus_score(c) for c in range(4)] == pytest.approx(rec["fwhm"].tolist())
        assert [theirs.max_intensity(c) for c in range(4)] == rec["intensity_p90"].tolist()
    corrected = _by_tile_cycle(metrics.corrected_intensity_metric_set())
    for rec in ours.corrected:
        theirs = corrected[int(rec["tile"]), int(rec["cycle"])]
        assert [theirs.corrected_int_all(c) for c in range(4)] == rec["corrected"].tolist()
        assert [theirs.corrected_int_called(b) for b in range(4)] == rec["called"].tolist()
        assert [theirs.called_counts(c) for c in range(-1, 4)] == rec["calls"].tolist()
        assert theirs.signal_to_noise() == pytest.approx(float(rec["snr"]), rel=1e-6)
    assert ours.image is not None
    image = _by_tile_cycle(metrics.image_metric_set())
    for rec in ours.image:
        theirs = image[int(rec["tile"]), int(rec["cycle"])]
        assert [theirs.min_contrast(c) for c in range(4)] == rec["min_contrast"].tolist()
        assert [theirs.max_contrast(c) for c in range(4)] == rec["max_contrast"].tolist()
    errors = _by_tile_cycle(metrics.error_metric_set())
    assert len(errors) == len(ours.error) > 0
    for rec in ours.error:
        theirs = errors[int(rec["tile"]), int(rec["cycle"])]
        assert theirs.error_rate() == pytest.approx(float(rec["error_pct"]), rel=1e-6)
        assert [theirs.mismatch_cluster_count(k) for k in range(5)] == rec[
            "reads_with_errors"].tolist()
    summary = _summary(run)
    run_counts = metrics.summary_run_metric_set().at(0)
    assert run_counts.raw_cluster_count() == summary["clusters"]
    assert run_counts.pf_cluster_count() == summary["clusters_pf"]
    # measured on the images: a 1-px-sigma PSF is 2.35 px wide; spots stand out of the noise
    assert (ours.extraction["fwhm"] > 2.0).all() and (ours.extraction["fwhm"] < 3.0).all()
    # the caller's SNR (called signal over the residual around the called base's signature)
    assert (ours.corrected["snr"] > 3).all()
    assert np.ptp(ours.corrected["snr"]) > 0
    assert (ours.image["max_contrast"] > ours.image["min_contrast"]).all()


def test_called_intensity_is_in_raw_units_per_base(run: Path):
    """Four channels, one per base: a base's called intensity is its channel's signal on the
    clusters called that base, so above the channel's mean over all clusters (a quarter lit)
    and within a few times it; not 1 (normalised units) and not one number for every base."""
    corrected = InterOp.read(RunFolderLayout(run)).corrected
    called = corrected["called"].astype(float)
    channel = corrected["corrected"].astype(float)
    assert (called > 100).all()
    assert (called > channel).all() and (called < 6 * channel).all()
    assert (np.ptp(called, axis=1) > 0).mean() > 0.9  # the bases differ within a tile-cycle
    assert (np.ptp(called, axis=0) > 0).all()  # and each base differs across cycles


def test_sav_summary_rows_equal_interops_run_summary(run: Path):
    from interop import py_interop_summary

    result = py_interop_summary.run_summary()
    py_interop_summary.summarize_run_metrics(_run_metrics(run), result)
    lane = result.at(0).at(0)
    [row] = read_rows(InterOp.read(RunFolderLayout(run)), [(CYCLES, False)])
    assert row["yield_bases"] == pytest.approx(lane.yield_g() * 1e9, rel=1e-6)
    assert row["projected_yield_bases"] == pytest.approx(lane.projected_yield_g() * 1e9, rel=1e-6)
    assert row["error_pct"] == pytest.approx(lane.error_rate().mean(), rel=1e-5)
    assert row["aligned_pct"] == pytest.approx(lane.percent_aligned().mean(), rel=1e-5)
    assert row["intensity_cycle_1"] == pytest.approx(lane.first_cycle_intensity().mean())
    assert row["q30_pct"] == pytest.approx(lane.percent_gt_q30(), rel=1e-5)
    assert row["density_k_per_mm2"] * 1000 == pytest.approx(lane.density().mean(), rel=1e-5)
    # %PF is the run's one figure, PF clusters over all clusters (interop's lane percent_pf
    # is the mean of the tiles' percentages; its reads_pf / reads is this figure)
    assert row["pf_pct"] == pytest.approx(100 * lane.reads_pf() / lane.reads(), rel=1e-9)
    assert row["phasing_pct"] == pytest.approx(lane.phasing().mean(), rel=1e-5)
    assert row["prephasing_pct"] == pytest.approx(lane.prephasing().mean(), rel=1e-5)
    assert (row["reads"], row["reads_pf"]) == (lane.reads(), lane.reads_pf())
    assert row["error_35_pct"] is None and np.isnan(lane.error_rate_35().mean())


def _table(html: str, table_id: str) -> list[list[str]]:
    """The cells of each row of one table of report.html (header cells included)."""
    [body] = re.findall(rf"<table id='{table_id}'>(.*?)</table>", html, re.S)
    return [re.findall(r"<t[hd]>(.*?)</t[hd]>", row) for row in re.findall(r"<tr>(.*?)</tr>", body)]


def test_pf_and_q30_are_one_figure_in_header_sav_row_summary_live_view_and_interop(run: Path):
    from interop import py_interop_summary

    summary = _summary(run)
    html = (run / "report.html").read_text("utf-8")
    header = dict(_table(html, "headline"))
    names, *rows = _table(html, "sav-summary")
    [sav] = [dict(zip(names, row, strict=True)) for row in rows]
    result = py_interop_summary.run_summary()
    py_interop_summary.summarize_run_metrics(_run_metrics(run), result)
    total = result.total_summary()
    pf_pct, q30_pct = 100 * summary["pf_fraction"], 100 * summary["q30_fraction"]
    assert pf_pct == pytest.approx(100 * total.cluster_count_pf() / total.cluster_count(),
                                   rel=1e-12)
    assert q30_pct == pytest.approx(total.percent_gt_q30(), rel=1e-5)
    assert header["% PF"] == sav["% PF"] == f"{pf_pct:.2f} %"
    assert header["% ≥ Q30"] == sav["% ≥ Q30"] == f"{q30_pct:.2f} %"
    [progress] = LIVE  # the live view ends on the same figures
    assert progress.pf_fraction == pytest.approx(summary["pf_fraction"], rel=1e-12)
    assert progress.q30_fraction == summary["q30_fraction"]
    tile_pf = [t["clusters_pf"] / t["clusters"] for t in summary["tiles"]]
    assert min(tile_pf) < summary["pf_fraction"] < max(tile_pf)  # a mix of tiles, not one


# Columns a one-lane, one-surface, one-swath, one-read run holds constant by its layout;
# per-tile figures the table rounds alike for 2 small tiles (1.8 k clusters, 100 % aligned).
CONSTANT_BY_LAYOUT = {"Lane", "Surface", "Swath", "Read"}
PER_TILE_ROUNDED = {"Cluster Count (k)", "Cluster Count Pf (k)", "% Pass Filter", "% Aligned",
                    "Legacy Phasing Rate", "Legacy Prephasing Rate"}


@pytest.mark.filterwarnings("ignore:numpy.core is deprecated:DeprecationWarning")
def test_imaging_table_has_no_zero_or_constant_column_we_could_fill(run: Path):
    from interop import core

    table = core.imaging(str(run))
    no_calls = (InterOp.read(RunFolderLayout(run)).corrected["calls"][:, 0] > 0).any()
    skipped = CONSTANT_BY_LAYOUT | PER_TILE_ROUNDED
    empty = [name for name in table.dtype.names
             if name not in skipped and not (name == "% No Calls" and not no_calls)
             and np.all(table[name] == table[name][0])]
    assert not empty, f"zero or constant columns: {empty}"
    # the rates behind the rounded legacy columns are each tile's own estimate
    ours = InterOp.read(RunFolderLayout(run))
    for code in (200, 201):
        assert len(set(ours.tile_value(code).values())) == 2
    assert len(table) == 2 * CYCLES and len(table.dtype.names) >= 45


class _Plots(HTMLParser):
    """The `data-shown` JSON of every drawn plot in a DOM dump."""

    def __init__(self) -> None:
        super().__init__()
        self.shown: dict[str, dict] = {}
        self.drawn: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "div" and a.get("data-shown"):
            self.shown[a["id"] or ""] = json.loads(a["data-shown"] or "{}")
            if "js-plotly-plot" in (a.get("class") or ""):
                self.drawn.add(a["id"] or "")


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    pytest.skip("chromium is not installed (scripts/install-test-deps.sh installs it)")


def _by_title(plots: dict[str, dict], start: str) -> dict:
    [match] = [p for p in plots.values() if p["title"].startswith(start)]
    return {t["name"]: t for t in match["traces"]}


def _tile_mean_by_cycle(records: np.ndarray, values: np.ndarray) -> np.ndarray:
    return np.array([values[records["cycle"] == c].mean(axis=0)
                     for c in range(1, CYCLES + 1)])


def _render(report: Path, profile: Path, fragment: str = "") -> dict[str, dict]:
    """The plots of `report` drawn by headless Chromium; fails on any console message."""
    result = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", "--enable-logging=stderr",
         "--v=0", "--virtual-time-budget=20000", "--dump-dom", report.as_uri() + fragment],
        capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console  # the report logs nothing: any message is an error
    parser = _Plots()
    parser.feed(result.stdout)
    assert parser.drawn == set(parser.shown)  # each one drawn by plotly
    return parser.shown


def test_report_renders_in_chromium_with_the_runs_numbers(run: Path, tmp_path: Path):
    plots = _render(run / "report.html", tmp_path / "profile")
    assert len(plots) >= 12
    ours = InterOp.read(RunFolderLayout(run))
    corrected = _by_title(plots, "Corrected intensity")
    expected = _tile_mean_by_cycle(ours.corrected, ours.corrected["corrected"].astype(float))
    for i, base in enumerate("ACGT"):
        assert corrected[base]["x"] == list(range(1, CYCLES + 1))
        assert corrected[base]["y"] == pytest.approx(expected[:, i], abs=1e-3)
    fwhm = _by_title(plots, "Focus (FWHM)")
    expected = _tile_mean_by_cycle(ours.extraction, ours.extraction["fwhm"].astype(float))
    assert fwhm["G"]["y"] == pytest.approx(expected[:, 2], abs=1e-3)
    error = _by_title(plots, "Error rate (PhiX)")["error (PhiX)"]
    expected = _tile_mean_by_cycle(ours.error, ours.error["error_pct"].astype(float))
    assert error["y"] == pytest.approx(expected, abs=1e-3)
    heat = _by_title(plots, "Q-score heat map")[""]
    hist = ours.q["hist"][ours.q["cycle"] == 1].sum(axis=0)
    assert [row[0] for row in heat["z"]] == pytest.approx(
        (100 * hist / hist.sum())[: len(heat["z"])], abs=1e-2)
    flowcell = plots["flowcell"]  # first metric drawn: % PF per tile
    summary = _summary(run)
    assert flowcell["title"] == "% PF"
    assert flowcell["traces"][0]["z"][0] == pytest.approx(
        [100 * t["pf_fraction"] for t in summary["tiles"]], abs=1e-3)


def test_flowcell_map_shows_the_chosen_metric_at_the_chosen_cycle(run: Path, tmp_path: Path):
    plots = _render(run / "report.html", tmp_path / "profile", "#metric=FWHM%20C&cycle=12")
    flowcell = plots["flowcell"]
    assert flowcell["title"] == "FWHM C at cycle 12"
    ours = InterOp.read(RunFolderLayout(run)).extraction
    at_12 = ours[ours["cycle"] == 12]
    expected = [float(at_12["fwhm"][at_12["tile"] == t][0, 1]) for t in (1101, 1102)]
    assert flowcell["traces"][0]["z"][0] == pytest.approx(expected, abs=1e-3)

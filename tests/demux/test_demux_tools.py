"""Outside tools read what demultiplexing writes: Illumina's interop reads IndexMetricsOut.bin,
MultiQC's bclconvert module reads Reports/, and the command line reports and fails cleanly."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from opensbs.cli import app
from typer.testing import CliRunner

from .pool_run import POOL, sheet_v2, write_pool_run


@pytest.fixture(scope="module")
def demuxed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("run")
    write_pool_run(root, index_error_rate=0.02)
    (root / "SampleSheet.csv").write_text(sheet_v2())
    result = CliRunner().invoke(app, ["demux", str(root)])
    assert result.exit_code == 0, result.output
    assert "lane 1:" in result.output and "i5 forward" in result.output
    return root


def _stats(root: Path) -> dict[str, int]:
    with (root / "Reports" / "Demultiplex_Stats.csv").open() as handle:
        return {r["SampleID"]: int(r["# Reads"]) for r in csv.DictReader(handle)}


def test_interop_reads_the_index_metrics(demuxed: Path):
    from interop import py_interop_run_metrics

    metrics = py_interop_run_metrics.run_metrics()
    metrics.read(str(demuxed))
    counts: dict[str, int] = {}
    names: dict[str, tuple[str, str, str]] = {}
    index_set = metrics.index_metric_set()
    for k in range(index_set.size()):
        metric = index_set.at(k)
        assert (metric.lane(), metric.read()) == (1, 2)
        for j in range(metric.size()):
            info = metric.indices(j)
            counts[info.sample_id()] = counts.get(info.sample_id(), 0) + info.cluster_count()
            names[info.sample_id()] = (info.index1(), info.index2(), info.sample_proj())
    stats = _stats(demuxed)
    assert counts == {s.sample_id: stats[s.sample_id] for s in POOL}
    assert names["Beta"] == ("GGTTAACC", "CATGCATG", "Proj")
    assert {index_set.at(k).tile() for k in range(index_set.size())} == {1101, 1102}


def test_multiqc_bclconvert_module_reads_the_reports(demuxed: Path, tmp_path: Path):
    pytest.importorskip("multiqc")
    out = tmp_path / "multiqc"
    done = subprocess.run(
        [sys.executable, "-m", "multiqc", str(demuxed / "Reports"), "--module", "bclconvert",
         "--outdir", str(out), "--data-format", "json", "--no-ansi", "--force"],
        capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads((out / "multiqc_data" / "multiqc_data.json").read_text())
    by_sample = data["report_saved_raw_data"]["multiqc_bclconvert_bysample"]
    stats = _stats(demuxed)
    with (demuxed / "Reports" / "Quality_Metrics.csv").open() as handle:
        q30: dict[str, int] = {}
        for row in csv.DictReader(handle):
            q30[row["SampleID"]] = q30.get(row["SampleID"], 0) + int(row["YieldQ30"])
    assert {k: (v["clusters"], v["yield_q30"]) for k, v in by_sample.items()} == {
        s.sample_id: (stats[s.sample_id], q30[s.sample_id]) for s in POOL}
    assert by_sample["Beta"]["index"] == "GGTTAACC-CATGCATG"
    by_lane = data["report_saved_raw_data"]["multiqc_bclconvert_bylane"]
    assert sum(v["clusters"] for v in by_lane.values()) == sum(
        stats[s.sample_id] for s in POOL)


def test_cli_names_a_bad_sheet_and_writes_nothing(tmp_path: Path):
    write_pool_run(tmp_path, clusters=20, tiles=1)
    (tmp_path / "SampleSheet.csv").write_text(sheet_v2().replace("1,Beta,", "1,Alpha,"))
    result = CliRunner().invoke(app, ["demux", str(tmp_path)])
    assert result.exit_code == 2
    assert "SampleSheet.csv:10: Sample_ID: 'Alpha' repeats (line 9)" in result.output
    assert not (tmp_path / "Fastq").exists() and not (tmp_path / "Reports").exists()

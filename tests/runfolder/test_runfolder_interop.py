"""InterOp files: exact record bytes, and Illumina's `interop` reads the numbers of summary.json."""

import struct
from pathlib import Path

import numpy as np
import pytest
from opensbs.runfolder import TileSummary, cycle_tile_metrics, interop_files
from opensbs.runfolder.interop_files import CycleTileMetrics
from synthetic_run import synthetic_run

interop = pytest.importorskip("interop")


def _metric(**kw) -> CycleTileMetrics:
    base = dict(lane=1, tile=1101, cycle=3, fwhm_px=[2.5, 2.0, 1.5, 1.0],
                intensity_p90=[1000, 2000, 3000, 70000], average_intensity=512,
                corrected_intensity=[1, 2, 3, 4], called_intensity=[5, 6, 7, 8],
                calls_nacgt=[9, 10, 11, 12, 13], snr=4.5, q_histogram=[0] * 29 + [7] + [0] * 20,
                timestamp=123456789, error_pct=0.25, reads_with_errors=[1, 2, 3, 4, 5])
    base.update(kw)
    return CycleTileMetrics(**base)  # type: ignore[arg-type]


def test_record_bytes_follow_formats_md():
    tile = TileSummary(1, 1101, clusters=1000, clusters_pf=800, area_mm2=0.5,
                       phasing=[0.001], prephasing=[0.002])
    files = interop_files([tile], [_metric()])
    assert files["TileMetricsOut.bin"] == bytes([2, 10]) + b"".join(
        struct.pack("<HHHf", 1, 1101, code, value) for code, value in
        [(100, 2000.0), (101, 1600.0), (102, 1000.0), (103, 800.0), (200, 0.001), (201, 0.002)])
    assert files["ExtractionMetricsOut.bin"] == bytes([2, 38]) + struct.pack(
        "<HHH4f4HQ", 1, 1101, 3, 2.5, 2.0, 1.5, 1.0, 1000, 2000, 3000, 65535, 123456789)
    assert files["CorrectedIntMetricsOut.bin"] == bytes([2, 48]) + struct.pack(
        "<HHHH4H4H5If", 1, 1101, 3, 512, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 4.5)
    assert files["ErrorMetricsOut.bin"] == bytes([3, 30]) + struct.pack(
        "<HHHf5I", 1, 1101, 3, 0.25, 1, 2, 3, 4, 5)
    assert files["QMetricsOut.bin"] == bytes([4, 206]) + struct.pack(
        "<HHH50I", 1, 1101, 3, *([0] * 29 + [7] + [0] * 20))


def test_no_calls_of_pf_clusters_are_the_n_count_of_corrected_int_metrics():
    bases = np.array([4, 0, 4, 1, 2, 3, 4, 3], np.uint8)  # N is 4, as in the BCLs
    passed = np.array([1, 1, 1, 1, 1, 1, 0, 0], bool)  # the last N is not PF: not counted
    m = cycle_tile_metrics(
        lane=1, tile=1101, cycle=2, bases=bases, qualities=np.full(8, 30), passed=passed,
        mean_intensity=np.full(4, 90.0), p90_intensity=np.full(4, 300.0),
        called_intensity=np.array([250.0, 260.0, 240.0, 255.0]), fwhm_px=np.full(4, 2.4),
        snr=7.2, timestamp=2)
    assert list(m.calls_nacgt) == [2, 1, 1, 1, 1]
    assert list(m.called_intensity) == [250, 260, 240, 255] and m.snr == 7.2


def test_aligned_fraction_is_tile_code_300_per_read():
    tile = TileSummary(1, 1102, 10, 8, 1.0, phasing=[0.0], prephasing=[0.0], aligned=[0.5])
    data = interop_files([tile], [])["TileMetricsOut.bin"]
    assert data.endswith(struct.pack("<HHHf", 1, 1102, 300, 50.0))


def test_error_metrics_file_only_when_truth_is_known():
    files = interop_files([], [_metric(error_pct=None)])
    assert "ErrorMetricsOut.bin" not in files


def test_interop_library_reports_the_numbers_of_our_summary(tmp_path: Path):
    from interop import py_interop_run_metrics, py_interop_summary

    _, summary = synthetic_run(tmp_path)
    run_metrics = py_interop_run_metrics.run_metrics()
    run_metrics.read(str(tmp_path))
    result = py_interop_summary.run_summary()
    py_interop_summary.summarize_run_metrics(run_metrics, result)
    total = result.total_summary()
    assert total.cluster_count() == summary["clusters"] == 400 + 550
    assert total.cluster_count_pf() == summary["clusters_pf"]
    assert total.yield_g() * 1e9 == pytest.approx(summary["yield_bases"], rel=1e-6)
    assert total.percent_gt_q30() / 100 == pytest.approx(summary["q30_fraction"], rel=1e-5)
    assert total.error_rate() / 100 == pytest.approx(summary["error_rate"], rel=1e-5)
    assert 0.0 < summary["q30_fraction"] < 1.0 and summary["error_rate"] > 0.004
    for r, read in enumerate(summary["reads"]):
        lane = result.at(r).at(0)
        assert lane.reads() == summary["clusters"]
        assert lane.reads_pf() == summary["clusters_pf"]
        assert lane.phasing().mean() / 100 == pytest.approx(read["phasing"], rel=1e-5)
        assert lane.prephasing().mean() / 100 == pytest.approx(read["prephasing"], rel=1e-5)
        assert lane.percent_gt_q30() / 100 == pytest.approx(read["q30_fraction"], rel=1e-5)
        assert lane.error_rate().mean() / 100 == pytest.approx(read["error_rate"], rel=1e-5)
        assert lane.yield_g() * 1e9 == pytest.approx(read["yield_bases"], rel=1e-6)
        assert lane.percent_aligned().mean() / 100 == pytest.approx(read["aligned_fraction"],
                                                                    rel=1e-5)


def test_fastq_from_bcls_matches_calls(tmp_path: Path):
    import gzip

    folder, summary = synthetic_run(tmp_path)
    paths = folder.write_fastq()
    assert [p.name for p in paths] == ["Undetermined_S0_L001_R1_001.fastq.gz",
                                       "Undetermined_S0_L001_R2_001.fastq.gz"]
    lines = gzip.decompress(paths[1].read_bytes()).decode().splitlines()
    assert len(lines) == 4 * summary["clusters_pf"]
    bases, quals = folder.read_calls(1101, range(9, 15))
    first_pf = int(np.flatnonzero(folder.read_filter(1101))[0])
    x, y = np.rint(10 * folder.read_locs(1101)[first_pf].astype(float) + 1000).astype(int)
    assert lines[0] == f"@OPENSBS1:1:OSBS0001:1:1101:{x}:{y} 2:N:0:"
    assert lines[1] == "".join("ACGTN"[b] for b in bases[first_pf])
    assert lines[3] == "".join(chr(33 + q) for q in quals[first_pf])

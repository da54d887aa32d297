"""BCL Convert's `Reports/` CSV files and InterOp `IndexMetricsOut.bin` (v1) from `LaneStats`.

Fractions are written as BCL Convert writes them (0..1, not percent). MultiQC's bclconvert
module reads Demultiplex_Stats.csv, Quality_Metrics.csv, Adapter_Metrics.csv and
Top_Unknown_Barcodes.csv with the RunInfo.xml beside them.
"""

from __future__ import annotations

import csv
import io
import struct
from collections.abc import Sequence
from pathlib import Path

from .stats import LaneStats

TOP_UNKNOWN_BARCODES = 1000
INDEX_METRICS_VERSION = 1


def _csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _fraction(part: float, whole: float) -> str:
    return f"{part / whole:.4f}" if whole else "0.0000"


def _names(stats: LaneStats) -> list[tuple[str, str, str, str]]:
    """(SampleID, Sample_Project, index, index2) per group, Undetermined last."""
    return [(s.sample_id, s.project, s.index1, s.index2) for s in stats.samples] + \
        [("Undetermined", "", "", "")]


def demultiplex_stats(lanes: Sequence[LaneStats]) -> str:
    header = ["Lane", "SampleID", "Sample_Project", "Index", "# Reads", "# Perfect Index Reads",
              "# One Mismatch Index Reads", "# Two Mismatch Index Reads", "% Reads",
              "% Perfect Index Reads", "% One Mismatch Index Reads",
              "% Two Mismatch Index Reads"]
    rows: list[list[object]] = []
    for lane in lanes:
        total = int(lane.reads.sum())
        for g, (sample_id, project, i7, i5) in enumerate(_names(lane)):
            reads = int(lane.reads[g])
            mism = [int(v) for v in lane.mismatches[g]]
            undetermined = g == len(lane.samples)
            rows.append([lane.lane, sample_id, project, f"{i7}-{i5}" if i5 else i7, reads,
                         *(mism if not undetermined else (reads, 0, 0)),
                         _fraction(reads, total),
                         *(_fraction(m, reads) for m in (mism if not undetermined
                                                         else (reads, 0, 0)))])
    return _csv(header, rows)


def quality_metrics(lanes: Sequence[LaneStats]) -> str:
    header = ["Lane", "SampleID", "index", "index2", "ReadNumber", "Yield", "YieldQ30",
              "QualityScoreSum", "Mean Quality Score (PF)", "% Q30"]
    rows: list[list[object]] = []
    for lane in lanes:
        for g, (sample_id, _, i7, i5) in enumerate(_names(lane)):
            for label, counts in lane.per_read.items():
                if not label.startswith("R"):
                    continue
                y = int(counts.yield_bases[g])
                qsum = int(counts.quality_sum[g])
                rows.append([lane.lane, sample_id, i7, i5, label[1:], y, int(counts.yield_q30[g]),
                             qsum, f"{qsum / y:.2f}" if y else "0.00",
                             f"{int(counts.yield_q30[g]) / y:.2f}" if y else "0.00"])
    return _csv(header, rows)


def adapter_metrics(lanes: Sequence[LaneStats]) -> str:
    labels = sorted(k for k in (lanes[0].per_read if lanes else {}) if k.startswith("R"))
    header = ["Lane", "Sample_ID", "index", "index2"]
    for label in labels:
        header += [f"{label}_AdapterBases", f"{label}_SampleBases"]
    header.append("# Reads")
    rows: list[list[object]] = []
    for lane in lanes:
        for g, (sample_id, _, i7, i5) in enumerate(_names(lane)):
            row: list[object] = [lane.lane, sample_id, i7, i5]
            for label in labels:
                counts = lane.per_read[label]
                row += [int(counts.adapter_bases[g]), int(counts.sample_bases[g])]
            rows.append([*row, int(lane.reads[g])])
    return _csv(header, rows)


def top_unknown_barcodes(lanes: Sequence[LaneStats]) -> str:
    header = ["Lane", "index", "index2", "# Reads", "% of Unknown Barcodes", "% of All Reads"]
    rows: list[list[object]] = []
    for lane in lanes:
        unknown = sum(lane.unknown.values())
        total = int(lane.reads.sum())
        ranked = sorted(lane.unknown.items(), key=lambda kv: (-kv[1], kv[0]))
        for (i7, i5), count in ranked[:TOP_UNKNOWN_BARCODES]:
            rows.append([lane.lane, i7, i5, count, _fraction(count, unknown),
                         _fraction(count, total)])
    return _csv(header, rows)


def fastq_list(rows: Sequence[tuple[str, str, int, Path, Path | None]]) -> str:
    """fastq_list.csv from (RGID, RGSM, lane, read 1 file, read 2 file or None)."""
    return _csv(["RGID", "RGSM", "RGLB", "Lane", "Read1File", "Read2File"],
                [[rgid, rgsm, "UnknownLibrary", lane, str(r1), "" if r2 is None else str(r2)]
                 for rgid, rgsm, lane, r1, r2 in rows])


def _string(text: str) -> bytes:
    data = text.encode("utf-8")
    return struct.pack("<H", len(data)) + data


def index_metrics(lanes: Sequence[LaneStats], read_number: int) -> bytes:
    """IndexMetricsOut.bin v1: per lane and tile, for each sample with reads, its index name
    (`i7-i5`), the number of PF clusters assigned, sample name and project."""
    out = [bytes([INDEX_METRICS_VERSION])]
    for lane in lanes:
        for tile, counts in sorted(lane.per_tile.items()):
            for sample, count in zip(lane.samples, counts.tolist(), strict=True):
                if not count:
                    continue
                name = f"{sample.index1}-{sample.index2}" if sample.index2 else sample.index1
                out.append(struct.pack("<HHH", lane.lane, tile, read_number) + _string(name) +
                           struct.pack("<I", count) + _string(sample.sample_id) +
                           _string(sample.project))
    return b"".join(out)

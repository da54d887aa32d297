"""Demultiplex a run folder: BCL, filter and locs files -> one FASTQ.gz per sample and read,
with BCL Convert's names and reports.

Everything is written under `<out>/.demux.partial/` first and moved into place (one rename
per file) only when all of it is complete, so a failure leaves the run folder as it was.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..basecall.fastq import read_name_coordinate
from ..runfolder import RunFolderError, RunFolderLayout, decode_bcl, decode_filter, decode_locs
from ..runfolder.atomic import atomic_write_bytes, atomic_write_text, fsync_directory
from ..runfolder.cbcl import decode_cbcl
from .adapters import AdapterPolicy, adapter_starts, apply_adapters
from .barcodes import BarcodeMatcher, encode, letters, reverse_complement
from .errors import DemuxError
from .fastq_out import FastqFiles, fastq_records
from .layout import OutputRead, ReadLayout, read_layout
from .orientation import I5Orientation, i5_orientation
from .reports import (
    adapter_metrics,
    demultiplex_stats,
    fastq_list,
    index_metrics,
    quality_metrics,
    top_unknown_barcodes,
)
from .runinfo import ReadSpec, RunInfo, read_run_info
from .samplesheet import Sample, SampleSheet, read_sample_sheet
from .stats import LaneStats

STAGING = ".demux.partial"
_FASTQ_NAME = re.compile(r"^[A-Za-z0-9_-]+_S\d+_L\d{3}_[RI]\d_001\.fastq\.gz$")


@dataclass(frozen=True)
class DemuxResult:
    out: Path
    fastq: tuple[Path, ...]
    lanes: tuple[LaneStats, ...]
    orientation: I5Orientation
    removed: tuple[Path, ...]  # FASTQs of an earlier run or demultiplexing, replaced


@dataclass(frozen=True)
class _Lane:
    """What demultiplexing one lane needs."""

    run_dir: Path
    run: RunInfo
    number: int
    samples: tuple[Sample, ...]
    layout: ReadLayout
    outputs: tuple[OutputRead, ...]
    matcher: BarcodeMatcher
    sheet: SampleSheet

    def fastq_name(self, group: int, label: str) -> str:
        if group == len(self.samples):
            return f"Undetermined_S0_L{self.number:03d}_{label}_001.fastq.gz"
        s = self.samples[group]
        return f"{s.sample_id}_S{s.number}_L{self.number:03d}_{label}_001.fastq.gz"


def _tiles(run_dir: Path, run: RunInfo) -> dict[int, list[int]]:
    """Lane -> tiles, from RunInfo.xml or, where it lists none, the filter files present."""
    lanes: dict[int, list[int]] = {}
    if run.tiles:
        for lane, tile in run.tiles:
            lanes.setdefault(lane, []).append(tile)
        return lanes
    for path in sorted((run_dir / "Data" / "Intensities" / "BaseCalls").glob("L*/s_*_*.filter")):
        _, lane_text, tile_text = path.stem.split("_")
        lanes.setdefault(int(lane_text), []).append(int(tile_text))
    if not lanes:
        raise RunFolderError(f"{run_dir}: RunInfo.xml lists no tiles and no filter files exist")
    return lanes


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise RunFolderError(f"{path}: missing") from None


def _tile_calls(lane: _Lane, tile: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PF clusters of one tile: (bases, qualities) over the run's cycles, name coordinates."""
    files = RunFolderLayout(lane.run_dir, lane.number)
    passed = decode_filter(_read(files.filter(tile)), str(files.filter(tile)))
    xy = decode_locs(_read(files.locs(tile)), str(files.locs(tile)))
    if len(xy) != len(passed):
        raise RunFolderError(f"{files.locs(tile)}: {len(xy)} clusters, filter has {len(passed)}")
    needed = np.unique(np.concatenate([o.cycles for o in lane.outputs] +
                                      [lane.layout.index1, lane.layout.index2]))
    bases = np.full((int(passed.sum()), lane.run.total_cycles), 4, np.uint8)
    quals = np.full(bases.shape, 2, np.uint8)
    for cycle in needed.tolist():
        b, q = _cycle_calls(files, cycle + 1, tile, passed)
        bases[:, cycle], quals[:, cycle] = b, q
    return bases, quals, read_name_coordinate(xy[passed])


def _cycle_calls(files: RunFolderLayout, cycle: int, tile: int,
                 passed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PF clusters' (bases, qualities) of one tile and cycle: from its BCL file or, in a CBCL
    run, from the tile's block of the surface's CBCL."""
    path = files.bcl(cycle, tile)
    if path.exists() or not files.cbcl(cycle, tile // 1000).exists():
        b, q = decode_bcl(_read(path), str(path))
        if len(b) != len(passed):
            raise RunFolderError(f"{path}: {len(b)} clusters, filter has {len(passed)}")
        return b[passed], q[passed]
    path = files.cbcl(cycle, tile // 1000)
    cbcl = decode_cbcl(_read(path), str(path))
    if tile not in cbcl.tiles:
        raise RunFolderError(f"{path}: no block for tile {tile}")
    b, q = cbcl.tiles[tile]
    stored = int(passed.sum()) if cbcl.pf_excluded else len(passed)
    if len(b) != stored:
        raise RunFolderError(f"{path}: tile {tile} holds {len(b)} clusters, the filter says "
                             f"{stored}")
    return (b, q) if cbcl.pf_excluded else (b[passed], q[passed])


def _name_parts(lane: _Lane, tile: int, coords: np.ndarray, i7: np.ndarray,
                i5: np.ndarray) -> tuple[list[bytes], list[bytes]]:
    """(heads, tails) of the read names: @instrument:run:flowcell:lane:tile:x:y <read>
    :N:0:<observed i7>[+<observed i5>]."""
    run = lane.run
    prefix = f"@{run.instrument}:{run.run_number}:{run.flowcell}:{lane.number}:{tile}:"
    heads = [f"{prefix}{x}:{y} ".encode() for x, y in coords.tolist()]
    if i5.size:
        tails = [b":N:0:" + a + b"+" + b + b"\n" for a, b in zip(i7.tolist(), i5.tolist(),
                                                                 strict=True)]
    else:
        tails = [b":N:0:" + a + b"\n" for a in i7.tolist()]
    return heads, tails


def _grouped(group: np.ndarray, groups: int) -> Iterator[tuple[int, np.ndarray]]:
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(groups + 1))
    for g in range(groups):
        yield g, order[bounds[g]:bounds[g + 1]]


def _demux_tile(lane: _Lane, tile: int, stats: LaneStats, files: FastqFiles,
                staging: Path) -> None:
    bases, quals, coords = _tile_calls(lane, tile)
    i7_codes, i5_codes = bases[:, lane.layout.index1], bases[:, lane.layout.index2]
    assignment = lane.matcher.assign(i7_codes, i5_codes)
    undetermined = len(lane.samples)
    group = np.where(assignment.sample < 0, undetermined, assignment.sample)
    stats.add_assignment(tile, group, assignment.mismatches)
    i7, i5 = letters(i7_codes), letters(i5_codes)
    stats.add_unknown(i7[group == undetermined], i5[group == undetermined])
    heads, tails = _name_parts(lane, tile, coords, i7, i5 if i5_codes.shape[1] else i5[:0])
    settings = lane.sheet.settings
    policy = AdapterPolicy(settings.adapter_behavior, settings.minimum_trimmed_read_length,
                           settings.mask_short_reads)
    for out in lane.outputs:
        b, q = bases[:, out.cycles], quals[:, out.cycles]
        lengths = np.full(len(b), b.shape[1], np.int64)
        if out.label.startswith("R"):
            adapter = settings.adapter_read1 if out.label == "R1" else settings.adapter_read2
            starts = adapter_starts(b, adapter, settings.adapter_stringency,
                                    settings.minimum_adapter_overlap)
            b, q, lengths = apply_adapters(b, q, starts, policy)
            stats.add_read(out.label, group, q, lengths, starts)
        records = fastq_records(heads, out.name_number, tails, b, q, lengths)
        files.append({staging / "Fastq" / lane.fastq_name(g, out.label):
                      b"".join([records[i] for i in idx.tolist()])
                      for g, idx in _grouped(group, undetermined + 1)})


def _lane(run_dir: Path, run: RunInfo, sheet: SampleSheet, layout: ReadLayout, number: int,
          orientation: I5Orientation, index_fastq: bool) -> _Lane:
    samples = tuple(s for s in sheet.samples if s.lane in (number, None))
    i7 = np.array([encode(s.index1) for s in samples], np.uint8).reshape(len(samples), -1)
    i5 = np.array([encode(s.index2) for s in samples], np.uint8).reshape(len(samples), -1)
    if orientation is I5Orientation.REVERSE_COMPLEMENT:
        i5 = reverse_complement(i5)
    matcher = BarcodeMatcher(i7, i5, sheet.settings.mismatches_i7, sheet.settings.mismatches_i5)
    outputs = layout.template + (layout.index_reads if index_fastq else ())
    return _Lane(run_dir, run, number, samples, layout, outputs, matcher, sheet)


def _commit(staging: Path, out: Path) -> tuple[Path, ...]:
    """Move every staged file into `out` (one rename each), then remove the FASTQs with
    BCL Convert names that this demultiplexing did not write (an earlier one's, or the run's
    one-per-read Undetermined files, which would contradict the new ones); returns those."""
    directories = set()
    staged = sorted(p for p in staging.rglob("*") if p.is_file())
    for path in staged:
        target = out / path.relative_to(staging)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        directories.add(target.parent)
    written = {out / p.relative_to(staging) for p in staged}
    stale = tuple(p for p in sorted((out / "Fastq").glob("*_001.fastq.gz"))
                  if _FASTQ_NAME.match(p.name) and p not in written)
    for path in stale:
        path.unlink()
    for directory in directories:
        fsync_directory(directory)
    shutil.rmtree(staging)
    return stale


def demultiplex(run_dir: Path | str, sample_sheet: Path | str, out: Path | str | None = None,
                orientation: I5Orientation | None = None, index_fastq: bool | None = None,
                threads: int | None = None) -> DemuxResult:
    """Demultiplex `run_dir` by `sample_sheet` into `out` (default: the run folder):
    Fastq/, Reports/ and InterOp/IndexMetricsOut.bin."""
    run_dir = Path(run_dir)
    out_dir = Path(out) if out is not None else run_dir
    run = read_run_info(run_dir / "RunInfo.xml")
    sheet = read_sample_sheet(sample_sheet)
    layout = read_layout(sheet, run)
    resolved = i5_orientation(sheet, run, orientation)
    tiles = _tiles(run_dir, run)
    for s in sheet.samples:
        if s.lane is not None and s.lane not in tiles:
            raise sheet.error(s.line, "Lane", f"{s.lane}: the run has lanes {sorted(tiles)}")
    want_index = sheet.settings.create_fastq_for_index_reads if index_fastq is None \
        else index_fastq
    lanes = [_lane(run_dir, run, sheet, layout, n, resolved, want_index) for n in sorted(tiles)]
    staging = out_dir / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    files = FastqFiles(threads)
    try:
        all_stats = []
        for lane in lanes:
            stats = LaneStats.empty(lane.number, lane.samples)
            for g in range(len(lane.samples) + 1):
                for o in lane.outputs:
                    files.open(staging / "Fastq" / lane.fastq_name(g, o.label))
            for tile in tiles[lane.number]:
                _demux_tile(lane, tile, stats, files, staging)
            all_stats.append(stats)
        files.close()
        _write_reports(staging, out_dir, run_dir, run, lanes, all_stats)
        removed = _commit(staging, out_dir)
    except BaseException:
        files.abandon()
        shutil.rmtree(staging, ignore_errors=True)
        raise
    written = tuple(out_dir / "Fastq" / lane.fastq_name(g, o.label) for lane in lanes
                    for g in range(len(lane.samples) + 1) for o in lane.outputs)
    return DemuxResult(out_dir, written, tuple(all_stats), resolved, removed)


def _write_reports(staging: Path, out_dir: Path, run_dir: Path, run: RunInfo,
                   lanes: list[_Lane], stats: list[LaneStats]) -> None:
    reports = staging / "Reports"
    atomic_write_text(reports / "Demultiplex_Stats.csv", demultiplex_stats(stats))
    atomic_write_text(reports / "Quality_Metrics.csv", quality_metrics(stats))
    atomic_write_text(reports / "Adapter_Metrics.csv", adapter_metrics(stats))
    atomic_write_text(reports / "Top_Unknown_Barcodes.csv", top_unknown_barcodes(stats))
    rows = []
    for lane in lanes:
        labels = [o.label for o in lane.layout.template]
        for g, s in enumerate(lane.samples):
            fastq = [(out_dir / "Fastq" / lane.fastq_name(g, label)).resolve()
                     for label in labels[:2]]
            rows.append((f"{s.index1}.{s.index2}.{lane.number}" if s.index2
                         else f"{s.index1}.{lane.number}", s.sample_id, lane.number,
                         fastq[0], fastq[1] if len(fastq) > 1 else None))
    atomic_write_text(reports / "fastq_list.csv", fastq_list(rows))
    shutil.copyfile(run_dir / "RunInfo.xml", reports / "RunInfo.xml")
    index_read = run.index_reads[0].number if run.index_reads else 1
    atomic_write_bytes(staging / "InterOp" / "IndexMetricsOut.bin",
                       index_metrics(stats, index_read))


def check_sample_sheet(sample_sheet: Path | str, reads: Sequence[ReadSpec]) -> SampleSheet:
    """Read a sample sheet and check that it fits a read structure (before a run starts)."""
    sheet = read_sample_sheet(sample_sheet)
    read_layout(sheet, RunInfo("", 0, "", "", tuple(reads), ()))
    return sheet


__all__ = ["DemuxError", "DemuxResult", "check_sample_sheet", "demultiplex"]

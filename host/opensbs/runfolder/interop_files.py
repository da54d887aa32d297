"""InterOp binary metric files (formats.md): byte 0 = version, byte 1 = record size, records.

Records are numpy structured arrays with little-endian fields, so the bytes are exactly the
layout Illumina's InterOp library reads. ImageMetricsOut.bin (v2) adds the channel count to
the header; SummaryRunMetricsOut.bin (v1) has a 4-byte record size and one record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..basecall.metrics import Q_BINS

CHANNEL_SLOTS = 4

TILE_DTYPE = np.dtype([("lane", "<u2"), ("tile", "<u2"), ("code", "<u2"), ("value", "<f4")])
EXTRACTION_DTYPE = np.dtype([
    ("lane", "<u2"), ("tile", "<u2"), ("cycle", "<u2"), ("fwhm", "<f4", 4),
    ("intensity_p90", "<u2", 4), ("timestamp", "<u8")])
CORRECTED_DTYPE = np.dtype([
    ("lane", "<u2"), ("tile", "<u2"), ("cycle", "<u2"), ("average", "<u2"),
    ("corrected", "<u2", 4), ("called", "<u2", 4), ("calls", "<u4", 5), ("snr", "<f4")])
ERROR_DTYPE = np.dtype([
    ("lane", "<u2"), ("tile", "<u2"), ("cycle", "<u2"), ("error_pct", "<f4"),
    ("reads_with_errors", "<u4", 5)])
Q_DTYPE = np.dtype([("lane", "<u2"), ("tile", "<u2"), ("cycle", "<u2"), ("hist", "<u4", Q_BINS)])
SUMMARY_RUN_DTYPE = np.dtype([
    ("reserved", "<i2"), ("occupancy_proxy_clusters", "<f8"), ("raw_clusters", "<f8"),
    ("occupied_clusters", "<f8"), ("pf_clusters", "<f8")])


def image_dtype(channels: int) -> np.dtype:
    """ImageMetrics v2 record: lane, tile, cycle, then per channel min and max contrast."""
    return np.dtype([("lane", "<u2"), ("tile", "<u2"), ("cycle", "<u2"),
                     ("min_contrast", "<u2", channels), ("max_contrast", "<u2", channels)])


TILE_FILE = ("TileMetricsOut.bin", 2, TILE_DTYPE)
EXTRACTION_FILE = ("ExtractionMetricsOut.bin", 2, EXTRACTION_DTYPE)
CORRECTED_FILE = ("CorrectedIntMetricsOut.bin", 2, CORRECTED_DTYPE)
ERROR_FILE = ("ErrorMetricsOut.bin", 3, ERROR_DTYPE)
Q_FILE = ("QMetricsOut.bin", 4, Q_DTYPE)
IMAGE_FILE_NAME, IMAGE_VERSION = "ImageMetricsOut.bin", 2
SUMMARY_RUN_FILE_NAME, SUMMARY_RUN_VERSION = "SummaryRunMetricsOut.bin", 1

CODE_DENSITY = 100
CODE_DENSITY_PF = 101
CODE_CLUSTERS = 102
CODE_CLUSTERS_PF = 103


@dataclass(frozen=True)
class TileSummary:
    """Per-tile numbers for TileMetricsOut.bin: phasing/prephasing as fractions per cycle, and
    the fraction of PF clusters aligned (to the truth or a control), per read."""

    lane: int
    tile: int
    clusters: int
    clusters_pf: int
    area_mm2: float
    phasing: Sequence[float] = ()
    prephasing: Sequence[float] = ()
    aligned: Sequence[float | None] = ()  # None: not aligned (index read)


@dataclass(frozen=True)
class CycleTileMetrics:
    """Per tile and cycle: extraction, corrected intensity, Q histogram and error metrics."""

    lane: int
    tile: int
    cycle: int
    fwhm_px: Sequence[float]
    intensity_p90: Sequence[int]
    average_intensity: int
    corrected_intensity: Sequence[int]
    called_intensity: Sequence[int]
    calls_nacgt: Sequence[int]
    snr: float
    q_histogram: Sequence[int]
    timestamp: int = 0
    min_contrast: Sequence[int] = ()  # per channel; empty: images not measured
    max_contrast: Sequence[int] = ()
    error_pct: float | None = None
    reads_with_errors: Sequence[int] = field(default_factory=lambda: (0, 0, 0, 0, 0))


def encode_metric_file(version: int, records: np.ndarray) -> bytes:
    """Header (version, record size) followed by the records' bytes."""
    return bytes([version, records.dtype.itemsize]) + records.tobytes()


def decode_metric_file(data: bytes, version: int, dtype: np.dtype) -> np.ndarray:
    """Records from an InterOp file written by `encode_metric_file` (checks header and size)."""
    if len(data) < 2 or data[0] != version or data[1] != dtype.itemsize:
        raise ValueError(f"expected InterOp version {version}, record size {dtype.itemsize}; "
                         f"found {tuple(data[:2])}")
    if (len(data) - 2) % dtype.itemsize:
        raise ValueError(f"{len(data) - 2} record bytes is not a multiple of {dtype.itemsize}")
    return np.frombuffer(data, dtype, offset=2)


def _pad(values: Sequence[float] | Sequence[int], n: int = CHANNEL_SLOTS) -> list:
    out = list(values)[:n]
    return out + [0] * (n - len(out))


def _u16(value: float) -> int:
    return int(min(max(round(value), 0), 0xFFFF))


def tile_records(tiles: Sequence[TileSummary]) -> np.ndarray:
    """TileMetrics v2 records: density, PF density, counts, then phasing/prephasing per read."""
    rows: list[tuple[int, int, int, float]] = []
    for t in tiles:
        rows += [(t.lane, t.tile, CODE_DENSITY, t.clusters / t.area_mm2),
                 (t.lane, t.tile, CODE_DENSITY_PF, t.clusters_pf / t.area_mm2),
                 (t.lane, t.tile, CODE_CLUSTERS, t.clusters),
                 (t.lane, t.tile, CODE_CLUSTERS_PF, t.clusters_pf)]
        for read, (ph, pre) in enumerate(zip(t.phasing, t.prephasing, strict=True)):
            rows += [(t.lane, t.tile, 200 + 2 * read, ph), (t.lane, t.tile, 201 + 2 * read, pre)]
        rows += [(t.lane, t.tile, 300 + read, 100.0 * fraction)
                 for read, fraction in enumerate(t.aligned) if fraction is not None]
    return np.array(rows, dtype=TILE_DTYPE)


def extraction_records(metrics: Sequence[CycleTileMetrics]) -> np.ndarray:
    rows = [(m.lane, m.tile, m.cycle, _pad(m.fwhm_px), [_u16(v) for v in _pad(m.intensity_p90)],
             m.timestamp) for m in metrics]
    return np.array(rows, dtype=EXTRACTION_DTYPE)


def corrected_records(metrics: Sequence[CycleTileMetrics]) -> np.ndarray:
    rows = [(m.lane, m.tile, m.cycle, _u16(m.average_intensity),
             [_u16(v) for v in _pad(m.corrected_intensity)],
             [_u16(v) for v in _pad(m.called_intensity)], list(m.calls_nacgt), m.snr)
            for m in metrics]
    return np.array(rows, dtype=CORRECTED_DTYPE)


def q_records(metrics: Sequence[CycleTileMetrics]) -> np.ndarray:
    rows = [(m.lane, m.tile, m.cycle, list(m.q_histogram)) for m in metrics]
    return np.array(rows, dtype=Q_DTYPE)


def error_records(metrics: Sequence[CycleTileMetrics]) -> np.ndarray:
    rows = [(m.lane, m.tile, m.cycle, m.error_pct, list(m.reads_with_errors))
            for m in metrics if m.error_pct is not None]
    return np.array(rows, dtype=ERROR_DTYPE)


def image_file(metrics: Sequence[CycleTileMetrics]) -> bytes | None:
    """ImageMetricsOut.bin v2 (None when no cycle's images were measured)."""
    measured = [m for m in metrics if m.min_contrast]
    if not measured:
        return None
    channels = len(measured[0].min_contrast)
    rows = [(m.lane, m.tile, m.cycle, [_u16(v) for v in m.min_contrast],
             [_u16(v) for v in m.max_contrast]) for m in measured]
    records = np.array(rows, dtype=image_dtype(channels))
    return bytes([IMAGE_VERSION, records.dtype.itemsize, channels]) + records.tobytes()


def decode_image_file(data: bytes) -> np.ndarray:
    """Records of an ImageMetricsOut.bin written by `image_file`."""
    if len(data) < 3 or data[0] != IMAGE_VERSION:
        raise ValueError(f"expected ImageMetrics version {IMAGE_VERSION}, found {tuple(data[:1])}")
    dtype = image_dtype(data[2])
    if data[1] != dtype.itemsize or (len(data) - 3) % dtype.itemsize:
        raise ValueError(f"ImageMetrics record size {data[1]} does not fit {data[2]} channels")
    return np.frombuffer(data, dtype, offset=3)


def summary_run_file(tiles: Sequence[TileSummary]) -> bytes:
    """SummaryRunMetricsOut.bin v1: raw and PF cluster counts of the run (no wells: the occupied
    and occupancy-proxy counts equal the raw count)."""
    raw = float(sum(t.clusters for t in tiles))
    record = np.array([(0, raw, raw, raw, float(sum(t.clusters_pf for t in tiles)))],
                      dtype=SUMMARY_RUN_DTYPE)
    return (bytes([SUMMARY_RUN_VERSION]) + SUMMARY_RUN_DTYPE.itemsize.to_bytes(4, "little")
            + record.tobytes())


def interop_files(tiles: Sequence[TileSummary],
                  metrics: Sequence[CycleTileMetrics]) -> dict[str, bytes]:
    """File name -> bytes for every InterOp file (ErrorMetrics only when errors are known,
    ImageMetrics only when images were measured)."""
    ordered = sorted(metrics, key=lambda m: (m.lane, m.tile, m.cycle))
    files = {
        TILE_FILE[0]: encode_metric_file(TILE_FILE[1], tile_records(tiles)),
        EXTRACTION_FILE[0]: encode_metric_file(EXTRACTION_FILE[1], extraction_records(ordered)),
        CORRECTED_FILE[0]: encode_metric_file(CORRECTED_FILE[1], corrected_records(ordered)),
        Q_FILE[0]: encode_metric_file(Q_FILE[1], q_records(ordered)),
        SUMMARY_RUN_FILE_NAME: summary_run_file(tiles),
    }
    images = image_file(ordered)
    if images is not None:
        files[IMAGE_FILE_NAME] = images
    errors = error_records(ordered)
    if errors.size:
        files[ERROR_FILE[0]] = encode_metric_file(ERROR_FILE[1], errors)
    return files

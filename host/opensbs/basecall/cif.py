"""Illumina CIF cluster intensity files (formats.md), read and written exactly.

Layout: the 3 bytes ``CIF``, u8 version (1), u8 data size (bytes per value: 1, 2 or 4), u16
first cycle, u16 number of cycles, u32 number of clusters; then signed little-endian integers
of that size ordered cycle, then channel (A, C, G, T), then cluster (cluster index fastest).
Values are intensities rounded to integers. Arrays here are (clusters, cycles, 4) like every
intensity array of the base caller.
"""

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import CifFormatError, ShapeError

MAGIC = b"CIF"
VERSION = 1
HEADER = struct.Struct("<3sBBHHI")
CHANNELS = 4
_DTYPES: dict[int, str] = {1: "<i1", 2: "<i2", 4: "<i4"}


@dataclass(frozen=True)
class CifData:
    """Intensities (clusters, cycles, 4) int and the first cycle they belong to."""

    first_cycle: int
    intensities: np.ndarray


def encode_cif(intensities: np.ndarray, first_cycle: int = 1, data_size: int | None = None
               ) -> bytes:
    """CIF bytes of (clusters, cycles, 4) intensities, rounded to integers.

    ``data_size`` None picks the smallest of 1, 2, 4 bytes that holds every value; a value that
    does not fit the requested size raises ``CifFormatError`` (nothing is clipped).
    """
    values = np.asarray(intensities)
    if values.ndim != 3 or values.shape[2] != CHANNELS:
        raise ShapeError(f"CIF intensities must be (clusters, cycles, 4), got {values.shape}")
    if not np.all(np.isfinite(values)):
        raise CifFormatError("CIF intensities must be finite")
    n_clusters, n_cycles, _ = values.shape
    if not (0 <= first_cycle <= 0xFFFF and n_cycles <= 0xFFFF and n_clusters <= 0xFFFFFFFF):
        raise CifFormatError(f"first cycle {first_cycle} / {n_cycles} cycles out of u16 range")
    rounded = np.rint(values).astype(np.int64)
    size = data_size or next((s for s in (1, 2, 4) if _fits(rounded, s)), 0)
    if size not in _DTYPES:
        raise CifFormatError(f"CIF data size must be 1, 2 or 4 (values up to {rounded.max()})")
    if not _fits(rounded, size):
        raise CifFormatError(f"intensities in [{rounded.min()}, {rounded.max()}] do not fit "
                             f"{size}-byte signed integers")
    header = HEADER.pack(MAGIC, VERSION, size, first_cycle, n_cycles, n_clusters)
    body = rounded.transpose(1, 2, 0).astype(_DTYPES[size]).tobytes()
    return header + body


def decode_cif(data: bytes) -> CifData:
    """Parse CIF bytes; wrong magic, version, data size or length raise ``CifFormatError``."""
    if len(data) < HEADER.size:
        raise CifFormatError(f"CIF header needs {HEADER.size} bytes, got {len(data)}")
    magic, version, size, first_cycle, n_cycles, n_clusters = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise CifFormatError(f"not a CIF file: magic {magic!r}")
    if version != VERSION:
        raise CifFormatError(f"unsupported CIF version {version}")
    if size not in _DTYPES:
        raise CifFormatError(f"CIF data size must be 1, 2 or 4, got {size}")
    expected = HEADER.size + size * n_cycles * CHANNELS * n_clusters
    if len(data) != expected:
        raise CifFormatError(f"CIF length {len(data)} bytes, header says {expected} "
                             f"({n_clusters} clusters x {n_cycles} cycles x {size} bytes)")
    body = np.frombuffer(data, dtype=_DTYPES[size], offset=HEADER.size)
    values = body.reshape(n_cycles, CHANNELS, n_clusters).transpose(2, 0, 1)
    return CifData(first_cycle, values.astype(np.int32))


def write_cif(path: Path | str, intensities: np.ndarray, first_cycle: int = 1,
              data_size: int | None = None) -> None:
    """Write a CIF file (see ``encode_cif``)."""
    Path(path).write_bytes(encode_cif(intensities, first_cycle, data_size))


def read_cif(path: Path | str) -> CifData:
    """Read a CIF file (see ``decode_cif``)."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise CifFormatError(f"CIF file not found: {path}") from None
    return decode_cif(data)


def _fits(values: np.ndarray, size: int) -> bool:
    info = np.iinfo(_DTYPES[size])
    return values.size == 0 or (int(values.min()) >= info.min and int(values.max()) <= info.max)


def stack_cif(blocks: list[CifData]) -> np.ndarray:
    """(clusters, cycles, 4) from CIF blocks: they must start at cycle 1, follow each other
    without gap or overlap and hold the same clusters."""
    if not blocks:
        raise CifFormatError("no CIF files given")
    ordered = sorted(blocks, key=lambda block: block.first_cycle)
    expected = 1
    clusters = ordered[0].intensities.shape[0]
    for block in ordered:
        if block.first_cycle != expected:
            raise CifFormatError(f"CIF cycles must start at 1 and be contiguous: expected cycle "
                                 f"{expected}, got {block.first_cycle}")
        if block.intensities.shape[0] != clusters:
            raise CifFormatError(f"CIF files disagree in cluster count: {clusters} and "
                                 f"{block.intensities.shape[0]} (cycle {block.first_cycle})")
        expected += block.intensities.shape[1]
    return np.concatenate([block.intensities for block in ordered], axis=1)

"""BCL, filter and locs files (formats.md): encode to exact bytes and decode with checks.

Bases are coded A=0, C=1, G=2, T=3 and N=4 in arrays; in a BCL byte bits 0-1 hold the base and
bits 2-7 the quality, and a zero byte is a no-call.
"""

from __future__ import annotations

import numpy as np

from .errors import RunFolderError

BASE_N = 4
BASES = np.frombuffer(b"ACGTN", dtype=np.uint8)
MAX_BCL_QUALITY = 63
MIN_CALL_QUALITY = 2
_FILTER_VERSION = 3


def _header_u32(data: bytes, what: str, offset: int = 0) -> int:
    if len(data) < offset + 4:
        raise RunFolderError(f"{what}: truncated header ({len(data)} bytes)")
    return int(np.frombuffer(data, "<u4", 1, offset)[0])


def encode_bcl(bases: np.ndarray, qualities: np.ndarray) -> bytes:
    """BCL bytes for one tile and cycle: u32 count, then (quality << 2 | base) per cluster."""
    bases = np.asarray(bases, dtype=np.uint8)
    qualities = np.asarray(qualities, dtype=np.uint8)
    if bases.shape != qualities.shape or bases.ndim != 1:
        raise ValueError(f"bases {bases.shape} and qualities {qualities.shape} must be equal 1-D")
    if bases.size and int(bases.max()) > BASE_N:
        raise ValueError(f"base codes must be 0..4, found {int(bases.max())}")
    called = bases != BASE_N
    if called.any():
        q = qualities[called]
        if int(q.min()) < MIN_CALL_QUALITY or int(q.max()) > MAX_BCL_QUALITY:
            raise ValueError(f"call qualities must be {MIN_CALL_QUALITY}..{MAX_BCL_QUALITY}, "
                             f"found {int(q.min())}..{int(q.max())}")
    body = np.where(called, (qualities << 2) | (bases & 3), 0).astype(np.uint8)
    return np.uint32(bases.size).tobytes() + body.tobytes()


def decode_bcl(data: bytes, what: str = "BCL") -> tuple[np.ndarray, np.ndarray]:
    """(bases 0..4, qualities) from BCL bytes; a zero byte decodes to N with quality 2."""
    count = _header_u32(data, what)
    if len(data) != 4 + count:
        raise RunFolderError(f"{what}: header says {count} clusters, file holds {len(data) - 4}")
    body = np.frombuffer(data, np.uint8, count, 4)
    no_call = body == 0
    bases = np.where(no_call, BASE_N, body & 3).astype(np.uint8)
    qualities = np.where(no_call, MIN_CALL_QUALITY, body >> 2).astype(np.uint8)
    return bases, qualities


def encode_filter(passed: np.ndarray) -> bytes:
    """Filter file bytes: u32 0, u32 version 3, u32 count, one byte per cluster (1 = PF)."""
    passed = np.asarray(passed, dtype=bool)
    header = np.array([0, _FILTER_VERSION, passed.size], dtype="<u4").tobytes()
    return header + passed.astype(np.uint8).tobytes()


def decode_filter(data: bytes, what: str = "filter") -> np.ndarray:
    """Boolean PF flag per cluster from filter-file bytes."""
    zero, version, count = (_header_u32(data, what, o) for o in (0, 4, 8))
    if zero != 0 or version != _FILTER_VERSION:
        raise RunFolderError(f"{what}: expected header 0, version 3; found {zero}, {version}")
    if len(data) != 12 + count:
        raise RunFolderError(f"{what}: header says {count} clusters, file holds {len(data) - 12}")
    return np.frombuffer(data, np.uint8, count, 12).astype(bool)


def encode_locs(xy_px: np.ndarray) -> bytes:
    """locs bytes: u32 1, f32 1.0, u32 count, then (f32 x, f32 y) per cluster."""
    xy = np.asarray(xy_px, dtype="<f4")
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"cluster positions must be (n, 2), got {xy.shape}")
    header = np.uint32(1).tobytes() + np.float32(1.0).tobytes() + np.uint32(len(xy)).tobytes()
    return header + np.ascontiguousarray(xy).tobytes()


def decode_locs(data: bytes, what: str = "locs") -> np.ndarray:
    """(n, 2) float32 x, y pixel positions from locs bytes."""
    if len(data) < 12 or _header_u32(data, what) != 1 or data[4:8] != np.float32(1).tobytes():
        raise RunFolderError(f"{what}: bad header (expected u32 1, f32 1.0)")
    count = _header_u32(data, what, 8)
    if len(data) != 12 + 8 * count:
        raise RunFolderError(f"{what}: header says {count} clusters, file has {len(data) - 12} "
                             "bytes of positions")
    return np.frombuffer(data, "<f4", 2 * count, 12).reshape(count, 2).copy()

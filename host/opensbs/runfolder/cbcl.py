"""CBCL files (NovaSeq-style): one file per lane, surface and cycle holding all its tiles.

Layout (formats.md): u16 version 1, u32 header size, u8 bits per base call (2), u8 bits per
quality (2), u32 number of quality bins and that many (from, to) u32 pairs, u32 tile count and
per tile (u32 tile, u32 clusters, u32 uncompressed bytes, u32 compressed bytes), u8 "non-PF
clusters excluded"; then one gzip block per tile in header order, two clusters per byte (the
first in the low nibble): bits 0-1 the base, bits 2-3 the quality bin.

A nibble of 0 is a no-call (Picard, bcl2fastq and BCL Convert read it as N with Q2), so bin 0
is kept for no-calls and called bases go to bins 1-3: Q < 20 -> 12, 20-29 -> 23, >= 30 -> 37
(the NovaSeq 6000 values). Non-PF clusters are left out, as the NovaSeq 6000 writes them; the
tile's filter file says which clusters are stored.
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .basecall_files import BASE_N
from .errors import RunFolderError

CBCL_VERSION = 1
# (from, to): reported quality `to` for the bin; bin 0 holds no-calls only
CBCL_BINS = ((0, 2), (2, 12), (20, 23), (30, 37))
_BIN_FLOORS = np.array([low for low, _ in CBCL_BINS[1:]])
_BIN_VALUES = np.array([value for _, value in CBCL_BINS], dtype=np.uint8)


@dataclass(frozen=True)
class CbclTile:
    """One tile's calls of one cycle: every cluster's base (0..4, 4 = N), quality and PF."""

    tile: int
    bases: np.ndarray
    qualities: np.ndarray
    passed: np.ndarray


def quality_bins(bases: np.ndarray, qualities: np.ndarray) -> np.ndarray:
    """The CBCL bin index of each call: 0 for a no-call, 1..3 for a called base."""
    q = np.asarray(qualities)
    called_bin = np.searchsorted(_BIN_FLOORS, q, side="right").astype(np.uint8)
    return np.where(np.asarray(bases) == BASE_N, 0, np.maximum(called_bin, 1)).astype(np.uint8)


def binned_qualities(bases: np.ndarray, qualities: np.ndarray) -> np.ndarray:
    """The qualities a CBCL reader reports for these calls (2 for N, else 12, 23 or 37)."""
    return _BIN_VALUES[quality_bins(bases, qualities)]


def _tile_block(tile: CbclTile) -> tuple[bytes, int, int]:
    """(gzip block, clusters stored, uncompressed bytes) of the PF clusters of one tile."""
    keep = np.asarray(tile.passed, bool)
    bases = np.asarray(tile.bases, np.uint8)[keep]
    bins = quality_bins(bases, np.asarray(tile.qualities)[keep])
    nibbles = np.where(bases == BASE_N, 0, (bins << 2) | (bases & 3)).astype(np.uint8)
    if nibbles.size % 2:
        nibbles = np.append(nibbles, np.uint8(0))
    packed = (nibbles[0::2] | (nibbles[1::2] << 4)).astype(np.uint8).tobytes()
    return gzip.compress(packed, mtime=0), int(keep.sum()), len(packed)


def encode_cbcl(tiles: Sequence[CbclTile]) -> bytes:
    """The CBCL bytes of one lane, surface and cycle (non-PF clusters excluded)."""
    for t in tiles:
        if not (len(t.bases) == len(t.qualities) == len(t.passed)):
            raise ValueError(f"tile {t.tile}: bases, qualities and PF flags differ in length")
    blocks = [_tile_block(t) for t in tiles]
    bins = b"".join(struct.pack("<II", low, value) for low, value in CBCL_BINS)
    records = b"".join(struct.pack("<IIII", t.tile, stored, size, len(block))
                       for t, (block, stored, size) in zip(tiles, blocks, strict=True))
    body = (struct.pack("<BBI", 2, 2, len(CBCL_BINS)) + bins + struct.pack("<I", len(tiles))
            + records + b"\x01")
    header = struct.pack("<HI", CBCL_VERSION, 6 + len(body)) + body
    return header + b"".join(block for block, _, _ in blocks)


@dataclass(frozen=True)
class CbclFile:
    """A decoded CBCL: its quality bins and, per tile, the stored clusters' calls."""

    bins: tuple[tuple[int, int], ...]
    pf_excluded: bool
    tiles: dict[int, tuple[np.ndarray, np.ndarray]]  # tile: (bases 0..4, qualities)


def decode_cbcl(data: bytes, what: str = "CBCL") -> CbclFile:
    """Read CBCL bytes back (checks every size the header declares)."""
    try:
        version, header_size, base_bits, quality_bits, n_bins = struct.unpack_from(
            "<HIBBI", data, 0)
        if version != CBCL_VERSION or base_bits != 2 or quality_bits != 2:
            raise RunFolderError(f"{what}: version {version}, {base_bits}/{quality_bits} bits "
                                 "per base/quality; expected version 1, 2/2")
        offset = 12
        bins = tuple(struct.unpack_from("<II", data, offset + 8 * i) for i in range(n_bins))
        offset += 8 * n_bins
        (n_tiles,) = struct.unpack_from("<I", data, offset)
        offset += 4
        records = [struct.unpack_from("<IIII", data, offset + 16 * i) for i in range(n_tiles)]
        offset += 16 * n_tiles
        pf_excluded = data[offset] == 1
    except struct.error:
        raise RunFolderError(f"{what}: truncated header") from None
    if offset + 1 != header_size:
        raise RunFolderError(f"{what}: header size {header_size}, fields end at {offset + 1}")
    values = np.array([value for _, value in bins], dtype=np.uint8)
    tiles, position = {}, header_size
    for tile, clusters, size, compressed in records:
        block = data[position:position + compressed]
        position += compressed
        try:
            packed = np.frombuffer(gzip.decompress(block), np.uint8)
        except (OSError, EOFError) as exc:
            raise RunFolderError(f"{what}: tile {tile}: bad gzip block ({exc})") from None
        if packed.size != size or size != (clusters + 1) // 2:
            raise RunFolderError(f"{what}: tile {tile}: {packed.size} bytes for {clusters} "
                                 f"clusters (header says {size})")
        nibbles = np.stack([packed & 15, packed >> 4], axis=1).reshape(-1)[:clusters]
        no_call = nibbles == 0
        tiles[tile] = (np.where(no_call, BASE_N, nibbles & 3).astype(np.uint8),
                       np.where(no_call, 2, values[nibbles >> 2]).astype(np.uint8))
    if position != len(data):
        raise RunFolderError(f"{what}: {len(data) - position} bytes after the last tile block")
    return CbclFile(bins, pf_excluded, tiles)

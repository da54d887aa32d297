"""Adapter read-through: where each read runs past its insert into the adapter, and trimming
or masking from there (BCL Convert's `AdapterBehavior`, `MinimumTrimmedReadLength`,
`MaskShortReads`).

A read holds the adapter from position p when the adapter's first `SEED_BP` bases (fewer
where the read ends first, at least `MinimumAdapterOverlap`: 1-3, default 1) appear exactly at
p and the whole overlap of read and adapter from p matches at a rate of at least the
stringency (0.9, bcl2fastq's `--adapter-stringency`); the first such p is taken. The seed
search runs over all reads and positions at once; only seed hits are checked in full.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .barcodes import encode

SEED_BP = 8
BASE_N = 4
NO_CALL_QUALITY = 2


def _seed_hits(bases: np.ndarray, seed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(read, position) where `seed` occurs exactly: the first two bases compared over all
    positions at once, the rest only at the (few) positions that still match."""
    width = bases.shape[1] - len(seed) + 1
    hit = bases[:, :width] == seed[0]
    if len(seed) > 1:
        hit &= bases[:, 1:width + 1] == seed[1]
    read, position = np.nonzero(hit)
    for j in range(2, len(seed)):
        keep = bases[read, position + j] == seed[j]
        read, position = read[keep], position[keep]
    return read, position


def _candidates(bases: np.ndarray, adapter: np.ndarray,
                min_overlap: int) -> tuple[np.ndarray, np.ndarray]:
    """(read, position) pairs where the adapter's seed matches exactly, in read then position
    order."""
    length = bases.shape[1]
    reads, positions = [], []
    seed = min(SEED_BP, len(adapter))
    if length >= seed:
        r, p = _seed_hits(bases, adapter[:seed])
        reads.append(r)
        positions.append(p)
    for overlap in range(min(seed - 1, length), min_overlap - 1, -1):  # the read's last bases
        r = np.flatnonzero((bases[:, length - overlap:] == adapter[:overlap]).all(axis=1))
        reads.append(r)
        positions.append(np.full(len(r), length - overlap))
    read = np.concatenate(reads) if reads else np.zeros(0, np.int64)
    position = np.concatenate(positions) if positions else np.zeros(0, np.int64)
    order = np.lexsort((position, read))
    return read[order], position[order]


def adapter_starts(bases: np.ndarray, adapter: str, stringency: float = 0.9,
                   min_overlap: int = 1) -> np.ndarray:
    """Per read, the first position holding the adapter (the read length where none)."""
    n, length = bases.shape
    starts = np.full(n, length, np.int64)
    if not adapter or n == 0:
        return starts
    codes = encode(adapter)
    read, position = _candidates(bases, codes, min_overlap)
    if not len(read):
        return starts
    offsets = np.arange(len(codes))
    cycle = position[:, None] + offsets[None, :]
    inside = cycle < length
    observed = bases[read[:, None], np.minimum(cycle, length - 1)]
    matches = ((observed == codes[None, :]) & inside).sum(axis=1)
    overlap = inside.sum(axis=1)
    good = matches >= stringency * overlap
    read, position = read[good], position[good]
    first = np.unique(read, return_index=True)[1]
    starts[read[first]] = position[first]
    return starts


@dataclass(frozen=True)
class AdapterPolicy:
    behavior: str  # "trim" or "mask"
    minimum_trimmed_read_length: int
    mask_short_reads: int


def apply_adapters(bases: np.ndarray, qualities: np.ndarray, starts: np.ndarray,
                   policy: AdapterPolicy) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bases, qualities, lengths) after trimming or masking from `starts`: adapter bases become
    N (quality 2); a trimmed read keeps at least `minimum_trimmed_read_length` bases (N-padded);
    a read with fewer than `mask_short_reads` bases before the adapter is N throughout."""
    length = bases.shape[1]
    position = np.arange(length)[None, :]
    short = (starts < length) & (starts < policy.mask_short_reads)
    masked = (position >= starts[:, None]) | short[:, None]
    out_bases = np.where(masked, BASE_N, bases).astype(np.uint8)
    out_quals = np.where(masked, NO_CALL_QUALITY, qualities).astype(np.uint8)
    if policy.behavior == "mask":
        lengths = np.full(len(starts), length, np.int64)
    else:
        lengths = np.clip(starts, min(policy.minimum_trimmed_read_length, length), length)
    return out_bases, out_quals, lengths

"""Index matching with numpy: Hamming distances of the observed index reads to each sample.

Bases are codes A=0, C=1, G=2, T=3, N=4 (as the BCL reader gives them); an N in a read always
counts as a mismatch. Observed barcodes repeat massively (most reads carry a perfect index), so
distances are computed once per distinct barcode and mapped back to the reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BASE_CODES = {"A": 0, "C": 1, "G": 2, "T": 3, "N": 4}
LETTERS = np.frombuffer(b"ACGTN", dtype=np.uint8)
_COMPLEMENT = np.array([3, 2, 1, 0, 4], dtype=np.uint8)
_CHUNK_BARCODES = 8192
_PACKED_MAX_BASES = 21  # 3 bits a base in a uint64


def encode(sequence: str) -> np.ndarray:
    """uint8 codes of an index written with A, C, G, T, N."""
    return np.array([BASE_CODES[b] for b in sequence], dtype=np.uint8)


def reverse_complement(codes: np.ndarray) -> np.ndarray:
    return _COMPLEMENT[codes[..., ::-1]]


def letters(codes: np.ndarray) -> np.ndarray:
    """(n,) fixed-width bytes strings of (n, length) base codes."""
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    return LETTERS[codes].view(f"S{max(codes.shape[1], 1)}").ravel() if codes.shape[1] else \
        np.full(codes.shape[0], b"", dtype="S1")


def hamming(observed: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """(n, s) mismatch counts of n observed (n, L) barcodes against s expected (s, L) ones."""
    if observed.shape[1] == 0:
        return np.zeros((observed.shape[0], expected.shape[0]), np.int64)
    return (observed[:, None, :] != expected[None, :, :]).sum(axis=2, dtype=np.int64)


@dataclass(frozen=True)
class Assignment:
    """Per read: sample position in the matcher (-1: undetermined) and index mismatches
    (i7 + i5) to that sample."""

    sample: np.ndarray  # int64
    mismatches: np.ndarray  # int64, 0 where undetermined


class BarcodeMatcher:
    """Assigns reads to the one sample whose i7 is within `mismatches_i7` and whose i5 is
    within `mismatches_i5` (the sheet is checked for collisions, so at most one qualifies)."""

    def __init__(self, index1: np.ndarray, index2: np.ndarray, mismatches_i7: int,
                 mismatches_i5: int) -> None:
        self.index1 = np.asarray(index1, np.uint8)  # (samples, L7)
        self.index2 = np.asarray(index2, np.uint8)  # (samples, L5), read orientation
        self.mismatches_i7 = mismatches_i7
        self.mismatches_i5 = mismatches_i5

    def _match_distinct(self, barcodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        width7 = self.index1.shape[1]
        d7 = hamming(barcodes[:, :width7], self.index1)
        d5 = hamming(barcodes[:, width7:], self.index2)
        ok = (d7 <= self.mismatches_i7) & (d5 <= self.mismatches_i5)
        total = np.where(ok, d7 + d5, np.iinfo(np.int64).max)
        best = total.argmin(axis=1)
        found = ok.any(axis=1)
        return (np.where(found, best, -1),
                np.where(found, total[np.arange(len(best)), best], 0))

    def assign(self, i7: np.ndarray, i5: np.ndarray) -> Assignment:
        """Assignment of reads with observed (n, L7) i7 and (n, L5) i5 codes."""
        observed = np.concatenate([i7, i5], axis=1).astype(np.uint8)
        if observed.shape[1] == 0:  # one sample without index: every read is its
            n = observed.shape[0]
            return Assignment(np.zeros(n, np.int64), np.zeros(n, np.int64))
        distinct, inverse = _distinct(observed)
        sample = np.empty(len(distinct), np.int64)
        mismatches = np.empty(len(distinct), np.int64)
        for start in range(0, len(distinct), _CHUNK_BARCODES):
            part = slice(start, start + _CHUNK_BARCODES)
            sample[part], mismatches[part] = self._match_distinct(distinct[part])
        return Assignment(sample[inverse], mismatches[inverse])


def _distinct(observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of (n, L) base codes and, per row, its position among them."""
    if observed.shape[1] > _PACKED_MAX_BASES:
        distinct, inverse = np.unique(observed, axis=0, return_inverse=True)
        return distinct, inverse.ravel()
    shifts = (3 * np.arange(observed.shape[1])).astype(np.uint64)
    keys = (observed.astype(np.uint64) << shifts).sum(axis=1, dtype=np.uint64)
    distinct_keys, inverse = np.unique(keys, return_inverse=True)
    return ((distinct_keys[:, None] >> shifts) & np.uint64(7)).astype(np.uint8), inverse


def collisions(index1: np.ndarray, index2: np.ndarray, mismatches_i7: int,
               mismatches_i5: int) -> list[tuple[int, int]]:
    """Pairs (a, b), a < b, of samples whose barcodes one read could match both of: i7 within
    2 * mismatches_i7 and i5 within 2 * mismatches_i5 of each other."""
    d7 = hamming(index1, index1)
    d5 = hamming(index2, index2)
    clash = (d7 <= 2 * mismatches_i7) & (d5 <= 2 * mismatches_i5)
    a, b = np.nonzero(np.triu(clash, k=1))
    return list(zip(a.tolist(), b.tolist(), strict=True))

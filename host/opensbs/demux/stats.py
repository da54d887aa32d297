"""Counts gathered while demultiplexing, per lane: what the reports and IndexMetricsOut.bin say.

Groups are the lane's samples in sheet order, then Undetermined last.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .samplesheet import Sample

Q30 = 30


@dataclass
class ReadCounts:
    """Per group, for one output read: bases written, bases >= Q30, sum of qualities."""

    yield_bases: np.ndarray
    yield_q30: np.ndarray
    quality_sum: np.ndarray
    adapter_bases: np.ndarray
    sample_bases: np.ndarray


@dataclass
class LaneStats:
    lane: int
    samples: tuple[Sample, ...]
    reads: np.ndarray  # per group
    mismatches: np.ndarray  # (groups, 3): reads with 0, 1, 2 index mismatches
    per_read: dict[str, ReadCounts] = field(default_factory=dict)
    unknown: Counter[tuple[str, str]] = field(default_factory=Counter)
    per_tile: dict[int, np.ndarray] = field(default_factory=dict)  # tile -> reads per sample

    @classmethod
    def empty(cls, lane: int, samples: tuple[Sample, ...]) -> LaneStats:
        groups = len(samples) + 1
        return cls(lane, samples, np.zeros(groups, np.int64), np.zeros((groups, 3), np.int64))

    @property
    def groups(self) -> int:
        return len(self.samples) + 1

    def add_assignment(self, tile: int, group: np.ndarray, mismatches: np.ndarray) -> None:
        """Count one tile's PF reads: `group` per read (samples 0.., Undetermined last)."""
        counts = np.bincount(group, minlength=self.groups)
        self.reads += counts
        for m in range(3):
            self.mismatches[:, m] += np.bincount(group[mismatches == m], minlength=self.groups)
        self.per_tile[tile] = self.per_tile.get(tile, 0) + counts[:-1]

    def add_read(self, label: str, group: np.ndarray, qualities: np.ndarray,
                 lengths: np.ndarray, adapter_starts: np.ndarray) -> None:
        """Count the bases written for one output read (qualities of the written bases)."""
        inside = np.arange(qualities.shape[1])[None, :] < lengths[:, None]
        counts = self.per_read.setdefault(label, ReadCounts(
            *(np.zeros(self.groups, np.int64) for _ in range(5))))
        width = qualities.shape[1]

        def per_group(values: np.ndarray) -> np.ndarray:
            return np.bincount(group, weights=values, minlength=self.groups).astype(np.int64)

        counts.yield_bases += per_group(lengths)
        counts.yield_q30 += per_group(((qualities >= Q30) & inside).sum(axis=1))
        counts.quality_sum += per_group(np.where(inside, qualities, 0).sum(axis=1))
        counts.adapter_bases += per_group(width - adapter_starts)
        counts.sample_bases += per_group(adapter_starts)

    def add_unknown(self, i7: np.ndarray, i5: np.ndarray) -> None:
        """Count undetermined barcodes, as (n,) bytes strings of i7 and of i5."""
        keys, counts = np.unique(np.char.add(np.char.add(i7, b"+"), i5), return_counts=True)
        for key, count in zip(keys.tolist(), counts.tolist(), strict=True):
            a, _, b = key.decode().partition("+")
            self.unknown[(a, b)] += count

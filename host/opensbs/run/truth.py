"""The simulation truth as the run uses it: true cluster positions and reads, the matching of
called clusters to true ones, and the simulation-only diagnostic "error vs simulation truth"
(the run's error rate itself comes from aligning reads to the control genome)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from ..basecall.evaluation import match_clusters

TRUTH_MATCH_RADIUS_PX = 1.0
# With the reads, the best-agreeing of the 4 nearest true clusters within 1.5 px: a called
# cluster on merged true clusters can sit over 1 px from the one it reads (at 1.0 px, 20 of the
# default run's 88 k PF reads were scored against a neighbour, doubling the error).
READS_MATCH_RADIUS_PX = 1.5


@dataclass(frozen=True)
class TileTruth:
    """Ground truth of a simulated tile: true cluster positions and sequences."""

    positions_px: np.ndarray  # (m, 2) x, y
    sequences: np.ndarray  # (m, cycles) uint8 0..3


def match_truth(called_xy: np.ndarray, truth: TileTruth,
                bases: np.ndarray | None = None) -> np.ndarray:
    """Index of the true cluster matched to each called cluster, or -1 (not aligned).

    The called positions live in the frame of cycle 1; the global offset to the truth's frame
    (stage drift, channel registration) is the median displacement of close pairs. With the
    reads (``bases``, (clusters, cycles)), a called cluster sitting on merged true clusters is
    scored against the one its read agrees with best (within 1.5 px), as aligning to the genome
    would; without them (live figures, before the reads exist) against the nearest within 1 px."""
    if len(truth.positions_px) == 0 or len(called_xy) == 0:
        return np.full(len(called_xy), -1)
    if bases is not None:
        return match_clusters(called_xy, truth.positions_px, bases,
                              truth.sequences[:, : bases.shape[1]],
                              radius_px=READS_MATCH_RADIUS_PX).truth_index
    tree = cKDTree(truth.positions_px)
    dist, index = tree.query(called_xy, k=1)
    close = dist <= 3 * TRUTH_MATCH_RADIUS_PX
    offset = (np.median(truth.positions_px[index[close]] - called_xy[close], axis=0)
              if close.any() else np.zeros(2))
    dist, index = tree.query(called_xy + offset, k=1)
    return np.where(dist <= TRUTH_MATCH_RADIUS_PX, index, -1)


def truth_errors(called_xy: np.ndarray, truth: TileTruth, bases: np.ndarray, passed: np.ndarray,
                 cycles: np.ndarray) -> np.ndarray:
    """[errors, compared] of the PF clusters matched to a true cluster over the masked
    `cycles` of `bases` (clusters, run cycles); no-calls count as errors."""
    matched = match_truth(called_xy, truth, bases)
    counted = np.asarray(passed, bool) & (matched >= 0)
    calls = bases[counted][:, cycles]
    expected = truth.sequences[matched[counted]][:, : bases.shape[1]][:, cycles]
    return np.array([int((calls != expected).sum()), calls.size], np.int64)

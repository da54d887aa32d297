"""Scoring calls against simulator truth, and the oracle caller's known parameters.

Detected clusters are matched to true clusters by nearest neighbour after removing the global
offset between the template frame and the truth frame; a read is scored against the true
sequence of its match (like aligning control reads). The oracle is the same caller given the
true positions, registration shifts, colour matrix and phasing/prephasing rates.
"""

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from .chemistry import NO_CALL
from .phasing import PhasingEstimate
from .pipeline import KnownParameters

MATCH_RADIUS_PX = 0.75


@dataclass(frozen=True)
class ClusterMatch:
    """``truth_index[i]`` = true cluster of detected cluster i, or -1 if none within radius."""

    truth_index: np.ndarray
    offset_px: np.ndarray


def match_clusters(detected_px: np.ndarray, true_px: np.ndarray,
                   radius_px: float = MATCH_RADIUS_PX) -> ClusterMatch:
    """Match detected positions to true positions (both (n, 2) x, y) allowing a global offset."""
    tree = cKDTree(true_px)
    _, nearest = tree.query(detected_px, k=1)
    offset = np.median(detected_px - true_px[nearest], axis=0)
    distance, nearest = tree.query(detected_px - offset, k=1, distance_upper_bound=radius_px)
    index = np.where(np.isfinite(distance), nearest, -1).astype(np.int64)
    return ClusterMatch(index, offset)


def oracle_parameters(positions_px: np.ndarray, drift_px: np.ndarray,
                      channel_offsets_px: np.ndarray, crosstalk: np.ndarray,
                      phasing: float, prephasing: float) -> KnownParameters:
    """Known parameters from simulator truth (``crosstalk[dye, channel]`` as the simulator
    stores it; ``drift_px[t-1]`` the stage drift of cycle t)."""
    matrix = np.asarray(crosstalk, dtype=np.float64).T
    drift = np.asarray(drift_px, dtype=np.float64)
    offsets = np.asarray(channel_offsets_px, dtype=np.float64)
    return KnownParameters(
        positions_px=np.asarray(positions_px, dtype=np.float64),
        shift_at=lambda cycle: drift[cycle - 1][None, :] + offsets,
        colour_matrix=matrix / np.diag(matrix)[None, :],
        rates=PhasingEstimate(float(phasing), float(prephasing)))


def read_errors(bases: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(n, cycles) bool: call differs from truth (a no-call counts as an error)."""
    return (bases != truth) | (bases == NO_CALL)

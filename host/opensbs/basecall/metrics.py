"""The run's quality figures, computed in one place: Q histogram, base counts, %≥Q30 and %PF.

Used by the caller (per-cycle metrics), the run folder (InterOp, summary.json), the live view
and the report, so each figure is the same number everywhere. Conventions (InterOp's, so
Illumina's `interop` reads the same figures back from the run folder):

* Q histogram: calls at Q1..Q50, `Q_BINS` bins (index q - 1; Q0 counts as Q1, above Q50 as
  Q50); in the run folder over PF clusters.
* Base counts: calls of A, C, G, T and N (no-call), indexed by base code (A=0 .. N=4).
  InterOp's record order (N, A, C, G, T) is made only where its file is written.
* %≥Q30: calls at Q30 or above over all calls of a Q histogram.
* %PF: PF clusters over all clusters; over several tiles the sums, not the mean of the tiles'
  percentages (the two differ when tiles hold different numbers of clusters).
"""

from __future__ import annotations

import numpy as np

from .chemistry import NO_CALL

Q_BINS = 50  # Q1..Q50
Q30 = 30


def q_histogram(qualities: np.ndarray, passed: np.ndarray | None = None) -> np.ndarray:
    """(Q_BINS,) int64: calls at Q1..Q50 of the clusters `passed` (all when None)."""
    q = np.asarray(qualities)
    if passed is not None:
        q = q[np.asarray(passed, dtype=bool)]
    return np.bincount(np.clip(q, 1, Q_BINS).astype(np.intp).ravel() - 1, minlength=Q_BINS)


def base_counts(bases: np.ndarray, passed: np.ndarray | None = None) -> np.ndarray:
    """(5,) int64: calls of A, C, G, T, N of the clusters `passed` (all when None)."""
    b = np.asarray(bases)
    if passed is not None:
        b = b[np.asarray(passed, dtype=bool)]
    return np.bincount(b.astype(np.intp).ravel(), minlength=NO_CALL + 1)[: NO_CALL + 1]


def q30_fraction(histogram: np.ndarray) -> float | None:
    """Fraction of the calls of a Q histogram (summed over any leading axes) at Q30 or above;
    None when it holds no call."""
    h = np.asarray(histogram)
    total = int(h.sum())
    return float(h[..., Q30 - 1:].sum() / total) if total else None


def pf_fraction(clusters_pf: int, clusters: int) -> float | None:
    """PF clusters over all clusters; None without clusters."""
    return clusters_pf / clusters if clusters else None

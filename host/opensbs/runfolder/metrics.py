"""Per tile and cycle metrics computed from one cycle's calls, qualities and intensities."""

from __future__ import annotations

import numpy as np

from .basecall_files import BASE_N
from .interop_files import Q_BINS, CycleTileMetrics


def q_histogram(qualities: np.ndarray, passed: np.ndarray) -> list[int]:
    """Counts of PF calls at Q1..Q50 (qualities above 50 count as 50)."""
    q = np.clip(np.asarray(qualities)[passed], 1, Q_BINS).astype(np.intp)
    return np.bincount(q - 1, minlength=Q_BINS).tolist()


def cycle_tile_metrics(
    *, lane: int, tile: int, cycle: int, bases: np.ndarray, qualities: np.ndarray,
    passed: np.ndarray, intensities: np.ndarray, fwhm_px: np.ndarray, timestamp: int,
    errors_so_far: np.ndarray | None = None, mismatch: np.ndarray | None = None,
) -> CycleTileMetrics:
    """Metrics of one tile at one cycle.

    `intensities` is (clusters, channels) after crosstalk and phasing correction; `mismatch`
    (calls differing from the truth, N included) and `errors_so_far` (mismatches per cluster
    up to and including this cycle) are given when the truth is known.
    """
    passed = np.asarray(passed, dtype=bool)
    inten = np.asarray(intensities, dtype=np.float64)
    n_channels = inten.shape[1]
    pf_inten = inten[passed]
    pf_bases = np.asarray(bases)[passed]
    calls = np.bincount(pf_bases, minlength=BASE_N + 1)
    brightest = pf_inten.max(axis=1) if len(pf_inten) else np.zeros(0)
    called_mean = [float(brightest[pf_bases == b].mean()) if (pf_bases == b).any() else 0.0
                   for b in range(4)]
    corrected = pf_inten.mean(axis=0) if len(pf_inten) else np.zeros(n_channels)
    if len(pf_inten) and n_channels > 1:
        dim = np.sort(pf_inten, axis=1)[:, :-1]
        snr = float(brightest.mean() / max(float(dim.std()), 1e-9))
    else:
        snr = 0.0
    p90 = np.percentile(inten, 90, axis=0) if len(inten) else np.zeros(n_channels)
    error_pct = None
    reads_with_errors = [0] * 5
    if mismatch is not None and errors_so_far is not None:
        pf_mismatch = np.asarray(mismatch, dtype=bool)[passed]
        error_pct = 100.0 * float(pf_mismatch.mean()) if pf_mismatch.size else 0.0
        reads_with_errors = np.bincount(
            np.minimum(np.asarray(errors_so_far)[passed], 5), minlength=6)[:5].tolist()
    return CycleTileMetrics(
        lane=lane, tile=tile, cycle=cycle, fwhm_px=[float(v) for v in fwhm_px],
        intensity_p90=[int(round(v)) for v in np.maximum(p90, 0)],
        average_intensity=int(round(max(float(corrected.mean()), 0.0))),
        corrected_intensity=[int(round(v)) for v in np.maximum(corrected, 0)],
        called_intensity=[int(round(max(v, 0.0))) for v in called_mean],
        calls_nacgt=[int(calls[BASE_N]), *(int(c) for c in calls[:4])], snr=snr,
        q_histogram=q_histogram(qualities, passed), timestamp=timestamp,
        error_pct=error_pct, reads_with_errors=reads_with_errors)

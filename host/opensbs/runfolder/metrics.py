"""Per tile and cycle metrics computed from one cycle's calls, qualities and intensities."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..basecall.metrics import base_counts, q_histogram
from .basecall_files import BASE_N
from .interop_files import CycleTileMetrics


def cycle_tile_metrics(
    *, lane: int, tile: int, cycle: int, bases: np.ndarray, qualities: np.ndarray,
    passed: np.ndarray, mean_intensity: np.ndarray, p90_intensity: np.ndarray,
    called_intensity: np.ndarray, fwhm_px: np.ndarray, snr: float, timestamp: int,
    min_contrast: Sequence[float] = (), max_contrast: Sequence[float] = (),
    errors: np.ndarray | None = None, scored: np.ndarray | None = None,
    errors_so_far: np.ndarray | None = None,
) -> CycleTileMetrics:
    """Metrics of one tile at one cycle.

    Calls and the Q histogram count PF clusters (from `bases`, `qualities`, `passed`); the
    intensities are the caller's per-channel figures of the cycle in raw units (`mean_intensity`
    and `p90_intensity` background-corrected, `called_intensity` per base A, C, G, T after
    crosstalk and phasing correction), as is `snr` (the called signal over the clusters'
    residual noise, RTA's cluster signal-to-noise); N calls of PF clusters are the no-calls;
    `fwhm_px` and the contrast range are measured on the cycle's images. With reads aligned
    to the control genome, `errors` (calls that disagree with it at this cycle), `scored`
    (calls compared: aligned reads, no-calls excluded) and `errors_so_far` (each cluster's
    errors in its read up to this cycle) give the error metrics, over the PF clusters scored
    (none when no call was scored: index reads, no control in the library).
    """
    passed = np.asarray(passed, dtype=bool)
    calls = base_counts(bases, passed)
    error_pct = None
    reads_with_errors = [0] * 5
    if errors is not None and scored is not None and errors_so_far is not None:
        counted = passed & np.asarray(scored, dtype=bool)
        compared = int(counted.sum())
        if compared:
            error_pct = 100.0 * float(np.asarray(errors, dtype=bool)[counted].sum()) / compared
        reads_with_errors = np.bincount(
            np.minimum(np.asarray(errors_so_far)[counted], 5), minlength=6)[:5].tolist()
    mean = np.maximum(np.asarray(mean_intensity, dtype=np.float64), 0)
    return CycleTileMetrics(
        lane=lane, tile=tile, cycle=cycle, fwhm_px=[float(v) for v in fwhm_px],
        intensity_p90=[int(round(v)) for v in np.maximum(p90_intensity, 0)],
        average_intensity=int(round(float(mean.mean()))),
        corrected_intensity=[int(round(v)) for v in mean],
        called_intensity=[int(round(max(float(v), 0.0))) for v in called_intensity],
        calls_nacgt=[int(calls[BASE_N]), *(int(c) for c in calls[:4])], snr=float(snr),
        q_histogram=q_histogram(qualities, passed).tolist(), timestamp=timestamp,
        min_contrast=[int(round(v)) for v in min_contrast],
        max_contrast=[int(round(v)) for v in max_contrast],
        error_pct=error_pct, reads_with_errors=reads_with_errors)

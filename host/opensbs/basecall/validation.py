"""Checks of intensity input before calling: bad input gets a typed error, never calls."""

import numpy as np

from .errors import IntensityError, ShapeError


def _real_numeric(values: object, name: str) -> np.ndarray:
    array = np.asarray(values)
    if np.iscomplexobj(array):
        raise IntensityError(f"{name} are complex ({array.dtype}); intensities must be real")
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise IntensityError(f"{name} must be numeric, got dtype {array.dtype}")
    return array


def _finite(array: np.ndarray, name: str) -> None:
    if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
        bad = int(np.count_nonzero(~np.isfinite(array)))
        raise IntensityError(f"{name} hold {bad} NaN or infinite values")


def check_intensities(values: object) -> np.ndarray:
    """A (clusters, cycles, channels) float32 array fit to call, or ``IntensityError``."""
    array = _real_numeric(values, "intensities")
    if array.ndim != 3:
        raise ShapeError(f"intensities must be (clusters, cycles, channels), got {array.shape}")
    if array.size == 0:
        raise IntensityError(f"intensities are empty: shape {array.shape}")
    _finite(array, "intensities")
    flat = np.asarray(array, dtype=np.float32)
    brightest = flat.max(axis=2)
    if not (float(np.percentile(brightest, 90)) > 0.0 and float(flat.mean()) > 0.0):
        raise IntensityError("intensities carry no positive signal (all zero or negated?): "
                             f"mean {float(flat.mean()):.4g}, 90th percentile of the brightest "
                             f"channel {float(np.percentile(brightest, 90)):.4g}")
    return flat


def check_cycle_intensities(values: object, n_channels: int, cycle: int) -> np.ndarray:
    """One cycle's (clusters, channels) intensities as float32, or a typed error."""
    array = _real_numeric(values, f"cycle {cycle} intensities")
    if array.ndim != 2 or array.shape[1] != n_channels:
        raise ShapeError(f"cycle {cycle} intensities must be (clusters, {n_channels}), got "
                         f"{array.shape}")
    if array.shape[0] == 0:
        raise IntensityError(f"cycle {cycle} intensities hold no clusters")
    _finite(array, f"cycle {cycle} intensities")
    return np.asarray(array, dtype=np.float32)


def check_positions(values: object, n_clusters: int) -> np.ndarray:
    """Cluster positions (n, 2) float64, finite, one per cluster."""
    array = _real_numeric(values, "positions")
    if array.shape != (n_clusters, 2):
        raise ShapeError(f"positions must be ({n_clusters}, 2), got {array.shape}")
    _finite(array, "positions")
    return np.asarray(array, dtype=np.float64)

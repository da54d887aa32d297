"""Crosstalk (colour matrix) and channel offsets, estimated from the data itself.

Model: background-corrected intensities ``y`` (channels) of a cluster showing base ``b`` with
brightness ``a`` are ``y = a * M @ signature[:, b] + offset``. Column j of the colour matrix
``M`` (channels x channels) is the response of every channel to the dye read in channel j;
``offset`` is what background subtraction left over. Correction: ``z = M^-1 (y - offset)``.

Estimation uses clusters that show one dye only ("pure" in channel j, found iteratively with the
current model). For those, ``y_k`` is a straight line in ``y_j``; its slope is estimated with
the cluster's brightness in the other cycles as instrument (so noise in ``y_j`` does not flatten
it), its intercept gives ``offset_k - slope * offset_j``, and all intercepts together give the
offsets by least squares. Columns are scaled so an average cluster corrects to about 1.
"""

from dataclasses import dataclass

import numpy as np

from ._arrays import as_float_array
from .chemistry import Chemistry
from .errors import BasecallError, ShapeError

MIN_PURE_CLUSTERS = 50
MAX_CLUSTERS = 60_000  # a regular subsample this large pins the model down


@dataclass(frozen=True)
class ColourModel:
    """Colour matrix (channels x channels) and additive channel offsets (channels,)."""

    matrix: np.ndarray
    offset: np.ndarray

    def correct(self, intensities: np.ndarray) -> np.ndarray:
        """Crosstalk-corrected intensities ``M^-1 (y - offset)`` for (..., channels)."""
        n = self.matrix.shape[0]
        y = as_float_array(intensities, np.ndim(intensities), "intensities", n)
        inverse = np.linalg.inv(self.matrix).astype(np.float32)
        return (y - self.offset.astype(np.float32)) @ inverse.T

    def normalised(self) -> np.ndarray:
        """The colour matrix with each column scaled to a diagonal of 1."""
        return self.matrix / np.diag(self.matrix)[None, :]


def estimate_colour_model(intensities: np.ndarray, chemistry: Chemistry,
                          n_iterations: int = 6, normalised: np.ndarray | None = None
                          ) -> ColourModel:
    """Estimate the colour model from (clusters, cycles >= 2, channels) raw intensities.

    ``normalised`` (optional) fixes the shape of the matrix (diagonal 1); only the column
    scales and the offsets are then fitted.
    """
    n_channels = chemistry.n_channels
    y = as_float_array(intensities, 3, "intensities", n_channels).astype(np.float64)
    y = y[:: max(1, -(-y.shape[0] // MAX_CLUSTERS))]
    n_clusters, n_cycles, _ = y.shape
    if n_cycles < 2:
        raise ShapeError("crosstalk estimation needs at least 2 cycles of intensities")
    if n_clusters < MIN_PURE_CLUSTERS * 4:
        raise BasecallError(f"crosstalk estimation needs >= {MIN_PURE_CLUSTERS * 4} clusters")
    brightest = y.max(axis=2)
    instrument = (brightest.sum(axis=1, keepdims=True) - brightest) / (n_cycles - 1)
    flat = y.reshape(-1, n_channels)
    w = instrument.reshape(-1)
    model = ColourModel(np.diag(np.maximum(np.percentile(flat, 95, axis=0), 1e-6)),
                        np.zeros(n_channels))
    fixed = None if normalised is None else np.asarray(normalised, dtype=np.float64)
    if fixed is not None and fixed.shape != (n_channels, n_channels):
        raise ShapeError(f"normalised colour matrix must be {n_channels}x{n_channels}")
    for purity in np.linspace(0.6, 0.2, n_iterations):
        model = _refit(flat, w, model, n_channels, fixed, float(purity))
    return model


def _refit(y: np.ndarray, instrument: np.ndarray, model: ColourModel, n_channels: int,
           fixed: np.ndarray | None, purity: float) -> ColourModel:
    z = model.correct(y).astype(np.float64)
    clipped = np.maximum(z, 0.0)
    order = np.sort(clipped, axis=1)
    top, second = order[:, -1], order[:, -2]
    channel = np.argmax(z, axis=1)
    pure_all = (top > np.percentile(top, 30)) & (second < purity * top)
    slopes = np.eye(n_channels)
    intercepts = np.zeros((n_channels, n_channels))
    scale = np.ones(n_channels)
    for j in range(n_channels):
        rows = pure_all & (channel == j)
        if rows.sum() < MIN_PURE_CLUSTERS:
            raise BasecallError(f"too few clusters show channel {j} alone to estimate crosstalk")
        yj, wj = y[rows, j], instrument[rows]
        wc = wj - wj.mean()
        denominator = float(np.dot(yj - yj.mean(), wc))
        if denominator <= 0:
            raise BasecallError(f"channel {j}: intensities do not track cluster brightness")
        for k in range(n_channels):
            if k != j:
                slope = (float(np.dot(y[rows, k] - y[rows, k].mean(), wc)) / denominator
                         if fixed is None else float(fixed[k, j]))
                slopes[k, j] = slope
                intercepts[k, j] = y[rows, k].mean() - slope * yj.mean()
    offset = _solve_offsets(slopes, intercepts, n_channels)
    for j in range(n_channels):
        rows = pure_all & (channel == j)
        scale[j] = float(np.median(y[rows, j] - offset[j]))
    return ColourModel(slopes * scale[None, :], offset)


def _solve_offsets(slopes: np.ndarray, intercepts: np.ndarray, n_channels: int) -> np.ndarray:
    """Offsets o with intercept[k, j] = o_k - slope[k, j] * o_j for all k != j (least squares)."""
    rows, targets = [], []
    for j in range(n_channels):
        for k in range(n_channels):
            if k != j:
                row = np.zeros(n_channels)
                row[k] += 1.0
                row[j] -= slopes[k, j]
                rows.append(row)
                targets.append(intercepts[k, j])
    solution, *_ = np.linalg.lstsq(np.array(rows), np.array(targets), rcond=None)
    return solution

"""Crosstalk (colour matrix) and channel offsets, estimated from the data itself.

Model: background-corrected intensities ``y`` (channels) of a cluster showing base ``b`` with
brightness ``a`` are ``y = a * M @ signature[:, b] + offset``. Column j of the colour matrix
``M`` (channels x channels) is the response of every channel to the dye read in channel j;
``offset`` is what background subtraction left over. Correction: ``z = M^-1 (y - offset)``.

Estimation uses clusters that show one dye only ("pure" in channel j, found iteratively with the
current model). The offset of channel k is the median level, in k, of the cloud darkest in k:
the clusters showing a dark base where the chemistry has one (two-colour G), else the pure
clusters of the dye leaking least into k (crosstalk is never negative; that dye's leak, ~1 %
in four-colour optics, is taken as zero). It so includes the average light of neighbours.
A pure cloud is then a ray from the offset along column j: ``y_k - offset_k`` is
``M[k, j] / M[j, j]`` times ``y_j - offset_j``, the ratio taken as the median quotient over the
brighter half of the cloud. That needs no spread of cluster brightness and is robust to the
clusters a neighbour or an overlapping cluster lights in channel k, which a regression of
``y_k`` on brightness takes for crosstalk (neighbour light and per-cluster offsets grow with
the local brightness too). Columns are scaled so an average cluster corrects to about 1.
"""

from dataclasses import dataclass

import numpy as np

from ._arrays import as_float_array
from .chemistry import Chemistry
from .errors import BasecallError, ShapeError

MIN_PURE_CLUSTERS = 50
MAX_CLUSTERS = 60_000  # a regular subsample this large pins the model down
DARK_FRACTION = 0.25  # corrected signal below this share of a typical cluster's: a dark base


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
    flat = y.reshape(-1, n_channels)
    model = ColourModel(np.diag(np.maximum(np.percentile(flat, 95, axis=0), 1e-6)),
                        np.zeros(n_channels))
    fixed = None if normalised is None else np.asarray(normalised, dtype=np.float64)
    if fixed is not None and fixed.shape != (n_channels, n_channels):
        raise ShapeError(f"normalised colour matrix must be {n_channels}x{n_channels}")
    for purity in np.linspace(0.6, 0.2, n_iterations):
        model = _refit(flat, model, chemistry, fixed, float(purity))
    return model


def _refit(y: np.ndarray, model: ColourModel, chemistry: Chemistry, fixed: np.ndarray | None,
           purity: float) -> ColourModel:
    n_channels = chemistry.n_channels
    z = model.correct(y).astype(np.float64)
    order = np.sort(np.maximum(z, 0.0), axis=1)
    top, second = order[:, -1], order[:, -2]
    channel = np.argmax(z, axis=1)
    pure_all = (top > np.percentile(top, 30)) & (second < purity * top)
    pure = [pure_all & (channel == j) for j in range(n_channels)]
    for j, rows in enumerate(pure):
        if rows.sum() < MIN_PURE_CLUSTERS:
            raise BasecallError(f"too few clusters show channel {j} alone to estimate crosstalk")
    offset = _darkest_levels(y, pure, top, chemistry)
    slopes = np.eye(n_channels)
    for j, rows in enumerate(pure):
        yj = y[rows, j] - offset[j]
        bright = yj > np.median(yj)
        if not bright.any() or np.median(yj) <= 0:
            raise BasecallError(f"channel {j}: clusters showing it are no brighter than the "
                                f"dark level")
        for k in range(n_channels):
            if k != j:
                slopes[k, j] = (float(np.median((y[rows, k][bright] - offset[k]) / yj[bright]))
                                if fixed is None else float(fixed[k, j]))
    scale = np.array([float(np.median(y[rows, j] - offset[j])) for j, rows in enumerate(pure)])
    return ColourModel(slopes * scale[None, :], offset)


def _darkest_levels(y: np.ndarray, pure: list[np.ndarray], top: np.ndarray,
                    chemistry: Chemistry) -> np.ndarray:
    """Per channel k, the median level of the cloud darkest in k (the offset): the clusters
    showing a dark base where the chemistry has one, else those of the dye leaking least
    into k (crosstalk is never negative, so every other cloud lies at or above it)."""
    n_channels = chemistry.n_channels
    levels = np.full(n_channels, np.inf)
    for j, rows in enumerate(pure):
        median = np.median(y[rows], axis=0)
        others = np.arange(n_channels) != j
        levels[others] = np.minimum(levels[others], median[others])
    if (chemistry.signature.max(axis=0) == 0).any():
        amplitude = float(np.median(top[np.logical_or.reduce(pure)]))
        dark = top < DARK_FRACTION * amplitude
        if dark.sum() >= MIN_PURE_CLUSTERS:
            levels = np.minimum(levels, np.median(y[dark], axis=0))
    return levels

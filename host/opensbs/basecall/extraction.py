"""Intensity extraction: each cluster's signal in each channel, minus the local background.

The signal is the bilinear interpolation of the channel image at the cluster's registered
sub-pixel position (template position + that channel's shift) minus the channel's smooth local
background field (``background``) there; with an ``Unmixer`` the light of overlapping
neighbours is then removed (``unmixing``).
"""

import numpy as np
from scipy import ndimage

from .background import background_at, background_grid
from .errors import BasecallError, ShapeError
from .unmixing import Unmixer, isolated, kernel_sigma_px


def extract_intensities(images: np.ndarray, positions_px: np.ndarray, shifts_px: np.ndarray,
                        unmixer: Unmixer | None = None) -> np.ndarray:
    """(n, channels) float32 background-corrected intensities of ``images`` (channels, H, W)."""
    imgs = np.asarray(images)
    xy = np.asarray(positions_px, dtype=np.float64)
    shifts = np.asarray(shifts_px, dtype=np.float64)
    if imgs.ndim != 3:
        raise ShapeError(f"images must be (channels, H, W), got shape {imgs.shape}")
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ShapeError(f"positions must be (n, 2), got {xy.shape}")
    if shifts.shape != (imgs.shape[0], 2):
        raise ShapeError(f"shifts must be ({imgs.shape[0]}, 2), got {shifts.shape}")
    out = np.empty((xy.shape[0], imgs.shape[0]), dtype=np.float32)
    for channel in range(imgs.shape[0]):
        where = xy + shifts[channel]
        coords = np.stack([where[:, 1], where[:, 0]])
        signal = ndimage.map_coordinates(imgs[channel], coords, order=1, mode="nearest",
                                         prefilter=False, output=np.float32)
        grid = background_grid(imgs[channel])
        out[:, channel] = signal - background_at(grid, where, imgs.shape[1:])
    return out if unmixer is None else unmixer.unmix(out)


def estimate_kernel_sigma(images: np.ndarray, positions_px: np.ndarray, shifts_px: np.ndarray
                          ) -> float:
    """Sigma (px) of the sampled point-spread kernel, from isolated clusters in ``images``."""
    xy = np.asarray(positions_px, dtype=np.float64)[isolated(positions_px)]
    if xy.shape[0] < 20:
        raise BasecallError("too few isolated clusters to measure the point-spread width")
    centre = extract_intensities(images, xy, shifts_px)
    brightest = np.argmax(centre, axis=1)
    rows = np.arange(xy.shape[0])
    sides = [extract_intensities(images, xy + step, shifts_px)[rows, brightest]
             for step in ((1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0))]
    return kernel_sigma_px(centre[rows, brightest], np.mean(sides, axis=0))

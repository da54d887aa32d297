"""Intensity extraction: each cluster's signal in each channel, minus the local background.

The signal is the bilinear interpolation of the channel image at the cluster's registered
sub-pixel position (template position + that channel's shift) minus the channel's smooth local
background field (``background``) there; with an ``Unmixer`` the light of overlapping
neighbours is then removed (``unmixing``).
"""

import numpy as np

from .background import background_at, background_grid, grid_weights
from .errors import BasecallError, ShapeError
from .unmixing import isolated, kernel_sigma_px


def extract_intensities(images: np.ndarray, positions_px: np.ndarray, shifts_px: np.ndarray
                        ) -> np.ndarray:
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
    if min(imgs.shape[1:]) < 2:
        raise ShapeError(f"images must be at least 2 x 2 pixels, got {imgs.shape}")
    out = np.empty((xy.shape[0], imgs.shape[0]), dtype=np.float32)
    for channel in range(imgs.shape[0]):
        where = xy + shifts[channel]
        out[:, channel] = bilinear(imgs[channel], where)
        grid = background_grid(imgs[channel])
        out[:, channel] -= background_at(grid, where, imgs.shape[1:])
    return out


class Extractor:
    """``extract_intensities`` for fixed cluster positions, with the background-grid
    interpolation weights computed once (registration shifts are far smaller than a block)."""

    def __init__(self, positions_px: np.ndarray, image_shape: tuple[int, int]) -> None:
        xy = np.asarray(positions_px, dtype=np.float64)
        if xy.ndim != 2 or xy.shape[1] != 2:
            raise ShapeError(f"positions must be (n, 2), got {xy.shape}")
        self.positions_px = xy
        self.image_shape = image_shape
        self._grid_shape: tuple[int, int] | None = None
        self._grid_weights: np.ndarray | None = None  # (n, 4) float32
        self._grid_index: np.ndarray | None = None  # (n, 4) flat grid indices

    def extract(self, images: np.ndarray, shifts_px: np.ndarray) -> np.ndarray:
        """(n, channels) float32 background-corrected intensities."""
        imgs = np.asarray(images)
        shifts = np.asarray(shifts_px, dtype=np.float64)
        if imgs.ndim != 3 or imgs.shape[1:] != self.image_shape:
            raise ShapeError(f"images must be (channels, {self.image_shape[0]}, "
                             f"{self.image_shape[1]}), got {imgs.shape}")
        if shifts.shape != (imgs.shape[0], 2):
            raise ShapeError(f"shifts must be ({imgs.shape[0]}, 2), got {shifts.shape}")
        out = np.empty((self.positions_px.shape[0], imgs.shape[0]), dtype=np.float32)
        for channel in range(imgs.shape[0]):
            out[:, channel] = bilinear(imgs[channel], self.positions_px + shifts[channel])
            grid = background_grid(imgs[channel])
            out[:, channel] -= self._background(grid)
        return out

    def _background(self, grid: np.ndarray) -> np.ndarray:
        if self._grid_shape != grid.shape:
            self._grid_shape = grid.shape
            self._grid_index, self._grid_weights = grid_weights(
                grid.shape, self.positions_px, self.image_shape)
        assert self._grid_index is not None and self._grid_weights is not None
        values = grid.astype(np.float32).reshape(-1)[self._grid_index]
        return np.einsum("nk,nk->n", values, self._grid_weights)


def bilinear(image: np.ndarray, xy_px: np.ndarray) -> np.ndarray:
    """Bilinear samples (float32) of a 2-D image at (x, y) positions (edge values outside).

    Four gathers on the flat image; fastest when positions are sorted by row.
    """
    height, width = image.shape
    x = np.clip(xy_px[:, 0], 0.0, width - 1.0)
    y = np.clip(xy_px[:, 1], 0.0, height - 1.0)
    col = np.minimum(x.astype(np.int32), width - 2)
    row = np.minimum(y.astype(np.int32), height - 2)
    fx = (x - col).astype(np.float32)
    fy = (y - row).astype(np.float32)
    flat = image.reshape(-1)
    index = row * width + col
    top = flat[index].astype(np.float32)
    top += (flat[index + 1] - top) * fx
    bottom = flat[index + width].astype(np.float32)
    bottom += (flat[index + width + 1] - bottom) * fx
    top += (bottom - top) * fy
    return top


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

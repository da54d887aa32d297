"""Local background: a smooth per-image field from low percentiles of pixel blocks.

The image is subsampled, cut into blocks and the ``percentile`` of each block taken; the
resulting coarse grid is sampled bilinearly wherever the background is needed.
"""

import numpy as np
from scipy import ndimage

from .errors import ShapeError

BLOCK_PX = 64
SUBSAMPLE = 4


def background_grid(image: np.ndarray, block_px: int = BLOCK_PX, percentile: float = 10.0
                    ) -> np.ndarray:
    """Coarse background grid (rows, cols) of ``image``; cell (i, j) covers one block."""
    img = np.asarray(image)
    if img.ndim != 2:
        raise ShapeError(f"image must be 2-D, got shape {img.shape}")
    step = SUBSAMPLE if min(img.shape) >= 4 * block_px else 1
    block = max(block_px // step, 1)
    sub = img[::step, ::step]
    rows, cols = max(sub.shape[0] // block, 1), max(sub.shape[1] // block, 1)
    cropped = sub[: rows * block, : cols * block].astype(np.float32)
    blocks = cropped.reshape(rows, block, cols, block).transpose(0, 2, 1, 3).reshape(rows, cols, -1)
    k = int(percentile / 100.0 * (blocks.shape[-1] - 1))
    grid = np.partition(blocks, k, axis=-1)[..., k]
    return ndimage.median_filter(grid, size=3, mode="nearest")


def background_at(grid: np.ndarray, xy_px: np.ndarray, image_shape: tuple[int, int]) -> np.ndarray:
    """Background at positions ``xy_px`` (n, 2) from a grid made for an image of this shape.

    Each grid cell is the value at its block's centre; values in between are bilinear.
    """
    rows, cols = grid.shape
    gy = np.clip((xy_px[:, 1] + 0.5) * (rows / image_shape[0]) - 0.5, 0.0, rows - 1.0)
    gx = np.clip((xy_px[:, 0] + 0.5) * (cols / image_shape[1]) - 0.5, 0.0, cols - 1.0)
    if rows == 1 or cols == 1:
        padded = np.pad(grid, ((0, rows == 1), (0, cols == 1)), mode="edge")
        return _bilinear_small(padded, gx, gy)
    return _bilinear_small(grid, gx, gy)


def _bilinear_small(grid: np.ndarray, gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    rows, cols = grid.shape
    c0 = np.minimum(gx.astype(np.int32), cols - 2)
    r0 = np.minimum(gy.astype(np.int32), rows - 2)
    fx = (gx - c0).astype(np.float32)
    fy = (gy - r0).astype(np.float32)
    g = grid.astype(np.float32)
    top = g[r0, c0] + (g[r0, c0 + 1] - g[r0, c0]) * fx
    bottom = g[r0 + 1, c0] + (g[r0 + 1, c0 + 1] - g[r0 + 1, c0]) * fx
    return top + (bottom - top) * fy

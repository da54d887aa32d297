"""Local background: a smooth per-image field from low percentiles of pixel blocks.

The image is subsampled, cut into blocks and the ``percentile`` of each block taken; the
resulting coarse grid is sampled bilinearly wherever the background is needed.
"""

import numpy as np
from scipy import ndimage

from .errors import ShapeError

BLOCK_PX = 64
SUBSAMPLE = 2


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
    """Background at positions ``xy_px`` (n, 2) from a grid made for an image of this shape."""
    rows, cols = grid.shape
    scale_y = image_shape[0] / rows
    scale_x = image_shape[1] / cols
    coords = np.stack([(xy_px[:, 1] + 0.5) / scale_y - 0.5, (xy_px[:, 0] + 0.5) / scale_x - 0.5])
    return ndimage.map_coordinates(grid, coords, order=1, mode="nearest", prefilter=False)

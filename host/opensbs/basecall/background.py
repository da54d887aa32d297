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
    index, weights = grid_weights(grid.shape, xy_px, image_shape)
    values = grid.astype(np.float32).reshape(-1)[index]
    return np.einsum("nk,nk->n", values, weights)


def grid_weights(grid_shape: tuple[int, int], xy_px: np.ndarray, image_shape: tuple[int, int]
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices (n, 4) and bilinear weights (n, 4) of positions on a background grid."""
    rows, cols = grid_shape
    gy = np.clip((xy_px[:, 1] + 0.5) * (rows / image_shape[0]) - 0.5, 0.0, rows - 1.0)
    gx = np.clip((xy_px[:, 0] + 0.5) * (cols / image_shape[1]) - 0.5, 0.0, cols - 1.0)
    r0 = np.minimum(gy.astype(np.int64), max(rows - 2, 0))
    c0 = np.minimum(gx.astype(np.int64), max(cols - 2, 0))
    r1 = np.minimum(r0 + 1, rows - 1)
    c1 = np.minimum(c0 + 1, cols - 1)
    fy = np.clip(gy - r0, 0.0, 1.0).astype(np.float32)
    fx = np.clip(gx - c0, 0.0, 1.0).astype(np.float32)
    index = np.stack([r0 * cols + c0, r0 * cols + c1, r1 * cols + c0, r1 * cols + c1], axis=1)
    weights = np.stack([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy], axis=1)
    return index, weights.astype(np.float32)


def background_field(image: np.ndarray) -> np.ndarray:
    """Full-size, block-constant background of ``image`` (for detection, where speed matters
    more than smoothness)."""
    grid = background_grid(image)
    by = -(-image.shape[0] // grid.shape[0])
    bx = -(-image.shape[1] // grid.shape[1])
    field = np.repeat(np.repeat(grid.astype(np.float32), by, axis=0), bx, axis=1)
    return field[: image.shape[0], : image.shape[1]]

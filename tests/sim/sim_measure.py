"""Measurements on simulated images used by the tests (apertures, centroids, isolation)."""

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

APERTURE_HALF_PX = 4
BACKGROUND_CLEARANCE_PX = 7


def isolated(positions_px: np.ndarray, min_distance_px: float, width: int, height: int,
             margin_px: float = 8.0) -> np.ndarray:
    """Mask of clusters with no neighbour closer than ``min_distance_px``, away from edges."""
    distance, _ = cKDTree(positions_px).query(positions_px, k=2)
    x, y = positions_px[:, 0], positions_px[:, 1]
    inside = (x > margin_px) & (x < width - 1 - margin_px) & (y > margin_px) & \
        (y < height - 1 - margin_px)
    return (distance[:, 1] >= min_distance_px) & inside


def background_adu(image: np.ndarray, all_xy_px: np.ndarray) -> float:
    """Median of the pixels farther than BACKGROUND_CLEARANCE_PX from every cluster."""
    near = np.zeros(image.shape, dtype=bool)
    rows = np.clip(np.rint(all_xy_px[:, 1]).astype(int), 0, image.shape[0] - 1)
    cols = np.clip(np.rint(all_xy_px[:, 0]).astype(int), 0, image.shape[1] - 1)
    near[rows, cols] = True
    near = ndimage.binary_dilation(near, iterations=BACKGROUND_CLEARANCE_PX)
    return float(np.median(image[~near]))


def aperture(image: np.ndarray, xy_px: np.ndarray, background: float,
             half: int = APERTURE_HALF_PX) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sum, centroid x, centroid y) of background-subtracted square apertures around ``xy``."""
    data = image.astype(np.float64) - background
    offsets = np.arange(-half, half + 1)
    cols = np.rint(xy_px[:, 0]).astype(int)[:, None, None] + offsets[None, None, :]
    rows = np.rint(xy_px[:, 1]).astype(int)[:, None, None] + offsets[None, :, None]
    patch = data[rows, cols]
    total = patch.sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        cx = (patch * cols).sum(axis=(1, 2)) / total
        cy = (patch * rows).sum(axis=(1, 2)) / total
    return total, cx, cy


def centroids(image: np.ndarray, guess_xy_px: np.ndarray, background: float,
              iterations: int = 3) -> np.ndarray:
    """Centroids (n, 2), re-centring the aperture on the previous estimate each iteration."""
    xy = guess_xy_px
    for _ in range(iterations):
        _, cx, cy = aperture(image, xy, background)
        xy = np.column_stack([cx, cy])
    return xy

"""Template generation: cluster detection with sub-pixel positions from the first cycles.

Every channel image of the first cycles is background-subtracted, registered to the first
cycle (sub-pixel, per channel), normalised per channel and shifted onto that frame; each
cycle contributes its brightest-channel image, so clusters that overlap but carry different
bases stay separate peaks. Clusters are the local maxima of the (lightly smoothed) sum above a
noise-derived threshold, refined to sub-pixel positions by a Gaussian fit of the 3 x 3
neighbourhood. Positions are (x, y) pixels in the frame of cycle 1 (x = column).
"""

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .background import background_grid
from .errors import BasecallError, ShapeError
from .registration import Registrar

SMOOTHING_SIGMA_PX = 0.6
NOISE_THRESHOLD_SIGMAS = 6.0
MIN_PEAK_FRACTION = 0.15


@dataclass(frozen=True)
class Template:
    """Detected clusters and the reference image later cycles are registered to."""

    positions_px: np.ndarray  # (n, 2) float64 x, y in the template frame
    image: np.ndarray  # (H, W) float32 template image (template frame)
    shifts_px: np.ndarray  # (cycles, channels, 2) registration of the template cycles


def subtract_background(image: np.ndarray) -> np.ndarray:
    """``image`` minus its smooth local background, as float32."""
    grid = background_grid(image)
    zoom = (image.shape[0] / grid.shape[0], image.shape[1] / grid.shape[1])
    field = ndimage.zoom(grid, zoom, order=1, mode="nearest", grid_mode=True)
    return image.astype(np.float32) - field[: image.shape[0], : image.shape[1]]


def build_template(cycle_images: list[np.ndarray]) -> Template:
    """Detect clusters in the first cycles' images, each (channels, H, W)."""
    if not cycle_images:
        raise BasecallError("template generation needs at least one cycle of images")
    shape = np.shape(cycle_images[0])
    if len(shape) != 3 or any(np.shape(c) != shape for c in cycle_images):
        raise ShapeError(f"template cycles must all be (channels, H, W), got {shape}")
    corrected = [[subtract_background(ch) for ch in cycle] for cycle in cycle_images]
    first = np.sum(corrected[0], axis=0)
    registrar = Registrar(first)
    shifts = np.array([[registrar.shift_px(ch) for ch in cycle] for cycle in corrected])
    scales = [max(float(np.percentile(ch, 99.5)), 1e-6) for ch in corrected[0]]
    summed = np.zeros(shape[1:], dtype=np.float32)
    for t, cycle in enumerate(corrected):
        aligned = [
            ndimage.shift(ch / np.float32(s), (-shifts[t, c, 1], -shifts[t, c, 0]), order=1)
            for c, (ch, s) in enumerate(zip(cycle, scales, strict=True))
        ]
        summed += np.max(aligned, axis=0)
    positions = detect_clusters(summed)
    # Re-register the template cycles against the full template for consistency.
    final = Registrar(summed)
    shifts = np.array([[final.shift_px(ch) for ch in cycle] for cycle in corrected])
    return Template(positions, summed, shifts)


def detect_clusters(image: np.ndarray) -> np.ndarray:
    """Sub-pixel (x, y) of the local maxima of a background-free cluster image."""
    smooth = ndimage.gaussian_filter(np.asarray(image, dtype=np.float32), SMOOTHING_SIGMA_PX)
    lower = smooth[smooth < np.median(smooth)]
    noise = 1.4826 * float(np.median(np.abs(lower - np.median(lower)))) if lower.size else 0.0
    is_peak = smooth == ndimage.maximum_filter(smooth, size=3, mode="constant")
    is_peak[[0, -1], :] = False
    is_peak[:, [0, -1]] = False
    candidates = is_peak & (smooth > NOISE_THRESHOLD_SIGMAS * noise)
    if not candidates.any():
        return np.empty((0, 2))
    floor = MIN_PEAK_FRACTION * float(np.median(smooth[candidates]))
    rows, cols = np.nonzero(candidates & (smooth > floor))
    logs = np.log(np.maximum(smooth, 1e-6))
    dx = _gauss_offset(logs[rows, cols - 1], logs[rows, cols], logs[rows, cols + 1])
    dy = _gauss_offset(logs[rows - 1, cols], logs[rows, cols], logs[rows + 1, cols])
    return np.column_stack([cols + dx, rows + dy])


def _gauss_offset(left: np.ndarray, centre: np.ndarray, right: np.ndarray) -> np.ndarray:
    denominator = left - 2.0 * centre + right
    offset = np.divide(0.5 * (left - right), denominator, out=np.zeros_like(centre),
                       where=denominator < 0)
    return np.clip(offset, -0.5, 0.5)

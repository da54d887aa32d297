"""Image formation: point sources -> PSF -> background -> shot and read noise -> ADC.

Each cluster is a point source of ``signal_e`` photo-electrons at a sub-pixel position, split
bilinearly over its four nearest pixels (this keeps its centroid exact) and blurred by a
separable Gaussian PSF. The camera adds a uniform background, Poisson shot noise, Gaussian read
noise, then applies gain and offset and digitises to ``adc_bits`` (clipped to the ADC range).
"""

import numpy as np
from scipy import ndimage

PSF_TRUNCATE_SIGMAS = 3.5


def splat_bilinear(xy_px: np.ndarray, signal_e: np.ndarray, height: int,
                   width: int) -> np.ndarray:
    """``(height, width)`` float32 image of point sources, each split over 4 pixels."""
    x = xy_px[:, 0]
    y = xy_px[:, 1]
    x0 = np.floor(x)
    y0 = np.floor(y)
    fx = (x - x0).astype(np.float32)
    fy = (y - y0).astype(np.float32)
    col = x0.astype(np.int64)
    row = y0.astype(np.int64)
    signal = signal_e.astype(np.float32)
    rows = np.concatenate([row, row, row + 1, row + 1])
    cols = np.concatenate([col, col + 1, col, col + 1])
    weights = np.concatenate([signal * (1 - fx) * (1 - fy), signal * fx * (1 - fy),
                              signal * (1 - fx) * fy, signal * fx * fy])
    inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
    flat = np.bincount(rows[inside] * width + cols[inside], weights=weights[inside],
                       minlength=height * width)
    return flat.astype(np.float32).reshape(height, width)


def apply_psf(image: np.ndarray, sigma_px: float) -> np.ndarray:
    """Separable Gaussian blur in place (energy outside the tile is lost, as on a sensor)."""
    ndimage.gaussian_filter(image, sigma_px, output=image, mode="constant",
                            truncate=PSF_TRUNCATE_SIGMAS)
    return image


def digitise(expected_e: np.ndarray, rng: np.random.Generator | None, *, shot_noise: bool,
             read_noise_e: float, gain_adu_per_e: float, offset_adu: float,
             adc_max: int) -> np.ndarray:
    """Camera: photo-electrons (expected) -> uint16 counts; ``rng=None`` means noiseless."""
    if rng is not None and shot_noise:
        electrons = rng.poisson(expected_e).astype(np.float32)
    else:
        electrons = expected_e.astype(np.float32, copy=True)
    if rng is not None and read_noise_e > 0:
        electrons += rng.standard_normal(expected_e.shape, dtype=np.float32) * read_noise_e
    electrons *= gain_adu_per_e
    electrons += offset_adu
    np.rint(electrons, out=electrons)
    np.clip(electrons, 0, adc_max, out=electrons)
    return electrons.astype(np.uint16)

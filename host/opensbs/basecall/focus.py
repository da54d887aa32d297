"""Figures measured on one tile's raw cycle images: spot width (focus) and the contrast range,
per channel, for the InterOp extraction and image metrics.

The spots are the brightest local maxima of the central crop of each channel image that stand
`MIN_SPOT_SNR` robust noise spreads (1.4826 x median absolute deviation) above its median. The
width comes from each spot's three-point Gaussian profile along x and along y (ln I(x) is a
parabola of curvature -1/sigma^2 for a Gaussian), less the 1/12 px^2 a square pixel adds to the
variance, as the median over spots: FWHM = 2 sqrt(2 ln 2) sigma. The contrast range is the
0.1th and 99.9th percentile of the pixels (every 4th of every 4th row), as thumbnails are
auto-contrasted. (CorrectedIntMetrics' SNR is the caller's, on the clusters' intensities.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter

FWHM_PER_SIGMA = 2.0 * float(np.sqrt(2.0 * np.log(2.0)))
CROP_PX = 256  # central crop measured (the tile centre's focus)
MAX_SPOTS = 400
MIN_SPOT_SNR = 5.0
PIXEL_VARIANCE_PX2 = 1.0 / 12.0
CONTRAST_PERCENTILES = (0.1, 99.9)
CONTRAST_STRIDE_PX = 4  # every 4th pixel of every 4th row


@dataclass(frozen=True)
class ImageFigures:
    """Per channel of one tile and cycle (0 where no spot stands out of the noise)."""

    fwhm_px: np.ndarray  # (channels,) spot full width at half maximum, pixels
    min_contrast: np.ndarray  # (channels,) low end of the pixel range, raw counts
    max_contrast: np.ndarray  # (channels,) high end of the pixel range, raw counts


def _crop(image: np.ndarray) -> np.ndarray:
    h, w = image.shape
    top, left = max((h - CROP_PX) // 2, 0), max((w - CROP_PX) // 2, 0)
    return image[top:top + CROP_PX, left:left + CROP_PX].astype(np.float64)


def _fwhm_px(image: np.ndarray) -> float:
    """Spot FWHM of one channel image, pixels (0 where no spot stands out of the noise)."""
    crop = _crop(image)
    background = float(np.median(crop))
    noise = 1.4826 * float(np.median(np.abs(crop - background)))
    height = crop - background
    peaks = (crop == maximum_filter(crop, size=5)) & (height > MIN_SPOT_SNR * max(noise, 1e-9))
    peaks[[0, -1], :] = False
    peaks[:, [0, -1]] = False
    ys, xs = np.nonzero(peaks)
    if ys.size == 0:
        return 0.0
    brightest = np.argsort(height[ys, xs])[::-1][:MAX_SPOTS]
    ys, xs = ys[brightest], xs[brightest]
    centre = height[ys, xs]
    sides = np.stack([height[ys, xs - 1], height[ys, xs + 1], height[ys - 1, xs],
                      height[ys + 1, xs]])
    ok = (sides > 0).all(axis=0)
    if not ok.any():
        return 0.0
    log_c, log_s = np.log(centre[ok]), np.log(sides[:, ok])
    curvature = np.stack([log_s[0] - 2 * log_c + log_s[1], log_s[2] - 2 * log_c + log_s[3]])
    variance = np.where(curvature < 0, -1.0 / np.minimum(curvature, -1e-9), np.nan)
    sigma2 = np.nanmedian(variance) - PIXEL_VARIANCE_PX2
    return FWHM_PER_SIGMA * float(np.sqrt(sigma2)) if np.isfinite(sigma2) and sigma2 > 0 else 0.0


def measure_images(images: np.ndarray) -> ImageFigures:
    """Focus and contrast range of each channel of (channels, H, W) raw images."""
    imgs = np.asarray(images)
    if imgs.ndim != 3:
        raise ValueError(f"images must be (channels, H, W), got shape {imgs.shape}")
    fwhm = np.array([_fwhm_px(channel) for channel in imgs])
    sample = imgs[:, ::CONTRAST_STRIDE_PX, ::CONTRAST_STRIDE_PX].reshape(len(imgs), -1)
    low, high = np.percentile(sample, CONTRAST_PERCENTILES, axis=1)
    return ImageFigures(fwhm, low, high)

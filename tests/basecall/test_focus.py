"""Spot width (FWHM) and contrast range measured on images of known spots."""

import numpy as np
import pytest
from opensbs.basecall.focus import FWHM_PER_SIGMA, measure_images
from scipy.special import erf


def _spots(sigma_px: float, rng: np.random.Generator, size: int = 256, n: int = 500,
           background: float = 100.0, noise: float = 8.0) -> np.ndarray:
    """Gaussian spots integrated over square pixels, on a flat background with noise."""
    image = np.full((size, size), background)
    edges = np.arange(size + 1) - 0.5
    for x, y in rng.uniform(4, size - 4, (n, 2)):
        fx = np.diff(erf((edges - x) / (np.sqrt(2) * sigma_px))) / 2
        fy = np.diff(erf((edges - y) / (np.sqrt(2) * sigma_px))) / 2
        image += 800 * 2 * np.pi * sigma_px**2 * rng.uniform(0.6, 1.4) * np.outer(fy, fx)
    return np.clip(image + rng.normal(0, noise, image.shape), 0, 4095).astype(np.uint16)


def test_fwhm_of_each_channel_is_the_true_spot_width():
    rng = np.random.default_rng(4)
    sigmas = (0.8, 1.0, 1.4, 1.9)
    figures = measure_images(np.stack([_spots(s, rng) for s in sigmas]))
    assert figures.fwhm_px == pytest.approx([FWHM_PER_SIGMA * s for s in sigmas], rel=0.04)


def test_contrast_spans_background_to_spots():
    rng = np.random.default_rng(5)
    figures = measure_images(np.stack([_spots(1.0, rng, noise=5), _spots(1.0, rng, noise=20)]))
    assert (figures.min_contrast < 100).all() and (figures.max_contrast > 400).all()


def test_blank_image_has_no_spots():
    flat = np.random.default_rng(6).normal(100, 5, (1, 128, 128)).astype(np.uint16)
    figures = measure_images(flat)
    assert figures.fwhm_px[0] == 0.0


def test_images_must_be_channels_by_rows_by_columns():
    with pytest.raises(ValueError, match=r"\(channels, H, W\)"):
        measure_images(np.zeros((8, 8)))

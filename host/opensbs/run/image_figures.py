"""Per tile and cycle figures measured on the raw images as they arrive (focus, contrast),
kept in the run folder's State/ until the InterOp metrics are written at the end."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from ..basecall.focus import ImageFigures, measure_images
from ..runfolder import RunFolder, atomic_write_bytes


def image_figures_path(folder: RunFolder, tile: int, cycle: int) -> Path:
    return folder.layout.state / "metrics" / f"s_{folder.layout.lane}_{tile}_C{cycle}_images.npz"


def record_image_figures(folder: RunFolder, tile: int, cycle: int, images: np.ndarray) -> None:
    """Measure one tile's (channels, H, W) cycle images and keep the figures."""
    figures = measure_images(images)
    buf = io.BytesIO()
    np.savez(buf, fwhm_px=figures.fwhm_px, min_contrast=figures.min_contrast,
             max_contrast=figures.max_contrast)
    atomic_write_bytes(image_figures_path(folder, tile, cycle), buf.getvalue())


def load_image_figures(folder: RunFolder, tile: int, cycle: int) -> ImageFigures | None:
    """The kept figures of a tile and cycle (None when that cycle's images were not measured)."""
    path = image_figures_path(folder, tile, cycle)
    if not path.exists():
        return None
    with np.load(path) as data:
        return ImageFigures(data["fwhm_px"], data["min_contrast"], data["max_contrast"])

"""Cluster placement on a tile: Poisson (random flow cell) or a hexagonal well grid (patterned).

Coordinates are in pixels, x = column and y = row, with pixel ``(r, c)`` centred on ``(x=c,
y=r)``: a tile of width W spans ``x`` in ``[-0.5, W - 0.5)``. Clusters may overlap.
"""

from dataclasses import dataclass

import numpy as np

from .errors import SimConfigError


@dataclass(frozen=True)
class TileGeometry:
    """Cluster centres (N, 2) as (x, y) pixels, plus the well grid when patterned."""

    positions_px: np.ndarray
    wells_total: int  # wells on the tile (patterned) or 0 (random)


def tile_area_mm2(width_px: int, height_px: int, pixel_size_um: float) -> float:
    """Flow-cell area imaged by one tile."""
    return width_px * height_px * (pixel_size_um * 1e-3) ** 2


def random_positions(rng: np.random.Generator, width_px: int, height_px: int,
                     density_per_mm2: float, pixel_size_um: float) -> TileGeometry:
    """Poisson point process: the count is Poisson(density x area), positions uniform."""
    expected = density_per_mm2 * tile_area_mm2(width_px, height_px, pixel_size_um)
    count = int(rng.poisson(expected))
    xy = rng.uniform(0.0, 1.0, size=(count, 2)) * (width_px, height_px) - 0.5
    return TileGeometry(positions_px=xy, wells_total=0)


def hex_grid(width_px: int, height_px: int, pitch_px: float) -> np.ndarray:
    """Centres (M, 2) of a hexagonal grid of ``pitch_px`` covering the tile, rows along x."""
    if pitch_px < 1.0:
        raise SimConfigError(f"well pitch must be at least 1 pixel, got {pitch_px:.3f} px")
    row_step = pitch_px * np.sqrt(3.0) / 2.0
    ys = np.arange(0.0, height_px - 0.5, row_step)
    rows = []
    for index, y in enumerate(ys):
        xs = np.arange(0.0 if index % 2 == 0 else pitch_px / 2.0, width_px - 0.5, pitch_px)
        rows.append(np.column_stack([xs, np.full_like(xs, y)]))
    return np.concatenate(rows) if rows else np.empty((0, 2))


def patterned_positions(rng: np.random.Generator, width_px: int, height_px: int,
                        pitch_um: float, pixel_size_um: float,
                        occupancy: float) -> TileGeometry:
    """Wells on a hexagonal grid, each holding a cluster with probability ``occupancy``."""
    wells = hex_grid(width_px, height_px, pitch_um / pixel_size_um)
    occupied = rng.random(len(wells)) < occupancy
    return TileGeometry(positions_px=wells[occupied], wells_total=len(wells))

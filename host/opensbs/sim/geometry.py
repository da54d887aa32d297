"""Cluster placement on a tile: Poisson (random flow cell) or a hexagonal well grid (patterned).

Coordinates are in pixels, x = column and y = row, with pixel ``(r, c)`` centred on ``(x=c,
y=r)``: a tile of width W spans ``x`` in ``[-0.5, W - 0.5)``. Clusters may overlap, unless a
random flow cell has an exclusion distance: bridge amplification is exponential, so of two
templates seeded closer than about a cluster's radius the one that starts amplifying first
takes the surface primers between them and the other never forms a cluster (a Matern type-II
hard-core process: Poisson seeds with random start times; a seed is lost if an earlier one
lies within the distance).
"""

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

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
                     density_per_mm2: float, pixel_size_um: float, exclusion_um: float = 0.0
                     ) -> TileGeometry:
    """Poisson point process: the count is Poisson(density x area), positions uniform.

    ``exclusion_um`` > 0: Matern type-II thinning of denser seeds, ``density_per_mm2`` being
    the density of the clusters that form (as a run's cluster density reports it)."""
    area_mm2 = tile_area_mm2(width_px, height_px, pixel_size_um)
    count = int(rng.poisson(seed_density_per_mm2(density_per_mm2, exclusion_um) * area_mm2))
    xy = rng.uniform(0.0, 1.0, size=(count, 2)) * (width_px, height_px) - 0.5
    if exclusion_um > 0:
        start = rng.random(count)
        pairs = cKDTree(xy).query_pairs(exclusion_um / pixel_size_um, output_type="ndarray")
        later = np.where(start[pairs[:, 0]] > start[pairs[:, 1]], pairs[:, 0], pairs[:, 1])
        keep = np.ones(count, dtype=bool)
        keep[later] = False
        xy = xy[keep]
    return TileGeometry(positions_px=xy, wells_total=0)


def seed_density_per_mm2(cluster_density_per_mm2: float, exclusion_um: float) -> float:
    """Seed density whose Matern type-II thinning at ``exclusion_um`` leaves the cluster
    density: ``(1 - exp(-seeds * a)) / a`` with ``a`` the excluded area."""
    if exclusion_um <= 0:
        return cluster_density_per_mm2
    excluded_mm2 = np.pi * (exclusion_um * 1e-3) ** 2
    filled = cluster_density_per_mm2 * excluded_mm2
    if filled >= 1.0:
        raise SimConfigError(
            f"cluster density {cluster_density_per_mm2:.0f}/mm2 is above the "
            f"{1 / excluded_mm2:.0f}/mm2 clusters {exclusion_um} um apart can reach")
    return float(-np.log1p(-filled) / excluded_mm2)


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

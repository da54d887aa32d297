"""A run folder of a simulated library as a perfect base caller would write it: each read's
bases straight from `draw_library`, per-cycle BCL files with given qualities, a chastity filter
and cluster positions. For demultiplexing tests and benchmarks, where images are beside the
point and the truth (sample, index errors, insert) must be exact."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..recipe import Recipe
from ..runfolder import RunFolder, RunIdentity
from .library import Library, LibraryConfig, draw_library


@dataclass(frozen=True)
class LibraryTile:
    """The truth of one tile: its library, PF flags, positions and the qualities written."""

    tile: int
    library: Library
    passed: np.ndarray
    xy_px: np.ndarray
    qualities: np.ndarray  # (clusters, run cycles)


NAME_STEPS_PER_PX = 10  # read names give positions in tenths of a pixel


def _distinct_positions(rng: np.random.Generator, n: int, width_px: int,
                        height_px: int) -> np.ndarray:
    """(n, 2) float32 positions, no two in the same tenth of a pixel (distinct read names)."""
    columns = width_px * NAME_STEPS_PER_PX
    cells = np.zeros(0, np.int64)
    while len(cells) < n:
        more = rng.integers(0, columns * height_px * NAME_STEPS_PER_PX, 2 * n + 16)
        cells = np.unique(np.concatenate([cells, more]))
    cells = rng.permutation(cells)[:n]
    steps = np.stack([cells % columns, cells // columns], axis=1)
    return ((steps + 0.25) / NAME_STEPS_PER_PX).astype(np.float32)


def write_library_calls(root: Path, recipe: Recipe, recipe_text: str, identity: RunIdentity,
                        config: LibraryConfig, clusters_per_tile: int,
                        rng: np.random.Generator, pf_fraction: float = 0.9,
                        quality_range: tuple[int, int] = (12, 40)) -> list[LibraryTile]:
    """Write RunInfo.xml, RunParameters.xml, recipe, BCL, filter and locs files of `recipe`'s
    tiles, `clusters_per_tile` clusters of `config`'s library each at distinct positions;
    qualities uniform in `quality_range`, a fraction `pf_fraction` passing the filter."""
    folder = RunFolder(root, recipe, identity)
    folder.write_static(recipe_text, "simulated library calls")
    out = []
    for tile in recipe.flowcell.tile_numbers():
        lib = draw_library(config, clusters_per_tile, recipe.reads, rng)
        bases = np.concatenate([r[:, :read.cycles] for r, read in
                                zip(lib.reads, recipe.reads, strict=True)], axis=1)
        quals = rng.integers(quality_range[0], quality_range[1] + 1, bases.shape, dtype=np.uint8)
        for cycle in range(bases.shape[1]):
            folder.write_bcl(cycle + 1, tile, bases[:, cycle], quals[:, cycle])
        passed = rng.random(clusters_per_tile) < pf_fraction
        xy = _distinct_positions(rng, clusters_per_tile, recipe.flowcell.width_px,
                                 recipe.flowcell.height_px)
        folder.write_filter(tile, passed)
        folder.write_locs(tile, xy)
        out.append(LibraryTile(tile, lib, passed, xy, quals))
    return out

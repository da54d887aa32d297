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


def write_library_calls(root: Path, recipe: Recipe, recipe_text: str, identity: RunIdentity,
                        config: LibraryConfig, clusters_per_tile: int,
                        rng: np.random.Generator, pf_fraction: float = 0.9,
                        quality_range: tuple[int, int] = (12, 40)) -> list[LibraryTile]:
    """Write RunInfo.xml, RunParameters.xml, recipe, BCL, filter and locs files of `recipe`'s
    tiles, `clusters_per_tile` clusters of `config`'s library each; qualities uniform in
    `quality_range`, a fraction `pf_fraction` passing the filter."""
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
        xy = (rng.random((clusters_per_tile, 2)) * [recipe.flowcell.width_px,
                                                    recipe.flowcell.height_px]).astype(np.float32)
        folder.write_filter(tile, passed)
        folder.write_locs(tile, xy)
        out.append(LibraryTile(tile, lib, passed, xy, quals))
    return out

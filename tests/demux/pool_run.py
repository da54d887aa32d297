"""Run folders of a pooled, indexed library for the demultiplexing tests: the simulated library
(opensbs.sim.library) written as BCL, filter and locs files with the run-folder writer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from opensbs.recipe import default_recipe_text, parse_read_structure, parse_recipe
from opensbs.runfolder import RunFolder, RunIdentity
from opensbs.sim.library import Library, LibraryConfig, PoolSample, draw_library

POOL = (PoolSample("Alpha", "ACGTACGT", "TTGGCCAA", 0.4),
        PoolSample("Beta", "GGTTAACC", "CATGCATG", 0.3),
        PoolSample("Gamma-1", "TTAACCGG", "AACCTTGG", 0.2),
        PoolSample("Delta_2", "CAGTGTCA", "GTCAACTG", 0.1))


@dataclass(frozen=True)
class PoolTile:
    tile: int
    library: Library
    passed: np.ndarray
    xy_px: np.ndarray
    qualities: np.ndarray  # (n, run cycles)


def _recipe_text(structure: str) -> str:
    blocks = "".join(f"[[reads]]\ncycles = {r.cycles}\nindex = {str(r.index).lower()}\n\n"
                     for r in parse_read_structure(structure))
    return default_recipe_text().replace("[[reads]]\ncycles = 50\nindex = false\n\n", blocks)


def write_pool_run(root: Path, structure: str = "24T8B8B20T", clusters: tuple[int, ...] = (
        600, 500), pool: tuple[PoolSample, ...] = POOL, seed: int = 1,
        **library: object) -> list[PoolTile]:
    """A run folder of `structure` whose tiles hold `clusters` clusters of `pool`; returns the
    truth of each tile."""
    text = _recipe_text(structure)
    recipe = parse_recipe(text)
    recipe = recipe.model_copy(update={"flowcell": recipe.flowcell.model_copy(
        update={"tiles": len(clusters)})})
    folder = RunFolder(root, recipe, RunIdentity("261203_OPENSBS1_0007_OSBS0001", 7, "261203"))
    folder.write_static(text, "test")
    config = LibraryConfig(samples=pool, **library)  # type: ignore[arg-type]
    rng = np.random.default_rng(seed)
    out = []
    for tile, n in zip(recipe.flowcell.tile_numbers(), clusters, strict=True):
        lib = draw_library(config, n, recipe.reads, rng)
        bases = np.concatenate([r[:, :read.cycles] for r, read in zip(lib.reads, recipe.reads,
                                                                      strict=True)], axis=1)
        quals = rng.integers(12, 41, bases.shape).astype(np.uint8)
        for cycle in range(bases.shape[1]):
            folder.write_bcl(cycle + 1, tile, bases[:, cycle], quals[:, cycle])
        passed = rng.random(n) < 0.9
        xy = rng.random((n, 2)).astype(np.float32) * 1000
        folder.write_filter(tile, passed)
        folder.write_locs(tile, xy)
        out.append(PoolTile(tile, lib, passed, xy, quals))
    return out


def sheet_v2(pool: tuple[PoolSample, ...] = POOL, settings: str = "", header: str = "") -> str:
    rows = "".join(f"1,{s.sample_id},{s.index1},{s.index2},Proj\n" for s in pool)
    return (f"[Header]\nFileFormatVersion,2\nRunName,pool\n{header}\n"
            f"[BCLConvert_Settings]\n{settings}\n"
            f"[BCLConvert_Data]\nLane,Sample_ID,Index,Index2,Sample_Project\n{rows}")

"""Run folders of a pooled, indexed library for the demultiplexing tests (the simulated library
written as a perfect caller would, opensbs.sim.library_calls)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from opensbs.recipe import default_recipe_text, parse_read_structure, parse_recipe
from opensbs.runfolder import RunIdentity
from opensbs.sim.library import LibraryConfig, PoolSample
from opensbs.sim.library_calls import LibraryTile, write_library_calls

# i7s and i5s each differ in >= 4 bases
POOL = (PoolSample("Alpha", "ACGTACGT", "TTGGCCAA", 0.4),
        PoolSample("Beta", "GGTTAACC", "CATGCATG", 0.3),
        PoolSample("Gamma-1", "TTAACCGG", "AACCTTGG", 0.2),
        PoolSample("Delta_2", "CAGTGTCA", "GTCAACTG", 0.1))


def recipe_text(structure: str, tiles: int) -> str:
    blocks = "".join(f"[[reads]]\ncycles = {r.cycles}\nindex = {str(r.index).lower()}\n\n"
                     for r in parse_read_structure(structure))
    text = default_recipe_text().replace("[[reads]]\ncycles = 50\nindex = false\n\n", blocks)
    return text.replace("tiles = 2\n", f"tiles = {tiles}\n")


def write_pool_run(root: Path, structure: str = "24T8B8B20T", clusters: int = 550,
                   tiles: int = 2, pool: tuple[PoolSample, ...] = POOL, seed: int = 1,
                   **library: object) -> list[LibraryTile]:
    """A run folder of `structure` whose `tiles` tiles hold `clusters` clusters of `pool`
    each; returns the truth of each tile."""
    text = recipe_text(structure, tiles)
    identity = RunIdentity("261203_OPENSBS1_0007_OSBS0001", 7, "261203")
    config = LibraryConfig(samples=pool, **library)  # type: ignore[arg-type]
    return write_library_calls(root, parse_recipe(text), text, identity, config, clusters,
                               np.random.default_rng(seed))


def sheet_v2(pool: tuple[PoolSample, ...] = POOL, settings: str = "", header: str = "") -> str:
    rows = "".join(f"1,{s.sample_id},{s.index1},{s.index2},Proj\n" for s in pool)
    return (f"[Header]\nFileFormatVersion,2\nRunName,pool\n{header}\n"
            f"[BCLConvert_Settings]\n{settings}\n"
            f"[BCLConvert_Data]\nLane,Sample_ID,Index,Index2,Sample_Project\n{rows}")

"""The per-tile tasks of the offline commands, run by the job engine on its workers.

Arguments are small (paths, configs); each task reads its inputs and writes its outputs
itself, so no image crosses the network. Each result is the tile's JSON summary.
"""

import os
from pathlib import Path
from typing import Any

from ..basecall import TileBasecaller, chemistry_named
from ..basecall.fastq import write_fastq
from ..basecall.image_set import ImageSet
from ..basecall.pipeline import IntensityCalls, collect
from ..basecall.quality import QualityTable
from ..sim import SimConfig
from ..sim.layout import tile_files, write_simulated_tile
from .engine import TileJob


def fastq_name(tile: int) -> str:
    """The FASTQ.gz file of ``tile`` in an offline calls folder."""
    return f"s_1_{tile}.fastq.gz"


def basecall_jobs(images: ImageSet, out_dir: Path, chemistry: str | None,
                  quality_table: Path | None, include_filtered: bool) -> list[TileJob]:
    """One job per tile of ``images`` (absolute paths), writing ``out_dir/s_1_TILE.fastq.gz``."""
    return [TileJob(f"tile_{tile}", out_dir, (fastq_name(tile),), call_stored_tile,
                    (ImageSet(images.root, {tile: images.files[tile]}), tile, out_dir, chemistry,
                     quality_table, include_filtered),
                    inputs=tuple(images.files[tile]) + ((quality_table,) if quality_table
                                                        else ()))
            for tile in images.tiles]


def simulation_jobs(out_dir: Path, config: SimConfig, tiles: list[int], cycles: int
                    ) -> list[TileJob]:
    """One job per simulated tile, writing its images and truth under ``out_dir``."""
    return [TileJob(f"tile_{tile}", out_dir,
                    tuple(str(p.relative_to(out_dir)) for p in tile_files(out_dir, tile, cycles)),
                    simulate_tile, (out_dir, config, tile, cycles)) for tile in tiles]


def call_stored_tile(images: ImageSet, tile: int, out_dir: Path, chemistry: str | None,
                     quality_table: Path | None, include_filtered: bool) -> dict[str, Any]:
    """Call every stored cycle of ``tile`` and write its FASTQ.gz; returns its summary."""
    caller = TileBasecaller(chemistry_named(chemistry) if chemistry else None,
                            quality_table=None if quality_table is None
                            else QualityTable.load(quality_table))
    results = []
    for cycle in range(1, images.cycles(tile) + 1):
        results += caller.add_cycle(images.read(tile, cycle))
    results += caller.finish()
    calls = collect(results, caller.passing_filter, caller.rates, caller.colour_model)
    assert caller.positions is not None
    path = out_dir / fastq_name(tile)
    partial = path.with_name(f".{path.name}.partial")
    reads = write_fastq(partial, calls.bases, calls.qualities, caller.positions,
                        calls.passing_filter, tile, include_filtered=include_filtered)
    os.replace(partial, path)
    return calls_summary(calls, reads)


def calls_summary(calls: IntensityCalls, reads: int) -> dict[str, Any]:
    """Clusters, reads written, %PF, rates and Q30 fraction of one set of calls."""
    return {"clusters": int(calls.bases.shape[0]), "reads_written": reads,
            "pf_fraction": float(calls.passing_filter.mean()),
            "phasing": calls.rates.phasing, "prephasing": calls.rates.prephasing,
            "q30_fraction_pf": float((calls.qualities[calls.passing_filter] >= 30).mean())
            if calls.passing_filter.any() else 0.0}


def simulate_tile(out_dir: Path, config: SimConfig, tile: int, cycles: int) -> dict[str, Any]:
    """Write one simulated tile's cycle images and truth."""
    write_simulated_tile(out_dir, config, tile, cycles)
    return {"tile": tile, "cycles": cycles}

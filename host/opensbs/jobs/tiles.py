"""The per-tile tasks of the offline commands, run by the job engine on its workers.

Arguments are small (paths, configs); each task reads its inputs and writes its outputs
itself, so no image crosses the network. Each result is the tile's JSON summary.
"""

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..basecall import BasecallConfig, TileBasecaller, chemistry_named
from ..basecall.fastq import ReadNaming, write_fastq
from ..basecall.image_set import ImageSet
from ..basecall.pipeline import IntensityCalls, collect
from ..basecall.quality import QualityTable
from ..runfolder.atomic import atomic_write_bytes
from .engine import TileJob

TILE_PARTS = "tiles"  # per-tile FASTQ parts of an offline calls folder


@dataclass(frozen=True)
class ReadSpan:
    """One read of the read structure: its FASTQ label (R1, I1, R2...), its number in the read
    names, and its cycles (1-based first cycle)."""

    label: str
    number: int
    first_cycle: int
    cycles: int | None = None  # None: every cycle from first_cycle on


def part_name(tile: int, read: ReadSpan) -> str:
    """A tile's FASTQ.gz part of one read in an offline calls folder."""
    return f"{TILE_PARTS}/{read.label}_{tile}.fastq.gz"


def undetermined_fastq_name(lane: int, read: ReadSpan) -> str:
    """The Illumina (bcl2fastq / BCL Convert) name of a read's FASTQ.gz of all tiles."""
    return f"Undetermined_S0_L{lane:03d}_{read.label}_001.fastq.gz"


def basecall_jobs(images: ImageSet, out_dir: Path, chemistry: str | None,
                  quality_table: Path | None, include_filtered: bool,
                  naming: ReadNaming, reads: Sequence[ReadSpan],
                  config: BasecallConfig | None = None) -> list[TileJob]:
    """One job per tile of ``images`` (absolute paths), writing one FASTQ.gz part per read
    (`part_name`) named with ``naming``."""
    return [TileJob(f"tile_{tile}", out_dir, tuple(part_name(tile, r) for r in reads),
                    call_stored_tile,
                    (ImageSet(images.root, {tile: images.files[tile]}), tile, out_dir, chemistry,
                     quality_table, include_filtered, naming, tuple(reads),
                     config or BasecallConfig()),
                    inputs=tuple(images.files[tile]) + ((quality_table,) if quality_table
                                                        else ()))
            for tile in images.tiles]


def merge_parts(out_dir: Path, tiles: Sequence[int], lane: int, reads: Sequence[ReadSpan]
                ) -> list[Path]:
    """Concatenate the tiles' parts (gzip members, in tile order) into one Illumina-named
    FASTQ.gz per read; the bytes do not depend on which worker called which tile."""
    written = []
    for read in reads:
        path = out_dir / undetermined_fastq_name(lane, read)
        atomic_write_bytes(path, b"".join((out_dir / part_name(t, read)).read_bytes()
                                          for t in tiles))
        written.append(path)
    return written


def call_stored_tile(images: ImageSet, tile: int, out_dir: Path, chemistry: str | None,
                     quality_table: Path | None, include_filtered: bool,
                     naming: ReadNaming, reads: tuple[ReadSpan, ...],
                     config: BasecallConfig) -> dict[str, Any]:
    """Call every stored cycle of ``tile`` and write its FASTQ.gz part of each read; returns
    its summary."""
    caller = TileBasecaller(chemistry_named(chemistry) if chemistry else None, config=config,
                            quality_table=None if quality_table is None
                            else QualityTable.load(quality_table))
    results = []
    for cycle in range(1, images.cycles(tile) + 1):
        results += caller.add_cycle(images.read(tile, cycle))
    results += caller.finish()
    calls = collect(results, caller.passing_filter, caller.rates, caller.colour_model)
    assert caller.positions is not None
    written = 0
    for read in reads:
        last = None if read.cycles is None else read.first_cycle - 1 + read.cycles
        span = slice(read.first_cycle - 1, last)
        path = out_dir / part_name(tile, read)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        written = write_fastq(partial, calls.bases[:, span], calls.qualities[:, span],
                              caller.positions, calls.passing_filter, tile,
                              dataclasses.replace(naming, read=read.number),
                              include_filtered=include_filtered)
        os.replace(partial, path)
    return calls_summary(calls, written)


def calls_summary(calls: IntensityCalls, reads: int) -> dict[str, Any]:
    """Clusters, reads written, %PF, rates and Q30 fraction of one set of calls."""
    return {"clusters": int(calls.bases.shape[0]), "reads_written": reads,
            "pf_fraction": float(calls.passing_filter.mean()),
            "phasing": calls.rates.phasing, "prephasing": calls.rates.prephasing,
            "q30_fraction_pf": float((calls.qualities[calls.passing_filter] >= 30).mean())
            if calls.passing_filter.any() else 0.0}

"""End of a run: metrics with the final chastity filter, InterOp, summary.json, FASTQ, report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..report import write_report
from ..runfolder import (
    CycleTileMetrics,
    RunFolder,
    TileSummary,
    build_summary,
    cycle_tile_metrics,
)
from .calling import load_cycle_metrics
from .truth import TileTruth, match_truth


@dataclass(frozen=True)
class TileResult:
    """What the caller knows at the end about one tile."""

    tile: int
    positions_px: np.ndarray
    passed: np.ndarray
    phasing: float
    prephasing: float
    area_mm2: float
    fwhm_px: float = 0.0  # spot width from the caller's point-spread estimate (0: unknown)


def tile_metrics(folder: RunFolder, result: TileResult, cycles: int, truth: TileTruth | None
                 ) -> tuple[list[CycleTileMetrics], float | None]:
    """Per-cycle metrics of one tile from its BCLs and kept figures, and the fraction of its
    PF clusters aligned to the truth (None without one)."""
    lane = folder.recipe.flowcell.lane
    calls = [folder.read_bcl(cycle, result.tile) for cycle in range(1, cycles + 1)]
    matched = None
    if truth is not None:
        reads = np.stack([bases for bases, _ in calls], axis=1)
        matched = match_truth(result.positions_px, truth, reads)
    aligned = None if matched is None else matched >= 0
    errors_so_far = np.zeros(len(result.positions_px), np.int64)
    out = []
    for cycle, (bases, quals) in enumerate(calls, start=1):
        figures = load_cycle_metrics(folder, result.tile, cycle)
        mismatch = None
        if truth is not None and matched is not None and aligned is not None:
            mismatch = (bases != truth.sequences[matched.clip(0), cycle - 1]) & aligned
            errors_so_far += mismatch
        out.append(cycle_tile_metrics(
            lane=lane, tile=result.tile, cycle=cycle, bases=bases, qualities=quals,
            passed=result.passed, mean_intensity=figures["mean_intensity"],
            p90_intensity=figures["p90_intensity"],
            called_intensity=figures["called_intensity"],
            fwhm_px=np.full(len(figures["mean_intensity"]), result.fwhm_px), snr=0.0,
            timestamp=cycle,
            errors_so_far=None if mismatch is None else errors_so_far, mismatch=mismatch,
            aligned=aligned))
    if aligned is None or not result.passed.any():
        return out, None
    return out, float((aligned & result.passed).sum() / result.passed.sum())


def finalize_run(folder: RunFolder, results: Sequence[TileResult],
                 truths: dict[int, TileTruth] | None, extra: dict[str, Any]) -> dict[str, Any]:
    """Write filter, locs, InterOp, summary.json, FASTQ and report.html; return the summary."""
    recipe = folder.recipe
    cycles = recipe.total_cycles
    tiles, metrics = [], []
    for r in results:
        folder.write_filter(r.tile, r.passed)
        folder.write_locs(r.tile, r.positions_px)
        truth = None if truths is None else truths.get(r.tile)
        tile_cycles, aligned = tile_metrics(folder, r, cycles, truth)
        metrics += tile_cycles
        reads = len(recipe.reads)
        tiles.append(TileSummary(recipe.flowcell.lane, r.tile, len(r.passed),
                                 int(np.count_nonzero(r.passed)), r.area_mm2,
                                 phasing=[r.phasing] * reads, prephasing=[r.prephasing] * reads,
                                 aligned=[] if aligned is None else [aligned] * reads))
    folder.write_interop(tiles, metrics)
    summary = build_summary([rd.cycles for rd in recipe.reads], tiles, metrics,
                            run_id=folder.identity.run_id, channel_names=recipe.channel_names,
                            **extra)
    folder.write_summary(summary)
    folder.write_fastq()
    write_report(folder.root)
    return summary

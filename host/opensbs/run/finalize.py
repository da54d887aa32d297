"""End of a run: metrics with the final chastity filter, InterOp, summary.json, FASTQ, report.

The error rate is measured without any truth, as Illumina's RTA does with its PhiX spike-in:
each template read of the PF clusters is aligned to the control genome (`ControlAligner`,
minimap2's short-read preset) and every aligned cycle scored. With --sim, the simulation truth
gives a separate diagnostic, `sim_truth_error_rate` ("error vs simulation truth").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..align import ControlAligner
from ..report import write_report
from ..runfolder import (
    CycleTileMetrics,
    RunFolder,
    TileSummary,
    build_summary,
    cycle_tile_metrics,
)
from .calling import load_cycle_metrics
from .image_figures import load_image_figures
from .truth import SimTruth, truth_errors


@dataclass(frozen=True)
class TileResult:
    """What the caller knows at the end about one tile."""

    tile: int
    positions_px: np.ndarray
    passed: np.ndarray
    phasing: Sequence[float]  # per read, fraction per cycle
    prephasing: Sequence[float]
    area_mm2: float
    fwhm_px: float = 0.0  # spot width from the caller's point-spread estimate (0: unknown)


@dataclass(frozen=True)
class ControlScores:
    """Reads of one tile scored against the control genome, over all run cycles."""

    errors: np.ndarray  # (clusters, cycles) 0/1
    scored: np.ndarray  # (clusters, cycles) bool: aligned PF read, base called
    errors_so_far: np.ndarray  # (clusters, cycles): errors in the read up to each cycle
    aligned: list[float | None]  # per read: fraction of PF clusters aligned (None: index read)


def score_against_control(aligner: ControlAligner, folder: RunFolder, bases: np.ndarray,
                          passed: np.ndarray) -> ControlScores:
    """Align each template read of the PF clusters to the control; index reads score nothing
    (they read the sample index, not the genome)."""
    errors = np.zeros(bases.shape, np.int64)
    scored = np.zeros(bases.shape, bool)
    errors_so_far = np.zeros(bases.shape, np.int64)
    aligned: list[float | None] = []
    first = 0
    for read in folder.recipe.reads:
        span = slice(first, first + read.cycles)
        first += read.cycles
        if read.index or not passed.any():
            aligned.append(None if read.index else 0.0)
            continue
        read_errors, read_scored, read_aligned = aligner.read_errors(bases[passed, span])
        errors[passed, span] = read_errors
        scored[passed, span] = read_scored
        errors_so_far[passed, span] = np.cumsum(read_errors, axis=1)
        aligned.append(float(read_aligned.mean()))
    return ControlScores(errors, scored, errors_so_far, aligned)


def tile_metrics(folder: RunFolder, result: TileResult, scores: ControlScores,
                 qualities: np.ndarray, bases: np.ndarray) -> list[CycleTileMetrics]:
    """Per-cycle metrics of one tile from its calls, the caller's kept figures, the figures
    measured on its images and its reads scored against the control."""
    lane = folder.recipe.flowcell.lane
    out = []
    for index in range(bases.shape[1]):
        cycle = index + 1
        figures = load_cycle_metrics(folder, result.tile, cycle)
        measured = load_image_figures(folder, result.tile, cycle)
        channels = len(figures["mean_intensity"])
        out.append(cycle_tile_metrics(
            lane=lane, tile=result.tile, cycle=cycle, bases=bases[:, index],
            qualities=qualities[:, index], passed=result.passed,
            mean_intensity=figures["mean_intensity"], p90_intensity=figures["p90_intensity"],
            called_intensity=figures["called_intensity"],
            fwhm_px=(np.full(channels, result.fwhm_px) if measured is None
                     else measured.fwhm_px),
            snr=float(figures["snr"]),
            timestamp=cycle,
            min_contrast=() if measured is None else measured.min_contrast.tolist(),
            max_contrast=() if measured is None else measured.max_contrast.tolist(),
            errors=scores.errors[:, index], scored=scores.scored[:, index],
            errors_so_far=scores.errors_so_far[:, index]))
    return out


def _usable(folder: RunFolder) -> np.ndarray:
    """Mask of the run's cycles that count in the figures: template reads, all but their last
    cycle (as summary.json and InterOp count them)."""
    mask, first = np.zeros(folder.recipe.total_cycles, bool), 0
    for read in folder.recipe.reads:
        if not read.index:
            mask[first:first + read.cycles - 1] = True
        first += read.cycles
    return mask


def finalize_run(folder: RunFolder, results: Sequence[TileResult],
                 truths: dict[int, SimTruth] | None, extra: dict[str, Any]) -> dict[str, Any]:
    """Write filter, locs, InterOp, summary.json, FASTQ and report.html; return the summary."""
    recipe = folder.recipe
    cycles = recipe.total_cycles
    aligner = ControlAligner()
    usable = _usable(folder)
    tiles, metrics = [], []
    truth_counts = np.zeros(2, np.int64)  # errors, compared
    for r in results:
        folder.write_filter(r.tile, r.passed)
        folder.write_locs(r.tile, r.positions_px)
        bases, qualities = folder.read_calls(r.tile, range(1, cycles + 1))
        scores = score_against_control(aligner, folder, bases, r.passed)
        metrics += tile_metrics(folder, r, scores, qualities, bases)
        truth = None if truths is None else truths.get(r.tile)
        if truth is not None:
            truth_counts += truth_errors(r.positions_px, truth, bases, r.passed, usable)
        tiles.append(TileSummary(recipe.flowcell.lane, r.tile, len(r.passed),
                                 int(np.count_nonzero(r.passed)), r.area_mm2,
                                 phasing=list(r.phasing), prephasing=list(r.prephasing),
                                 aligned=scores.aligned))
    folder.write_interop(tiles, metrics)
    if truths is not None:
        extra = {**extra, "sim_truth_error_rate": (
            float(truth_counts[0] / truth_counts[1]) if truth_counts[1] else None)}
    summary = build_summary([rd.cycles for rd in recipe.reads], tiles, metrics,
                            run_id=folder.identity.run_id, channel_names=recipe.channel_names,
                            **extra)
    folder.write_summary(summary)
    folder.write_fastq()
    if folder.cbcl:
        folder.write_cbcl()
    write_report(folder.root)
    return summary

"""summary.json: headline numbers for the run, per read and per tile.

The numbers follow the InterOp/SAV conventions, so Illumina's `interop` summary of the same
run folder reports the same values: yield, %>=Q30 and error rate count the usable cycles of
each read (all but its last cycle, which only serves phasing estimation); a read's error rate
is the mean over cycles per tile, then over tiles, and the run's is the mean over reads;
phasing, prephasing and the aligned fraction (of PF clusters) are tile means per read, and
means over reads for the run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from statistics import mean
from typing import Any

import numpy as np

from ..basecall.metrics import pf_fraction, q30_fraction
from .errors import RunFolderError
from .interop_files import CycleTileMetrics, TileSummary


def _read_bounds(read_cycles: Sequence[int]) -> list[tuple[int, int]]:
    """(first, last usable) 1-based run cycle of each read."""
    bounds, start = [], 1
    for cycles in read_cycles:
        bounds.append((start, start + cycles - 2))
        start += cycles
    return bounds


def _block(tiles: Sequence[TileSummary], metrics: Sequence[CycleTileMetrics],
           read_index: int | None) -> dict[str, Any]:
    """Numbers over `tiles` and `metrics` (already restricted to usable cycles)."""
    clusters = sum(t.clusters for t in tiles)
    clusters_pf = sum(t.clusters_pf for t in tiles)
    histogram = np.sum([m.q_histogram for m in metrics], axis=0) if metrics else np.zeros(0)
    bases = int(histogram.sum())
    per_tile_error = []
    for t in tiles:
        rates = [m.error_pct for m in metrics if m.tile == t.tile and m.error_pct is not None]
        if rates:
            per_tile_error.append(mean(rates))
    out: dict[str, Any] = {
        "clusters": clusters,
        "clusters_pf": clusters_pf,
        "pf_fraction": pf_fraction(clusters_pf, clusters) or 0.0,
        "q30_fraction": q30_fraction(histogram) or 0.0,
        "yield_bases": bases,
        "error_rate": mean(per_tile_error) / 100.0 if per_tile_error else None,
    }
    phasing = [t.phasing[i] for t in tiles for i in range(len(t.phasing))
               if read_index is None or i == read_index]
    prephasing = [t.prephasing[i] for t in tiles for i in range(len(t.prephasing))
                  if read_index is None or i == read_index]
    out["phasing"] = mean(phasing) if phasing else None
    out["prephasing"] = mean(prephasing) if prephasing else None
    aligned = [a for t in tiles for i, a in enumerate(t.aligned)
               if a is not None and (read_index is None or i == read_index)]
    out["aligned_fraction"] = mean(aligned) if aligned else None
    return out


def build_summary(read_cycles: Sequence[int], tiles: Sequence[TileSummary],
                  metrics: Sequence[CycleTileMetrics], **extra: Any) -> dict[str, Any]:
    """The summary.json document: whole run, `reads` list and `tiles` list."""
    bounds = _read_bounds(read_cycles)
    usable = [m for m in metrics if any(a <= m.cycle <= b for a, b in bounds)]
    summary: dict[str, Any] = _block(tiles, usable, None)
    summary["usable_cycles"] = sum(b - a + 1 for a, b in bounds)
    summary["reads"] = [
        {"read": n, "cycles": read_cycles[n - 1],
         **_block(tiles, [m for m in usable if a <= m.cycle <= b], n - 1)}
        for n, (a, b) in enumerate(bounds, start=1)]
    summary["tiles"] = [
        {"tile": t.tile, **_block([t], [m for m in usable if m.tile == t.tile], None)}
        for t in tiles]
    for key in ("error_rate", "phasing", "prephasing", "aligned_fraction"):
        values = [r[key] for r in summary["reads"] if r[key] is not None]
        summary[key] = mean(values) if values else None
    summary.update(extra)
    return summary


REQUIRED_KEYS = ("clusters", "clusters_pf", "pf_fraction", "q30_fraction", "reads", "tiles")


def read_summary(path: Path) -> dict[str, Any]:
    """summary.json as written by `build_summary`; RunFolderError naming the file when it is
    missing, not UTF-8 JSON, or lacks the headline keys."""
    try:
        summary = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise RunFolderError(f"{path}: missing (run not finished or not a run folder)") from None
    except OSError as exc:
        raise RunFolderError(f"{path}: cannot read: {exc.strerror}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise RunFolderError(f"{path}: not a summary.json ({exc})") from None
    if not isinstance(summary, dict):
        raise RunFolderError(f"{path}: not a summary.json (a JSON object expected)")
    missing = [key for key in REQUIRED_KEYS if key not in summary]
    if missing or not all(isinstance(summary[k], list) for k in ("reads", "tiles")):
        raise RunFolderError(f"{path}: not a summary.json (missing or bad {missing or 'reads'})")
    return summary

"""The numbers of Illumina SAV's run summary table, per read, from the run folder's InterOp.

Conventions of Illumina's InterOp summary (so its `run_summary` of the same folder agrees):
yield, %>=Q30 and the error rate count each read's usable cycles (all but its last); the error
rate is the mean over the read's cycles per tile, then over tiles; the error at 35/75/100
cycles the same over the read's first 35/75/100 cycles, when it has that many usable cycles;
the cycle-1 intensity is the tile mean of the first channel's 90th-percentile intensity at
the read's first cycle (InterOp's `summarize_extraction_metrics` reports one channel, 0);
density, % aligned, phasing and prephasing are tile means. %PF is the run's one figure
(`basecall.metrics`: PF clusters over all clusters, the same as the report's header and
summary.json; `interop`'s lane `percent_pf` is the mean of the tiles' percentages, its
`reads_pf / reads` this figure). The projected yield extrapolates the yield to every usable
cycle: on a finished run, the yield.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..basecall.metrics import pf_fraction, q30_fraction
from ..runfolder import RunFolderError, RunFolderLayout
from ..runfolder.interop_files import (
    CODE_CLUSTERS,
    CODE_CLUSTERS_PF,
    CODE_DENSITY,
    CORRECTED_FILE,
    ERROR_FILE,
    EXTRACTION_FILE,
    IMAGE_FILE_NAME,
    Q_FILE,
    TILE_FILE,
    decode_image_file,
    decode_metric_file,
)

ERROR_AT_CYCLES = (35, 75, 100)


@dataclass(frozen=True)
class InterOp:
    """Decoded InterOp records of a run folder (empty arrays for files not written)."""

    tile: np.ndarray
    extraction: np.ndarray
    corrected: np.ndarray
    q: np.ndarray
    error: np.ndarray
    image: np.ndarray | None

    @classmethod
    def read(cls, layout: RunFolderLayout) -> InterOp:
        def load(name: str, decode: Callable[[bytes], np.ndarray]) -> np.ndarray | None:
            path = layout.interop / name
            if not path.exists():
                return None
            try:
                return decode(path.read_bytes())
            except (OSError, ValueError) as exc:
                raise RunFolderError(f"{path}: unreadable InterOp file: {exc}") from None

        def metric(spec: tuple[str, int, np.dtype]) -> np.ndarray:
            records = load(spec[0], lambda data: decode_metric_file(data, spec[1], spec[2]))
            return np.zeros(0, spec[2]) if records is None else records

        return cls(metric(TILE_FILE), metric(EXTRACTION_FILE), metric(CORRECTED_FILE),
                   metric(Q_FILE), metric(ERROR_FILE), load(IMAGE_FILE_NAME, decode_image_file))

    def tile_value(self, code: int) -> dict[int, float]:
        """Tile -> value of one TileMetrics code."""
        rows = self.tile[self.tile["code"] == code]
        return {int(t): float(v) for t, v in zip(rows["tile"], rows["value"], strict=True)}


def _tile_mean(values: dict[int, float]) -> float | None:
    return float(np.mean(list(values.values()))) if values else None


def _error_mean(error: np.ndarray, first: int, last: int) -> float | None:
    """Tile mean of the per-tile mean error % over cycles first..last (None: no data)."""
    rows = error[(error["cycle"] >= first) & (error["cycle"] <= last)]
    per_tile = [float(rows["error_pct"][rows["tile"] == t].mean()) for t in np.unique(rows["tile"])]
    return float(np.mean(per_tile)) if per_tile else None


def read_rows(interop: InterOp, reads: list[tuple[int, bool]]) -> list[dict[str, float | None]]:
    """One SAV summary row per read (`reads`: cycles and index flag of each)."""
    rows: list[dict[str, float | None]] = []
    clusters = interop.tile_value(CODE_CLUSTERS)
    clusters_pf = interop.tile_value(CODE_CLUSTERS_PF)
    first = 1
    for number, (cycles, index) in enumerate(reads, start=1):
        last_usable = first + cycles - 2
        q = interop.q[(interop.q["cycle"] >= first) & (interop.q["cycle"] <= last_usable)]
        hist = q["hist"].sum(axis=0) if len(q) else np.zeros(50)
        c1 = interop.extraction[interop.extraction["cycle"] == first]
        row: dict[str, float | None] = {
            "read": number, "cycles": cycles, "index": index,
            "yield_bases": float(hist.sum()),
            "projected_yield_bases": float(hist.sum()),
            "aligned_pct": _tile_mean(interop.tile_value(300 + number - 1)),
            "error_pct": _error_mean(interop.error, first, last_usable),
            "intensity_cycle_1": (float(c1["intensity_p90"][:, 0].mean()) if len(c1)
                                  else None),
            "q30_pct": _pct(q30_fraction(hist)),
            "density_k_per_mm2": (None if (d := _tile_mean(interop.tile_value(CODE_DENSITY)))
                                  is None else d / 1000),
            "pf_pct": (_pct(pf_fraction(int(sum(clusters_pf.values())),
                                        int(sum(clusters.values())))) if clusters_pf else None),
            "phasing_pct": _pct(_tile_mean(interop.tile_value(200 + 2 * (number - 1)))),
            "prephasing_pct": _pct(_tile_mean(interop.tile_value(201 + 2 * (number - 1)))),
            "reads": float(sum(clusters.values())),
            "reads_pf": float(sum(clusters_pf.values())),
        }
        for at in ERROR_AT_CYCLES:
            row[f"error_{at}_pct"] = (_error_mean(interop.error, first, first + at - 1)
                                      if cycles - 1 >= at else None)
        rows.append(row)
        first += cycles
    return rows


def _pct(fraction: float | None) -> float | None:
    return None if fraction is None else 100.0 * fraction

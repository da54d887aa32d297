"""Flow-cell heat maps: one value per tile laid out as on the flow cell (rows: surface and
swath, columns: tile within the swath), per metric and, for per-cycle metrics, per cycle."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..basecall.metrics import pf_fraction, q30_fraction
from ..runfolder.interop_files import CODE_CLUSTERS, CODE_CLUSTERS_PF, CODE_DENSITY
from .sav import InterOp


def tile_grid(tiles: list[int]) -> tuple[list[str], list[int], dict[int, tuple[int, int]]]:
    """Row labels, column numbers and each tile's (row, column) cell."""
    rows = sorted({t // 100 for t in tiles})
    columns = sorted({t % 100 for t in tiles})
    cells = {t: (rows.index(t // 100), columns.index(t % 100)) for t in tiles}
    return [f"surface {r // 10} swath {r % 10}" for r in rows], columns, cells


def _grid(values: dict[int, float], shape: tuple[int, int],
          cells: dict[int, tuple[int, int]]) -> list[list[float | None]]:
    grid: list[list[float | None]] = [[None] * shape[1] for _ in range(shape[0])]
    for tile, value in values.items():
        if tile in cells and np.isfinite(value):
            r, c = cells[tile]
            grid[r][c] = round(float(value), 4)
    return grid


def _per_cycle(records: np.ndarray, value: Any) -> dict[int, dict[int, float]]:
    """cycle -> tile -> value(record)."""
    out: dict[int, dict[int, float]] = {}
    for rec in records:
        out.setdefault(int(rec["cycle"]), {})[int(rec["tile"])] = float(value(rec))
    return out


def flowcell_metrics(interop: InterOp, channels: list[str]) -> dict[str, Any]:
    """The heat maps' data: grid axes and, per metric, its unit and a grid per cycle (or one)."""
    tiles = sorted({int(t) for t in interop.tile["tile"]})
    labels, columns, cells = tile_grid(tiles)
    shape = (len(labels), len(columns))
    metrics: list[dict[str, Any]] = []

    def add(name: str, unit: str, by_cycle: dict[int, dict[int, float]] | None = None,
            per_tile: dict[int, float] | None = None) -> None:
        if per_tile is not None and per_tile:
            metrics.append({"name": name, "unit": unit, "cycles": [0],
                            "z": [_grid(per_tile, shape, cells)]})
        elif by_cycle:
            cycles = sorted(by_cycle)
            metrics.append({"name": name, "unit": unit, "cycles": cycles,
                            "z": [_grid(by_cycle[c], shape, cells) for c in cycles]})

    clusters = interop.tile_value(CODE_CLUSTERS)
    pf = interop.tile_value(CODE_CLUSTERS_PF)
    add("% PF", "%", per_tile={t: 100 * (pf_fraction(int(pf[t]), int(clusters[t])) or 0.0)
                               for t in clusters if clusters[t]})
    add("Density", "k/mm²", per_tile={t: v / 1000
                                      for t, v in interop.tile_value(CODE_DENSITY).items()})
    add("Clusters", "clusters", per_tile=clusters)
    add("% aligned (read 1)", "%", per_tile=interop.tile_value(300))
    add("Phasing (read 1)", "% per cycle",
        per_tile={t: 100 * v for t, v in interop.tile_value(200).items()})
    add("Prephasing (read 1)", "% per cycle",
        per_tile={t: 100 * v for t, v in interop.tile_value(201).items()})
    add("% ≥ Q30", "%", by_cycle=_per_cycle(interop.q,
                                            lambda r: 100 * (q30_fraction(r["hist"]) or 0.0)))
    add("Error rate (PhiX)", "%", by_cycle=_per_cycle(interop.error, lambda r: r["error_pct"]))
    for i, channel in enumerate(channels):
        add(f"Intensity {channel} (P90)", "raw counts",
            by_cycle=_per_cycle(interop.extraction, lambda r, i=i: r["intensity_p90"][i]))
        add(f"FWHM {channel}", "px",
            by_cycle=_per_cycle(interop.extraction, lambda r, i=i: r["fwhm"][i]))
    add("Signal-to-noise", "SNR", by_cycle=_per_cycle(interop.corrected, lambda r: r["snr"]))
    return {"rows": labels, "columns": columns, "metrics": metrics}

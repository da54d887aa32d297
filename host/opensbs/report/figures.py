"""The report's plots as plotly figure specifications (plain dicts, drawn by plotly.js).

One colour per base (and per channel named after a base) in every plot, value axes from zero,
a legend on every plot with more than one series.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..basecall.metrics import Q30, q30_fraction
from .sav import InterOp

BASE_COLOURS = {"A": "#2ca02c", "C": "#1f77b4", "G": "#ff7f0e", "T": "#d62728", "N": "#7f7f7f"}
OTHER_COLOURS = ("#9467bd", "#8c564b", "#e377c2", "#17becf")

Figure = dict[str, Any]


def colour_of(name: str, position: int) -> str:
    """The colour of a base or channel (channels named after their base share its colour)."""
    return BASE_COLOURS.get(name.upper(), OTHER_COLOURS[position % len(OTHER_COLOURS)])


def _layout(title: str, xtitle: str, ytitle: str, **extra: Any) -> dict[str, Any]:
    return {"title": {"text": title, "font": {"size": 14}}, "height": 330,
            "margin": {"l": 60, "r": 20, "t": 40, "b": 45},
            "xaxis": {"title": {"text": xtitle}}, "legend": {"orientation": "h", "y": -0.25},
            "yaxis": {"title": {"text": ytitle}, "rangemode": "tozero"}, **extra}


def by_cycle(records: np.ndarray, field: str) -> tuple[list[int], np.ndarray]:
    """Cycles and the tile mean of `field` at each (rows: cycles)."""
    cycles = sorted({int(c) for c in records["cycle"]})
    values = np.array([records[field][records["cycle"] == c].astype(float).mean(axis=0)
                       for c in cycles])
    return cycles, values


def _lines(title: str, ytitle: str, cycles: list[int], values: np.ndarray,
           names: Sequence[str]) -> Figure:
    data = [{"type": "scatter", "mode": "lines+markers", "name": name, "x": cycles,
             "y": [round(float(v), 4) for v in values[:, i]], "marker": {"size": 4},
             "line": {"color": colour_of(name, i)}} for i, name in enumerate(names)]
    return {"data": data, "layout": _layout(title, "cycle", ytitle)}


def cycle_figures(interop: InterOp, channels: list[str]) -> list[Figure]:
    """Intensity, FWHM, SNR, % base, %>=Q30 and error by cycle, and the Q-score plots."""
    n_channels = len(channels)
    figures = []
    if len(interop.corrected):
        cycles, corrected = by_cycle(interop.corrected, "corrected")
        figures.append(_lines("Corrected intensity by cycle",
                              "intensity (raw counts)", cycles, corrected[:, :n_channels],
                              channels))
        cycles, called = by_cycle(interop.corrected, "called")
        figures.append(_lines("Called intensity by cycle",
                              "intensity", cycles, called, "ACGT"))
        cycles, calls = by_cycle(interop.corrected, "calls")
        base_pct = 100 * calls / np.maximum(calls.sum(axis=1, keepdims=True), 1)
        figures.append(_lines("% base by cycle", "% of PF calls", cycles,
                              base_pct[:, [1, 2, 3, 4, 0]], "ACGTN"))
        cycles, snr = by_cycle(interop.corrected, "snr")
        figures.append(_lines("Signal-to-noise by cycle", "SNR",
                              cycles, snr[:, None], ["SNR"]))
    if len(interop.extraction):
        cycles, p90 = by_cycle(interop.extraction, "intensity_p90")
        figures.append(_lines("Intensity (P90) by cycle", "intensity (raw counts)",
                              cycles, p90[:, :n_channels], channels))
        cycles, fwhm = by_cycle(interop.extraction, "fwhm")
        figures.append(_lines("Focus (FWHM) by cycle", "FWHM (px)", cycles,
                              fwhm[:, :n_channels], channels))
    if len(interop.q):
        cycles, hist = by_cycle(interop.q, "hist")
        q30 = np.array([100 * (q30_fraction(h) or 0.0) for h in hist])
        figures.append(_lines("% ≥ Q30 by cycle", "% ≥ Q30", cycles, q30[:, None], ["% ≥ Q30"]))
        figures.append(q_heatmap(interop))
        figures.append(q_histogram(interop))
    if len(interop.error):
        cycles, error = by_cycle(interop.error, "error_pct")
        figures.append(_lines("Error rate (PhiX) by cycle", "error (%)",
                              cycles, error[:, None], ["error (PhiX)"]))
    return figures


def q_heatmap(interop: InterOp) -> Figure:
    """% of each cycle's PF calls at each Q score, summed over tiles."""
    cycles = sorted({int(c) for c in interop.q["cycle"]})
    totals = np.array([interop.q["hist"][interop.q["cycle"] == c].sum(axis=0) for c in cycles],
                      dtype=float)
    top = int(np.flatnonzero(totals.sum(axis=0))[-1]) + 1 if totals.any() else 1
    pct = 100 * totals[:, :top] / np.maximum(totals.sum(axis=1, keepdims=True), 1)
    return {"data": [{"type": "heatmap", "x": cycles, "y": list(range(1, top + 1)),
                      "z": [[round(float(v), 3) for v in row] for row in pct.T],
                      "colorscale": "Viridis", "colorbar": {"title": {"text": "% of calls"}},
                      "hovertemplate": "cycle %{x}, Q%{y}: %{z:.2f} %<extra></extra>"}],
            "layout": _layout("Q-score heat map by cycle", "cycle", "Q score")}


def q_histogram(interop: InterOp) -> Figure:
    """PF calls per Q score over the run; Q30 and above in a second colour."""
    totals = interop.q["hist"].sum(axis=0).astype(float)
    top = int(np.flatnonzero(totals)[-1]) + 1 if totals.any() else 1
    qs = list(range(1, top + 1))
    below = [float(v) if q < Q30 else 0.0 for q, v in zip(qs, totals[:top], strict=True)]
    above = [float(v) if q >= Q30 else 0.0 for q, v in zip(qs, totals[:top], strict=True)]
    return {"data": [{"type": "bar", "name": "< Q30", "x": qs, "y": below,
                      "marker": {"color": "#1f77b4"}},
                     {"type": "bar", "name": "≥ Q30", "x": qs, "y": above,
                      "marker": {"color": "#2ca02c"}}],
            "layout": _layout("Q-score distribution", "Q score",
                              "calls", barmode="stack")}


def thermal_figure(steps: list[dict[str, Any]]) -> Figure | None:
    """Per thermal step of the cycle: set-point and the temperature measured at its end."""
    if not steps:
        return None
    data = []
    for i, key in enumerate(sorted({s["index"] for s in steps})):
        mine = [s for s in steps if s["index"] == key]
        colour = OTHER_COLOURS[i % len(OTHER_COLOURS)]
        cycles = [s["cycle"] for s in mine]
        data.append({"type": "scatter", "mode": "lines", "name": f"step {key} set-point",
                     "x": cycles, "y": [s["setpoint_c"] for s in mine],
                     "line": {"color": colour, "dash": "dash"}})
        data.append({"type": "scatter", "mode": "markers", "name": f"step {key} measured",
                     "x": cycles, "y": [s["measured_c"] for s in mine],
                     "marker": {"color": colour, "size": 6}})
    return {"data": data, "layout": _layout(
        "Temperature: set-point vs end of step",
        "cycle", "°C")}


def timeline_figure(imaged: list[tuple[float, int]], called: list[tuple[float, int]]
                    ) -> Figure | None:
    """Cycles imaged and base-called against wall time."""
    if not imaged:
        return None
    data = [{"type": "scatter", "mode": "lines", "name": name, "x": [p[0] for p in points],
             "y": [p[1] for p in points], "line": {"shape": "hv", "color": colour}}
            for name, points, colour in (("imaged", imaged, "#1f77b4"),
                                         ("base-called", called, "#ff7f0e")) if points]
    return {"data": data, "layout": _layout("Run timeline", "wall time (s)", "cycle",
                                            xaxis={"title": {"text": "wall time (s)"},
                                                   "rangemode": "tozero"})}

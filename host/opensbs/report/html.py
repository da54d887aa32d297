"""report.html: a self-contained run report (inline SVG, no external assets) built from the
run folder alone: summary.json, InterOp/*.bin and run_log.jsonl."""

from __future__ import annotations

from collections import defaultdict
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from ..runfolder import RunFolderError, RunFolderLayout, atomic_write_text, read_run_log
from ..runfolder.interop_files import (
    CORRECTED_FILE,
    ERROR_FILE,
    Q_FILE,
    decode_metric_file,
)
from ..runfolder.summary import read_summary
from .svg import bar_chart, line_chart, tile_map

STYLE = """body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;
text-align:right}th{background:#f2f2f2}svg{margin:6px 12px 6px 0}svg text{font-size:11px}
svg .t{font-size:13px;font-weight:600}.bg{fill:#fafafa;stroke:#bbb}.grid{stroke:#e4e4e4}
.charts{display:flex;flex-wrap:wrap}.empty{color:#888}"""


def _read_metrics(layout: RunFolderLayout, spec: tuple[str, int, np.dtype]) -> np.ndarray | None:
    path = layout.interop / spec[0]
    if not path.exists():
        return None
    try:
        return decode_metric_file(path.read_bytes(), spec[1], spec[2])
    except (OSError, ValueError) as exc:
        raise RunFolderError(f"{path}: unreadable InterOp file: {exc}") from None


def _by_cycle(records: np.ndarray, values: np.ndarray) -> tuple[list[int], np.ndarray]:
    """Mean of `values` rows over tiles, per cycle."""
    cycles = sorted(set(records["cycle"].tolist()))
    means = np.array([values[records["cycle"] == c].mean(axis=0) for c in cycles])
    return cycles, means


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.2f} %"


def _summary_table(summary: dict[str, Any]) -> str:
    rows = [("Clusters", f"{summary['clusters']:,}"), ("%PF", _pct(summary["pf_fraction"])),
            ("% ≥ Q30", _pct(summary["q30_fraction"])),
            ("Yield", f"{summary['yield_bases']:,} bases"),
            ("Error rate", _pct(summary.get("error_rate"))),
            ("% aligned", _pct(summary.get("aligned_fraction"))),
            ("Phasing / cycle", _pct(summary.get("phasing"))),
            ("Prephasing / cycle", _pct(summary.get("prephasing")))]
    head = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    per_read = "".join(
        f"<tr><td>{r['read']}</td><td>{r['cycles']}</td><td>{_pct(r['pf_fraction'])}</td>"
        f"<td>{_pct(r['q30_fraction'])}</td><td>{r['yield_bases']:,}</td>"
        f"<td>{_pct(r['error_rate'])}</td><td>{_pct(r['phasing'])}</td>"
        f"<td>{_pct(r['prephasing'])}</td></tr>" for r in summary.get("reads", []))
    per_tile = "".join(
        f"<tr><td>{t['tile']}</td><td>{t['clusters']:,}</td><td>{_pct(t['pf_fraction'])}</td>"
        f"<td>{_pct(t['q30_fraction'])}</td><td>{_pct(t['error_rate'])}</td>"
        f"<td>{_pct(t['phasing'])}</td><td>{_pct(t['prephasing'])}</td></tr>"
        for t in summary.get("tiles", []))
    return (f"<table>{head}</table><h2>Reads</h2><table><tr><th>Read</th><th>Cycles</th>"
            "<th>%PF</th><th>% ≥ Q30</th><th>Yield</th><th>Error</th><th>Phasing</th>"
            f"<th>Prephasing</th></tr>{per_read}</table><h2>Tiles</h2><table><tr><th>Tile</th>"
            "<th>Clusters</th><th>%PF</th><th>% ≥ Q30</th><th>Error</th><th>Phasing</th>"
            f"<th>Prephasing</th></tr>{per_tile}</table>")


def _cycle_charts(layout: RunFolderLayout, channel_names: list[str]) -> list[str]:
    charts = []
    corrected = _read_metrics(layout, CORRECTED_FILE)
    if corrected is not None and corrected.size:
        cycles, inten = _by_cycle(corrected, corrected["corrected"].astype(float))
        charts.append(line_chart("Intensity by cycle", "cycle", "mean corrected intensity", {
            name: (cycles, inten[:, i].tolist()) for i, name in enumerate(channel_names)}))
        cycles, calls = _by_cycle(corrected, corrected["calls"].astype(float))
        frac = 100 * calls / np.maximum(calls.sum(axis=1, keepdims=True), 1)
        charts.append(line_chart("% base by cycle", "cycle", "% of PF calls", {
            name: (cycles, frac[:, i].tolist()) for i, name in enumerate("NACGT")}, y_min=0))
    q = _read_metrics(layout, Q_FILE)
    if q is not None and q.size:
        hist = q["hist"].astype(float)
        total = hist.sum(axis=0)
        charts.append(bar_chart("Q-score distribution", "Q score", "PF calls",
                                [f"Q{i + 1}" for i in range(len(total))], total.tolist(),
                                highlight_from=29))
        cycles, per_cycle = _by_cycle(q, hist)
        q30 = 100 * per_cycle[:, 29:].sum(axis=1) / np.maximum(per_cycle.sum(axis=1), 1)
        charts.append(line_chart("% ≥ Q30 by cycle", "cycle", "% ≥ Q30",
                                 {"Q30": (cycles, q30.tolist())}, y_min=0))
    errors = _read_metrics(layout, ERROR_FILE)
    if errors is not None and errors.size:
        cycles, err = _by_cycle(errors, errors["error_pct"].astype(float))
        charts.append(line_chart("Error rate by cycle (against truth)", "cycle", "error %",
                                 {"error": (cycles, err.tolist())}, y_min=0))
    return charts


def _run_charts(summary: dict[str, Any], log: list[dict[str, Any]]) -> list[str]:
    charts = []
    tiles = summary.get("tiles", [])
    if tiles:
        charts.append(tile_map("%PF per tile", [t["tile"] for t in tiles],
                               [100 * t["pf_fraction"] for t in tiles], " %"))
        charts.append(tile_map("Clusters per tile", [t["tile"] for t in tiles],
                               [t["clusters"] for t in tiles], ""))
    reads = summary.get("reads", [])
    if reads and all(r["phasing"] is not None for r in reads):
        labels = [f"R{r['read']} {k}" for r in reads for k in ("phasing", "prephasing")]
        values = [100 * r[k] for r in reads for k in ("phasing", "prephasing")]
        charts.append(bar_chart("Phasing / prephasing per read", "read", "% per cycle",
                                labels, values))
    telemetry = [r for r in log if r.get("kind") == "telemetry" and "temperature_mc" in r]
    if telemetry:
        t = [r["t_s"] / 60 for r in telemetry]
        measured = [r["temperature_mc"] / 1000 for r in telemetry]
        heating = [r for r in telemetry if r.get("setpoint_mc")]  # heater on
        setpoint = ([r["t_s"] / 60 for r in heating], [r["setpoint_mc"] / 1000 for r in heating])
        charts.append(line_chart("Flow-cell temperature", "run time (min, instrument clock)",
                                 "°C", {"measured": (t, measured), "set-point": setpoint},
                                 dashed=("set-point",)))
    done = [r for r in log if r.get("kind") == "cycle_imaged"]
    called = [r for r in log if r.get("kind") == "cycle_basecalled"]
    if done:
        series: dict[str, tuple[list[float], list[float]]] = {
            "imaged": ([r["wall_elapsed_s"] for r in done],
                                         [r["cycle"] for r in done])}
        if called:
            series["base-called"] = ([r["wall_elapsed_s"] for r in called],
                                     [r["cycle"] for r in called])
        charts.append(line_chart("Run timeline", "wall time (s)", "cycle", series, y_min=0))
    return charts


def _step_table(log: list[dict[str, Any]]) -> str:
    durations: dict[str, list[float]] = defaultdict(list)
    for r in log:
        if r.get("kind") == "step_done":
            durations[r["step"]].append(r["duration_s"])
    if not durations:
        return ""
    rows = "".join(f"<tr><td>{escape(k)}</td><td>{len(v)}</td><td>{np.mean(v):.1f}</td>"
                   f"<td>{np.sum(v) / 60:.1f}</td></tr>" for k, v in durations.items())
    return ("<h2>Steps (instrument clock)</h2><table><tr><th>Step</th><th>Count</th>"
            f"<th>Mean (s)</th><th>Total (min)</th></tr>{rows}</table>")


def _fault_table(log: list[dict[str, Any]]) -> str:
    faults = [r for r in log if r.get("kind") in ("fault", "stop")]
    if not faults:
        return "<h2>Faults</h2><p>None.</p>"
    rows = "".join(f"<tr><td>{escape(str(r.get('t_s', '')))}</td><td>{escape(r['kind'])}</td>"
                   f"<td style='text-align:left'>{escape(str(r.get('message', '')))}</td></tr>"
                   for r in faults)
    return (f"<h2>Faults and stops</h2><table><tr><th>t (s)</th><th>Kind</th><th>What</th></tr>"
            f"{rows}</table>")


def _link_fault_table(summary: dict[str, Any]) -> str:
    recorded = (summary.get("link_faults") or {}).get("recorded") or {}
    rows = "".join(f"<tr><td>{escape(str(link))}</td><td>{escape(str(kind))}</td>"
                   f"<td>{escape(str(count))}</td></tr>"
                   for link, kinds in sorted(recorded.items()) if isinstance(kinds, dict)
                   for kind, count in sorted(kinds.items()))
    if not rows:
        return "<h2>Link faults</h2><p>None.</p>"
    return (f"<h2>Link faults</h2><table><tr><th>Link</th><th>Fault</th><th>Count</th></tr>"
            f"{rows}</table>")


def build_report(run_dir: Path | str) -> str:
    """The HTML text of the report of the run folder `run_dir`."""
    layout = RunFolderLayout(Path(run_dir))
    summary = read_summary(layout.summary)
    log = read_run_log(layout.run_log) if layout.run_log.exists() else []
    channels = summary.get("channel_names", ["A", "C", "G", "T"])
    charts = _cycle_charts(layout, channels) + _run_charts(summary, log)
    title = escape(str(summary.get("run_id", layout.root.name)))
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>OpenSBS run {title}"
            f"</title><style>{STYLE}</style></head><body><h1>OpenSBS run {title}</h1>"
            f"{_summary_table(summary)}<h2>Plots</h2><div class='charts'>{''.join(charts)}"
            f"</div>{_step_table(log)}{_fault_table(log)}{_link_fault_table(summary)}"
            "</body></html>\n")


def write_report(run_dir: Path | str) -> Path:
    """Write (or rebuild) `report.html` in the run folder; returns its path."""
    layout = RunFolderLayout(Path(run_dir))
    atomic_write_text(layout.report, build_report(run_dir))
    return layout.report

"""report.html: a self-contained run report built from the run folder alone (summary.json,
InterOp/*.bin, run_log.jsonl, recipe.toml), drawn by plotly.js inlined once, so it works
offline: SAV's summary table per read, flow-cell heat maps per metric and cycle, the by-cycle
plots, telemetry as set-point vs measured per step, faults and link statistics, and tiles.

Every plot div keeps, once drawn, the numbers plotly holds in `data-shown` (JSON), which the
browser test compares with the run's own. `report.html#metric=FWHM A&cycle=12` opens the
flow-cell map on that metric and cycle.
"""

from __future__ import annotations

import json
from collections import defaultdict
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
from plotly.offline import get_plotlyjs

from ..recipe import Recipe, parse_recipe
from ..runfolder import RunFolderError, RunFolderLayout, atomic_write_text, read_events
from ..runfolder.events import (
    CycleComplete,
    CycleImaged,
    CycleStart,
    Event,
    FaultEvent,
    StepDone,
    Stop,
    TelemetrySample,
)
from ..runfolder.summary import read_summary
from .figures import Figure, cycle_figures, thermal_figure, timeline_figure
from .flowcell import flowcell_metrics
from .sav import ERROR_AT_CYCLES, InterOp, read_rows

STYLE = """body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;
text-align:right}th{background:#f2f2f2}.plots{display:grid;
grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:8px}.note{color:#555}
.controls{margin:6px 0}.controls label{margin-right:16px}"""

SCRIPT = """
function shown(div){div.dataset.shown=JSON.stringify({title:div.layout.title.text,
  traces:div.data.map(t=>({name:t.name||'',x:t.x,y:t.y,z:t.z}))});}
function draw(div,fig){Plotly.newPlot(div,fig.data,fig.layout,
  {displayModeBar:false,responsive:true}).then(()=>shown(div));}
document.querySelectorAll('div.plot').forEach(div=>
  draw(div,JSON.parse(document.getElementById(div.id+'-spec').textContent)));
const fc=JSON.parse(document.getElementById('flowcell-spec').textContent);
const metricSel=document.getElementById('fc-metric'),cycleIn=document.getElementById('fc-cycle');
const cycleOut=document.getElementById('fc-cycle-shown'),fcDiv=document.getElementById('flowcell');
fc.metrics.forEach((m,i)=>metricSel.add(new Option(m.name,i)));
function drawFlowcell(){const m=fc.metrics[+metricSel.value];
  const k=Math.min(+cycleIn.value,m.cycles.length-1);cycleIn.max=m.cycles.length-1;
  cycleIn.disabled=m.cycles.length<2;cycleOut.textContent=m.cycles[k]?m.cycles[k]:'whole run';
  const all=m.z.flat(2).filter(v=>v!==null);
  draw(fcDiv,{data:[{type:'heatmap',z:m.z[k],x:fc.columns.map(c=>'tile '+c),y:fc.rows,
    zmin:Math.min(...all),zmax:Math.max(...all),colorscale:'Viridis',
    colorbar:{title:{text:m.unit}},texttemplate:'%{z:.4g}',
    hovertemplate:'%{y}, %{x}: %{z:.4g} '+m.unit+'<extra></extra>'}],
    layout:{title:{text:m.name+(m.cycles[k]?' at cycle '+m.cycles[k]:'')},height:300,
      margin:{l:140,r:20,t:40,b:40}}});}
const want=new URLSearchParams(location.hash.slice(1));
const wanted=fc.metrics.findIndex(m=>m.name===want.get('metric'));
if(wanted>=0){metricSel.value=wanted;const m=fc.metrics[wanted];
  cycleIn.max=m.cycles.length-1;cycleIn.value=Math.max(m.cycles.indexOf(+want.get('cycle')),0);}
if(fc.metrics.length){metricSel.onchange=drawFlowcell;cycleIn.oninput=drawFlowcell;drawFlowcell();}
"""


def _fmt(value: Any, digits: int = 2, suffix: str = "") -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    if isinstance(value, float) and value.is_integer() and not suffix:
        return f"{int(value):,}"
    return f"{value:,.{digits}f}{suffix}"


def _sav_table(rows: list[dict[str, Any]]) -> str:
    columns = [("Read", lambda r: f"{r['read']}{' (I)' if r['index'] else ''}"),
               ("Cycles", lambda r: str(r["cycles"])),
               ("Yield (bases)", lambda r: _fmt(r["yield_bases"])),
               ("Projected yield", lambda r: _fmt(r["projected_yield_bases"])),
               ("% aligned", lambda r: _fmt(r["aligned_pct"], 2, " %")),
               ("Error rate", lambda r: _fmt(r["error_pct"], 3, " %")),
               *[(f"Error {at}", lambda r, at=at: _fmt(r[f"error_{at}_pct"], 3, " %"))
                 for at in ERROR_AT_CYCLES],
               ("Intensity C1", lambda r: _fmt(r["intensity_cycle_1"], 0)),
               ("% ≥ Q30", lambda r: _fmt(r["q30_pct"], 2, " %")),
               ("Density (k/mm²)", lambda r: _fmt(r["density_k_per_mm2"], 1)),
               ("% PF", lambda r: _fmt(r["pf_pct"], 2, " %")),
               ("Phasing / prephasing (%)", lambda r: f"{_fmt(r['phasing_pct'], 3)} / "
                                                      f"{_fmt(r['prephasing_pct'], 3)}"),
               ("Reads", lambda r: _fmt(r["reads"])),
               ("Reads PF", lambda r: _fmt(r["reads_pf"]))]
    head = "".join(f"<th>{escape(name)}</th>" for name, _ in columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(cell(r))}</td>" for _, cell in columns)
                   + "</tr>" for r in rows)
    return (f"<table id='sav-summary'><tr>{head}</tr>{body}</table><p class='note'>Error "
            "rates come from PF reads aligned to the PhiX control genome (minimap2), over each "
            "read's usable cycles (all but its last); n/a: the read is shorter or did not "
            "align.</p>")


def _headline(summary: dict[str, Any]) -> str:
    def pct(key: str, digits: int = 2) -> str:
        v = summary.get(key)
        return "n/a" if v is None else f"{100 * v:.{digits}f} %"

    items = [("Clusters", f"{summary['clusters']:,}"), ("% PF", pct("pf_fraction")),
             ("% ≥ Q30", pct("q30_fraction")), ("Yield", f"{summary['yield_bases']:,} bases"),
             ("Error rate (PhiX)", pct("error_rate", 3)), ("% aligned", pct("aligned_fraction"))]
    if summary.get("sim_truth_error_rate") is not None:
        items.append(("Error vs simulation truth (diagnostic)",
                      pct("sim_truth_error_rate", 3)))
    return "<table id='headline'>" + "".join(
        f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in items) + "</table>"


def _tile_table(summary: dict[str, Any]) -> str:
    def pct(v: float | None, digits: int = 2) -> str:
        return "n/a" if v is None else f"{100 * v:.{digits}f} %"

    rows = "".join(
        f"<tr><td>{t['tile']}</td><td>{t['clusters']:,}</td><td>{pct(t['pf_fraction'])}</td>"
        f"<td>{pct(t['q30_fraction'])}</td><td>{pct(t['error_rate'], 3)}</td>"
        f"<td>{pct(t['aligned_fraction'])}</td><td>{pct(t['phasing'], 3)}</td>"
        f"<td>{pct(t['prephasing'], 3)}</td></tr>" for t in summary.get("tiles", []))
    return ("<table id='tiles'><tr><th>Tile</th><th>Clusters</th><th>% PF</th><th>% ≥ Q30</th>"
            "<th>Error (PhiX)</th><th>% aligned</th><th>Phasing</th><th>Prephasing</th></tr>"
            f"{rows}</table>")


def thermal_steps(log: list[Event], recipe: Recipe | None) -> list[dict[str, Any]]:
    """Per thermal step run: cycle, step index in the cycle, set-point and the temperature of
    the telemetry sample closest to the step's end (instrument clock)."""
    telemetry = [r for r in log if isinstance(r, TelemetrySample) and r.temperature_mc is not None]
    if not telemetry or recipe is None:
        return []
    times = np.array([r.t_s for r in telemetry])
    kinds = [step.step for step in recipe.cycle]
    out, t_s, position = [], 0.0, 0
    for r in log:
        if isinstance(r, CycleStart):
            t_s, position = float(r.t_s), 0
        elif isinstance(r, StepDone):
            t_s += float(r.duration_s)
            while position < len(kinds) and kinds[position] != r.step:
                position += 1
            if r.step == "thermal" and "setpoint_mc" in r.extra:
                sample = telemetry[int(np.argmin(np.abs(times - t_s)))]
                out.append({"cycle": r.cycle, "index": position + 1,
                            "setpoint_c": r.extra["setpoint_mc"] / 1000,
                            "measured_c": (sample.temperature_mc or 0) / 1000})
            position += 1
    return out


def _step_table(log: list[Event], thermal: list[dict[str, Any]]) -> str:
    durations: dict[str, list[float]] = defaultdict(list)
    for r in log:
        if isinstance(r, StepDone):
            durations[r.step].append(r.duration_s)
    if not durations:
        return ""
    rows = "".join(f"<tr><td>{escape(k)}</td><td>{len(v)}</td><td>{np.mean(v):.1f}</td>"
                   f"<td>{np.sum(v) / 60:.1f}</td></tr>" for k, v in durations.items())
    by_step: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for s in thermal:
        by_step[s["index"]].append(s)
    thermal_rows = "".join(
        f"<tr><td>{k}</td><td>{v[0]['setpoint_c']:.2f}</td>"
        f"<td>{np.mean([s['measured_c'] for s in v]):.2f}</td>"
        f"<td>{np.max([abs(s['measured_c'] - s['setpoint_c']) for s in v]):.2f}</td></tr>"
        for k, v in sorted(by_step.items()))
    thermal_table = ("<table id='thermal'><tr><th>Thermal step</th><th>Set-point (°C)</th>"
                     "<th>Measured at end, mean (°C)</th><th>Worst deviation (°C)</th></tr>"
                     f"{thermal_rows}</table>") if thermal_rows else ""
    return ("<h2>Steps (instrument clock)</h2><table id='steps'><tr><th>Step</th><th>Count</th>"
            f"<th>Mean (s)</th><th>Total (min)</th></tr>{rows}</table>{thermal_table}")


def _fault_table(log: list[Event], summary: dict[str, Any]) -> str:
    faults = [r for r in log if isinstance(r, FaultEvent | Stop)]
    recorded = (summary.get("link_faults") or {}).get("recorded") or {}
    out = "<h2>Faults and stops</h2>"
    if not faults:
        out += "<p id='faults'>None.</p>"
    else:
        rows = "".join(
            f"<tr><td>{'' if isinstance(r, Stop) or r.t_s is None else r.t_s}</td>"
            f"<td>{escape(r.KIND)}</td>"
            f"<td style='text-align:left'>{escape(r.message)}</td></tr>"
            for r in faults)
        out += (f"<table id='faults'><tr><th>t (s)</th><th>Kind</th><th>What</th></tr>{rows}"
                "</table>")
    rows = "".join(f"<tr><td>{escape(str(link))}</td><td>{escape(str(kind))}</td>"
                   f"<td>{escape(str(count))}</td></tr>"
                   for link, kinds in sorted(recorded.items()) if isinstance(kinds, dict)
                   for kind, count in sorted(kinds.items()))
    out += "<h2>Link faults</h2>" + (
        f"<table id='links'><tr><th>Link</th><th>Fault</th><th>Count</th></tr>{rows}</table>"
        if rows else "<p id='links'>None.</p>")
    return out


def _plot(index: int, figure: Figure) -> str:
    spec = json.dumps(figure, separators=(",", ":")).replace("</", "<\\/")
    return (f"<div class='plot' id='plot{index}'></div><script type='application/json' "
            f"id='plot{index}-spec'>{spec}</script>")


def _recipe(layout: RunFolderLayout) -> Recipe | None:
    path = layout.root / "recipe.toml"
    return parse_recipe(path.read_text("utf-8"), str(path)) if path.exists() else None


def build_report(run_dir: Path | str) -> str:
    """The HTML text of the report of the run folder `run_dir`."""
    layout = RunFolderLayout(Path(run_dir))
    if not layout.summary.exists():
        raise RunFolderError(
            f"{layout.summary}: missing: the run has not finished (continue it with `opensbs run "
            f"--resume {layout.root}`), or {layout.root} is not a run folder")
    summary = read_summary(layout.summary)
    log = read_events(layout.run_log) if layout.run_log.exists() else []
    recipe = _recipe(layout)
    channels = summary.get("channel_names", ["A", "C", "G", "T"])
    interop = InterOp.read(layout)
    reads = ([(r.cycles, r.index) for r in recipe.reads] if recipe is not None
             else [(r["cycles"], False) for r in summary.get("reads", [])])
    thermal = thermal_steps(log, recipe)
    figures = cycle_figures(interop, channels)
    extra = [thermal_figure(thermal), timeline_figure(
        [(r.wall_elapsed_s, r.cycle) for r in log
         if isinstance(r, CycleImaged) and r.wall_elapsed_s is not None],
        [(r.wall_elapsed_s, r.cycle) for r in log
         if isinstance(r, CycleComplete) and r.wall_elapsed_s is not None])]
    figures += [f for f in extra if f is not None]
    flowcell = json.dumps(flowcell_metrics(interop, channels),
                          separators=(",", ":")).replace("</", "<\\/")
    title = escape(str(summary.get("run_id", layout.root.name)))
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>OpenSBS run {title}</title>"
        f"<style>{STYLE}</style><script>{get_plotlyjs()}</script></head><body>"
        f"<h1>OpenSBS run {title}</h1>{_headline(summary)}"
        f"<h2>Summary per read (as Illumina SAV)</h2>{_sav_table(read_rows(interop, reads))}"
        "<h2>Flow cell</h2><div class='controls'><label>metric <select id='fc-metric'>"
        "</select></label><label>cycle <input type='range' id='fc-cycle' min='0' value='0'>"
        " <span id='fc-cycle-shown'></span></label></div><div id='flowcell'></div>"
        f"<script type='application/json' id='flowcell-spec'>{flowcell}</script>"
        "<h2>By cycle</h2><div class='plots'>"
        + "".join(_plot(i, f) for i, f in enumerate(figures)) + "</div>"
        f"{_step_table(log, thermal)}{_fault_table(log, summary)}"
        f"<h2>Tiles</h2>{_tile_table(summary)}"
        f"<script>{SCRIPT}</script></body></html>\n")


def write_report(run_dir: Path | str) -> Path:
    """Write (or rebuild) `report.html` in the run folder; returns its path."""
    layout = RunFolderLayout(Path(run_dir))
    atomic_write_text(layout.report, build_report(run_dir))
    return layout.report

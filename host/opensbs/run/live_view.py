"""The live view of a run: on a terminal a rich table (cycle, tile, step, temperatures, frames,
throughput, base-calling lag, running figures), elsewhere (a log file, CI, nohup) one plain
line per cycle with the same figures.

The error rate is the run's one error figure, from reads aligned to the control genome (PhiX),
the same as the final line and the report; with --sim the "error vs simulation truth" is shown
apart as a diagnostic.
"""

from __future__ import annotations

from rich.table import Table

from .progress import RunProgress


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.2f} %"


def _celsius(v_mc: int | None) -> str:
    return "-" if v_mc is None else f"{v_mc / 1000:.2f} °C"


def _figures(p: RunProgress) -> str:
    text = (f"clusters {p.clusters:,}   %PF {_pct(p.pf_fraction)}   %≥Q30 {_pct(p.q30_fraction)}"
            f"   error (PhiX) {_pct(p.error_rate)}")
    if p.truth_error_rate is not None:
        text += f"   error vs simulation truth {_pct(p.truth_error_rate)}"
    return text


def render(p: RunProgress) -> Table:
    """One rich table of the current run state."""
    with p.lock:
        table = Table(title="OpenSBS run", show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold cyan", justify="right")
        table.add_column()
        tile = "-" if p.tile is None else str(p.tile)
        table.add_row("cycle", f"{p.cycle} / {p.total_cycles}   tile {tile}   step {p.step}")
        table.add_row("flow cell", f"{_celsius(p.temperature_mc)} (set-point "
                                   f"{_celsius(p.setpoint_mc)})   instrument clock "
                                   f"{p.instrument_s / 60:.1f} min")
        table.add_row("frames", f"{p.frames_received} received, {p.frames_dropped} dropped, "
                                f"{p.throughput_mb_per_s():.1f} MB/s")
        lag = p.lag_cycles()
        table.add_row("base caller", f"called to cycle {p.basecalled_cycle}, {lag} behind "
                                     f"imaging (at most {max(lag, p.max_lag_cycles)} so far)")
        table.add_row("running", _figures(p))
        if p.faults:
            table.add_row("faults", "[red]" + "; ".join(p.faults[-3:]))
        table.add_row("elapsed", f"{p.elapsed_s():.0f} s")
    return table


def plain_line(p: RunProgress) -> str:
    """One line of the current run state, for output that is not a terminal."""
    with p.lock:
        line = (f"cycle {p.cycle}/{p.total_cycles}  step {p.step}  flow cell "
                f"{_celsius(p.temperature_mc)} (set-point {_celsius(p.setpoint_mc)})  "
                f"called to cycle {p.basecalled_cycle}  {_figures(p)}  "
                f"elapsed {p.elapsed_s():.0f} s")
        if p.faults:
            line += f"  faults: {'; '.join(p.faults[-3:])}"
    return line

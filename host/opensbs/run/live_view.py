"""The live terminal view of a run (rich): cycle, tile, step, temperatures, frames, throughput,
base-calling lag and the running %PF / %Q30 (and error rate against the truth in --sim)."""

from __future__ import annotations

from rich.table import Table

from .progress import RunProgress


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.2f} %"


def render(p: RunProgress) -> Table:
    """One rich table of the current run state."""
    with p.lock:
        table = Table(title="OpenSBS run", show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold cyan", justify="right")
        table.add_column()
        tile = "-" if p.tile is None else str(p.tile)
        table.add_row("cycle", f"{p.cycle} / {p.total_cycles}   tile {tile}   step {p.step}")
        temp = "-" if p.temperature_mc is None else f"{p.temperature_mc / 1000:.2f} °C"
        setp = "-" if p.setpoint_mc is None else f"{p.setpoint_mc / 1000:.2f} °C"
        table.add_row("flow cell", f"{temp} (set-point {setp})   instrument clock "
                                   f"{p.instrument_s / 60:.1f} min")
        table.add_row("frames", f"{p.frames_received} received, {p.frames_dropped} dropped, "
                                f"{p.throughput_mb_per_s():.1f} MB/s")
        table.add_row("base caller", f"cycle {p.basecalled_cycle} done, {p.lag_cycles()} behind "
                                     f"(max {p.max_lag_cycles})")
        table.add_row("running", f"clusters {p.clusters:,}   %PF {_pct(p.pf_fraction)}   "
                                 f"%≥Q30 {_pct(p.q30_fraction)}   error {_pct(p.error_rate)}")
        if p.faults:
            table.add_row("faults", "[red]" + "; ".join(p.faults[-3:]))
        table.add_row("elapsed", f"{p.elapsed_s():.0f} s")
    return table

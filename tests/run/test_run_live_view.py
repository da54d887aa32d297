"""The live view shows cycle, tile, step, temperatures, frames, lag and running figures."""

from opensbs.run import RunProgress
from opensbs.run.live_view import render
from rich.console import Console


def test_live_view_shows_the_run_state():
    progress = RunProgress(total_cycles=50, tiles=[1101, 1102], cycle=7, tile=1102,
                           step="5/9 image", temperature_mc=35012, setpoint_mc=35000,
                           frames_received=56, frames_dropped=1, basecalled_cycle=5,
                           max_lag_cycles=2, clusters=120_000, pf_fraction=0.91,
                           q30_fraction=0.874, error_rate=0.0031)
    progress.faults.append("OVER_TEMPERATURE (source 0, value 111000)")
    console = Console(record=True, width=120)
    console.print(render(progress))
    text = console.export_text()
    for expected in ("7 / 50", "tile 1102", "step 5/9 image", "35.01 °C", "set-point 35.00 °C",
                     "56 received, 1 dropped", "2 behind (max 2)", "clusters 120,000",
                     "%PF 91.00 %", "%≥Q30 87.40 %", "error 0.31 %", "OVER_TEMPERATURE"):
        assert expected in text, expected

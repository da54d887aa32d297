"""The live view shows cycle, tile, step, temperatures, frames, lag and running figures."""

from opensbs.run import RunProgress
from opensbs.run.live_view import plain_line, render
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
                     "56 received, 1 dropped", "2 behind imaging (at most 2 so far)",
                     "clusters 120,000", "%PF 91.00 %", "%≥Q30 87.40 %", "error (PhiX) 0.31 %",
                     "OVER_TEMPERATURE"):
        assert expected in text, expected


def test_plain_line_has_cycle_step_temperatures_and_the_one_error_figure():
    progress = RunProgress(total_cycles=50, tiles=[1101], cycle=30, step="2/9 thermal",
                           temperature_mc=59870, setpoint_mc=60000, basecalled_cycle=29,
                           max_lag_cycles=1, clusters=51_234, pf_fraction=0.9,
                           q30_fraction=0.95, error_rate=0.0042, truth_error_rate=0.0040)
    line = plain_line(progress)
    assert "\n" not in line
    for expected in ("cycle 30/50", "step 2/9 thermal", "59.87 °C", "set-point 60.00 °C",
                     "called to cycle 29", "clusters 51,234", "%PF 90.00 %",
                     "error (PhiX) 0.42 %", "error vs simulation truth 0.40 %"):
        assert expected in line, expected


def test_lag_shown_never_exceeds_the_maximum_shown():
    progress = RunProgress(total_cycles=50, tiles=[1101], cycle=5, basecalled_cycle=3,
                           max_lag_cycles=1)
    console = Console(record=True, width=120)
    console.print(render(progress))
    assert "2 behind imaging (at most 2 so far)" in console.export_text()

"""`opensbs run`: execute a recipe on the instrument (or on the virtual one with --sim)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.markup import escape

from ..recipe import RecipeError
from ..run import (
    InstrumentError,
    NoHardwareError,
    RunProgress,
    RunRequest,
    RunStopped,
    start_run,
)
from ..run.live_view import plain_line, render
from ..run.stop import exit_code
from ..runfolder import RunFolderError
from ..sim.presets import preset_names
from ..usb.errors import TransportError
from ._app import app


def _pct(v: float | None, digits: int = 2) -> str:
    return "n/a" if v is None else f"{100 * v:.{digits}f} %"


def headline(root: Path, summary: dict[str, Any]) -> list[str]:
    """The lines printed at the end of a run: where its files are and its headline numbers."""
    lines = [f"run folder: {root}", f"report:     {root / 'report.html'}",
             f"clusters {summary['clusters']:,}   %PF {_pct(summary['pf_fraction'])}   "
             f"%>=Q30 {_pct(summary['q30_fraction'])}   "
             f"error rate (PhiX) {_pct(summary.get('error_rate'), 3)}"]
    if summary.get("sim_truth_error_rate") is not None:
        lines.append("error vs simulation truth (diagnostic): "
                     f"{_pct(summary['sim_truth_error_rate'], 3)}")
    lines.append(f"base caller lag: at most {summary.get('max_basecall_lag_cycles')} cycles "
                 "behind the chemistry")
    demux = summary.get("demux")
    if demux is not None and "error" in demux:
        lines.append(f"demultiplexing failed: {demux['error']} (the run folder is complete; "
                     f"`opensbs demux {root}` runs it again)")
    elif demux is not None:
        lines.append(f"demultiplexed: {demux['samples']} samples, "
                     f"{_pct(demux['assigned_fraction'])} of PF reads assigned "
                     f"({root / 'Reports' / 'Demultiplex_Stats.csv'})")
    return lines


def _print_cycle_lines(console: Console, holder: dict[str, RunProgress],
                       stop: threading.Event) -> None:
    """Off a terminal: one plain line as each cycle starts, and one at the end."""
    shown = 0
    while not stop.wait(0.25):
        progress = holder.get("progress")
        if progress is not None and progress.cycle != shown:
            shown = progress.cycle
            console.print(plain_line(progress), soft_wrap=True, highlight=False, markup=False)
    if "progress" in holder:
        console.print(plain_line(holder["progress"]), soft_wrap=True, highlight=False,
                      markup=False)


@app.command()
def run(
    sim: Annotated[bool, typer.Option("--sim", help="Run on the virtual instrument.")] = False,
    recipe: Annotated[Path | None, typer.Option(
        help="Recipe TOML (default: the SBS recipe shipped with opensbs).")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Run folder to create (default: runs/<run id>).")] = None,
    resume: Annotated[Path | None, typer.Option(
        help="Continue a stopped run folder from its last complete cycle.")] = None,
    keep_images: Annotated[bool, typer.Option(
        "--keep-images", help="Keep every cycle's images in the run folder.")] = False,
    seed: Annotated[int | None, typer.Option(
        help="Seed of the virtual instrument (--sim; default 0).")] = None,
    speed: Annotated[float | None, typer.Option(
        help="--sim: at most this many virtual seconds per wall second (default: the recipe's "
             "sim.clock_speedup).")] = None,
    faults: Annotated[str | None, typer.Option(
        help="--sim: inject link faults, e.g. 'control.in.drop=0.02,camera.in.corrupt=0.01,"
             "seed=3' (LINK control|camera|both, DIR in|out, KIND drop|corrupt|duplicate|"
             "delay|truncate|disconnect).")] = None,
    live: Annotated[bool, typer.Option(
        help="Show the live view (off a terminal: one plain line per cycle).")] = True,
    preset: Annotated[str | None, typer.Option(
        help="--sim: simulator preset (gentle, miseq-v3, novaseq-x, prototype; default: the "
             "recipe's [sim] preset).")] = None,
    flowcell: Annotated[str | None, typer.Option(
        help="Flow-cell ID of this run (default: the recipe's run.flowcell_id).")] = None,
    state_dir: Annotated[Path | None, typer.Option(
        help="Instrument state directory holding the run counter (default: $OPENSBS_STATE_DIR,"
             " else $XDG_STATE_HOME/opensbs, else ~/.local/state/opensbs).")] = None,
) -> None:
    """Run a sequencing recipe: chemistry, imaging and live base calling into a run folder."""
    console = Console()
    if preset is not None and preset not in preset_names():
        console.print(f"[red]error:[/red] unknown --preset {preset!r}; presets: "
                      f"{', '.join(preset_names())}")
        raise typer.Exit(2)
    request = RunRequest(sim=sim, recipe=recipe, out=out, resume=resume,
                         keep_images=keep_images, seed=seed, speed=speed, faults=faults,
                         preset=preset, flowcell=flowcell, state_dir=state_dir)
    holder: dict[str, RunProgress] = {}
    stop_view = threading.Event()

    def view_loop(live_view: Live) -> None:
        while not stop_view.wait(0.25):
            if "progress" in holder:
                live_view.update(render(holder["progress"]))

    try:
        if live and console.is_terminal:
            with Live(console=console, refresh_per_second=4, transient=False) as live_view:
                thread = threading.Thread(target=view_loop, args=(live_view,), daemon=True)
                thread.start()
                try:
                    outcome = start_run(request, lambda p: holder.__setitem__("progress", p))
                finally:
                    stop_view.set()
                    if "progress" in holder:
                        live_view.update(render(holder["progress"]))
        elif live:
            printer = threading.Thread(target=_print_cycle_lines,
                                       args=(console, holder, stop_view), daemon=True)
            printer.start()
            try:
                outcome = start_run(request, lambda p: holder.__setitem__("progress", p))
            finally:
                stop_view.set()
                printer.join()
        else:
            outcome = start_run(request)
    except NoHardwareError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from None
    except (RecipeError, RunFolderError) as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from None
    except (TransportError, InstrumentError) as exc:  # before the first cycle started
        console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(1) from None
    except RunStopped as exc:
        console.print(f"[yellow]{escape(str(exc))}[/yellow]", soft_wrap=True)
        unacked = [p for p in exc.problems if p.startswith(("heater_off", "pump_stop"))]
        console.print("heater off and pump stopped." if not unacked else
                      "[red]the board did not acknowledge the safe stop; its heartbeat "
                      "timeout switches its outputs off[/red]")
        raise typer.Exit(exit_code(exc.reason)) from None
    for line in headline(outcome.folder.root, outcome.summary):
        console.print(line, soft_wrap=True, highlight=False, markup=False)

"""Assemble a run: recipe, run folder, instrument (hardware or virtual), base callers; execute.

    from opensbs.run import RunRequest, start_run
    outcome = start_run(RunRequest(sim=True, seed=1, out=Path("runs/demo")))
    outcome.folder.root, outcome.summary["q30_fraction"]

Without `sim` the attached devices are used; when none is attached `NoHardwareError` says so
and suggests `--sim` (a simulated run is never started silently). `resume` continues a stopped
run from its last complete cycle: the base callers are rebuilt by feeding them the completed
cycles' images again. On hardware the flow cell kept its state and those images were kept in
State/ as the run went; the virtual instrument's flow cell lived in the stopped process, so
its completed cycles are re-run (the lockstep clock makes them bit-identical).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..basecall.pipeline import TileBasecaller
from ..recipe import Recipe, default_recipe_text, load_recipe, parse_recipe
from ..runfolder import RunFolder, RunFolderError, RunLog
from ..usb.errors import DeviceNotFoundError, NoUsbBackendError, TransportError
from .controller import RunSetup, execute_run
from .imaging import TriggeredImager
from .instrument import BoardDriver, LockstepPacer, Pacer, WallPacer
from .progress import RunProgress
from .session import Session, new_session, resume_session
from .truth import TileTruth


class NoHardwareError(RuntimeError):
    """No OpenSBS devices attached and `--sim` not given."""


@dataclass
class RunRequest:
    """What `opensbs run` was asked to do."""

    sim: bool = False
    recipe: Path | None = None
    out: Path | None = None
    resume: Path | None = None
    keep_images: bool = False
    seed: int = 0
    speed: float | None = None  # --sim: cap on virtual/wall time (None: recipe's value)
    run_number: int = 1
    preset: str | None = None  # --sim: simulator preset (None: the recipe's [sim] preset)


@dataclass
class RunOutcome:
    """A finished run: its folder and journal, and summary.json's content."""

    session: Session
    summary: dict[str, Any]

    @property
    def folder(self) -> RunFolder:
        return self.session.folder


def _read_recipe(request: RunRequest) -> tuple[Recipe, str]:
    if request.recipe is None:
        text = default_recipe_text()
        return parse_recipe(text, "default_sbs.toml"), text
    return load_recipe(request.recipe), request.recipe.read_text("utf-8")


def _backend_for(session: Session, recipe: Recipe) -> tuple[Any, Any]:
    """(pyusb backend, virtual instrument or None)."""
    if not session.sim:
        return None, None
    from ..sim.instrument import VirtualInstrument

    instrument = VirtualInstrument.from_recipe(recipe, seed=session.seed,
                                               preset=session.start.get("preset"))
    return instrument.backend, instrument


def check_hardware() -> None:
    """Raise NoHardwareError unless a controller board is attached."""
    from ..usb.discovery import DeviceKind, find_device

    try:
        find_device(DeviceKind.CONTROLLER)
    except (DeviceNotFoundError, NoUsbBackendError) as exc:
        raise NoHardwareError(
            f"{exc}\nNo instrument to run on. To run on the virtual instrument instead, add "
            "--sim (e.g. `opensbs run --sim`).") from None


@contextmanager
def _connected(session: Session, recipe: Recipe, log: RunLog, progress: RunProgress,
               speed: float | None) -> Iterator[tuple[BoardDriver, TriggeredImager, Any]]:
    from ..usb.discovery import open_camera, open_controller

    backend, instrument = _backend_for(session, recipe)

    def on_event(kind: str, **fields: Any) -> None:
        log.write(kind, **fields)
        if kind == "telemetry":
            with progress.lock:
                progress.temperature_mc = fields.get("temperature_mc")
                progress.setpoint_mc = fields.get("setpoint_mc")
                progress.instrument_s = float(fields.get("t_s", 0.0))

    pacer: Pacer
    advance: Callable[[], None] | None = None
    if instrument is not None:
        lockstep = LockstepPacer(instrument, speed=speed or recipe.sim.clock_speedup)
        pacer, advance = lockstep, lockstep.step
    else:
        pacer = WallPacer()
    client = open_controller(backend=backend)
    board = BoardDriver(client, on_event, pacer)
    receiver = open_camera(backend=backend)
    imager = TriggeredImager(client, receiver, recipe, on_event, advance=advance)
    try:
        board.connect()
        board.check_recipe(recipe)
        imager.start()
        yield board, imager, instrument
    finally:
        imager.stop()
        board.close()


def _tile_truth(instrument: Any, tile: int) -> TileTruth:
    with instrument.board.lock:  # the camera renders under this lock
        truth = instrument.flowcell.truth(tile)
    return TileTruth(truth.positions_px, truth.sequences)


def _truths(instrument: Any, session: Session) -> dict[int, TileTruth]:
    """The virtual flow cell's truth, also saved in the run folder's Truth/."""
    instrument.save_truth(session.folder.root / "Truth")
    return {tile: _tile_truth(instrument, tile)
            for tile in session.folder.recipe.flowcell.tile_numbers()}


def start_run(request: RunRequest, progress_hook: Callable[[RunProgress], Any] | None = None
              ) -> RunOutcome:
    """Run (or resume) a sequencing run; see the module docstring."""
    if request.resume is not None:
        fixed = [name for name, given in (("--recipe", request.recipe), ("--out", request.out),
                                          ("--seed", request.seed),
                                          ("--keep-images", request.keep_images),
                                          ("--preset", request.preset)) if given]
        if fixed:
            raise RunFolderError(f"{request.resume}: {', '.join(fixed)} cannot change when "
                                 "resuming; the run folder's journal fixes them")
        session = resume_session(request.resume)
        if request.sim and not session.sim:
            raise RunFolderError(f"{request.resume}: this run was on hardware; resume it "
                                 "without --sim")
        recipe = session.folder.recipe
    else:
        recipe, text = _read_recipe(request)
        if not request.sim:
            check_hardware()
        session = new_session(recipe, text, request.out, seed=request.seed, sim=request.sim,
                              keep_images=request.keep_images, run_number=request.run_number,
                              preset=request.preset)
    progress = RunProgress(recipe.total_cycles, recipe.flowcell.tile_numbers())
    if progress_hook is not None:
        progress_hook(progress)
    with RunLog(session.folder.layout.run_log) as log:
        if session.completed_cycles:
            log.write("resume", completed_cycles=session.completed_cycles)
        try:
            connection = _connected(session, recipe, log, progress, request.speed)
            with connection as (board, imager, instrument):
                setup = RunSetup(
                    recipe=recipe, folder=session.folder, board=board, imager=imager,
                    callers={tile: TileBasecaller() for tile in recipe.flowcell.tile_numbers()},
                    tile_area_mm2=recipe.flowcell.tile_area_mm2(recipe.imaging.pixel_size_um),
                    log=log, journal=session.journal, progress=progress,
                    resume_from=session.completed_cycles, replay_chemistry=session.sim,
                    store_images=not session.sim,
                    keep_images=bool(session.start.get("keep_images")),
                    extra_summary={"sim": session.sim, "seed": session.seed})
                if instrument is not None:
                    setup.truths = lambda: _truths(instrument, session)
                    setup.live_truth = lambda tile: _tile_truth(instrument, tile)
                summary = execute_run(setup)
        except TransportError as exc:
            log.write("fault", message=f"link failure: {exc}")
            raise
    return RunOutcome(session, summary)

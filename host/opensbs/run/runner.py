"""Assemble a run: recipe, run folder, instrument (hardware or virtual), base callers; execute.

    from opensbs.run import RunRequest, start_run
    outcome = start_run(RunRequest(sim=True, seed=1, out=Path("runs/demo")))
    outcome.folder.root, outcome.summary["q30_fraction"]

Without `sim` the attached devices are used; when none is attached `NoHardwareError` says so
and suggests `--sim` (a simulated run is never started silently). `resume` continues a stopped
run: the base callers are rebuilt by feeding them the earlier cycles' images again. On hardware
the flow cell kept its state and those images were kept in State/ as the run went (chemistry
goes on after the last imaged cycle); the virtual instrument's flow cell lived in the stopped
process, so its cycles are re-run (the lockstep clock makes them bit-identical).

Everything that can be checked is checked before the run folder is created (`preflight`); the
folder is locked for the whole run; SIGINT, SIGTERM and SIGHUP stop the run safely.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..basecall.pipeline import TileBasecaller
from ..recipe import Recipe, default_recipe_text, load_recipe, parse_recipe
from ..runfolder import RunFolder, RunFolderError, RunLog, read_run_log
from ..runfolder.completion import write_completion_files
from ..usb.errors import DeviceNotFoundError, NoUsbBackendError, TransportError
from .controller import RunSetup, execute_run
from .imaging import TriggeredImager
from .instrument import BoardDriver, LockstepPacer, Pacer, WallPacer
from .instrument_factory import (
    LinkFaults,
    injected_counts,
    open_backend,
    parse_link_faults,
    tile_truth,
    truths,
)
from .link_faults import count_link_faults
from .preflight import check_request, preflight
from .progress import RunProgress
from .session import (
    Session,
    check_flowcell_id,
    check_out,
    new_identity,
    new_session,
    resume_session,
)
from .stop import StopRequest, stop_on_signals


class NoHardwareError(RuntimeError):
    """No OpenSBS devices attached and `--sim` not given."""


@dataclass
class RunRequest:
    """What `opensbs run` was asked to do (None: not given)."""

    sim: bool = False
    recipe: Path | None = None
    out: Path | None = None
    resume: Path | None = None
    keep_images: bool = False
    seed: int | None = None  # --sim: seed of the virtual instrument (default 0)
    speed: float | None = None  # --sim: cap on virtual/wall time (None: recipe's value)
    faults: str | None = None  # --sim: link faults to inject (sim.usb.parse_fault_spec)
    preset: str | None = None  # --sim: simulator preset (None: the recipe's [sim] preset)
    flowcell: str | None = None  # flow-cell ID (None: the recipe's)
    run_number: int | None = None  # None: the instrument's next (run_number.py)
    state_dir: Path | None = None  # instrument state, run counter (None: default_state_dir)


@dataclass
class RunOutcome:
    """A finished run: its folder and journal, and summary.json's content."""

    session: Session
    summary: dict[str, Any]

    @property
    def folder(self) -> RunFolder:
        return self.session.folder


def _read_recipe(request: RunRequest) -> tuple[Recipe, str, str]:
    """(recipe, its text, where it came from)."""
    if request.recipe is None:
        text = default_recipe_text()
        return parse_recipe(text, "default_sbs.toml"), text, "default_sbs.toml"
    recipe = load_recipe(request.recipe)
    return recipe, request.recipe.read_text("utf-8"), str(request.recipe)


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
               request: RunRequest, stop: StopRequest,
               faults: LinkFaults
               ) -> Iterator[tuple[BoardDriver, TriggeredImager, Any]]:
    from ..usb.discovery import open_camera, open_controller

    backend, instrument = open_backend(session.sim, recipe, session.seed,
                                       session.start.get("preset"), faults)
    speed = request.speed

    def on_event(kind: str, **fields: Any) -> None:
        if kind == "telemetry":
            with progress.lock:
                progress.temperature_mc = fields.get("temperature_mc")
                progress.setpoint_mc = fields.get("setpoint_mc")
                progress.instrument_s = float(fields.get("t_s", 0.0))
        log.write(kind, **fields)

    pacer: Pacer
    advance: Callable[[], None] | None = None
    if instrument is not None:
        lockstep = LockstepPacer(instrument, speed=speed or recipe.sim.clock_speedup)
        pacer, advance = lockstep, lockstep.step
    else:
        pacer = WallPacer()
    client = open_controller(backend=backend)
    board = BoardDriver(client, on_event, pacer, stop=stop)
    receiver = open_camera(backend=backend)
    imager = TriggeredImager(client, receiver, recipe, on_event, advance=advance, stop=stop,
                             before_retake=None if instrument is None
                             else instrument.camera.prepare_retake)
    try:
        board.connect()
        board.check_recipe(recipe)
        imager.start()
        yield board, imager, instrument
    finally:
        imager.stop()
        board.close()


def _link_fault_summary(session: Session, faults: LinkFaults
                        ) -> dict[str, Any]:
    """summary.json's link faults: what the run log recorded (over every resume), and what the
    virtual links injected in this process (with --faults)."""
    summary: dict[str, Any] = {
        "recorded": count_link_faults(read_run_log(session.folder.layout.run_log))}
    if faults:
        summary["injected"] = injected_counts(faults)
    return summary


def _open_session(request: RunRequest) -> Session:
    """Check everything that can be checked, then create (or reopen) the locked run folder."""
    check_request(request)
    if request.flowcell is not None:
        if request.resume is not None:
            raise RunFolderError(f"{request.resume}: --flowcell cannot change when resuming; "
                                 "the run keeps its identity")
        check_flowcell_id(request.flowcell)
    if request.resume is not None:
        session = resume_session(request.resume)
        if request.sim and not session.sim:
            session.close()
            raise RunFolderError(f"{request.resume}: this run was on hardware; resume it "
                                 "without --sim")
        return session
    recipe, text, source = _read_recipe(request)
    if request.out is not None:
        check_out(request.out)
    if not request.sim:
        check_hardware()
    preflight(recipe, text, source, sim=request.sim, keep_images=request.keep_images,
              out=request.out)
    identity = new_identity(recipe, request.out, flowcell_id=request.flowcell,
                            run_number=request.run_number, state_dir=request.state_dir)
    return new_session(recipe, text, request.out, identity, seed=request.seed or 0,
                       sim=request.sim, keep_images=request.keep_images, preset=request.preset)


def start_run(request: RunRequest, progress_hook: Callable[[RunProgress], Any] | None = None,
              stop: StopRequest | None = None) -> RunOutcome:
    """Run (or resume) a sequencing run; see the module docstring. `stop` (default: a new
    one, set by SIGINT/SIGTERM/SIGHUP) stops the run safely when requested."""
    stop = stop or StopRequest()
    with stop_on_signals(stop):
        session = _open_session(request)
        try:
            if session.finished:  # only its completion files are missing
                _write_completion(session)
                return RunOutcome(session, json.loads(
                    session.folder.layout.summary.read_text("utf-8")))
            return _run_session(session, request, progress_hook, stop)
        finally:
            session.close()


def _run_session(session: Session, request: RunRequest,
                 progress_hook: Callable[[RunProgress], Any] | None,
                 stop: StopRequest) -> RunOutcome:
    recipe = session.folder.recipe
    progress = RunProgress(recipe.total_cycles, recipe.flowcell.tile_numbers())
    if progress_hook is not None:
        progress_hook(progress)
    try:
        log = RunLog(session.folder.layout.run_log)
        if session.completed_cycles or session.imaged_cycles:
            log.write("resume", completed_cycles=session.completed_cycles,
                      imaged_cycles=session.imaged_cycles)
        for name, cut in (("journal.jsonl", session.torn_tail_bytes),
                          ("run_log.jsonl", log.cut_tail_bytes)):
            if cut:
                log.write("torn_tail_dropped", file=name, bytes=cut)
    except OSError as exc:  # nothing has moved on the instrument yet
        raise RunFolderError(f"{exc.filename}: cannot write the run log: {exc.strerror}"
                             ) from None
    with log:
        faults = parse_link_faults(request.faults)
        try:
            connection = _connected(session, recipe, log, progress, request, stop, faults)
            with connection as (board, imager, instrument):
                setup = RunSetup(
                    recipe=recipe, folder=session.folder, board=board, imager=imager,
                    callers={tile: TileBasecaller(read_cycles=[r.cycles for r in recipe.reads])
                             for tile in recipe.flowcell.tile_numbers()},
                    tile_area_mm2=recipe.flowcell.tile_area_mm2(recipe.imaging.pixel_size_um),
                    log=log, journal=session.journal, progress=progress,
                    resume_from=session.completed_cycles, imaged_before=session.imaged_cycles,
                    replay_chemistry=session.sim, store_images=not session.sim,
                    keep_images=bool(session.start.get("keep_images")),
                    extra_summary={"sim": session.sim, "seed": session.seed}, stop=stop)
                setup.link_faults = lambda: _link_fault_summary(session, faults)
                if instrument is not None:
                    setup.truths = lambda: truths(instrument, session.folder.root / "Truth",
                                                  recipe.flowcell.tile_numbers())
                    setup.live_truth = lambda tile: tile_truth(instrument, tile)
                summary = execute_run(setup)
        except TransportError as exc:
            _log_quietly(log, "fault", message=f"link failure: {exc}")
            raise
        finally:
            if faults:  # what this process's virtual links injected, however it ended
                _log_quietly(log, "faults_injected", **injected_counts(faults))
    _write_completion(session)  # last: run watchers start copying when they appear
    return RunOutcome(session, summary)


def _write_completion(session: Session) -> None:
    try:
        write_completion_files(session.folder.root, session.folder.identity.run_id,
                               __version__)
    except OSError as exc:
        raise RunFolderError(f"{exc.filename}: the run finished but its completion files "
                             f"could not be written: {exc.strerror}") from None


def _log_quietly(log: RunLog, kind: str, **fields: Any) -> None:
    try:
        log.write(kind, **fields)
    except OSError:
        pass  # a full disk: the record is lost, the run's outcome stands

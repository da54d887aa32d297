"""The run controller: executes a recipe cycle by cycle and streams images into the base caller.

Per cycle: the recipe's steps in order (fluidics, thermal, wait on the controller board; the
image step images every tile, the controller firing the trigger program and the camera bridge
streaming the frames over the image link). Each tile's images go to the base-calling worker,
which calls that cycle while the main thread runs the next cycle's chemistry.

Every stop (Ctrl-C, SIGTERM, SIGHUP, a full disk, a lost link, any failure) first turns the
heater off and stops the pump, before anything else that can fail (the log, the journal), then
records what it can and leaves a folder `--resume` continues (the board's own heartbeat timeout
stays the last line of defence).
"""

from __future__ import annotations

import errno
import io
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..basecall.focus import FWHM_PER_SIGMA
from ..basecall.pipeline import TileBasecaller
from ..recipe import FluidicsStep, ImageStep, Recipe, ThermalStep, WaitStep
from ..runfolder import Journal, RunFolder, RunFolderError, RunLog, atomic_write_bytes
from .calling import BasecallWorker
from .finalize import TileResult, finalize_run
from .instrument import BoardDriver
from .progress import RunProgress
from .running_figures import RunningFigures
from .stop import RunInterrupted, StopRequest
from .truth import SimTruth


class Imager(Protocol):
    """Takes one tile's images of the current cycle through the image link."""

    @property
    def frames_received(self) -> int: ...

    @property
    def frames_dropped(self) -> int: ...

    @property
    def bytes_received(self) -> int: ...

    def image_tile(self, cycle: int, tile: int) -> np.ndarray:
        """(channels, H, W) uint16 images of `tile` at `cycle`."""
        ...


class RunStopped(Exception):
    """The run stopped before its end, after the safe stop; the folder can be resumed.
    `problems`: what the stop could not do or record (an unacknowledged heater-off, ...)."""

    def __init__(self, folder: RunFolder, completed_cycles: int, reason: str,
                 problems: list[str] | None = None) -> None:
        self.problems = problems or []
        super().__init__(f"run stopped ({reason}) after {completed_cycles} complete cycles; "
                         + (f"also: {'; '.join(self.problems)}; " if self.problems else "")
                         + f"continue with: opensbs run --resume {folder.root}")
        self.folder = folder
        self.completed_cycles = completed_cycles
        self.reason = reason


@dataclass
class RunSetup:
    """Everything one run (or the resumed part of it) needs."""

    recipe: Recipe
    folder: RunFolder
    board: BoardDriver
    imager: Imager
    callers: dict[int, TileBasecaller]
    tile_area_mm2: float
    log: RunLog
    journal: Journal
    progress: RunProgress
    truths: Callable[[], dict[int, SimTruth] | None] | None = None  # read at the end
    live_truth: Callable[[int], SimTruth] | None = None  # one tile's truth, for the live view
    resume_from: int = 0  # cycles whose calls were on disk before a resume
    imaged_before: int = 0  # cycles imaged (images stored) before a resume, >= resume_from
    replay_chemistry: bool = False  # resume: re-run those cycles (virtual flow cell)
    store_images: bool = False  # keep images in State/ so a resume can re-feed the caller
    keep_images: bool = False
    extra_summary: dict[str, Any] = field(default_factory=dict)
    stop: StopRequest = field(default_factory=StopRequest)
    link_faults: Callable[[], dict[str, Any]] | None = None  # counts for summary.json


def stored_images_path(folder: RunFolder, cycle: int, tile: int) -> Path:
    """Images kept for a resume (hardware runs), removed when the run finishes."""
    return folder.layout.state / "images" / f"s_{folder.layout.lane}_{tile}_C{cycle}.npy"


def store_images(folder: RunFolder, cycle: int, tile: int, images: np.ndarray) -> None:
    buf = io.BytesIO()
    np.save(buf, images)
    atomic_write_bytes(stored_images_path(folder, cycle, tile), buf.getvalue())


def load_stored_images(folder: RunFolder, cycle: int, tile: int) -> np.ndarray:
    path = stored_images_path(folder, cycle, tile)
    try:
        return np.asarray(np.load(path))
    except FileNotFoundError:
        raise RunFolderError(f"{path}: missing; this run cannot be resumed") from None


def keep_images(folder: RunFolder, cycle: int, tile: int, images: np.ndarray,
                channel_names: list[str]) -> None:
    """Store one tile's cycle images as a multi-page TIFF (page c = channel c)."""
    import tifffile

    buf = io.BytesIO()
    tifffile.imwrite(buf, images, photometric="minisblack", metadata={"axes": "CYX",
                                                                      "Channel": channel_names})
    atomic_write_bytes(folder.layout.image(tile, cycle), buf.getvalue())


def _board_step(setup: RunSetup, step: FluidicsStep | ThermalStep | WaitStep, cycle: int,
                on_event: Callable[..., None], wall_start: float, **fields: Any) -> None:
    """Run one fluidics, thermal or wait step on the board and log it."""
    board = setup.board
    if isinstance(step, FluidicsStep):
        record = board.fluidics(step)
    elif isinstance(step, ThermalStep):
        record = board.thermal(step)
    else:
        record = board.wait(step)
    on_event("step_done", cycle=cycle, step=record.step,
             duration_s=(record.end_ms - record.start_ms) / 1000,
             wall_s=round(setup.progress.elapsed_s() - wall_start, 4), **fields,
             **record.details)


def _run_turnaround(setup: RunSetup, cycle: int, on_event: Callable[..., None]) -> None:
    """The paired-end turnaround's steps, before the first cycle of the read marked for it."""
    steps = setup.recipe.turnaround
    on_event("turnaround_start", cycle=cycle, t_s=setup.board.now_ms() / 1000)
    for index, step in enumerate(steps):
        setup.board.check_running()
        with setup.progress.lock:
            setup.progress.step = f"turnaround {index + 1}/{len(steps)} {step.step}"
        _board_step(setup, step, cycle, on_event, setup.progress.elapsed_s(),
                    turnaround=True)
    on_event("turnaround_done", cycle=cycle, t_s=setup.board.now_ms() / 1000)


def _run_steps(setup: RunSetup, cycle: int, worker: BasecallWorker,
               on_event: Callable[..., None]) -> None:
    board, progress = setup.board, setup.progress
    for index, step in enumerate(setup.recipe.cycle):
        board.check_running()
        with progress.lock:
            progress.step = f"{index + 1}/{len(setup.recipe.cycle)} {step.step}"
        wall_start = progress.elapsed_s()
        if not isinstance(step, ImageStep):
            _board_step(setup, step, cycle, on_event, wall_start)
            continue
        start_ms = board.now_ms()
        for tile in setup.recipe.flowcell.tile_numbers():
            board.check_running()
            with progress.lock:
                progress.tile = tile
            images = setup.imager.image_tile(cycle, tile)
            if setup.store_images:
                store_images(setup.folder, cycle, tile, images)
            if setup.keep_images:
                keep_images(setup.folder, cycle, tile, images, setup.recipe.channel_names)
            worker.submit(cycle, tile, images)
            with progress.lock:
                progress.frames_received = setup.imager.frames_received
                progress.frames_dropped = setup.imager.frames_dropped
                progress.bytes_received = setup.imager.bytes_received
        on_event("step_done", cycle=cycle, step="image",
                 duration_s=(board.now_ms() - start_ms) / 1000,
                 wall_s=round(progress.elapsed_s() - wall_start, 4))


def _try_record(what: Callable[[], None]) -> str | None:
    """Run `what` (a log or journal write); the error text instead of raising."""
    try:
        what()
    except Exception as exc:  # noqa: BLE001 - recording must not stop the stopping
        return f"{exc}"
    return None


def stop_reason(exc: BaseException) -> str:
    """One line saying why the run stopped."""
    if isinstance(exc, RunInterrupted):
        return exc.reason
    if isinstance(exc, KeyboardInterrupt):
        return "Ctrl-C"
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return f"disk full: {exc.filename or ''}: {exc.strerror}"
    return f"{exc}"


def safe_stop_and_log(board: BoardDriver, on_event: Callable[..., None],
                      stop_record: dict[str, Any] | None = None) -> list[str]:
    """Heater off and pump stopped first; then (each write allowed to fail) the `stop` record,
    one `command` record per stop command and a `fault` if one was not acknowledged. Returns
    what could not be done or recorded."""
    sent = board.safe_stop()
    problems = [f"{name}: {error}" for name, error in sent if error is not None]
    records: list[tuple[str, dict[str, Any]]] = []
    if stop_record is not None:
        records.append(("stop", stop_record))
    t_s = board.now_ms() / 1000
    records += [("command", {"t_s": t_s, "name": name, "acked": error is None})
                for name, error in sent]
    if problems:
        records.append(("fault", {"t_s": t_s,
                                  "message": "safe stop incomplete: " + "; ".join(problems)}))
    unrecorded = []
    error = _try_record(board.link_faults.poll)  # faults met while stopping
    if error is not None:
        unrecorded.append(error)
    for kind, fields in records:
        error = _try_record(lambda: on_event(kind, **fields))  # noqa: B023 - called at once
        if error is not None:
            unrecorded.append(error)
    return problems + [f"run log: {e}" for e in unrecorded[:1]]


def _stop(setup: RunSetup, worker: BasecallWorker, on_event: Callable[..., None], cycle: int,
          exc: BaseException) -> RunStopped:
    """The stop path: safe stop first, then record what can be recorded."""
    reason = stop_reason(exc)
    problems = safe_stop_and_log(setup.board, on_event, {
        "cycle": cycle, "message": f"stopping at cycle {cycle}: {reason}"})
    worker.abandon()
    completed = max(setup.progress.basecalled_cycle, setup.resume_from)
    error = _try_record(lambda: setup.journal.append("stopped", cycle=cycle,
                                                     completed_cycles=completed, reason=reason))
    if error is not None:
        problems.append(f"journal: {error}")
    return RunStopped(setup.folder, completed, reason, problems)


def execute_run(setup: RunSetup) -> dict[str, Any]:
    """Run every cycle, then finalize; returns the summary. Cycles imaged before a resume are
    replayed on the virtual instrument, or their stored images re-fed to the caller.

    Raises RunStopped on a stop request or any failure, after the safe stop."""
    recipe, progress, log = setup.recipe, setup.progress, setup.log

    def on_event(kind: str, **fields: Any) -> None:
        if kind == "fault":
            with progress.lock:
                progress.faults.append(str(fields.get("message", "")))
        log.write(kind, **fields)

    worker = BasecallWorker(setup.folder, setup.callers, setup.journal, progress, on_event,
                            resume_from=setup.resume_from,
                            figures=RunningFigures([(r.cycles, r.index) for r in recipe.reads],
                                                   setup.live_truth), stop=setup.stop)
    worker.start()
    cycle = 0
    try:
        for cycle in range(1, recipe.total_cycles + 1):
            setup.board.check_running()
            with progress.lock:
                progress.cycle = cycle
            if cycle <= setup.imaged_before and not setup.replay_chemistry:
                with progress.lock:
                    progress.step = "re-feeding stored images to the base caller"
                for tile in recipe.flowcell.tile_numbers():
                    worker.submit(cycle, tile, load_stored_images(setup.folder, cycle, tile))
                continue
            if cycle == recipe.turnaround_cycle():
                _run_turnaround(setup, cycle, on_event)
            on_event("cycle_start", cycle=cycle, t_s=setup.board.now_ms() / 1000,
                     replay=cycle <= setup.imaged_before)
            _run_steps(setup, cycle, worker, on_event)
            if setup.store_images and cycle > setup.imaged_before:
                setup.journal.append("cycle_imaged", cycle=cycle)
            on_event("cycle_imaged", cycle=cycle,
                     wall_elapsed_s=round(progress.elapsed_s(), 3))
            with progress.lock:
                progress.max_lag_cycles = max(progress.max_lag_cycles, progress.lag_cycles())
        with progress.lock:
            progress.step = "finishing base calls"
        worker.finish()
        setup.board.check_running()
    except BaseException as exc:
        raise _stop(setup, worker, on_event, cycle, exc) from exc
    safe_stop_and_log(setup.board, on_event)  # what it could not do is logged as a fault
    try:
        return _finalize(setup, on_event)
    except Exception as exc:  # a full disk while writing the run folder: resumable
        completed, reason = progress.basecalled_cycle, stop_reason(exc)
        error = _try_record(lambda: setup.journal.append(
            "stopped", cycle=recipe.total_cycles, completed_cycles=completed, reason=reason))
        raise RunStopped(setup.folder, completed, reason,
                         [] if error is None else [f"journal: {error}"]) from exc


def _finalize(setup: RunSetup, on_event: Callable[..., None]) -> dict[str, Any]:
    progress = setup.progress
    with progress.lock:
        progress.step = "writing run folder"
    results = []
    for tile, caller in setup.callers.items():
        if caller.positions is None or caller.passing_filter is None:
            raise RuntimeError(f"tile {tile}: base caller produced no clusters")
        rates = caller.read_rates
        sigma = caller.kernel_sigma_px
        results.append(TileResult(tile, caller.positions, caller.passing_filter,
                                  [r.phasing for r in rates], [r.prephasing for r in rates],
                                  setup.tile_area_mm2,
                                  0.0 if sigma is None else FWHM_PER_SIGMA * sigma))
    extra = {**setup.extra_summary, "max_basecall_lag_cycles": progress.max_lag_cycles}
    if setup.link_faults is not None:
        extra["link_faults"] = setup.link_faults()
    truths = None if setup.truths is None else setup.truths()
    summary = finalize_run(setup.folder, results, truths, extra)
    with progress.lock:  # the live view ends on the final figures (its PF already is)
        progress.q30_fraction, progress.error_rate = summary["q30_fraction"], summary["error_rate"]
        progress.truth_error_rate = summary.get("sim_truth_error_rate")
    setup.journal.append("finished")
    for done in ("images", "bcl"):  # resume needs none (the CBCLs hold a CBCL run's calls)
        shutil.rmtree(setup.folder.layout.state / done, ignore_errors=True)
    on_event("finished", wall_elapsed_s=round(progress.elapsed_s(), 3))
    return summary

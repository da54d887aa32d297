"""The run controller: executes a recipe cycle by cycle and streams images into the base caller.

Per cycle: the recipe's steps in order (fluidics, thermal, wait on the controller board; the
image step images every tile, the controller firing the trigger program and the camera bridge
streaming the frames over the image link). Each tile's images go to the base-calling worker,
which calls that cycle while the main thread runs the next cycle's chemistry. Ctrl-C (or any
failure) turns the heater off and stops the pump, and leaves a folder `--resume` continues.
"""

from __future__ import annotations

import io
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..basecall.pipeline import TileBasecaller
from ..recipe import FluidicsStep, ImageStep, Recipe, ThermalStep, WaitStep
from ..runfolder import Journal, RunFolder, RunFolderError, RunLog, atomic_write_bytes
from .calling import BasecallWorker
from .finalize import TileResult, finalize_run
from .instrument import BoardDriver
from .progress import RunProgress
from .running_figures import RunningFigures
from .truth import TileTruth

FWHM_PER_SIGMA = 2.0 * float(np.sqrt(2.0 * np.log(2.0)))


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
    """The run stopped before its last cycle; the folder can be resumed."""

    def __init__(self, folder: RunFolder, completed_cycles: int, reason: str) -> None:
        super().__init__(f"run stopped ({reason}) after {completed_cycles} complete cycles; "
                         f"continue with: opensbs run --resume {folder.root}")
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
    truths: Callable[[], dict[int, TileTruth] | None] | None = None  # read at the end
    live_truth: Callable[[int], TileTruth] | None = None  # one tile's truth, for the live view
    resume_from: int = 0  # cycles completed before a resume
    replay_chemistry: bool = False  # resume: re-run those cycles (virtual flow cell)
    store_images: bool = False  # keep images in State/ so a resume can re-feed the caller
    keep_images: bool = False
    extra_summary: dict[str, Any] = field(default_factory=dict)


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


@contextmanager
def _no_interrupts() -> Iterator[None]:
    """Ignore Ctrl-C meanwhile (a second Ctrl-C must not cut the safe stop short)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _run_steps(setup: RunSetup, cycle: int, worker: BasecallWorker,
               on_event: Callable[..., None]) -> None:
    board, progress = setup.board, setup.progress
    for index, step in enumerate(setup.recipe.cycle):
        with progress.lock:
            progress.step = f"{index + 1}/{len(setup.recipe.cycle)} {step.step}"
        wall_start = progress.elapsed_s()
        if isinstance(step, FluidicsStep):
            record = board.fluidics(step)
        elif isinstance(step, ThermalStep):
            record = board.thermal(step)
        elif isinstance(step, WaitStep):
            record = board.wait(step)
        elif isinstance(step, ImageStep):
            start_ms = board.now_ms()
            for tile in setup.recipe.flowcell.tile_numbers():
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
            continue
        on_event("step_done", cycle=cycle, step=record.step,
                 duration_s=(record.end_ms - record.start_ms) / 1000,
                 wall_s=round(progress.elapsed_s() - wall_start, 4), **record.details)


def execute_run(setup: RunSetup) -> dict[str, Any]:
    """Run every cycle, then finalize; returns the summary. Cycles completed before a resume
    are replayed on the virtual instrument, or their stored images re-fed to the caller.

    Raises RunStopped on Ctrl-C or an instrument failure, after the safe stop."""
    recipe, progress, log = setup.recipe, setup.progress, setup.log

    def on_event(kind: str, **fields: Any) -> None:
        log.write(kind, **fields)
        if kind == "fault":
            with progress.lock:
                progress.faults.append(str(fields.get("message", "")))

    worker = BasecallWorker(setup.folder, setup.callers, setup.journal, progress, on_event,
                            resume_from=setup.resume_from,
                            figures=RunningFigures([(r.cycles, r.index) for r in recipe.reads],
                                                   setup.live_truth))
    worker.start()
    cycle = 0
    try:
        for cycle in range(1, recipe.total_cycles + 1):
            with progress.lock:
                progress.cycle = cycle
            if cycle <= setup.resume_from and not setup.replay_chemistry:
                with progress.lock:
                    progress.step = "re-feeding stored images to the base caller"
                for tile in recipe.flowcell.tile_numbers():
                    worker.submit(cycle, tile, load_stored_images(setup.folder, cycle, tile))
                continue
            on_event("cycle_start", cycle=cycle, t_s=setup.board.now_ms() / 1000,
                     replay=cycle <= setup.resume_from)
            _run_steps(setup, cycle, worker, on_event)
            on_event("cycle_imaged", cycle=cycle,
                     wall_elapsed_s=round(progress.elapsed_s(), 3))
            with progress.lock:
                progress.max_lag_cycles = max(progress.max_lag_cycles, progress.lag_cycles())
        with progress.lock:
            progress.step = "finishing base calls"
        worker.finish()
    except BaseException as exc:
        reason = "Ctrl-C" if isinstance(exc, KeyboardInterrupt) else f"{exc}"
        on_event("stop", cycle=cycle, message=f"stopping at cycle {cycle}: {reason}")
        with _no_interrupts():
            setup.board.safe_stop()
        worker.abandon()
        completed = max(progress.basecalled_cycle, setup.resume_from)
        setup.journal.append("stopped", cycle=cycle, completed_cycles=completed, reason=reason)
        raise RunStopped(setup.folder, completed, reason) from exc
    setup.board.safe_stop()
    with progress.lock:
        progress.step = "writing run folder"
    results = []
    for tile, caller in setup.callers.items():
        if caller.positions is None or caller.passing_filter is None:
            raise RuntimeError(f"tile {tile}: base caller produced no clusters")
        rates = caller.rates
        sigma = caller.kernel_sigma_px
        results.append(TileResult(tile, caller.positions, caller.passing_filter,
                                  rates.phasing, rates.prephasing, setup.tile_area_mm2,
                                  0.0 if sigma is None else FWHM_PER_SIGMA * sigma))
    extra = {**setup.extra_summary, "max_basecall_lag_cycles": progress.max_lag_cycles}
    truths = None if setup.truths is None else setup.truths()
    summary = finalize_run(setup.folder, results, truths, extra)
    with progress.lock:  # the live view ends on the final figures (its PF already is)
        progress.q30_fraction, progress.error_rate = summary["q30_fraction"], summary["error_rate"]
        progress.truth_error_rate = summary.get("sim_truth_error_rate")
    setup.journal.append("finished")
    shutil.rmtree(setup.folder.layout.state / "images", ignore_errors=True)  # resume needs none
    on_event("finished", wall_elapsed_s=round(progress.elapsed_s(), 3))
    return summary

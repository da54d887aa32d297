"""The base-calling side of a run: a worker thread fed each tile's cycle images.

The worker hands each (cycle, tile, images) to that tile's incremental caller while the main
thread runs the next cycle's chemistry. The caller makes a cycle's calls final some cycles
after its images (phasing needs the cycles around it); final calls go to the run folder at once
(BCL, and the caller's per-cycle figures kept for the metrics, both written atomically and
fsynced). Once every tile's calls of a cycle are on disk the journal records the cycle as
complete and the live view counts it as base-called, so the lag it shows is the real one. A
resumed run rebuilds the callers by feeding them the earlier cycles' images again (kept in the
run folder's State/ on hardware, re-simulated with --sim), so the journal is only extended past
`resume_from`.
"""

from __future__ import annotations

import io
import queue
import threading
from pathlib import Path

import numpy as np

from ..basecall.pipeline import CycleCalls, TileBasecaller
from ..runfolder import Journal, RunFolder, atomic_write_bytes
from ..runfolder.events import CycleComplete, OnEvent
from .image_figures import record_image_figures
from .progress import RunProgress
from .running_figures import RunningFigures
from .stop import StopRequest

MAX_QUEUED_CYCLES = 3  # cycles of images the chemistry may run ahead of the caller


def metrics_path(folder: RunFolder, tile: int, cycle: int) -> Path:
    """Where the caller's per-cycle figures of a tile are kept for the InterOp metrics."""
    return folder.layout.state / "metrics" / f"s_{folder.layout.lane}_{tile}_C{cycle}.npz"


def save_cycle_metrics(folder: RunFolder, tile: int, calls: CycleCalls) -> None:
    """Keep the caller's figures of one tile and cycle that go into InterOp: intensities (raw
    units), the cycle's SNR (CorrectedIntMetrics) and the phasing estimates. No-calls are
    counted from the BCL's N calls of PF clusters, as RTA counts them, so are not kept here."""
    m = calls.metrics
    buf = io.BytesIO()
    np.savez(buf, mean_intensity=m.mean_intensity, p90_intensity=m.p90_intensity,
             called_intensity=m.called_intensity, snr=m.snr, phasing=m.phasing,
             prephasing=m.prephasing)
    atomic_write_bytes(metrics_path(folder, tile, calls.cycle), buf.getvalue())


def load_cycle_metrics(folder: RunFolder, tile: int, cycle: int) -> dict[str, np.ndarray]:
    with np.load(metrics_path(folder, tile, cycle)) as data:
        return {k: data[k] for k in data.files}


class BasecallWorker:
    """A thread that base-calls the queued tile images in order and records progress."""

    _STOP = None

    def __init__(self, folder: RunFolder, callers: dict[int, TileBasecaller], journal: Journal,
                 progress: RunProgress, on_event: OnEvent,
                 max_queued_cycles: int = MAX_QUEUED_CYCLES, resume_from: int = 0,
                 figures: RunningFigures | None = None, stop: StopRequest | None = None) -> None:
        self.folder = folder
        self.callers = callers
        self.journal = journal
        self.progress = progress
        self.on_event = on_event
        self.tiles = list(callers)
        self.resume_from = resume_from
        self.figures = figures or RunningFigures()
        self.stop = stop or StopRequest()
        self._written = dict.fromkeys(self.tiles, 0)  # last cycle whose calls are on disk
        self._complete = 0
        self._queue: queue.Queue[tuple[int, int, np.ndarray] | None] = queue.Queue(
            max(1, max_queued_cycles * len(self.tiles)))
        self._thread = threading.Thread(target=self._run, name="basecall-worker", daemon=True)
        self.error: BaseException | None = None
        self._abandon = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def _raise_if_failed(self) -> None:
        if isinstance(self.error, OSError):
            raise self.error  # writing the calls failed (a full disk), not the calling
        if self.error is not None:
            raise RuntimeError(f"base calling failed: {self.error!r}") from self.error

    def _put(self, item: tuple[int, int, np.ndarray] | None) -> None:
        """Queue `item`, waiting while the queue is full; fails if the worker has failed."""
        while True:
            self._raise_if_failed()
            self.stop.check()
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def submit(self, cycle: int, tile: int, images: np.ndarray) -> None:
        """Queue one tile's images (blocks while the worker is `max_queued_cycles` behind)."""
        self._put((cycle, tile, images))

    def finish(self) -> None:
        """Wait for every queued cycle to be called, then flush the callers."""
        self._put(self._STOP)
        while self._thread.is_alive():
            self._thread.join(0.2)
            self.stop.check()
        self._raise_if_failed()
        for tile, caller in self.callers.items():
            for calls in caller.finish():
                self._write(tile, calls)

    def abandon(self, timeout_s: float = 30.0) -> None:
        """Stop after the cycles already queued (waiting at most about `timeout_s` for them)."""
        if not self._thread.is_alive():
            return
        if not self._try_put_stop(timeout_s):
            self._abandon.set()  # queue still full: stop after the item in hand
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            self._abandon.set()
            self._thread.join()

    def _try_put_stop(self, timeout_s: float) -> bool:
        try:
            self._queue.put(self._STOP, timeout=timeout_s)
        except queue.Full:
            return False
        return True

    def _write(self, tile: int, calls: CycleCalls) -> None:
        self.folder.write_bcl(calls.cycle, tile, calls.bases, calls.qualities)
        save_cycle_metrics(self.folder, tile, calls)
        self._written[tile] = calls.cycle
        self._figures(tile, calls)
        for cycle in range(self._complete + 1, min(self._written.values()) + 1):
            self._cycle_done(cycle)

    def _figures(self, tile: int, calls: CycleCalls) -> None:
        positions = self.callers[tile].positions
        if positions is not None:
            self.figures.add(tile, positions, calls)
            now = self.figures.snapshot()
            with self.progress.lock:
                p = self.progress
                p.clusters, p.pf_fraction, p.q30_fraction = (now.clusters, now.pf_fraction,
                                                             now.q30_fraction)
                p.error_rate, p.truth_error_rate = now.error_rate, now.truth_error_rate

    def _cycle_done(self, cycle: int) -> None:
        """Every tile's calls of `cycle` are on disk: journal it, show it."""
        if cycle > self.resume_from:
            self.journal.append(CycleComplete(cycle))
        self._complete = cycle
        with self.progress.lock:
            self.progress.basecalled_cycle = cycle
        self.on_event(CycleComplete(cycle, wall_elapsed_s=round(self.progress.elapsed_s(), 3)))

    def _run(self) -> None:
        try:
            while not self._abandon.is_set():
                item = self._queue.get()
                if item is None:
                    return
                cycle, tile, images = item
                record_image_figures(self.folder, tile, cycle, images)
                for calls in self.callers[tile].add_cycle(images):
                    self._write(tile, calls)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            self.error = exc

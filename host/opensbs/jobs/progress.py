"""Progress of a tile job: a rich bar on a terminal, one plain line per tile elsewhere."""

import time
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class TileProgress:
    """Tiles done / total, rate and ETA of one job (``with`` it around the work)."""

    def __init__(self, label: str, total: int, skipped: int, stream: TextIO) -> None:
        self.label = label
        self.total = total
        self.done = skipped
        self._stream = stream
        self._started_s = time.monotonic()
        self._ran = 0
        self._bar: Progress | None = None
        if stream.isatty():
            self._bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TextColumn("tiles"),
                                 TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
                                 TextColumn("ETA"), TimeRemainingColumn(),
                                 console=Console(file=stream))
            self._task = self._bar.add_task(label, total=total, completed=skipped, rate="")

    def __enter__(self) -> "TileProgress":
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def note(self, text: str) -> None:
        """A line above the bar (or a plain line)."""
        if self._bar is not None:
            self._bar.console.print(text, markup=False, highlight=False)
        else:
            print(text, file=self._stream, flush=True)

    def tile_done(self, name: str, detail: str) -> None:
        """One more tile finished (``detail``: what it produced, where it ran)."""
        self.done += 1
        self._ran += 1
        elapsed_s = time.monotonic() - self._started_s
        rate = self._ran / elapsed_s if elapsed_s > 0 else 0.0
        eta_s = (self.total - self.done) / rate if rate > 0 else float("inf")
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, rate=f"{rate:.2f}/s")
            return
        print(f"{self.label}: {name} done ({self.done}/{self.total}, {rate:.2f} tiles/s, "
              f"ETA {eta_s:.0f} s) {detail}", file=self._stream, flush=True)

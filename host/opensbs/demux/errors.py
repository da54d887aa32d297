"""Typed errors of demultiplexing: each names its file, and where known line and field."""

from __future__ import annotations

from pathlib import Path


class DemuxError(ValueError):
    """Demultiplexing cannot proceed (the message names the file or setting at fault)."""


class SampleSheetError(DemuxError):
    """A sample sheet is malformed or does not fit the run: names file, line and field."""

    def __init__(self, path: Path | str, line: int | None, field: str | None, problem: str):
        self.path = Path(path)
        self.line = line
        self.field = field
        self.problem = problem
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        super().__init__(f"{where}: {field}: {problem}" if field else f"{where}: {problem}")


class RunInfoError(DemuxError):
    """RunInfo.xml is missing or does not describe a read structure."""

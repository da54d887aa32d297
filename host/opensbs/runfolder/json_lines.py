"""Append-only JSON-lines files (journal, run log) that survive kill -9 and full disks.

Every record is one JSON object on one line ending in a newline. An append that fails (full
disk, I/O error) is cut back to where it began, so no half record is ever followed by more
records. A kill -9 mid-append can leave a last line without its newline (a torn tail): readers
drop and report it, and `AppendOnlyFile` cuts it off before it appends anything.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import atomic
from .errors import RunFolderError

_TAIL_CHUNK = 1 << 16


@dataclass
class JsonLines:
    """The complete records of a JSON-lines file and what was wrong with the rest."""

    records: list[dict[str, Any]]
    line_numbers: list[int]  # 1-based line of each record
    torn_tail_bytes: int = 0  # an incomplete last line (no newline), dropped
    bad_lines: list[int] = field(default_factory=list)  # complete lines that were skipped


def _record(line: bytes) -> dict[str, Any] | None:
    """The JSON object on `line`, or None when it is not one (garbage, null, 42, bad UTF-8)."""
    try:
        value = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise RunFolderError(f"{path}: missing") from None
    except IsADirectoryError:
        raise RunFolderError(f"{path}: is a directory, not a JSON-lines file") from None
    except OSError as exc:
        raise RunFolderError(f"{path}: cannot read: {exc.strerror}") from None


def read_json_lines(path: Path | str, *, skip_bad_lines: bool) -> JsonLines:
    """Parse a JSON-lines file. A torn last line is dropped (counted in `torn_tail_bytes`);
    a complete line that is not a JSON object is skipped when `skip_bad_lines`, else a
    RunFolderError names file and line."""
    path = Path(path)
    data = _read_bytes(path)
    end = data.rfind(b"\n") + 1
    result = JsonLines([], [], torn_tail_bytes=len(data) - end)
    for number, line in enumerate(data[:end].split(b"\n")[:-1], start=1):
        record = _record(line)
        if record is None:
            if not skip_bad_lines:
                raise RunFolderError(f"{path}:{number}: not a JSON object (corrupt line)")
            result.bad_lines.append(number)
            continue
        result.records.append(record)
        result.line_numbers.append(number)
    return result


def _complete_length(fd: int, size: int) -> int:
    """Bytes up to and including the file's last newline (0 if it has none)."""
    end = size
    while end > 0:
        start = max(0, end - _TAIL_CHUNK)
        chunk = os.pread(fd, end - start, start)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            return start + newline + 1
        end = start
    return 0


class AppendOnlyFile:
    """A JSON-lines file open for appending whole records (see the module docstring).

    `durable`: fsync after every record (the journal); otherwise the OS flushes (the run log).
    `cut_tail_bytes` says how many bytes of a torn last line were cut off on opening."""

    def __init__(self, path: Path | str, *, durable: bool) -> None:
        self.path = Path(path)
        self.durable = durable
        self._lock = threading.Lock()
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except IsADirectoryError:
            raise RunFolderError(f"{self.path}: is a directory, not a JSON-lines file") from None
        try:
            size = os.fstat(fd).st_size
            self._end = _complete_length(fd, size)
            if self._end < size:
                os.ftruncate(fd, self._end)
        except BaseException:
            os.close(fd)
            raise
        self.cut_tail_bytes = size - self._end
        self._fd: int | None = fd

    def append(self, record: dict[str, Any], default: Any = None) -> None:
        """Append one record (cut back if the write fails, then the OSError is raised)."""
        line = (json.dumps(record, default=default, separators=(",", ":")) + "\n").encode()
        with self._lock:
            if self._fd is None:
                raise RunFolderError(f"{self.path}: closed")
            try:
                os.lseek(self._fd, self._end, os.SEEK_SET)
                atomic.write_fully(self._fd, line, self.path)
                if self.durable:
                    os.fsync(self._fd)
            except OSError:
                self._cut_back()
                raise
            self._end += len(line)

    def _cut_back(self) -> None:
        assert self._fd is not None
        try:
            os.ftruncate(self._fd, self._end)  # frees space, needs none
        except OSError:
            pass  # the reader drops what is left as a torn tail

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> AppendOnlyFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

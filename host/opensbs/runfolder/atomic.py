"""Crash-safe file writes: a file either has its complete new content or does not change.

`atomic_write_bytes`: data go to a temporary file in the same directory, are flushed to disk,
then renamed over the target (`os.replace`) and the directory entry is flushed too, so a crash,
kill -9 or full disk never leaves a half-written BCL or FASTQ that looks complete.

Every byte the run folder writes goes through `write_fully` (also the append-only JSON-lines
files), so one place sees every write site; an OSError from it names the file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

TEMP_SUFFIX = ".partial"


def _file_mode() -> int:
    """Mode of a newly created file under this process's umask (mkstemp itself uses 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


FILE_MODE = _file_mode()


def write_fully(fd: int, data: bytes | memoryview, path: Path) -> None:
    """Write all of `data` to the open file `fd` (of `path`); an OSError names `path`."""
    view = memoryview(data).cast("B")
    while view:
        try:
            written = os.write(fd, view)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(path)) from None
        view = view[written:]


def fsync_directory(path: Path) -> None:
    """Flush a directory's entries (a rename or a new file in it) to disk."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path | str, data: bytes | memoryview) -> None:
    """Write `data` to `path` atomically (temp file, fsync, rename, fsync of the directory)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        try:
            os.fchmod(fd, FILE_MODE)
            write_fully(fd, data, path)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def atomic_write_text(path: Path | str, text: str) -> None:
    """Write UTF-8 `text` to `path` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def remove_partials(folder: Path | str) -> list[Path]:
    """Delete temporary files left by an interrupted atomic write under `folder`."""
    removed = sorted(Path(folder).rglob(f".*{TEMP_SUFFIX}"))
    for p in removed:
        p.unlink()
    return removed

"""Atomic file writes: a file either has its complete new content or does not change.

Data go to a temporary file in the same directory, are flushed to disk, then renamed over the
target (`os.replace`), so a crash or kill -9 never leaves a half-written BCL or FASTQ that
looks complete.
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


def atomic_write_bytes(path: Path | str, data: bytes | memoryview) -> None:
    """Write `data` to `path` atomically (temp file, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path | str, text: str) -> None:
    """Write UTF-8 `text` to `path` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def remove_partials(folder: Path | str) -> list[Path]:
    """Delete temporary files left by an interrupted atomic write under `folder`."""
    removed = sorted(Path(folder).rglob(f".*{TEMP_SUFFIX}"))
    for p in removed:
        p.unlink()
    return removed

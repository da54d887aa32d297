"""Completion markers of tile jobs: a tile is done when its marker matches its output files.

``ROOT/.tiles-done/NAME.json`` holds the tile's name, a digest of what the task was asked to
do (`job_digest`), each output's size and CRC-32 and the task's result. It is written
atomically after the outputs, so a tile interrupted at any point has no marker (or a stale
one that no longer matches) and is run again.
"""

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from isal import isal_zlib

from ..runfolder.atomic import atomic_write_text

MARKER_FOLDER = ".tiles-done"
_CHUNK_BYTES = 1 << 22


def marker_path(root: Path, name: str) -> Path:
    """Where the completion marker of tile job ``name`` lives."""
    return root / MARKER_FOLDER / f"{name}.json"


def file_fingerprint(path: Path) -> dict[str, int]:
    """Size in bytes and CRC-32 of a file."""
    crc = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            crc = isal_zlib.crc32(chunk, crc)
    return {"bytes": path.stat().st_size, "crc32": crc}


def job_digest(task: Callable[..., Any], args: tuple[Any, ...], inputs: Sequence[Path]) -> str:
    """SHA-256 of the task's name, its arguments' repr and the size and modification time of
    each input file: a marker made for other arguments or older inputs does not count."""
    stats = [(str(p), p.stat().st_size, p.stat().st_mtime_ns) if p.exists() else (str(p),)
             for p in inputs]
    text = repr((f"{task.__module__}.{task.__qualname__}", args, stats))
    return hashlib.sha256(text.encode()).hexdigest()


def write_marker(root: Path, name: str, digest: str, outputs: tuple[str, ...],
                 result: dict[str, Any]) -> None:
    """Record tile ``name`` as complete: fingerprints of its ``outputs`` and its result."""
    marker = {"name": name, "job_digest": digest,
              "outputs": {rel: file_fingerprint(root / rel) for rel in outputs},
              "result": result}
    atomic_write_text(marker_path(root, name), json.dumps(marker, indent=1))


def completed_result(root: Path, name: str, digest: str, outputs: tuple[str, ...]
                     ) -> dict[str, Any] | None:
    """The recorded result of tile ``name`` if its marker matches ``digest`` and every
    output, else None."""
    try:
        marker = json.loads(marker_path(root, name).read_text())
        recorded = marker["outputs"]
        if (marker["name"] != name or marker["job_digest"] != digest
                or sorted(recorded) != sorted(outputs)):
            return None
        for rel in outputs:
            if file_fingerprint(root / rel) != recorded[rel]:
                return None
        result: dict[str, Any] = marker["result"]
        return result
    except (OSError, ValueError, KeyError, TypeError):
        return None


def clear_marker(root: Path, name: str) -> None:
    """Forget that tile ``name`` was complete (before running it again)."""
    marker_path(root, name).unlink(missing_ok=True)

"""FASTQ.gz output of demultiplexing: records with per-read index and length, streamed to each
file as one gzip member per tile (a multi-member gzip, read by zcat, Python and every FASTQ
tool), so no file is ever held in memory whole."""

from __future__ import annotations

import gzip
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..basecall.fastq import PHRED_OFFSET
from ..runfolder.atomic import write_fully
from .barcodes import LETTERS

GZIP_LEVEL = 4  # as the run's own FASTQ writer (basecall.fastq.gzip_deterministic)
MAX_PHRED = 93


def fastq_records(heads: Sequence[bytes], read_number: int, tails: Sequence[bytes],
                  bases: np.ndarray, qualities: np.ndarray, lengths: np.ndarray,
                  ) -> list[bytes]:
    """One FASTQ record per read: `head` + read number + `tail` is the name line; bases and
    qualities (Phred+33) up to each read's length."""
    n, width = bases.shape
    sequence = LETTERS[bases].tobytes()
    quality = (np.minimum(qualities, MAX_PHRED) + PHRED_OFFSET).astype(np.uint8).tobytes()
    number = str(read_number).encode()
    starts = (np.arange(n) * width).tolist()
    ends = (np.arange(n) * width + lengths).tolist()
    return [b"".join((head, number, tail, sequence[a:b], b"\n+\n", quality[a:b], b"\n"))
            for head, tail, a, b in zip(heads, tails, starts, ends, strict=True)]


class FastqFiles:
    """Open FASTQ.gz files, each appended one gzip member at a time; compression of a batch of
    members runs on threads (zlib releases the GIL)."""

    def __init__(self, threads: int | None = None) -> None:
        self._fds: dict[Path, int] = {}
        self._pool = ThreadPoolExecutor(max_workers=threads or os.cpu_count() or 1)

    def open(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fds[path] = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)

    def append(self, texts: dict[Path, bytes]) -> None:
        """Compress each text and append it to its file (empty texts are skipped)."""
        items = [(p, t) for p, t in texts.items() if t]
        members = self._pool.map(lambda t: gzip.compress(t, GZIP_LEVEL, mtime=0),
                                 [t for _, t in items])
        for (path, _), member in zip(items, members, strict=True):
            write_fully(self._fds[path], member, path)

    def close(self) -> None:
        """Flush every file to disk and close it (an empty file gets an empty gzip member)."""
        for path, fd in self._fds.items():
            if os.fstat(fd).st_size == 0:
                write_fully(fd, gzip.compress(b"", GZIP_LEVEL, mtime=0), path)
        list(self._pool.map(os.fsync, self._fds.values()))  # flushes overlap on threads
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        self._pool.shutdown()

    def abandon(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        self._pool.shutdown()

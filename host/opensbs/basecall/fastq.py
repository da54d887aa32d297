"""FASTQ.gz output with Illumina (CASAVA 1.8) read names (formats.md).

``@<instrument>:<run number>:<flowcell id>:<lane>:<tile>:<x>:<y> <read>:<is filtered>:
<control number>:<index sequence>``; x, y are the cluster's pixel position as Picard and
bcl2fastq compute them from the locs file's float32 values (`read_name_coordinate`);
``is filtered`` is ``Y`` for a read that failed the filter. Quality is Phred+33; a no-call is
``N`` with quality 2 (``#``).
"""

import gzip
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .chemistry import BASES
from .errors import ShapeError

PHRED_OFFSET = 33
_LETTERS = np.frombuffer((BASES + "N").encode("ascii"), dtype=np.uint8)


@dataclass(frozen=True)
class ReadNaming:
    """The run-level fields of Illumina read names."""

    instrument: str = "OPENSBS"
    run_number: int = 1
    flowcell_id: str = "FLOWCELL"
    lane: int = 1
    read: int = 1
    control_number: int = 0
    index_sequence: str = ""


_TEN = np.float32(10)
_OFFSET = np.float32(1000)


def read_name_coordinate(position_px: np.ndarray) -> np.ndarray:
    """FASTQ name coordinate of pixel positions (int64), bit-exact with Picard's
    ``Math.round(pos * 10 + 1000)`` on the locs file's float pos: the position is rounded to
    float32, multiplied and offset in float32 arithmetic (Java promotes the int literals to
    float), then rounded half up (``Math.round``: floor of value + 1/2, computed exactly)."""
    value = np.asarray(position_px, dtype=np.float32) * _TEN + _OFFSET
    return np.floor(value.astype(np.float64) + 0.5).astype(np.int64)


def fastq_records(bases: np.ndarray, qualities: np.ndarray, positions_px: np.ndarray,
                  passing_filter: np.ndarray, tile: int, naming: ReadNaming,
                  include_filtered: bool = False) -> bytes:
    """FASTQ text (bytes) of one tile's reads; filtered reads only if ``include_filtered``."""
    calls = np.asarray(bases)
    quals = np.asarray(qualities)
    xy = np.asarray(positions_px)
    pf = np.asarray(passing_filter, dtype=bool)
    n = calls.shape[0]
    if calls.ndim != 2 or quals.shape != calls.shape or xy.shape != (n, 2) or pf.shape != (n,):
        raise ShapeError(f"bases {calls.shape}, qualities {quals.shape}, positions {xy.shape} "
                         f"and passing_filter {pf.shape} disagree")
    if calls.size and int(calls.max()) > 4:
        raise ShapeError("base codes must be 0..3 (A, C, G, T) or 4 (N)")
    letters = _LETTERS[calls]
    phred = (np.minimum(quals, 93) + PHRED_OFFSET).astype(np.uint8)
    coords = read_name_coordinate(xy)
    prefix = (f"@{naming.instrument}:{naming.run_number}:{naming.flowcell_id}:{naming.lane}:"
              f"{tile}:")
    lines = []
    for i in np.flatnonzero(pf | include_filtered):
        flag = "N" if pf[i] else "Y"
        lines.append(f"{prefix}{coords[i, 0]}:{coords[i, 1]} {naming.read}:{flag}:"
                     f"{naming.control_number}:{naming.index_sequence}\n".encode("ascii"))
        lines.append(letters[i].tobytes() + b"\n+\n" + phred[i].tobytes() + b"\n")
    return b"".join(lines)


def gzip_deterministic(chunks: Sequence[bytes]) -> bytes:
    """Gzip the concatenated chunks with mtime 0 and no file name (reproducible bytes)."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=4) as gz:
        for chunk in chunks:
            gz.write(chunk)
    return buf.getvalue()


def write_fastq(path: Path | str, bases: np.ndarray, qualities: np.ndarray,
                positions_px: np.ndarray, passing_filter: np.ndarray, tile: int,
                naming: ReadNaming | None = None, include_filtered: bool = False,
                append: bool = False) -> int:
    """Write (or append) one tile's reads to a gzip FASTQ; returns the number of reads."""
    text = fastq_records(bases, qualities, positions_px, passing_filter, tile,
                         naming or ReadNaming(), include_filtered)
    with open(path, "ab" if append else "wb") as handle:
        handle.write(gzip_deterministic([text]))
    return text.count(b"\n") // 4

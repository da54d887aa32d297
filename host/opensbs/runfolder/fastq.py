"""FASTQ.gz per read from a run folder's BCL, filter and locs files (as bcl2fastq does).

Only clusters passing filter are written. Read names follow Illumina:
`@<instrument>:<run>:<flowcell>:<lane>:<tile>:<x>:<y> <read>:N:0:` with x, y the locs
coordinates as round(10 * v + 1000). Gzip output has no timestamp, so identical calls give
identical bytes.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .basecall_files import BASES

PHRED_OFFSET = 33


@dataclass(frozen=True)
class ReadNaming:
    """Fields shared by every read name of a run."""

    instrument: str
    run_number: int
    flowcell_id: str
    lane: int


def locs_name_coordinates(xy_px: np.ndarray) -> np.ndarray:
    """FASTQ read-name coordinates of locs positions: round(10 * v + 1000), as integers."""
    return np.rint(10.0 * np.asarray(xy_px, dtype=np.float64) + 1000.0).astype(np.int64)


def fastq_records(naming: ReadNaming, read_number: int, tile: int, xy_px: np.ndarray,
                  passed: np.ndarray, bases: np.ndarray, qualities: np.ndarray) -> bytes:
    """Uncompressed FASTQ text for one tile: `bases`/`qualities` are (clusters, cycles)."""
    coords = locs_name_coordinates(xy_px)
    prefix = (f"@{naming.instrument}:{naming.run_number}:{naming.flowcell_id}:{naming.lane}:"
              f"{tile}:")
    seq = BASES[bases]
    qual = (np.minimum(qualities, 93) + PHRED_OFFSET).astype(np.uint8)
    out = io.StringIO()
    for i in np.flatnonzero(passed):
        out.write(f"{prefix}{coords[i, 0]}:{coords[i, 1]} {read_number}:N:0:\n")
        out.write(seq[i].tobytes().decode("ascii"))
        out.write("\n+\n")
        out.write(qual[i].tobytes().decode("ascii"))
        out.write("\n")
    return out.getvalue().encode("ascii")


def gzip_deterministic(chunks: Sequence[bytes]) -> bytes:
    """Gzip the concatenated chunks with mtime 0 and no file name (reproducible bytes)."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=4) as gz:
        for chunk in chunks:
            gz.write(chunk)
    return buf.getvalue()

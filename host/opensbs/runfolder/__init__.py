"""Illumina-compatible run folders written by `opensbs run`.

Public API:
    RunFolder(root, recipe, identity) / RunFolder.open(root): write_static, write_locs,
        write_bcl, write_cbcl, write_filter, write_interop, write_summary, write_fastq; read_bcl,
        read_calls, read_filter, read_locs
    RunFolderLayout: every path in the folder (RunInfo.xml, InterOp/, Data/Intensities/...)
    encode_/decode_ bcl, cbcl, filter, locs; CbclTile, binned_qualities (CBCL's 4 bins);
    interop_files(tiles, metrics) -> {name: bytes}
    cycle_tile_metrics(...) -> CycleTileMetrics; TileSummary; build_summary(...)
    atomic_write_bytes / atomic_write_text; Journal; RunLog, read_run_log(_contents);
    RunFolderLock (one run per folder); RunFolderError, RunFolderLockedError
"""

from .atomic import atomic_write_bytes, atomic_write_text, remove_partials
from .basecall_files import (
    decode_bcl,
    decode_filter,
    decode_locs,
    encode_bcl,
    encode_filter,
    encode_locs,
)
from .cbcl import CbclFile, CbclTile, binned_qualities, decode_cbcl, encode_cbcl
from .errors import RunFolderError
from .folder import RunFolder, RunIdentity
from .interop_files import CycleTileMetrics, TileSummary, interop_files
from .journal import Journal, JournalState
from .layout import RunFolderLayout
from .lock import RunFolderLock, RunFolderLockedError
from .metrics import cycle_tile_metrics
from .run_log import RunLog, RunLogContents, read_run_log, read_run_log_contents
from .summary import build_summary

__all__ = [
    "CbclFile", "CbclTile", "CycleTileMetrics", "Journal", "JournalState", "RunFolder",
    "RunFolderError", "RunFolderLayout", "RunFolderLock", "RunFolderLockedError",
    "RunIdentity", "RunLog", "RunLogContents", "TileSummary", "atomic_write_bytes",
    "atomic_write_text", "binned_qualities", "build_summary", "cycle_tile_metrics",
    "decode_bcl", "decode_cbcl", "decode_filter", "decode_locs", "encode_bcl", "encode_cbcl",
    "encode_filter", "encode_locs", "interop_files", "read_run_log", "read_run_log_contents",
    "remove_partials",
]

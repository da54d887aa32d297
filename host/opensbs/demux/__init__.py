"""Demultiplexing: sample sheets (BCL Convert v2, bcl2fastq v1), index matching, FASTQ per
sample with BCL Convert's names, Reports/ and InterOp/IndexMetricsOut.bin.

Public API:
    demultiplex(run_dir, sample_sheet, out=None, orientation=None, index_fastq=None)
        -> DemuxResult
    read_sample_sheet(path) / parse_sample_sheet(text, path) -> SampleSheet (Sample, ...)
    read_run_info(path) -> RunInfo (ReadSpec per read)
    I5Orientation; SampleSheetError, RunInfoError, DemuxError
"""

from .demultiplex import DemuxResult, check_sample_sheet, demultiplex
from .errors import DemuxError, RunInfoError, SampleSheetError
from .orientation import I5Orientation
from .runinfo import ReadSpec, RunInfo, read_run_info
from .samplesheet import DemuxSettings, Sample, SampleSheet, parse_sample_sheet, read_sample_sheet

__all__ = [
    "DemuxError", "DemuxResult", "DemuxSettings", "I5Orientation", "ReadSpec", "RunInfo",
    "RunInfoError", "Sample", "SampleSheet", "SampleSheetError", "check_sample_sheet",
    "demultiplex", "parse_sample_sheet", "read_run_info", "read_sample_sheet",
]

"""i5 orientation: whether the instrument reads the i5 index as written in the sample sheet
(forward-strand workflow) or as its reverse complement.

Decided, first match wins: the caller's explicit choice; RunInfo.xml marking the i5 read
`IsReverseComplement="Y"` (NovaSeq X); the sheet's `InstrumentPlatform` / `Instrument Type`
looked up below; otherwise forward (OpenSBS and MiSeq read i5 on the forward strand).
"""

from __future__ import annotations

from enum import StrEnum

from .runinfo import RunInfo
from .samplesheet import SampleSheet


class I5Orientation(StrEnum):
    FORWARD = "forward"
    REVERSE_COMPLEMENT = "reverse-complement"


# workflow per instrument, keys compared without spaces, dashes or case
_PLATFORMS = {
    "miseq": I5Orientation.FORWARD, "hiseq2000": I5Orientation.FORWARD,
    "hiseq2500": I5Orientation.FORWARD, "novaseq6000v1.0": I5Orientation.FORWARD,
    "opensbs": I5Orientation.FORWARD,
    "iseq": I5Orientation.REVERSE_COMPLEMENT, "iseq100": I5Orientation.REVERSE_COMPLEMENT,
    "miniseq": I5Orientation.REVERSE_COMPLEMENT, "nextseq": I5Orientation.REVERSE_COMPLEMENT,
    "nextseq500": I5Orientation.REVERSE_COMPLEMENT, "nextseq550": I5Orientation.REVERSE_COMPLEMENT,
    "nextseq1k2k": I5Orientation.REVERSE_COMPLEMENT,
    "nextseq1000": I5Orientation.REVERSE_COMPLEMENT,
    "nextseq2000": I5Orientation.REVERSE_COMPLEMENT,
    "hiseq3000": I5Orientation.REVERSE_COMPLEMENT, "hiseq4000": I5Orientation.REVERSE_COMPLEMENT,
    "hiseqx": I5Orientation.REVERSE_COMPLEMENT, "novaseq6000v1.5": I5Orientation.REVERSE_COMPLEMENT,
    "novaseqx": I5Orientation.REVERSE_COMPLEMENT,
    "novaseqxseries": I5Orientation.REVERSE_COMPLEMENT,
}


def _key(platform: str) -> str:
    return "".join(ch for ch in platform.lower() if ch not in " -_")


def i5_orientation(sheet: SampleSheet, run: RunInfo,
                   explicit: I5Orientation | None = None) -> I5Orientation:
    """The orientation in which the run's i5 read carries the sheet's Index2."""
    if explicit is not None:
        return explicit
    index_reads = run.index_reads
    if len(index_reads) > 1 and index_reads[1].is_reverse_complement:
        return I5Orientation.REVERSE_COMPLEMENT
    platform = sheet.instrument_platform
    if not platform:
        return I5Orientation.FORWARD
    try:
        return _PLATFORMS[_key(platform)]
    except KeyError:
        known = ", ".join(sorted(_PLATFORMS))
        raise sheet.error(None, "InstrumentPlatform", f"{platform!r}: i5 orientation unknown "
                          f"(known: {known}; or pass --i5-orientation)") from None

"""The OpenSBS base caller: cycle images (or intensities) to calls, qualities and filters.

Incremental use (one caller per tile; the run controller feeds it each cycle's images)::

    from opensbs.basecall import TileBasecaller, FOUR_COLOUR, TWO_COLOUR
    caller = TileBasecaller(FOUR_COLOUR)          # chemistry; None: chosen from channel count
    for images in cycles:                          # (channels, H, W) uint16 per cycle
        for done in caller.add_cycle(images):      # CycleCalls, in cycle order, a few
            done.cycle, done.bases, done.qualities # cycles late (first ones after the
            done.metrics                           # template cycles); bases uint8 0..3 =
    for done in caller.finish(): ...               # A C G T, 4 = N (quality 2)
    caller.positions        # (n, 2) float x, y pixels (template frame = cycle 1), for locs
    caller.passing_filter   # (n,) bool once cycle 25 is called (or at finish), else None
    caller.rates            # PhasingEstimate(phasing, prephasing): fractions per cycle

``CycleCalls.metrics`` (``CycleMetrics``): mean_intensity / p90_intensity per channel,
called_intensity per base (A, C, G, T, raw units), base_counts (A, C, G, T, N), snr,
no_call_percent, q_histogram (Q1..Q50), phasing / prephasing estimates, registration
shifts_px (channels, 2).
Memory is bounded in the number of cycles: only the template cycles' images are held, then
per-cluster state and a few cycles of intensities.

Intensity entry point (clusters x cycles x channels, e.g. from CIF files), calling over the
whole read (``whole_read``; ``BasecallConfig(whole_read=True)`` does the same for a
``TileBasecaller``, whose calls then all come from ``finish()``)::

    from opensbs.basecall import call_intensities
    result = call_intensities(intensities, FOUR_COLOUR)  # .bases .qualities .passing_filter

Writers and readers: ``fastq.write_fastq`` (gzip, Illumina read names), ``cif.read_cif`` /
``cif.write_cif``. Stages (each array in, array out): ``template``, ``registration``,
``background``, ``extraction``, ``crosstalk``, ``phasing``, ``phasing_correction`` (live),
``read_model`` / ``trellis`` / ``whole_read`` (offline), ``calls``, ``validation``,
``quality`` (one shipped table per chemistry, ``qtable_<chemistry>.json``),
``chastity_filter``. Errors: ``errors``.
"""

from .chemistry import BASES, FOUR_COLOUR, NO_CALL, TWO_COLOUR, Chemistry, chemistry_named
from .errors import BasecallError, CifFormatError, ImageSetError, QualityTableError, ShapeError
from .phasing import PhasingEstimate
from .pipeline import (
    BasecallConfig,
    CycleCalls,
    CycleMetrics,
    IntensityCalls,
    KnownParameters,
    TileBasecaller,
    call_intensities,
)

__all__ = [
    "BASES", "FOUR_COLOUR", "NO_CALL", "TWO_COLOUR", "BasecallConfig", "BasecallError",
    "Chemistry", "CifFormatError", "CycleCalls", "CycleMetrics", "ImageSetError",
    "IntensityCalls", "KnownParameters", "PhasingEstimate", "QualityTableError", "ShapeError",
    "TileBasecaller", "call_intensities", "chemistry_named",
]

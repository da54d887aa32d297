"""Running %PF, %>=Q30 and error rate for the live view, from each tile's final calls as the
worker receives them.

%PF comes from the chastity rule applied so far (the caller's own `ChastityFilter`), %>=Q30
over the PF-so-far calls. The error rate is the run's one error figure, measured as at the
end: reads aligned to the control genome (`ControlAligner`). Every `ALIGN_EVERY_CYCLES` cycles,
once the current read is `MIN_ALIGN_CYCLES` long, a sample of each tile's PF-so-far reads of
that read so far is aligned. With --sim the simulation truth also gives the diagnostic "error
vs simulation truth" (calls of clusters matched to a true cluster).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..align import ControlAligner
from ..basecall.chastity_filter import ChastityFilter
from ..basecall.pipeline import CycleCalls
from .truth import SimTruth

MIN_ALIGN_CYCLES = 25
ALIGN_EVERY_CYCLES = 5
ALIGN_SAMPLE_READS = 1500  # per tile


@dataclass
class _TileFigures:
    chastity_filter: ChastityFilter
    truth_index: np.ndarray | None
    sequences: np.ndarray | None
    bases: list[np.ndarray] = field(default_factory=list)  # calls of each cycle so far
    calls: int = 0
    q30: int = 0
    truth_compared: int = 0
    truth_errors: int = 0
    control_bases: int = 0  # last alignment of this tile's sample
    control_errors: int = 0


@dataclass(frozen=True)
class Snapshot:
    """Running figures over the tiles seen so far (None: not measured yet)."""

    clusters: int = 0
    pf_fraction: float | None = None
    q30_fraction: float | None = None
    error_rate: float | None = None  # reads aligned to the control genome
    truth_error_rate: float | None = None  # --sim only: against the simulation truth


class RunningFigures:
    """Accumulates running figures over tiles. `read_cycles` is the recipe's read structure
    (cycles, index) per read; `truth_of(tile)` is None without a truth."""

    def __init__(self, read_cycles: Sequence[tuple[int, bool]] = (),
                 truth_of: Callable[[int], SimTruth] | None = None) -> None:
        self.read_cycles = list(read_cycles)
        self.truth_of = truth_of
        self._tiles: dict[int, _TileFigures] = {}
        self._aligner: ControlAligner | None = None

    def add(self, tile: int, positions_px: np.ndarray, calls: CycleCalls) -> None:
        """Count one cycle's final calls of `tile` (cluster positions in the caller's frame)."""
        figures = self._tiles.get(tile)
        if figures is None:
            index = sequences = None
            if self.truth_of is not None:
                truth = self.truth_of(tile)
                index, sequences = truth.match(positions_px), truth.sequences
            figures = _TileFigures(ChastityFilter(len(positions_px)), index, sequences)
            self._tiles[tile] = figures
        figures.chastity_filter.update(calls.chastity)
        figures.bases.append(calls.bases)
        passing = self._passing(figures)
        figures.calls += int(passing.sum())
        figures.q30 += int((calls.qualities[passing] >= 30).sum())
        if figures.truth_index is not None and figures.sequences is not None:
            aligned = passing & (figures.truth_index >= 0)
            truth = figures.sequences[figures.truth_index[aligned], calls.cycle - 1]
            figures.truth_compared += int(aligned.sum())
            figures.truth_errors += int((calls.bases[aligned] != truth).sum())
        span = self._alignable_span(calls.cycle)
        if span is not None:
            self._align(figures, passing, span)

    def _alignable_span(self, cycle: int) -> slice | None:
        """The current template read's cycles so far (0-based) when due for alignment."""
        first = 0
        for cycles, index in self.read_cycles:
            if cycle <= first + cycles:
                done = cycle - first
                due = done >= MIN_ALIGN_CYCLES and (done % ALIGN_EVERY_CYCLES == 0
                                                    or done == cycles)
                return slice(first, cycle) if due and not index else None
            first += cycles
        return None

    def _align(self, figures: _TileFigures, passing: np.ndarray, span: slice) -> None:
        if self._aligner is None:
            self._aligner = ControlAligner()
        rows = np.flatnonzero(passing)
        if rows.size > ALIGN_SAMPLE_READS:  # evenly spread, the same clusters every time
            rows = rows[np.linspace(0, rows.size - 1, ALIGN_SAMPLE_READS).astype(np.intp)]
        if rows.size == 0:
            return
        reads = np.stack(figures.bases[span], axis=1)[rows]
        tally = self._aligner.tally(reads)
        figures.control_bases = int(tally.bases_by_cycle.sum())
        figures.control_errors = int(tally.errors_by_cycle.sum())

    @staticmethod
    def _passing(figures: _TileFigures) -> np.ndarray:
        f = figures.chastity_filter
        return f.passing if f.passing is not None else f.failures <= f.max_failures

    def snapshot(self) -> Snapshot:
        """The running figures over the tiles seen so far."""
        if not self._tiles:
            return Snapshot()
        tiles = self._tiles.values()
        clusters = sum(len(t.chastity_filter.failures) for t in tiles)
        passing = sum(int(self._passing(t).sum()) for t in tiles)
        calls = sum(t.calls for t in tiles)
        control_bases = sum(t.control_bases for t in tiles)
        truth_compared = sum(t.truth_compared for t in tiles)
        return Snapshot(
            clusters, passing / clusters if clusters else None,
            sum(t.q30 for t in tiles) / calls if calls else None,
            sum(t.control_errors for t in tiles) / control_bases if control_bases else None,
            (sum(t.truth_errors for t in tiles) / truth_compared if truth_compared else None))

"""Running %PF, %>=Q30 and error rate (against the simulation truth) for the live view.

Updated from each tile's final calls as the worker receives them: %PF from the chastity rule
applied so far (the caller's own `ChastityFilter`), %>=Q30 over the PF-so-far calls, and the
error rate over those calls of clusters aligned to the truth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..basecall.chastity_filter import ChastityFilter
from ..basecall.pipeline import CycleCalls
from .truth import TileTruth, match_truth


@dataclass
class _TileFigures:
    chastity_filter: ChastityFilter
    truth_index: np.ndarray | None
    sequences: np.ndarray | None
    calls: int = 0
    q30: int = 0
    compared: int = 0
    errors: int = 0


class RunningFigures:
    """Accumulates running figures over tiles; `truth_of(tile)` is None without a truth."""

    def __init__(self, truth_of: Callable[[int], TileTruth] | None = None) -> None:
        self.truth_of = truth_of
        self._tiles: dict[int, _TileFigures] = {}

    def add(self, tile: int, positions_px: np.ndarray, calls: CycleCalls) -> None:
        """Count one cycle's final calls of `tile` (cluster positions in the caller's frame)."""
        figures = self._tiles.get(tile)
        if figures is None:
            index = sequences = None
            if self.truth_of is not None:
                truth = self.truth_of(tile)
                index, sequences = match_truth(positions_px, truth), truth.sequences
            figures = _TileFigures(ChastityFilter(len(positions_px)), index, sequences)
            self._tiles[tile] = figures
        figures.chastity_filter.update(calls.chastity)
        passing = self._passing(figures)
        figures.calls += int(passing.sum())
        figures.q30 += int((calls.qualities[passing] >= 30).sum())
        if figures.truth_index is not None and figures.sequences is not None:
            aligned = passing & (figures.truth_index >= 0)
            truth = figures.sequences[figures.truth_index[aligned], calls.cycle - 1]
            figures.compared += int(aligned.sum())
            figures.errors += int((calls.bases[aligned] != truth).sum())

    @staticmethod
    def _passing(figures: _TileFigures) -> np.ndarray:
        f = figures.chastity_filter
        return f.passing if f.passing is not None else f.failures <= f.max_failures

    def snapshot(self) -> tuple[int, float | None, float | None, float | None]:
        """(clusters, PF fraction, Q30 fraction, error rate) over the tiles seen so far."""
        if not self._tiles:
            return 0, None, None, None
        tiles = self._tiles.values()
        clusters = sum(len(t.chastity_filter.failures) for t in tiles)
        passing = sum(int(self._passing(t).sum()) for t in tiles)
        calls = sum(t.calls for t in tiles)
        compared = sum(t.compared for t in tiles)
        return (clusters, passing / clusters if clusters else None,
                sum(t.q30 for t in tiles) / calls if calls else None,
                sum(t.errors for t in tiles) / compared if compared else None)

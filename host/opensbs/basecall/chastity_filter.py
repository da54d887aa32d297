"""The chastity filter (formats.md): a cluster passes if at most ``max_failures`` of its first
``filter_cycles`` cycles have chastity below ``threshold`` (Illumina: 1 of 25 below 0.6;
HiSeq X allows 2). The filter is final once cycle ``filter_cycles`` is called."""

import numpy as np

from ._arrays import as_float_array

FILTER_CYCLES = 25
CHASTITY_THRESHOLD = 0.6
MAX_FAILURES = 1


def passing_filter(chastity: np.ndarray, filter_cycles: int = FILTER_CYCLES,
                   threshold: float = CHASTITY_THRESHOLD, max_failures: int = MAX_FAILURES
                   ) -> np.ndarray:
    """(n,) bool from chastity (n, cycles); reads shorter than ``filter_cycles`` use all."""
    values = as_float_array(chastity, 2, "chastity")
    failures = np.count_nonzero(values[:, :filter_cycles] < threshold, axis=1)
    return failures <= max_failures


class ChastityFilter:
    """The same rule applied cycle by cycle; ``passing`` is set once the filter is final."""

    def __init__(self, n_clusters: int, filter_cycles: int = FILTER_CYCLES,
                 threshold: float = CHASTITY_THRESHOLD, max_failures: int = MAX_FAILURES) -> None:
        self.filter_cycles = filter_cycles
        self.threshold = threshold
        self.max_failures = max_failures
        self.failures = np.zeros(n_clusters, dtype=np.int32)
        self.cycles_seen = 0
        self.passing: np.ndarray | None = None

    def update(self, chastity: np.ndarray) -> None:
        """Count the next cycle's chastity (cycles must arrive in order)."""
        self.cycles_seen += 1
        if self.cycles_seen <= self.filter_cycles:
            self.failures += np.asarray(chastity) < self.threshold
        if self.cycles_seen == self.filter_cycles:
            self.finalise()

    def finalise(self) -> None:
        """Fix the result (end of a read shorter than the filter window, or cycle 25)."""
        if self.passing is None:
            self.passing = self.failures <= self.max_failures

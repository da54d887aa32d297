"""Per-cluster phasing: each cluster's own lag/lead rates, raised by the sequence context.

The shared `PhasingWindow` gives every cluster the same distribution of molecules over template
positions. Real clusters differ (the spread of per-cluster phasing AYB and Illumina's RTA
estimate per tile) and their molecules stall at particular sequence: Nakamura et al. (Nucleic
Acids Res. 2011, 39:e90) found Illumina's sequence-specific errors after GGC motifs and in
inverted repeats; homopolymers raise them too (Schirmer et al., BMC Bioinformatics 2016). The
mechanism assumed here is dephasing: a molecule about to incorporate the base after a GGC (or
after a homopolymer run of 3 or more) lags with a raised probability, so that cluster shows a
mixture of two positions in the next cycles.

`ClusterPhasingWindow` keeps a narrow window per cluster (``(n, width)`` float32), shifted each
cycle like the shared one; the rates of cluster ``i`` at template position ``k`` are
``phasing · m_i · (1 + ggc · [GGC ends at k] + homopolymer · [run >= 3 ends at k])`` and
``prephasing · m_i`` with a lognormal per-cluster multiplier ``m_i`` (median 1).
"""

import numpy as np

G_CODE = 2
C_CODE = 1
HOMOPOLYMER_MIN_RUN = 3


class ClusterPhasingWindow:
    """Molecule distribution of every cluster over template positions, advanced per cycle."""

    def __init__(self, templates: np.ndarray, multiplier: np.ndarray, ggc_factor: float,
                 homopolymer_factor: float, behind: int = 12, ahead: int = 5) -> None:
        n = templates.shape[0]
        self.behind = behind
        self.ahead = ahead
        self.cycle = 0
        self._templates = templates
        self._multiplier = multiplier.astype(np.float32)[:, None]
        self._ggc = np.float32(ggc_factor)
        self._homopolymer = np.float32(homopolymer_factor)
        self.weights = np.zeros((n, behind + ahead + 1), dtype=np.float32)
        self.weights[:, behind] = 1.0  # before cycle 1 every molecule is at position -1

    def restarted(self, templates: np.ndarray) -> "ClusterPhasingWindow":
        """A window over new `templates` (the next read) with the same clusters' rates, every
        molecule back at position -1."""
        return ClusterPhasingWindow(templates, self._multiplier[:, 0], float(self._ggc),
                                    float(self._homopolymer), self.behind, self.ahead)

    @property
    def positions(self) -> np.ndarray:
        """Template positions (0-based) of the window's columns after the current cycle."""
        return np.arange(self.weights.shape[1]) + (self.cycle - 1 - self.behind)

    def advance(self, phasing: float, prephasing: float) -> None:
        """One cycle: molecule at position k moves to k+1 (or stays, or moves to k+2)."""
        old = self.weights
        positions = self.positions  # where the molecules are before this cycle's incorporation
        lag = np.float32(phasing) * self._multiplier * self._context(positions)
        np.minimum(lag, np.float32(0.5), out=lag)
        lead = np.minimum(np.float32(prephasing) * self._multiplier, np.float32(0.5) - lag)
        stay = lag * old
        jump = lead * old
        new = old - stay - jump  # molecules that moved exactly one: stay in the moving column
        new[:, :-1] += stay[:, 1:]  # stayed: one column behind in the moved window
        new[:, 1:] += jump[:, :-1]  # two steps: one column ahead
        self.weights = new
        self.cycle += 1

    def emitting(self) -> tuple[np.ndarray, np.ndarray]:
        """(positions (k,), weights (n, k)) of the columns showing a base (position >= 0)."""
        positions = self.positions
        keep = positions >= 0
        return positions[keep], self.weights[:, keep]

    def _context(self, positions: np.ndarray) -> np.ndarray:
        """(n, width) lag multiplier for molecules at ``positions`` incorporating the next
        base: raised after GGC and after a homopolymer run."""
        factor = np.ones(self.weights.shape, dtype=np.float32)
        if self._ggc == 0 and self._homopolymer == 0:
            return factor
        length = self._templates.shape[1]
        codes = self._templates
        cols = [np.clip(positions - back, 0, length - 1) for back in range(3)]
        last, middle, first = (codes[:, c] for c in cols)
        valid = (positions >= 2) & (positions < length)
        if self._ggc:
            ggc = (first == G_CODE) & (middle == G_CODE) & (last == C_CODE) & valid
            factor += self._ggc * ggc
        if self._homopolymer:
            run = (first == middle) & (middle == last) & valid
            factor += self._homopolymer * run
        return factor

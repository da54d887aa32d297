"""Phasing and prephasing: where each cluster's molecules are along the template.

Model (the Bustard/AYB-style chain, per cycle): every molecule incorporates one base with
probability ``1 - p - q``, none with ``p`` (phasing: it lags) and two with ``q`` (prephasing: it
leads). After cycle ``t`` (1-based) a molecule at template position ``k`` (0-based) shows the
signal of base ``k``; a molecule that has not incorporated yet (position -1) is dark. In a
perfect run every molecule is at ``k = t - 1``.

All clusters share the rates of a cycle, so one distribution serves all clusters. It lives in a
fixed window of positions around ``t - 1`` (``behind`` positions behind, ``ahead`` ahead) that
is shifted each cycle: memory does not grow with the number of cycles. Mass leaving the window
(molecules more than ``behind`` bases behind) is dropped and counted in ``lost_fraction``.
"""

import numpy as np


class PhasingWindow:
    """Distribution of molecules over template positions, updated once per cycle."""

    def __init__(self, behind: int = 24, ahead: int = 8) -> None:
        if behind < 2 or ahead < 2:
            raise ValueError("the phasing window needs at least 2 positions each side")
        self.behind = behind
        self.ahead = ahead
        self.cycle = 0
        self.weights = np.zeros(behind + ahead + 1)
        self.weights[behind] = 1.0  # before cycle 1 every molecule is at position -1
        self.lost_fraction = 0.0

    @property
    def positions(self) -> np.ndarray:
        """Template positions (0-based) of ``weights`` after the current cycle."""
        return np.arange(self.weights.size) + (self.cycle - 1 - self.behind)

    def advance(self, phasing: float, prephasing: float) -> None:
        """Run one cycle of incorporation with the given lag and lead probabilities."""
        if phasing < 0 or prephasing < 0 or phasing + prephasing > 1:
            raise ValueError(f"bad phasing/prephasing ({phasing}, {prephasing})")
        old = self.weights
        new = (1.0 - phasing - prephasing) * old
        new[:-1] += phasing * old[1:]  # stays: one step behind the moving window
        new[1:] += prephasing * old[:-1]  # two steps: one step ahead of the window
        self.lost_fraction += phasing * old[0] + prephasing * old[-1]
        self.weights = new
        self.cycle += 1

    def emitting(self, min_weight: float = 1e-7) -> tuple[np.ndarray, np.ndarray]:
        """(positions, weights) of the molecules that show a base (position >= 0)."""
        keep = (self.positions >= 0) & (self.weights >= min_weight)
        return self.positions[keep], self.weights[keep]

    @property
    def template_margin(self) -> int:
        """Bases a template needs beyond the read length for the leading molecules."""
        return self.ahead + 1


def phasing_matrix(phasing: np.ndarray, prephasing: np.ndarray, n_positions: int | None = None,
                   behind: int = 24, ahead: int = 8) -> np.ndarray:
    """``P[t, k]``: fraction of molecules showing base ``k`` at cycle ``t + 1``.

    ``phasing`` and ``prephasing`` hold the rate of each cycle (as written in the truth). The
    observed clean signal of a cluster at cycle ``t + 1`` is ``sum_k P[t, k] * signal(base k)``
    times brightness and decay; this is the exact model the simulator uses.
    """
    n_cycles = len(phasing)
    n_positions = n_cycles + ahead + 1 if n_positions is None else n_positions
    window = PhasingWindow(behind, ahead)
    matrix = np.zeros((n_cycles, n_positions))
    for t in range(n_cycles):
        window.advance(float(phasing[t]), float(prephasing[t]))
        pos, weight = window.emitting(min_weight=0.0)
        inside = pos < n_positions
        matrix[t, pos[inside]] = weight[inside]
    return matrix

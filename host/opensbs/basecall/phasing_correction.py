"""Incremental phasing/prephasing correction by decision feedback over a short look-ahead.

At cycle t a cluster's crosstalk-corrected signal is ``amp * sum_k P[t-1, k] * sig[b_k]``.
Positions already called (k < t) are known: their contribution is predicted from the calls and
subtracted (no noise amplification, unlike a matrix inverse). Positions t..t+L are still open:
their contributions are predicted from preliminary calls of the cycles in the look-ahead window,
refined by a Gauss-Seidel sweep, and cycle t is then called from what is left. L grows with the
estimated prephasing (up to ``max_lookahead``), so the delay is a few cycles at most.

Memory is bounded: the last ``HISTORY`` calls (uint8, and their signal vectors), the
look-ahead cycles' intensities and the last three finalised cycles kept for the phasing
estimate.
"""

from collections import deque
from dataclasses import dataclass

import numpy as np

from ._arrays import as_float_array
from .calls import Calls, call_bases
from .chemistry import NO_CALL, Chemistry
from .errors import ShapeError
from .phasing import PhasingEstimate, fit_phasing, offset_weights, phasing_matrix

HISTORY = 12
MIN_WEIGHT = 1e-4
LOOKAHEAD_WEIGHT = 2e-3
AMPLITUDE_SMOOTHING = 0.1
ESTIMATE_EVERY_CYCLE_UNTIL = 30
ESTIMATE_INTERVAL = 5
FIRST_ESTIMATE_CYCLE = 6


@dataclass(frozen=True)
class CorrectedCycle:
    """The final calls of one cycle and what the quality model needs about them."""

    cycle: int
    calls: Calls
    previous_chastity: np.ndarray  # (n,) chastity of cycle - 1 (1.0 at cycle 1)
    next_chastity: np.ndarray  # (n,) preliminary chastity of cycle + 1 (1.0 if none)


class PhasingCorrector:
    """Calls cycles as they arrive; ``push`` returns the cycles it could finalise."""

    def __init__(self, chemistry: Chemistry, amplitude: np.ndarray, *,
                 rates: PhasingEstimate | None = None, estimate: bool = True,
                 max_lookahead: int = 4) -> None:
        self.chemistry = chemistry
        self.amplitude = as_float_array(amplitude, 1, "amplitude").copy()
        self.n_clusters = self.amplitude.shape[0]
        self.rates = rates or PhasingEstimate(0.0, 0.0)
        self.estimate_rates = estimate
        self.max_lookahead = max_lookahead
        self._sig = np.vstack([chemistry.signature.T, np.zeros(chemistry.n_channels)]).astype(
            np.float32)  # (5, channels): row 4 = no call
        self._informative = np.append(chemistry.signature.sum(axis=0) > 0, False)  # lit bases
        self._matrix = phasing_matrix(self.rates.phasing, self.rates.prephasing, 64)
        self._ring = np.full((HISTORY, self.n_clusters), NO_CALL, dtype=np.uint8)
        self._ring_signal: dict[int, np.ndarray] = {}  # position -> sig of its call (n, ch)
        self._pending: deque[np.ndarray] = deque()
        self._prelim: dict[int, Calls] = {}
        self._prelim_signal: dict[int, np.ndarray] = {}
        self._recent: deque[tuple[int, np.ndarray, np.ndarray]] = deque(maxlen=3)
        self._previous_chastity = np.ones(self.n_clusters, dtype=np.float32)
        self.finalised = 0
        self.weights_by_cycle: dict[int, np.ndarray] = {}

    # -- public ------------------------------------------------------------------------------
    def push(self, corrected: np.ndarray) -> list[CorrectedCycle]:
        """Add the next cycle's crosstalk-corrected intensities (n, channels)."""
        z = as_float_array(corrected, 2, "corrected", self.chemistry.n_channels)
        if z.shape[0] != self.n_clusters:
            raise ShapeError(f"expected {self.n_clusters} clusters, got {z.shape[0]}")
        self._pending.append(z)
        out = []
        while self._pending and len(self._pending) > self._lookahead(self.finalised + 1):
            out.append(self._finalise())
        return out

    def flush(self) -> list[CorrectedCycle]:
        """Finalise every cycle still waiting for look-ahead (end of the read)."""
        out = []
        while self._pending:
            out.append(self._finalise())
        return out

    # -- model -------------------------------------------------------------------------------
    def _row(self, cycle: int) -> np.ndarray:
        """P[cycle - 1, :] (positions 0..), growing the matrix when needed."""
        if cycle > self._matrix.shape[0]:
            self._matrix = phasing_matrix(self.rates.phasing, self.rates.prephasing, 2 * cycle)
        return self._matrix[cycle - 1]

    def _set_rates(self, rates: PhasingEstimate) -> None:
        self.rates = rates
        self._matrix = phasing_matrix(rates.phasing, rates.prephasing,
                                      max(64, self._matrix.shape[0]))

    def _lookahead(self, cycle: int) -> int:
        row = self._row(cycle)
        ahead = int(np.count_nonzero(row[cycle + 1: cycle + 1 + self.max_lookahead]
                                     > LOOKAHEAD_WEIGHT))
        return max(1, ahead)

    def _mixture(self, cycle: int, first_open: int) -> np.ndarray:
        """Predicted unit-amplitude signal (n, channels) at ``cycle`` of every position but its
        own: called positions (< first_open) and preliminary calls of the look-ahead window."""
        row = self._row(cycle)
        total = np.zeros((self.n_clusters, self.chemistry.n_channels), dtype=np.float32)
        for position in range(max(1, first_open - HISTORY), first_open + len(self._pending)):
            weight = row[position]
            if position == cycle or weight <= MIN_WEIGHT:
                continue
            signal = (self._ring_signal.get(position) if position < first_open
                      else self._prelim_signal.get(position))
            if signal is not None:
                total += np.float32(weight) * signal
        return total

    def _call(self, cycle: int, first_open: int) -> Calls:
        """Call ``cycle`` from its intensities minus the predicted mixture of other positions."""
        row = self._row(cycle)
        mix = self._mixture(cycle, first_open)
        mix *= self.amplitude[:, None]
        residual = self._pending[cycle - first_open] - mix
        return call_bases(residual, self.amplitude * np.float32(row[cycle]), self.chemistry)

    def _finalise(self) -> CorrectedCycle:
        t = self.finalised + 1
        newest = t + len(self._pending) - 1
        # Gauss-Seidel sweep: the newest cycle first, then the rest of the look-ahead window.
        for u in ([newest] if newest > t else []) + list(range(t + 1, newest)):
            self._prelim[u] = self._call(u, t)
            self._prelim_signal[u] = self._sig[self._prelim[u].bases]
        calls = self._call(t, t)
        nxt = self._prelim[t + 1].chastity if t + 1 in self._prelim else np.ones_like(
            calls.chastity)
        result = CorrectedCycle(t, calls, self._previous_chastity, nxt)
        z = self._pending.popleft()
        self._prelim.pop(t, None)
        self._prelim_signal.pop(t, None)
        self._ring[t % HISTORY] = calls.bases
        self._ring_signal[t] = self._sig[calls.bases]
        self._ring_signal.pop(t - HISTORY, None)
        self._previous_chastity = calls.chastity
        self._recent.append((t, z, self.amplitude.copy()))
        self._update_amplitude(calls)
        self.finalised = t
        if self.estimate_rates:
            self._update_rates()
        return result

    def _update_amplitude(self, calls: Calls) -> None:
        informative = self._informative[calls.bases]
        ratio = np.clip(calls.signal_ratio, 0.0, 2.0)
        good = informative & (calls.chastity > 0.7)
        if good.sum() < 10:
            return
        drift = float(np.clip(np.median(ratio[good]), 0.8, 1.2))
        self.amplitude *= np.float32(drift)
        relative = np.where(informative, ratio / drift, 1.0).astype(np.float32)
        self.amplitude *= 1.0 + np.float32(AMPLITUDE_SMOOTHING) * (relative - 1.0)

    def _update_rates(self) -> None:
        s = self.finalised - 2
        if s < 3 or len(self._recent) < 3:
            return
        if s > ESTIMATE_EVERY_CYCLE_UNTIL and s % ESTIMATE_INTERVAL:
            return
        cycle, z, amp = self._recent[0]
        bases = np.stack([self._ring[p % HISTORY] for p in range(s - 2, s + 3)], axis=1)
        self.weights_by_cycle[cycle] = offset_weights(z, amp, bases, self.chemistry)
        if s >= FIRST_ESTIMATE_CYCLE and (s <= ESTIMATE_EVERY_CYCLE_UNTIL or s % 10 == 0):
            cycles = np.array(sorted(self.weights_by_cycle))
            weights = np.array([self.weights_by_cycle[c] for c in cycles])
            self._set_rates(fit_phasing(cycles, weights))

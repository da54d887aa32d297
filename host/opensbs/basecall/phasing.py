"""Phasing and prephasing: the transition model and its estimation from the data itself.

Model (Illumina/Bustard): every cycle each strand of a cluster incorporates no base with
probability ``phasing`` (it lags), two bases with probability ``prephasing`` (it runs ahead),
otherwise one. ``phasing_matrix`` gives P[t-1, k]: the fraction of strands showing template
position k (1-based; k = 0 is "nothing incorporated yet", which is dark) at cycle t.
The signal of a cluster at cycle t is ``sum_k P[t-1, k] * signal of base k``.

Estimation regresses each cycle's crosstalk-corrected, amplitude-normalised intensities on the
neighbouring called bases (``offset_weights``) and fits (phasing, prephasing) to those
weights (``fit_phasing``).
"""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from ._arrays import as_float_array
from .chemistry import NO_CALL, Chemistry
from .errors import BasecallError, ShapeError

OFFSETS = (-2, -1, 1, 2)
"""Position offsets (relative to the cycle) whose weights are measured for the estimate."""


def phasing_matrix(phasing: float, prephasing: float, n_cycles: int) -> np.ndarray:
    """P (n_cycles, n_cycles + 1 + 2 * n_cycles): fraction of strands at position k, cycle t."""
    if not (0.0 <= phasing < 0.5 and 0.0 <= prephasing < 0.5):
        raise BasecallError(f"phasing {phasing} / prephasing {prephasing} out of [0, 0.5)")
    if n_cycles < 1:
        raise BasecallError(f"n_cycles must be >= 1, got {n_cycles}")
    width = 2 * n_cycles + 1
    matrix = np.zeros((n_cycles, width))
    state = np.zeros(width)
    state[0] = 1.0
    advance = 1.0 - phasing - prephasing
    for t in range(n_cycles):
        new = phasing * state
        new[1:] += advance * state[:-1]
        new[2:] += prephasing * state[:-2]
        state = new
        matrix[t] = state
    return matrix


@dataclass(frozen=True)
class PhasingEstimate:
    """Per-cycle fractions of strands lagging (``phasing``) or leading (``prephasing``)."""

    phasing: float
    prephasing: float


def offset_weights(
    corrected: np.ndarray,
    amplitude: np.ndarray,
    bases: np.ndarray,
    chemistry: Chemistry,
    max_clusters: int = 20_000,
) -> np.ndarray:
    """Fraction of signal from neighbouring positions at one cycle, by least squares.

    ``corrected`` (n, channels) crosstalk-corrected intensities at cycle t, ``amplitude`` (n,)
    cluster brightness, ``bases`` (n, 5) calls at positions t-2..t+2. Returns the weights of
    positions t-2, t-1, t+1, t+2 (``OFFSETS``). Each channel the called base at t leaves dark
    gives a row; intercepts per (channel, base at t) absorb residual crosstalk.
    """
    n_channels = chemistry.n_channels
    z = as_float_array(corrected, 2, "corrected", n_channels)
    amp = as_float_array(amplitude, 1, "amplitude")
    calls = np.asarray(bases)
    if calls.shape != (z.shape[0], 5) or amp.shape[0] != z.shape[0]:
        raise ShapeError(f"bases must be (n, 5) and amplitude (n,), got {calls.shape}, {amp.shape}")
    usable = np.all(calls < NO_CALL, axis=1) & (amp > np.percentile(amp, 25))
    rows = np.flatnonzero(usable)
    if rows.size > max_clusters:
        rows = rows[:: rows.size // max_clusters + 1]
    sig = chemistry.signature
    calls = calls[rows].astype(np.intp)
    y = z[rows] / amp[rows, None]
    centre = calls[:, 2]
    columns, targets, intercept_ids = [], [], []
    for channel in range(n_channels):
        dark = sig[channel, centre] == 0
        features = np.stack([sig[channel, calls[dark, 2 + d]] for d in OFFSETS], axis=1)
        columns.append(features)
        targets.append(y[dark, channel])
        intercept_ids.append(channel * 4 + centre[dark])
    features = np.concatenate(columns)
    target = np.concatenate(targets)
    ids = np.concatenate(intercept_ids)
    present, ids = np.unique(ids, return_inverse=True)
    design = np.zeros((features.shape[0], features.shape[1] + present.size))
    design[:, : features.shape[1]] = features
    design[np.arange(ids.size), features.shape[1] + ids] = 1.0
    normal = design.T @ design
    solution = np.linalg.lstsq(normal, design.T @ target, rcond=None)[0]
    return solution[: len(OFFSETS)]


def fit_phasing(cycles: np.ndarray, weights: np.ndarray) -> PhasingEstimate:
    """Fit (phasing, prephasing) to measured offset weights (len(cycles), len(OFFSETS))."""
    cycle_numbers = np.asarray(cycles, dtype=np.intp)
    measured = np.asarray(weights, dtype=np.float64)
    if measured.shape != (cycle_numbers.size, len(OFFSETS)) or cycle_numbers.size == 0:
        raise ShapeError(f"weights must be (cycles, {len(OFFSETS)}), got {measured.shape}")
    last = int(cycle_numbers.max())
    index = cycle_numbers - 1
    positions = cycle_numbers[:, None] + np.array(OFFSETS)[None, :]

    def residual(params: np.ndarray) -> np.ndarray:
        model = phasing_matrix(float(params[0]), float(params[1]), last)
        expected = model[index[:, None], np.clip(positions, 0, None)]
        expected[positions < 0] = 0.0
        return (expected - measured).ravel()

    t = cycle_numbers.astype(np.float64)
    start = np.clip(
        [
            np.sum(measured[:, 1] * t) / np.sum(t * t),
            np.sum(measured[:, 2] * t) / np.sum(t * t),
        ],
        1e-6,
        0.1,
    )
    fit = least_squares(residual, start, bounds=([0.0, 0.0], [0.2, 0.2]), x_scale=1e-3)
    return PhasingEstimate(float(fit.x[0]), float(fit.x[1]))

"""Offline calling over the whole read: fit the read model, then decode every cluster.

1. The tile's parameters (decay, noise per cycle, channel offset, lag/lead rates unless known)
   are fitted on a regular subsample of clusters, alternating detection passes (linear MMSE
   interference cancellation first, the forward-backward trellis after) with least-squares
   re-estimation (``read_model``), ``FIT_ROUNDS`` times.
2. Every cluster is decoded with those parameters in blocks of ``BLOCK_CLUSTERS``:
   ``DECODE_PASSES`` trellis passes with its brightness and noise factor refitted after each.
   The calls are the most probable base of each position; chastity and signal ratio (for the
   quality table and the filter) come from the matched-filter statistic of each position with
   the other positions' light removed (``read_model.matched_statistic``).
"""

from dataclasses import dataclass

import numpy as np

from .calls import call_bases
from .chemistry import Chemistry
from .phasing import PhasingEstimate
from .read_model import (
    EXTRA_POSITIONS,
    FIT_CLUSTERS,
    ClusterState,
    ReadModel,
    cancel_interference,
    detect_sequence,
    fit_amplitude,
    fit_gain_and_noise,
    fit_offset,
    fit_rates,
    matched_statistic,
    posterior,
    prior_symbols,
    refit_cluster,
    soft_symbols,
)

FIT_ROUNDS = 5
DECODE_PASSES = 2
BLOCK_CLUSTERS = 16_384
INITIAL_CYCLES = 8


@dataclass
class ReadCalls:
    """Calls of every cluster and position, and the fitted model."""

    bases: np.ndarray  # (n, cycles) uint8
    chastity: np.ndarray  # (n, cycles) float32
    signal_ratio: np.ndarray  # (n, cycles) float32: called signal / expected brightness
    amplitude: np.ndarray  # (n,) fitted brightness a_n
    noise_factor: np.ndarray  # (n,) s_n^2
    model: ReadModel


def initial_state(z: np.ndarray, chemistry: Chemistry, n_positions: int) -> ClusterState:
    """Brightness from the brightest channel of the first cycles, nothing known of the bases."""
    first = z[:, :, : min(INITIAL_CYCLES, z.shape[2])].max(axis=1)
    amplitude = np.sort(first, axis=1)[:, first.shape[1] // 2:].mean(axis=1)
    amplitude = np.maximum(amplitude, 1e-3 * max(float(np.median(amplitude)), 1e-9))
    return ClusterState(amplitude.astype(np.float32), np.ones(z.shape[0], np.float32),
                        prior_symbols(chemistry, z.shape[0], n_positions))


def initial_gain(z: np.ndarray, amplitude: np.ndarray) -> np.ndarray:
    """Decay: the median brightest channel per cycle over the cluster's brightness."""
    gain = np.median(z.max(axis=1) / amplitude[:, None], axis=0)
    return np.maximum(gain / max(float(gain[: INITIAL_CYCLES].mean()), 1e-9), 1e-3)


def fit_model(z: np.ndarray, chemistry: Chemistry, rates: PhasingEstimate | None,
              rounds: int = FIT_ROUNDS) -> ReadModel:
    """Fit decay, noise and (unless given) rates on a subsample of (n, channels, cycles) z."""
    raw = np.ascontiguousarray(z[:: max(1, z.shape[0] // FIT_CLUSTERS)])
    sample = raw
    n_positions = z.shape[2] + EXTRA_POSITIONS
    state = initial_state(sample, chemistry, n_positions)
    gain = initial_gain(sample, state.amplitude)
    model = ReadModel(rates or PhasingEstimate(0.0, 0.0), gain, np.full(gain.size, 0.05))
    for number in range(rounds):
        transfer = model.transfer(n_positions)
        _pass(sample, state, model, transfer, chemistry, trellis=number > 0)
        state.amplitude = fit_amplitude(sample, state, model, transfer)
        model.offset = fit_offset(raw, state, model, transfer)
        sample = raw - model.offset[None]
        model.gain, model.noise_var, state.noise_factor = fit_gain_and_noise(
            sample, state, model, transfer)
        if rates is None:
            model.rates = fit_rates(sample, state, model, n_positions)
    return model


def decode(z: np.ndarray, chemistry: Chemistry, model: ReadModel,
           passes: int = DECODE_PASSES) -> ReadCalls:
    """Calls of every cluster of (n, channels, cycles) z under ``model``."""
    n, _, cycles = z.shape
    n_positions = cycles + EXTRA_POSITIONS
    transfer = model.transfer(n_positions)
    bases = np.empty((n, cycles), np.uint8)
    chastity = np.empty((n, cycles), np.float32)
    ratio = np.empty((n, cycles), np.float32)
    amplitude = np.empty(n, np.float32)
    factor = np.empty(n, np.float32)
    for start in range(0, n, BLOCK_CLUSTERS):
        rows = slice(start, min(n, start + BLOCK_CLUSTERS))
        block = np.array(z[rows], dtype=np.float32)
        if model.offset is not None:
            block -= model.offset[None]
        state = initial_state(block, chemistry, n_positions)
        for _ in range(passes):
            probabilities = _pass(block, state, model, transfer, chemistry, trellis=True)
            refit_cluster(block, state, model, transfer)
        statistic = matched_statistic(block / state.amplitude[:, None, None], state, model,
                                      transfer)
        calls = call_bases(statistic[:, :, :cycles].transpose(0, 2, 1).reshape(
            -1, chemistry.n_channels), np.ones(block.shape[0] * cycles, np.float32), chemistry)
        bases[rows] = np.argmax(probabilities[:, :, :cycles], axis=1)
        chastity[rows] = calls.chastity.reshape(-1, cycles)
        ratio[rows] = calls.signal_ratio.reshape(-1, cycles)
        amplitude[rows] = state.amplitude
        factor[rows] = state.noise_factor
    return ReadCalls(bases, chastity, ratio, amplitude, factor, model)


def call_whole_read(corrected: np.ndarray, chemistry: Chemistry,
                    rates: PhasingEstimate | None = None) -> ReadCalls:
    """Fit and decode crosstalk-corrected intensities (clusters, cycles, channels)."""
    z = np.ascontiguousarray(np.asarray(corrected, dtype=np.float32).transpose(0, 2, 1))
    model = fit_model(z, chemistry, rates)
    return decode(z, chemistry, model)


def _pass(z: np.ndarray, state: ClusterState, model: ReadModel, transfer: np.ndarray,
          chemistry: Chemistry, trellis: bool) -> np.ndarray:
    """One detection pass over every position (linear MMSE cancellation first, the trellis
    after); updates the soft symbols and returns the base probabilities (n, 4, positions)."""
    normalised = z / state.amplitude[:, None, None]
    if trellis:
        probabilities = detect_sequence(normalised, state, model, transfer, chemistry)
    else:
        output = cancel_interference(normalised, state, model, transfer, slice(None))
        probabilities = posterior(output, chemistry)
    state.symbols = soft_symbols(probabilities, chemistry)
    return probabilities

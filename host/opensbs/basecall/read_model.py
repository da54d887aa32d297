"""The whole-read model of a cluster's intensities and the calls that fit it best.

Crosstalk-corrected intensities of cluster ``n`` at cycle ``t`` (channels ``c``)::

    z[n, c, t] = a_n * g_t * sum_k H[t, k] * X[n, c, k] + noise,   var = s_n^2 * sigma_t^2 * a_n^2

``X[:, :, k]`` is the signature of the base at template position k+1 (one-hot in four-colour,
(green, blue) in two-colour), ``H`` the phasing transfer matrix (``phasing.phasing_matrix``:
the fraction of strands showing position k+1 at cycle t+1; the same for every cluster),
``a_n`` the cluster's brightness, ``g_t`` the signal decay, ``sigma_t^2`` the per-cycle noise
and ``s_n^2`` a per-cluster noise factor (dim or mixed clusters fit worse).

Detection uses every cycle in which a position shows, not only its own. The first pass is soft
interference cancellation (``cancel_interference``): the predicted light of all *other*
positions (from the current soft, posterior-weighted symbols) is removed and the cycles are
combined by the linear MMSE filter of column k of H. Later passes are a forward-backward pass
over the phasing trellis (``detect_sequence``, ``trellis``), which decides neighbouring
positions jointly: late in a read neighbouring columns of H overlap by ~85 % and
position-by-position cancellation propagates its own errors. Between passes the parameters are
re-estimated by least squares given the symbols (AYB-style): ``a_n``, ``g_t``, ``sigma_t``,
``s_n``, the channel offset and the lag/lead rates of H (``fit_rates``).

Arrays are (clusters, channels, cycles|positions) float32, so that every pass is two BLAS
matrix products over all clusters at once.
"""

from dataclasses import dataclass

import numpy as np

from .chemistry import Chemistry
from .phasing import PhasingEstimate, phasing_matrix
from .trellis import max_log_metrics

EXTRA_POSITIONS = 3  # positions beyond the last cycle (leading strands show them)
MAX_RATE = 0.05
MIN_NOISE_FACTOR = 0.25
NOISE_PRIOR_CYCLES = 8.0  # shrinkage of the per-cluster noise factor towards 1
FIT_CLUSTERS = 8_000
NEGLIGIBLE_WEIGHT = 1e-7
MIN_LOG_PROBABILITY = -40.0  # exp() stays a normal float32


def transfer_matrix(rates: PhasingEstimate, n_cycles: int, n_positions: int) -> np.ndarray:
    """H (n_cycles, n_positions) float64: H[t, k] = fraction showing position k+1 at cycle t+1."""
    width = max(n_positions, n_cycles) + 1
    full = phasing_matrix(rates.phasing, rates.prephasing, width)[:n_cycles, 1: n_positions + 1]
    return np.where(full > NEGLIGIBLE_WEIGHT, full, 0.0)  # no float32 denormals downstream


@dataclass
class ReadModel:
    """Per-tile parameters (shared by clusters) of the read model."""

    rates: PhasingEstimate
    gain: np.ndarray  # (cycles,) signal decay g_t
    noise_var: np.ndarray  # (cycles,) sigma_t^2 in units of the cluster brightness squared
    offset: np.ndarray | None = None  # (channels, 1) light no cluster explains

    def transfer(self, n_positions: int) -> np.ndarray:
        return transfer_matrix(self.rates, self.gain.size, n_positions)


@dataclass
class ClusterState:
    """Per-cluster state: brightness, noise factor and soft symbols."""

    amplitude: np.ndarray  # (n,) a_n
    noise_factor: np.ndarray  # (n,) s_n^2
    symbols: np.ndarray  # (n, channels, positions) soft signatures (posterior means)


@dataclass
class FilterOutput:
    """Matched-filter statistics of the open positions and their error variance."""

    statistic: np.ndarray  # (n, channels, open positions): unit-brightness signal estimate
    variance: np.ndarray  # (n, open positions): noise variance of ``statistic`` (per channel)


def prior_symbols(chemistry: Chemistry, n: int, n_positions: int) -> np.ndarray:
    """Every position at the mean of the four base signatures (nothing known yet)."""
    mean = chemistry.signature.mean(axis=1).astype(np.float32)
    return np.broadcast_to(mean[None, :, None], (n, mean.size, n_positions)).copy()


def predict(symbols: np.ndarray, transfer_gain: np.ndarray) -> np.ndarray:
    """(n, channels, cycles) unit-brightness prediction ``X @ (g H)^T``."""
    n, channels, positions = symbols.shape
    flat = symbols.reshape(n * channels, positions) @ transfer_gain.T.astype(np.float32)
    return flat.reshape(n, channels, -1)


def cancel_interference(normalised: np.ndarray, state: ClusterState, model: ReadModel,
                        transfer: np.ndarray, open_positions: slice) -> FilterOutput:
    """One pass: the extrinsic estimate of every open position from every cycle, with the
    other positions' predicted light removed. ``normalised`` = z / a_n (n, channels, cycles).

    The filter of position k is the linear MMSE one given the other positions' residual
    uncertainty (``symbol_variance``, averaged over clusters): u_k = S^-1 g h_k / (g h_k^T S^-1
    g h_k) with S = G H V H^T G + diag(sigma_t^2). With V = 0 it is the matched filter
    (column k of G H over the noise); with V at its prior, the regularised inverse of H.
    """
    gh = (transfer * model.gain[:, None]).astype(np.float64)
    variance = symbol_variance(state.symbols)
    covariance = (gh * variance[None, :]) @ gh.T + np.diag(model.noise_var)
    filters = np.linalg.solve(covariance, gh[:, open_positions])
    gain_k = np.maximum(np.einsum("tk,tk->k", gh[:, open_positions], filters), 1e-12)
    residual = normalised - predict(state.symbols, gh)
    n, channels, cycles = residual.shape
    projected = residual.reshape(n * channels, cycles) @ (filters / gain_k).astype(np.float32)
    statistic = state.symbols[:, :, open_positions] + projected.reshape(n, channels, -1)
    error = np.maximum(1.0 / gain_k - variance[open_positions], 1e-6)
    return FilterOutput(statistic, (state.noise_factor[:, None] * error[None, :]).astype(
        np.float32))


def symbol_variance(symbols: np.ndarray) -> np.ndarray:
    """(positions,) mean uncertainty x (1 - x) of the soft symbols (0/1 signature entries)."""
    return np.asarray(np.mean(symbols * (1.0 - symbols), axis=(0, 1), dtype=np.float64))


def to_bases(signature: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(n, 4, k) projections sig_b . v of (n, channels, k) values on each base signature."""
    if signature.shape[0] == 4 and np.array_equal(signature, np.eye(4)):
        return np.array(values, dtype=np.float32)
    out = np.zeros((values.shape[0], 4, values.shape[2]), np.float32)
    for base in range(4):
        for channel in np.flatnonzero(signature[:, base]):
            out[:, base] += np.float32(signature[channel, base]) * values[:, channel]
    return out


def from_bases(signature: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """(n, channels, k) expected signatures sum_b p_b sig_b from (n, 4, k) probabilities."""
    if signature.shape[0] == 4 and np.array_equal(signature, np.eye(4)):
        return np.ascontiguousarray(probabilities, dtype=np.float32)
    out = np.zeros((probabilities.shape[0], signature.shape[0], probabilities.shape[2]),
                   np.float32)
    for channel in range(signature.shape[0]):
        for base in np.flatnonzero(signature[channel]):
            out[:, channel] += np.float32(signature[channel, base]) * probabilities[:, base]
    return out


def posterior(output: FilterOutput, chemistry: Chemistry) -> np.ndarray:
    """(n, 4, open positions) base probabilities given the statistic (Gaussian error)."""
    signature = chemistry.signature.astype(np.float32)  # (channels, 4)
    half_norm = 0.5 * (signature**2).sum(axis=0)
    score = to_bases(signature, output.statistic)
    score -= half_norm[None, :, None]
    score /= output.variance[:, None, :]
    score -= score.max(axis=1, keepdims=True)
    np.maximum(score, MIN_LOG_PROBABILITY, out=score)
    np.exp(score, out=score)
    score /= score.sum(axis=1, keepdims=True)
    return score


def soft_symbols(probabilities: np.ndarray, chemistry: Chemistry) -> np.ndarray:
    """Posterior-mean signatures (n, channels, positions) from base probabilities."""
    return from_bases(chemistry.signature, probabilities)


def fit_amplitude(z: np.ndarray, state: ClusterState, model: ReadModel, transfer: np.ndarray
                  ) -> np.ndarray:
    """Least-squares brightness of every cluster given its symbols (z unnormalised)."""
    prediction = predict(state.symbols, transfer * model.gain[:, None])
    weight = (1.0 / model.noise_var).astype(np.float32)
    numerator = np.einsum("nct,nct,t->n", z, prediction, weight, optimize=True)
    denominator = np.einsum("nct,nct,t->n", prediction, prediction, weight, optimize=True)
    fitted = numerator / np.maximum(denominator, 1e-12)
    floor = 1e-3 * max(float(np.median(state.amplitude)), 1e-9)
    return np.maximum(fitted, floor).astype(np.float32)


def refit_cluster(z: np.ndarray, state: ClusterState, model: ReadModel, transfer: np.ndarray
                  ) -> None:
    """Brightness (least squares) and noise factor of every cluster given its symbols."""
    prediction = predict(state.symbols, transfer * model.gain[:, None])
    n = z.shape[0]
    weight = np.tile((1.0 / model.noise_var).astype(np.float32), z.shape[1])
    flat_z, flat_p = z.reshape(n, -1), prediction.reshape(n, -1)
    numerator = (flat_z * flat_p) @ weight
    denominator = (flat_p * flat_p) @ weight
    floor = 1e-3 * max(float(np.median(state.amplitude)), 1e-9)
    state.amplitude = np.maximum(numerator / np.maximum(denominator, 1e-12), floor).astype(
        np.float32)
    residual = flat_z / state.amplitude[:, None] - flat_p
    state.noise_factor = noise_factor((residual * residual).reshape(z.shape), model.noise_var)


def fit_offset(z: np.ndarray, state: ClusterState, model: ReadModel, transfer: np.ndarray
               ) -> np.ndarray:
    """(channels, 1) mean light left over once every cluster's predicted signal is removed
    (background the colour model's offsets missed): without it the phasing fit would explain
    it as strands out of phase. One value per channel for the whole read: a per-cycle offset
    could absorb the mean light of lagging strands too."""
    prediction = predict(state.symbols, transfer * model.gain[:, None])
    prediction *= state.amplitude[:, None, None]
    return np.asarray((z - prediction).mean(axis=(0, 2))[:, None], dtype=np.float32)


def fit_gain_and_noise(z: np.ndarray, state: ClusterState, model: ReadModel,
                       transfer: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-cycle decay g_t and noise sigma_t^2 and per-cluster noise factors s_n^2."""
    unit = predict(state.symbols, transfer)
    normalised = z / state.amplitude[:, None, None]
    numerator = np.einsum("nct,nct->t", normalised, unit, optimize=True)
    denominator = np.einsum("nct,nct->t", unit, unit, optimize=True)
    gain = numerator / np.maximum(denominator, 1e-12)
    residual = normalised - unit * gain[None, None, :].astype(np.float32)
    squared = residual**2
    ceiling = np.quantile(squared[:: max(1, squared.shape[0] // 2000)], 0.999)
    per_cycle = np.mean(np.minimum(squared, ceiling), axis=(0, 1))
    factor = noise_factor(squared, per_cycle)
    noise = per_cycle / np.mean(factor)
    return gain, np.maximum(noise, 1e-8), factor


def noise_factor(squared: np.ndarray, noise_var: np.ndarray) -> np.ndarray:
    """Per-cluster s_n^2 from squared residuals (n, channels, cycles), shrunk towards 1."""
    per_cluster = (squared.reshape(squared.shape[0], -1) @ np.tile(
        (1.0 / noise_var).astype(np.float32), squared.shape[1]))
    cells = squared.shape[1] * squared.shape[2]
    factor = (per_cluster + NOISE_PRIOR_CYCLES) / (cells + NOISE_PRIOR_CYCLES)
    return np.maximum(factor, MIN_NOISE_FACTOR).astype(np.float32)


def fit_rates(z: np.ndarray, state: ClusterState, model: ReadModel, n_positions: int,
              steps: int = 2) -> PhasingEstimate:
    """Lag/lead rates minimising the weighted residual of the read model (Gauss-Newton)."""
    rows = slice(None, None, max(1, z.shape[0] // (FIT_CLUSTERS // 2)))
    normalised = z[rows] / state.amplitude[rows, None, None]
    symbols = state.symbols[rows]
    weight = np.sqrt(1.0 / model.noise_var).astype(np.float32)

    def residual(params: np.ndarray) -> np.ndarray:
        rates = PhasingEstimate(float(params[0]), float(params[1]))
        gh = transfer_matrix(rates, model.gain.size, n_positions) * model.gain[:, None]
        return ((normalised - predict(symbols, gh)) * weight).ravel()

    params = np.array([model.rates.phasing, model.rates.prephasing])
    delta = 2e-4
    for _ in range(steps):
        base = residual(params)
        jacobian = np.stack([(residual(params + delta * np.eye(2)[i]) - base) / delta
                             for i in range(2)], axis=1)
        normal = jacobian.T.astype(np.float64) @ jacobian
        step = np.linalg.solve(normal + 1e-9 * np.eye(2), -(jacobian.T @ base).astype(np.float64))
        params = np.clip(params + step, 0.0, MAX_RATE)
        if np.all(np.abs(step) < 1e-5):
            break
    return PhasingEstimate(float(params[0]), float(params[1]))


def detect_sequence(normalised: np.ndarray, state: ClusterState, model: ReadModel,
                    transfer: np.ndarray, chemistry: Chemistry) -> np.ndarray:
    """(n, 4, positions) base probabilities from the forward-backward pass (``trellis``),
    positions older than two back entering through the current soft symbols."""
    n, channels, cycles = normalised.shape
    gh = (transfer * model.gain[:, None]).astype(np.float64)
    weighted = gh / model.noise_var[:, None]
    gram = gh.T @ weighted
    projected = normalised.reshape(n * channels, cycles) @ weighted.astype(np.float32)
    far = np.tril(gram, -3).astype(np.float32)
    interference = state.symbols.reshape(n * channels, -1) @ far.T
    evidence = (projected - interference).reshape(n, channels, -1)
    signature = chemistry.signature.astype(np.float32)
    score = to_bases(signature, evidence)
    score -= 0.5 * np.diag(gram).astype(np.float32)[None, None, :] * (signature**2).sum(
        axis=0)[None, :, None]
    metrics = max_log_metrics(score.transpose(0, 2, 1), gram, chemistry.signature,
                              1.0 / state.noise_factor)
    metrics -= metrics.max(axis=2, keepdims=True)
    np.maximum(metrics, MIN_LOG_PROBABILITY, out=metrics)
    np.exp(metrics, out=metrics)
    metrics /= metrics.sum(axis=2, keepdims=True)
    return np.ascontiguousarray(metrics.transpose(0, 2, 1))


def matched_statistic(normalised: np.ndarray, state: ClusterState, model: ReadModel,
                      transfer: np.ndarray) -> np.ndarray:
    """(n, channels, positions): each position's signal estimate from every cycle it shows in
    (matched filter), every other position's light removed with the current soft symbols."""
    gh = (transfer * model.gain[:, None]).astype(np.float64)
    weighted = gh / model.noise_var[:, None]
    energy = np.maximum(np.einsum("tk,tk->k", gh, weighted), 1e-12)
    residual = normalised - predict(state.symbols, gh)
    n, channels, cycles = residual.shape
    projected = residual.reshape(n * channels, cycles) @ (weighted / energy).astype(np.float32)
    return state.symbols + projected.reshape(n, channels, -1)

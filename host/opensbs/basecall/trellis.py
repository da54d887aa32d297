"""Forward-backward (max-log BCJR) detection of a read's bases over the phasing trellis.

With the read model of ``read_model`` the log-likelihood of a sequence of signatures x_k is
(Ungerboeck's form, up to a constant and the cluster's noise factor 1/s_n)::

    sum_k  x_k . y_k - 1/2 G_kk |x_k|^2 - sum_{j<k} G_kj x_k . x_j

with y = the matched-filter outputs (every cycle's residual projected on column k of g H
weighted by 1/sigma_t^2) and G = (g H)^T W (g H), the Gram matrix of the phasing columns,
shared by all clusters. The terms with the two previous positions are exact in the trellis
(state = the bases at k-1 and k: 16 states); older positions enter through their soft
estimates from the previous pass (``far``). Neighbouring positions are decided jointly, so
the pairs that phasing makes hardest to tell apart (adjacent bases swapped) are resolved by
the whole read's evidence, which position-by-position cancellation cannot do.
"""

import numba
import numpy as np

N_BASES = 4


@numba.njit(cache=True, nogil=True, fastmath=True)
def _cluster(score: np.ndarray, lag1: np.ndarray, lag2: np.ndarray, dot: np.ndarray,
             scale: float, alpha: np.ndarray, beta: np.ndarray, out: np.ndarray) -> None:
    positions = score.shape[0]
    for b in range(N_BASES):
        for c in range(N_BASES):
            alpha[0, b * N_BASES + c] = scale * score[0, c]
    for k in range(1, positions):
        for b in range(N_BASES):
            for c in range(N_BASES):
                best = -np.inf
                for a in range(N_BASES):
                    value = alpha[k - 1, a * N_BASES + b] - scale * lag2[k] * dot[c, a]
                    if value > best:
                        best = value
                alpha[k, b * N_BASES + c] = best + scale * (score[k, c] - lag1[k] * dot[c, b])
    for s in range(N_BASES * N_BASES):
        beta[positions - 1, s] = 0.0
    for k in range(positions - 2, -1, -1):
        for a in range(N_BASES):
            for b in range(N_BASES):
                best = -np.inf
                for c in range(N_BASES):
                    value = (beta[k + 1, b * N_BASES + c] + scale * (
                        score[k + 1, c] - lag1[k + 1] * dot[c, b] - lag2[k + 1] * dot[c, a]))
                    if value > best:
                        best = value
                beta[k, a * N_BASES + b] = best
    for k in range(positions):
        for c in range(N_BASES):
            best = -np.inf
            for b in range(N_BASES):
                value = alpha[k, b * N_BASES + c] + beta[k, b * N_BASES + c]
                if value > best:
                    best = value
            out[k, c] = best


@numba.njit(cache=True, nogil=True)
def _all_clusters(score: np.ndarray, lag1: np.ndarray, lag2: np.ndarray, dot: np.ndarray,
                  scale: np.ndarray, out: np.ndarray) -> None:
    positions = score.shape[1]
    alpha = np.empty((positions, N_BASES * N_BASES), np.float32)
    beta = np.empty((positions, N_BASES * N_BASES), np.float32)
    for n in range(score.shape[0]):
        _cluster(score[n], lag1, lag2, dot, scale[n], alpha, beta, out[n])


def max_log_metrics(score: np.ndarray, gram: np.ndarray, signature: np.ndarray,
                    scale: np.ndarray) -> np.ndarray:
    """Best path metric (n, positions, 4) with each base at each position.

    ``score[n, k, b]`` = x_b . y_k - 1/2 G_kk |x_b|^2 - (soft far-past interference on x_b);
    ``gram`` (positions, positions); ``signature`` (channels, 4); ``scale`` (n,) = 1 / s_n.
    """
    positions = score.shape[1]
    lag1 = np.zeros(positions, np.float32)
    lag2 = np.zeros(positions, np.float32)
    lag1[1:] = np.diagonal(gram, -1)
    lag2[2:] = np.diagonal(gram, -2)
    dot = (signature.T @ signature).astype(np.float32)
    out = np.empty(score.shape, np.float32)
    _all_clusters(np.ascontiguousarray(score, dtype=np.float32), lag1, lag2, dot,
                  np.ascontiguousarray(scale, dtype=np.float32), out)
    return out

"""A small vectorised intensity generator with known truth, for the intensity-level tests."""

from dataclasses import dataclass

import numpy as np
from opensbs.basecall.chemistry import Chemistry
from opensbs.basecall.phasing import phasing_matrix


@dataclass(frozen=True)
class Generated:
    intensities: np.ndarray  # (n, cycles, channels) float32
    sequences: np.ndarray  # (n, cycles) uint8
    matrix: np.ndarray  # colour matrix (channels, channels), column j = dye j response


def generate(chemistry: Chemistry, n_clusters: int = 4000, n_cycles: int = 60,
             phasing: float = 0.002, prephasing: float = 0.002, noise: float = 0.04,
             seed: int = 0, offset: float = 0.0, decay: float = 0.005) -> Generated:
    """Intensities ``a * decay^t * sum_k P[t, k] M sig[b_k] + offset + noise``."""
    rng = np.random.default_rng(seed)
    n_channels = chemistry.n_channels
    matrix = np.eye(n_channels)
    if n_channels == 4:
        matrix[1, 0], matrix[3, 2], matrix[0, 1], matrix[2, 3] = 0.4, 0.3, 0.08, 0.06
    else:
        matrix[1, 0], matrix[0, 1] = 0.1, 0.06
    matrix = matrix * np.linspace(900.0, 1100.0, n_channels)[None, :]
    template = rng.integers(0, 4, size=(n_clusters, n_cycles + 10), dtype=np.uint8)
    weights = phasing_matrix(phasing, prephasing, max(n_cycles, 10))[:n_cycles, 1: n_cycles + 11]
    unit = (matrix @ chemistry.signature).T  # (4 bases, channels)
    signal = np.einsum("tk,nkc->ntc", weights, unit[template])
    brightness = rng.lognormal(0.0, 0.3, n_clusters)
    fade = (1.0 - decay) ** np.arange(n_cycles)
    clean = signal * brightness[:, None, None] * fade[None, :, None]
    noisy = clean + offset + rng.normal(0.0, noise * 1000.0, clean.shape)
    return Generated(noisy.astype(np.float32), template[:, :n_cycles], matrix)

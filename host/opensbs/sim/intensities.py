"""Cluster intensities (clusters x cycles x channels) with known truth, without images.

The physical model, per cluster ``n``, cycle ``t`` (1-based) and channel ``c``::

    y[n, t] = a_n * (1 - d_n)^(t-1) * sum_k P_n[t, k] * (encoding @ crosstalk)[b_nk] + o + e[n, t]

* ``a_n`` brightness, lognormal around ``brightness_median`` (photo-electrons per cycle);
* ``d_n`` signal decay per cycle, lognormal spread around ``decay_per_cycle``;
* ``P_n`` the phasing chain of ``sim.phasing`` with the cluster's own lag/lead rates (the
  run's rates times a lognormal factor; clusters are grouped into ``phasing_groups`` rate
  bins, one matrix per bin);
* ``b_nk`` PhiX174 templates (both strands); a fraction ``mixed_fraction`` of clusters carry a
  second template (two molecules seeded one spot) at ``mixed_weight`` of the light;
* crosstalk and base encoding of ``sim.chemistry`` (four- or two-colour);
* ``o`` a residual background per channel; ``e`` multivariate Student-t noise (``noise_dof``
  degrees of freedom: heavy tails), channel correlation ``noise_correlation``, variance
  ``read_noise^2 + shot_noise_scale * signal`` (photon shot noise of the cluster's own light).
"""

from dataclasses import dataclass, replace

import numpy as np

from .chemistry import Chemistry, base_to_channel_matrix, channel_encoding, parse_chemistry
from .phasing import phasing_matrix
from .reference import bundled_phix_path, read_fasta, sample_templates

_MARGIN = 12  # template bases beyond the read for the leading molecules


@dataclass(frozen=True)
class IntensityConfig:
    """Parameters of a simulated intensity set (``replace`` to vary one)."""

    seed: int = 0
    n_clusters: int = 20_000
    n_cycles: int = 101
    chemistry: Chemistry = Chemistry.FOUR_COLOUR
    phasing: float = 0.001
    prephasing: float = 0.0005
    phasing_spread_log: float = 0.3  # sigma of the per-cluster rate factor (log)
    phasing_groups: int = 8
    decay_per_cycle: float = 0.005
    decay_spread_log: float = 0.3
    brightness_median: float = 1000.0
    brightness_sigma_log: float = 0.35
    read_noise: float = 70.0
    shot_noise_scale: float = 1.0
    noise_dof: float = 6.0
    noise_correlation: float = 0.25
    background_offset: float = 8.0
    mixed_fraction: float = 0.02
    mixed_weight: tuple[float, float] = (0.3, 0.5)

    def replace(self, **changes: object) -> "IntensityConfig":
        return replace(self, **changes)  # type: ignore[arg-type]

    def without_phasing(self) -> "IntensityConfig":
        """The same set with phasing and prephasing 0: the reference for what phasing costs."""
        return self.replace(phasing=0.0, prephasing=0.0)


@dataclass(frozen=True)
class SimulatedIntensities:
    """Intensities and their truth."""

    intensities: np.ndarray  # (n, cycles, channels) float32
    sequences: np.ndarray  # (n, cycles) uint8: the (brighter) template of each cluster
    mixed: np.ndarray  # (n,) bool: a second template shares the spot
    brightness: np.ndarray  # (n,)
    config: IntensityConfig


def simulate_intensities(config: IntensityConfig) -> SimulatedIntensities:
    """Simulate ``config`` (deterministic in ``config.seed``).

    Random streams are drawn in a fixed order that does not depend on the phasing rates, so
    the same seed with phasing set to 0 gives the same clusters, templates and noise.
    """
    chemistry = parse_chemistry(config.chemistry)
    rng = np.random.default_rng(config.seed)
    n, cycles = config.n_clusters, config.n_cycles
    length = cycles + _MARGIN
    reference = read_fasta(bundled_phix_path())
    first = sample_templates(rng, reference, n, length).codes
    second = sample_templates(rng, reference, n, length).codes
    mixed = rng.random(n) < config.mixed_fraction
    weight = rng.uniform(*config.mixed_weight, n)
    brightness = rng.lognormal(np.log(config.brightness_median), config.brightness_sigma_log, n)
    decay = config.decay_per_cycle * rng.lognormal(0.0, config.decay_spread_log, n)
    rate_factor = rng.lognormal(0.0, config.phasing_spread_log, n)
    gaussian = rng.standard_normal((n, cycles, chemistry_channels(chemistry)))
    scale = np.sqrt(rng.chisquare(config.noise_dof, (n, cycles, 1)) / config.noise_dof)

    unit = base_to_channel_matrix(chemistry, channel_encoding(chemistry).default_crosstalk)
    clean = _phased_signal(first, rate_factor, config, unit)
    if mixed.any():
        other = _phased_signal(second[mixed], rate_factor[mixed], config, unit)
        clean[mixed] = (1.0 - weight[mixed, None, None]) * clean[mixed] \
            + weight[mixed, None, None] * other
    fade = (1.0 - decay[:, None]) ** np.arange(cycles)[None, :]
    clean *= (brightness[:, None] * fade)[:, :, None]
    variance = config.read_noise**2 + config.shot_noise_scale * np.maximum(clean, 0.0)
    correlated = gaussian @ _correlation_root(gaussian.shape[2], config.noise_correlation).T
    noise = correlated / scale * np.sqrt(variance)
    intensities = (clean + config.background_offset + noise).astype(np.float32)
    return SimulatedIntensities(intensities, first[:, :cycles].copy(), mixed, brightness, config)


def chemistry_channels(chemistry: Chemistry | str) -> int:
    return channel_encoding(chemistry).n_channels


def _phased_signal(templates: np.ndarray, rate_factor: np.ndarray, config: IntensityConfig,
                   unit: np.ndarray) -> np.ndarray:
    """Unit-brightness signal (n, cycles, channels), per-cluster rates in ``phasing_groups``."""
    n, length = templates.shape
    cycles = config.n_cycles
    out = np.empty((n, cycles, unit.shape[1]))
    edges = np.quantile(rate_factor, np.linspace(0, 1, config.phasing_groups + 1)[1:-1])
    group = np.searchsorted(edges, rate_factor)
    for g in range(config.phasing_groups):
        rows = np.flatnonzero(group == g)
        if rows.size == 0:
            continue
        factor = float(np.median(rate_factor[rows]))
        matrix = phasing_matrix(np.full(cycles, config.phasing * factor),
                                np.full(cycles, config.prephasing * factor), n_positions=length)
        signal = unit[templates[rows]]  # (rows, length, channels)
        out[rows] = np.einsum("tk,nkc->ntc", matrix, signal)
    return out


def _correlation_root(channels: int, correlation: float) -> np.ndarray:
    """Cholesky factor of a correlation matrix with ``correlation`` between all channels."""
    matrix = np.full((channels, channels), correlation)
    np.fill_diagonal(matrix, 1.0)
    return np.linalg.cholesky(matrix)

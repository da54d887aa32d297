"""Cluster brightness and cluster noise, after the AYB model fitted to real Illumina runs.

AYB (Massingham & Goldman, Genome Biology 2012) models a cluster's processed intensities (after
crosstalk and phasing are removed, one value per base and cycle) as ``lambda * e_base + noise``:
one brightness ``lambda`` per cluster, constant over the read, and additive noise whose
covariance over bases and cycles AYB estimates from the run. simNGS publishes such fits as
"runfiles" (github.com/timmassingham/simNGS: a header line ``cycles [distribution] p1 p2``, the
brightness distribution, then the 4·cycles square noise covariance). The figures used here are
read off two of them (docs/simulator.md lists each number and where it is):

* ``data/s_3_4x.runfile`` (AYB 2.03, an Illumina 2 x 101 run, HiSeq-era chemistry): brightness
  logistic, location 1644.57, scale 172.03 (scale/location 0.105, sd 19 % of the median); noise
  sd at cycle 1 of 190, 175, 147, 172 (A, C, G, T) = 9-12 % of the median brightness, about
  twice that at cycle 101; a cluster's noise is correlated across cycles, about 3,500 (units²)
  shared by every base and cycle pair: a persistent per-cluster offset of ~3.6 % of the median.
* ``runfiles/76cyclePhiX/s_2_0001.runfile`` (76-cycle PhiX on a GA-II, Sanger): Weibull
  brightness, shape 1.573 and scale 391.8 (median 310, sd 65 % of the mean), noise sd at cycle 1
  of 48, 51, 33, 48 = 16, 17, 11, 15 % of the median brightness, 1.8-2.2x that at cycle 76.

Here that noise is added to each cluster's signal before imaging (in dye space, then mixed by
the crosstalk), on top of what the image model already produces (shot, background and read
noise, neighbours): ``sd(t) = start · (1 + growth · (t - 1)) · median brightness · decay(t)``
(processed intensities are decay-corrected, raw ones are not), with the cross-base correlation
of the s_3_4x fit at cycle 1 (four-colour; two-colour uses independent channels) and, when
``dof`` > 0, Student-t tails (the heavy tails AYB guards against with its robustified
likelihood; the degrees of freedom are assumed).
"""

import numpy as np

from .errors import SimConfigError


class BrightnessModel:
    LOGNORMAL = "lognormal"
    LOGISTIC = "logistic"
    WEIBULL = "weibull"
    ALL = (LOGNORMAL, LOGISTIC, WEIBULL)


# Noise correlation between bases at one cycle, from the cycle-1 4x4 block of the covariance in
# simNGS data/s_3_4x.runfile (A, C, G, T): e.g. cov(A, C) = -7641.89 over sd 190.5 and 175.5.
FOUR_COLOUR_NOISE_CORRELATION = np.array([
    [1.000, -0.229, -0.079, -0.103],
    [-0.229, 1.000, -0.100, -0.124],
    [-0.079, -0.100, 1.000, -0.149],
    [-0.103, -0.124, -0.149, 1.000],
])

# Floor on a drawn brightness (fraction of the median): the logistic's lower tail reaches zero;
# clusters that dim are lost in image analysis anyway (simNGS redraws below a quantile).
MIN_BRIGHTNESS_FRACTION = 0.02


def draw_brightness(rng: np.random.Generator, n: int, model: str, median_e: float,
                    sigma_log: float, shape: float) -> np.ndarray:
    """(n,) cluster brightness (photo-electrons per cycle), median ``median_e``.

    ``lognormal``: log-sd ``sigma_log`` (the original model; its draws are unchanged).
    ``logistic``: scale = ``shape`` x location, as AYB fits (s_3_4x: 0.105).
    ``weibull``: Weibull shape ``shape`` (GA-II fit: 1.573), scaled to the median.
    """
    if model == BrightnessModel.LOGNORMAL:
        return rng.lognormal(np.log(median_e), sigma_log, n)
    if model == BrightnessModel.LOGISTIC:
        values = rng.logistic(median_e, shape * median_e, n)
    elif model == BrightnessModel.WEIBULL:
        values = rng.weibull(shape, n) * median_e / np.log(2.0) ** (1.0 / shape)
    else:
        raise SimConfigError(f"brightness model must be one of {BrightnessModel.ALL}, "
                             f"not {model!r}")
    return np.maximum(values, MIN_BRIGHTNESS_FRACTION * median_e)


def noise_sd_fraction(start: float, growth_per_cycle: float, cycle: int) -> float:
    """Cluster-noise sd at ``cycle`` (1-based), as a fraction of the median brightness."""
    return start * (1.0 + growth_per_cycle * (cycle - 1))


def noise_correlation(n_dyes: int) -> np.ndarray:
    """Cross-dye correlation of the cluster noise (the runfile's for four dyes)."""
    return FOUR_COLOUR_NOISE_CORRELATION.copy() if n_dyes == 4 else np.eye(n_dyes)


def draw_cluster_noise(rng: np.random.Generator, n: int, sd_e: float, cholesky: np.ndarray,
                       dof: float) -> np.ndarray:
    """(n, dyes) float32 noise: correlated Gaussian, or Student-t with ``dof`` > 2 scaled to the
    same sd (``dof`` = 0: Gaussian)."""
    dyes = cholesky.shape[0]
    draws = rng.standard_normal((n, dyes), dtype=np.float32) @ cholesky.T.astype(np.float32)
    if dof > 0:
        # t = z / sqrt(chi2/dof) has variance dof/(dof-2): rescale to unit variance.
        chi2 = rng.chisquare(dof, n).astype(np.float32)
        draws *= (np.sqrt(dof / chi2) * np.float32(np.sqrt((dof - 2.0) / dof)))[:, None]
    draws *= np.float32(sd_e)
    return draws

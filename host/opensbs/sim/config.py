"""`SimConfig`: every parameter of a simulated flow cell.

``SimConfig()`` is the gentle simulator (the ``gentle`` preset): the image model with the
defaults below and every realism effect off (each effect field's default is no effect).
``SimConfig.preset("miseq-v3")`` and the other presets (`opensbs.sim.presets`) switch the
effects on at sizes taken from real runs; docs/simulator.md lists them and their sources.

Defaults describe an Illumina-class instrument imaged by a 6.5 µm-pixel sCMOS camera through a
20x objective (0.325 µm per pixel at the flow cell). Sources and assumptions:

* phasing and prephasing 0.1 %/cycle each: the typical figures in formats.md (Illumina);
* signal decay 0.5 %/cycle: assumed, the cluster intensity roughly halving over a 150-cycle
  read as in public intensity-by-cycle run metrics;
* cluster density 600 k/mm² (random) or 1 µm hexagonal pitch at 75 % occupancy (patterned):
  in the range recommended for MiSeq/HiSeq non-patterned loading (~0.5-1.4 M/mm²), giving about
  250 k clusters on a 2048² tile;
* PSF sigma 1 px (FWHM 0.77 µm), brightness lognormal (median 2000 photo-electrons per cluster
  per cycle, sigma 0.35 in log), background 100 e-/px: assumed for a high-NA epifluorescence
  setup with a 1 µm cluster;
* read noise 1.6 e- rms, gain 1 ADU/e-, offset 100 ADU, 12-bit ADC: typical sCMOS datasheet
  values;
* stage: 0.3 px rms repositioning jitter per cycle on top of a slow thermal drift of
  (0.02, 0.01) px/cycle; fixed per-channel registration offsets up to 0.5 px (filter wheel /
  chromatic shift). All assumed.
"""

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from .chemistry import Chemistry, channel_encoding, parse_chemistry
from .errors import SimConfigError
from .geometry import seed_density_per_mm2
from .noise import BrightnessModel


class Layout:
    RANDOM = "random"
    PATTERNED = "patterned"


@dataclass(frozen=True)
class SimConfig:
    """Parameters of a simulated run (all tiles share them; each tile has its own seed stream)."""

    seed: int = 0
    # geometry
    tile_width_px: int = 2048
    tile_height_px: int = 2048
    pixel_size_um: float = 0.325
    layout: str = Layout.RANDOM
    density_per_mm2: float = 600_000.0
    well_pitch_um: float = 1.0
    occupancy: float = 0.75
    # library
    reference: Path | None = None  # None: the bundled PhiX174 genome
    read_length: int = 150
    # chemistry
    chemistry: Chemistry = Chemistry.FOUR_COLOUR
    crosstalk: tuple[tuple[float, ...], ...] | None = None  # None: the chemistry's default
    phasing: float = 0.001
    prephasing: float = 0.001
    decay_per_cycle: float = 0.005
    brightness_median_e: float = 2000.0
    brightness_sigma_log: float = 0.35
    # optics and camera
    psf_sigma_px: float = 1.0
    background_e: float = 100.0
    shot_noise: bool = True
    read_noise_e: float = 1.6
    gain_adu_per_e: float = 1.0
    offset_adu: float = 100.0
    adc_bits: int = 12
    # stage
    drift_jitter_px: float = 0.3
    drift_rate_px_per_cycle: tuple[float, float] = (0.02, 0.01)
    channel_offset_max_px: float = 0.5
    # Realism effects (all off at their defaults; presets.py turns them on, with sources).
    # brightness and cluster noise (opensbs.sim.noise): the AYB/simNGS model of a real run
    brightness_model: str = BrightnessModel.LOGNORMAL  # or "logistic", "weibull"
    brightness_shape: float = 0.0  # logistic: scale/location; weibull: shape
    cluster_noise: float = 0.0  # noise sd at cycle 1, fraction of the median brightness
    cluster_noise_growth_per_cycle: float = 0.0  # sd(t) = noise * (1 + growth * (t - 1))
    cluster_noise_dof: float = 0.0  # Student-t degrees of freedom (0: Gaussian)
    cluster_offset_sd: float = 0.0  # persistent per-cluster offset, fraction of the median
    # per-cluster chemistry (opensbs.sim.cluster_phasing, tile)
    decay_spread_log: float = 0.0  # log-sd of a cluster's decay-rate multiplier
    phasing_spread_log: float = 0.0  # log-sd of a cluster's phasing/prephasing multiplier
    ggc_phasing_factor: float = 0.0  # extra lag (x phasing) incorporating the base after GGC
    homopolymer_phasing_factor: float = 0.0  # the same after a homopolymer run of >= 3
    g_quench: float = 0.0  # signal lost by a base that follows a G
    t_accumulation: float = 0.0  # fraction of each T signal left behind for good
    # optics (opensbs.sim.artefacts)
    edge_falloff: float = 0.0  # illumination loss at the tile corners
    focus_drift_px_per_cycle: float = 0.0  # PSF sigma growth per cycle
    focus_jitter_px: float = 0.0  # per-cycle autofocus error (PSF sigma, rms, widening)
    focus_tilt_px: float = 0.0  # PSF sigma difference from the left to the right edge
    bubbles_per_mm2_cycle: float = 0.0
    bubble_radius_px: float = 60.0
    bubble_lifetime_cycles: int = 3
    bubble_transmission: float = 0.2
    dust_per_mm2: float = 0.0
    dust_brightness_e: float = 40_000.0
    dust_radius_px: float = 5.0
    cluster_size_spread: float = 0.0  # cluster extent beyond the PSF: psf * spread * |z|
    # random flow cells: no two clusters closer than this (bridge amplification's exclusion)
    cluster_exclusion_um: float = 0.0
    # patterned flow cells: wells seeded from a neighbour's template (pad hopping)
    duplicate_fraction: float = 0.0
    # pooled libraries: clusters carrying one index of another sample (opensbs.sim.library)
    index_hopping_fraction: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "chemistry", _parse_chemistry(self.chemistry))
        if self.reference is not None:
            object.__setattr__(self, "reference", Path(self.reference))
        _check_positive_int(self, "tile_width_px", "tile_height_px", "read_length")
        _check_positive(self, "pixel_size_um", "density_per_mm2", "well_pitch_um",
                        "brightness_median_e", "psf_sigma_px", "gain_adu_per_e")
        _check_non_negative(self, "brightness_sigma_log", "background_e", "read_noise_e",
                            "offset_adu", "drift_jitter_px", "channel_offset_max_px",
                            "brightness_shape", "cluster_noise",
                            "cluster_noise_growth_per_cycle", "cluster_offset_sd",
                            "decay_spread_log", "phasing_spread_log", "ggc_phasing_factor",
                            "homopolymer_phasing_factor", "focus_drift_px_per_cycle",
                            "focus_jitter_px", "bubbles_per_mm2_cycle", "bubble_radius_px",
                            "dust_per_mm2", "dust_brightness_e", "dust_radius_px",
                            "cluster_size_spread", "cluster_exclusion_um")
        if not 0.0 <= self.index_hopping_fraction <= 1.0:
            raise SimConfigError(f"index_hopping_fraction must be in [0, 1], "
                                 f"got {self.index_hopping_fraction}")
        _check_realism(self)
        seed_density_per_mm2(self.density_per_mm2, self.cluster_exclusion_um)
        if self.layout not in (Layout.RANDOM, Layout.PATTERNED):
            raise SimConfigError(f"layout must be 'random' or 'patterned', not {self.layout!r}")
        if not 0.0 <= self.occupancy <= 1.0:
            raise SimConfigError(f"occupancy must be in [0, 1], got {self.occupancy}")
        for name in ("phasing", "prephasing", "decay_per_cycle"):
            if not 0.0 <= getattr(self, name) < 0.5:
                raise SimConfigError(f"{name} must be in [0, 0.5), got {getattr(self, name)}")
        if not 8 <= self.adc_bits <= 16:
            raise SimConfigError(f"adc_bits must be 8..16, got {self.adc_bits}")
        if len(self.drift_rate_px_per_cycle) != 2:
            raise SimConfigError("drift_rate_px_per_cycle must be (dx, dy)")
        if self.crosstalk is not None:
            matrix = np.asarray(self.crosstalk, dtype=float)
            n = self.n_channels
            if matrix.shape != (n, n) or not np.all(np.isfinite(matrix)) or np.any(matrix < 0):
                raise SimConfigError(
                    f"crosstalk must be a non-negative {n}x{n} matrix for {self.chemistry.value}"
                    f", got shape {matrix.shape}")

    @property
    def n_channels(self) -> int:
        return channel_encoding(self.chemistry).n_channels

    @property
    def channel_names(self) -> tuple[str, ...]:
        return channel_encoding(self.chemistry).channel_names

    @property
    def crosstalk_matrix(self) -> np.ndarray:
        """``crosstalk[dye, channel]`` in effect (the configured one or the default)."""
        if self.crosstalk is None:
            return channel_encoding(self.chemistry).default_crosstalk.copy()
        return np.asarray(self.crosstalk, dtype=float)

    @property
    def adc_max(self) -> int:
        return (1 << self.adc_bits) - 1

    def to_json_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (paths as strings, the crosstalk in effect written out)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["chemistry"] = self.chemistry.value
        out["reference"] = None if self.reference is None else str(self.reference)
        out["crosstalk"] = self.crosstalk_matrix.tolist()
        out["drift_rate_px_per_cycle"] = list(self.drift_rate_px_per_cycle)
        return out

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> "SimConfig":
        """Inverse of `to_json_dict`; unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise SimConfigError(f"unknown SimConfig keys: {sorted(unknown)}")
        values = dict(data)
        if values.get("crosstalk") is not None:
            values["crosstalk"] = tuple(tuple(float(v) for v in row) for row in values["crosstalk"])
        if "drift_rate_px_per_cycle" in values:
            values["drift_rate_px_per_cycle"] = tuple(values["drift_rate_px_per_cycle"])
        return cls(**values)

    @classmethod
    def preset(cls, name: str, **changes: Any) -> "SimConfig":
        """The named preset (`opensbs.sim.presets`) with ``changes`` applied."""
        from .presets import preset_config

        return preset_config(name, **changes)

    def replace(self, **changes: Any) -> "SimConfig":
        """A copy with ``changes`` applied (validated again)."""
        values = asdict(self)
        values.update(changes)
        return SimConfig(**values)


def _check_realism(config: SimConfig) -> None:
    if config.brightness_model not in BrightnessModel.ALL:
        raise SimConfigError(f"brightness_model must be one of {list(BrightnessModel.ALL)}, "
                             f"not {config.brightness_model!r}")
    if config.brightness_model != BrightnessModel.LOGNORMAL and config.brightness_shape <= 0:
        raise SimConfigError(f"brightness_shape must be > 0 for the {config.brightness_model} "
                             "brightness model")
    if config.cluster_noise_dof != 0 and not config.cluster_noise_dof > 2:
        raise SimConfigError(f"cluster_noise_dof must be 0 (Gaussian) or > 2, "
                             f"got {config.cluster_noise_dof}")
    for name, high in (("g_quench", 1.0), ("t_accumulation", 0.1), ("edge_falloff", 1.0),
                       ("duplicate_fraction", 0.5)):
        if not 0.0 <= getattr(config, name) < high:
            raise SimConfigError(f"{name} must be in [0, {high}), got {getattr(config, name)}")
    if not 0.0 <= config.bubble_transmission <= 1.0:
        raise SimConfigError(f"bubble_transmission must be in [0, 1], "
                             f"got {config.bubble_transmission}")
    if not np.isfinite(config.focus_tilt_px):
        raise SimConfigError("focus_tilt_px must be finite")
    _check_positive_int(config, "bubble_lifetime_cycles")


def _parse_chemistry(value: Chemistry | str) -> Chemistry:
    try:
        return parse_chemistry(value)
    except ValueError:
        options = ", ".join(c.value for c in Chemistry)
        raise SimConfigError(f"chemistry must be one of {options}, not {value!r}") from None


def _check_positive_int(config: SimConfig, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise SimConfigError(f"{name} must be a positive integer, got {value!r}")


def _check_positive(config: SimConfig, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        if not np.isfinite(value) or value <= 0:
            raise SimConfigError(f"{name} must be > 0, got {value!r}")


def _check_non_negative(config: SimConfig, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        if not np.isfinite(value) or value < 0:
            raise SimConfigError(f"{name} must be >= 0, got {value!r}")

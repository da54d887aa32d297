"""Named simulator presets: instruments as hard as real ones, and the gentle default.

``preset_config("miseq-v3", seed=1, tile_width_px=512)`` (or ``SimConfig.preset(...)``) is the
preset's `SimConfig` with the given fields changed. Presets:

* ``gentle``: exactly ``SimConfig()``: no realism effects; for tests that isolate one effect and
  for the base-caller benchmarks' historical figures.
* ``miseq-v3``: a MiSeq-class four-colour random flow cell. Noise and brightness from the AYB fit
  of an Illumina HiSeq-era 2 x 101 run (simNGS ``s_3_4x.runfile``), MiSeq phasing/prephasing,
  the sequence-context, dye and optical effects at sizes described in docs/simulator.md;
  clusters no closer than 0.5 um (bridge amplification's exclusion).
* ``novaseq-x``: two-colour (NovaSeq X encoding) on a patterned flow cell, lower noise and
  phasing (XLEAP-SBS), uniform cluster sizes, pad-hopping duplicates, index hopping.
* ``prototype``: an early instrument: the GA-II fit (simNGS ``76cyclePhiX`` runfile: Weibull
  brightness, 65 % spread), high phasing, dim clusters, more focus and stage drift.

The recipe chooses one with ``[sim] preset = "..."``; ``opensbs run --preset`` and
``opensbs simulate --preset`` override it. With a recipe, the recipe's chemistry, tile size,
read length and bit depth win over the preset's.
"""

from typing import Any

from .config import Layout, SimConfig
from .errors import SimConfigError

GENTLE = "gentle"

# Effects shared by the realistic presets: the AYB noise model's form and the sequence-context
# and dye effects (sizes and sources: docs/simulator.md).
_REALISTIC: dict[str, Any] = {
    "cluster_noise_dof": 8.0,
    "ggc_phasing_factor": 10.0,
    "homopolymer_phasing_factor": 3.0,
    "g_quench": 0.1,
    "t_accumulation": 0.001,
    "edge_falloff": 0.15,
    "bubbles_per_mm2_cycle": 0.005,
    "dust_per_mm2": 2.0,
}

PRESETS: dict[str, dict[str, Any]] = {
    GENTLE: {},
    "miseq-v3": {
        **_REALISTIC,
        "layout": Layout.RANDOM,
        "density_per_mm2": 650_000.0,
        "cluster_exclusion_um": 0.5,
        "phasing": 0.0015,
        "prephasing": 0.0008,
        "phasing_spread_log": 0.3,
        "decay_per_cycle": 0.005,
        "decay_spread_log": 0.2,
        "brightness_model": "logistic",
        "brightness_shape": 0.105,
        "cluster_noise": 0.05,
        "cluster_noise_growth_per_cycle": 0.005,
        "cluster_offset_sd": 0.036,
        "focus_jitter_px": 0.03,
        "focus_tilt_px": 0.1,
        "cluster_size_spread": 0.3,
    },
    "novaseq-x": {
        **_REALISTIC,
        "chemistry": "two-colour",
        "layout": Layout.PATTERNED,
        "well_pitch_um": 1.0,
        "occupancy": 0.8,
        "duplicate_fraction": 0.02,
        "index_hopping_fraction": 0.0047,
        "phasing": 0.001,
        "prephasing": 0.0005,
        "phasing_spread_log": 0.25,
        "decay_per_cycle": 0.004,
        "decay_spread_log": 0.15,
        "brightness_model": "logistic",
        "brightness_shape": 0.105,
        "cluster_noise": 0.035,
        "cluster_noise_growth_per_cycle": 0.004,
        "cluster_offset_sd": 0.03,
        "focus_jitter_px": 0.02,
        "focus_tilt_px": 0.08,
        "cluster_size_spread": 0.1,
    },
    "prototype": {
        **_REALISTIC,
        "layout": Layout.RANDOM,
        "density_per_mm2": 500_000.0,
        "cluster_exclusion_um": 0.5,
        "phasing": 0.005,
        "prephasing": 0.003,
        "phasing_spread_log": 0.4,
        "decay_per_cycle": 0.01,
        "decay_spread_log": 0.3,
        "brightness_median_e": 1200.0,
        "brightness_model": "weibull",
        "brightness_shape": 1.573,
        "background_e": 120.0,
        "cluster_noise": 0.10,
        "cluster_noise_growth_per_cycle": 0.012,
        "cluster_offset_sd": 0.05,
        "drift_jitter_px": 0.6,
        "drift_rate_px_per_cycle": (0.05, 0.03),
        "focus_drift_px_per_cycle": 0.001,
        "focus_jitter_px": 0.05,
        "focus_tilt_px": 0.2,
        "edge_falloff": 0.3,
        "bubbles_per_mm2_cycle": 0.02,
        "dust_per_mm2": 6.0,
        "cluster_size_spread": 0.3,
    },
}


def preset_names() -> tuple[str, ...]:
    """Names of the presets."""
    return tuple(PRESETS)


def preset_config(name: str, **changes: Any) -> SimConfig:
    """The preset ``name`` as a `SimConfig`, with ``changes`` applied."""
    try:
        values = PRESETS[name]
    except KeyError:
        raise SimConfigError(f"unknown simulator preset {name!r}; presets: "
                             f"{', '.join(PRESETS)}") from None
    return SimConfig(**{**values, **changes})

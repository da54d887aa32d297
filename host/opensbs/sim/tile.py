"""`TileSimulator`: one tile of a flow cell, imaged cycle by cycle."""

from dataclasses import dataclass

import numpy as np

from .chemistry import base_to_channel_matrix, channel_encoding
from .config import Layout, SimConfig
from .errors import CycleLimitError, SimConfigError
from .geometry import TileGeometry, patterned_positions, random_positions
from .optics import apply_psf, digitise, splat_bilinear
from .phasing import PhasingWindow
from .reference import Reference, bundled_phix_path, read_fasta, sample_templates
from .truth import TileTruth

# Incorporation efficiency falls off as exp(-0.5 (dT / width)^2) away from the set-point;
# assumed width (polymerase activity is a broad function of temperature).
INCORPORATION_TEMPERATURE_WIDTH_C = 10.0

# Seed-stream purposes: each random source has its own stream, so results do not depend on
# the order in which they are drawn.
_GEOMETRY, _TEMPLATES, _BRIGHTNESS, _STAGE, _NOISE = range(5)


@dataclass(frozen=True)
class CycleConditions:
    """What the instrument did in one cycle, as it affects the chemistry.

    ``temperature_error_c``: flow-cell temperature minus the incorporation set-point during
    incorporation; ``reagent_fraction``: fraction of the incorporation mix delivered (0 for a
    fluidics step that did not run). Both lower the incorporation efficiency, which raises
    phasing (and lowers prephasing, which also needs an incorporation) for that cycle.
    """

    temperature_error_c: float = 0.0
    reagent_fraction: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.reagent_fraction <= 1.0:
            raise SimConfigError(f"reagent_fraction must be in [0, 1], "
                                 f"got {self.reagent_fraction}")
        if not np.isfinite(self.temperature_error_c):
            raise SimConfigError("temperature_error_c must be finite")

    def incorporation_efficiency(self) -> float:
        width = INCORPORATION_TEMPERATURE_WIDTH_C
        return self.reagent_fraction * float(np.exp(-0.5 * (self.temperature_error_c / width)
                                                    ** 2))

    def rates(self, phasing: float, prephasing: float) -> tuple[float, float]:
        """(phasing, prephasing) of this cycle given the nominal rates."""
        efficiency = self.incorporation_efficiency()
        return 1.0 - (1.0 - phasing) * efficiency, prephasing * efficiency


class TileSimulator:
    """Clusters of one tile and their images, one cycle at a time.

    ``positions`` (N, 2) x/y pixels, ``sequences`` (N, read_length) uint8 codes, ``brightness_e``
    (N,), ``channel_offsets_px`` (C, 2). ``next_cycle()`` returns the next cycle's images as
    ``(C, H, W)`` uint16 and leaves the clusters' clean signal in ``last_signal_e`` (N, C).
    """

    def __init__(self, config: SimConfig, tile: int = 1,
                 reference: Reference | None = None) -> None:
        if tile < 0:
            raise SimConfigError(f"tile number must be >= 0, got {tile}")
        self.config = config
        self.tile = tile
        self._reference = reference or read_fasta(config.reference or bundled_phix_path())
        self._window = PhasingWindow()
        self.geometry = self._place_clusters()
        n = len(self.geometry.positions_px)
        templates = sample_templates(self._rng(_TEMPLATES), self._reference, n,
                                     config.read_length + self._window.template_margin)
        self._templates = templates
        self.brightness_e = self._rng(_BRIGHTNESS).lognormal(
            np.log(config.brightness_median_e), config.brightness_sigma_log, n)
        stage = self._rng(_STAGE)
        self.channel_offsets_px = stage.uniform(-1.0, 1.0, (config.n_channels, 2)) * \
            config.channel_offset_max_px
        self._base_to_channel = base_to_channel_matrix(
            config.chemistry, config.crosstalk_matrix).astype(np.float32)
        self._decay = 1.0
        self._history: dict[str, list[float] | list[np.ndarray]] = {
            k: [] for k in ("drift_px", "phasing", "prephasing", "decay_factor",
                            "reagent_fraction", "temperature_error_c")}
        self.last_signal_e = np.zeros((n, config.n_channels), dtype=np.float32)

    # -- public state -------------------------------------------------------------------------
    @property
    def positions(self) -> np.ndarray:
        return self.geometry.positions_px

    @property
    def sequences(self) -> np.ndarray:
        return self._templates.codes[:, : self.config.read_length]

    @property
    def cycle(self) -> int:
        """Cycles imaged so far."""
        return self._window.cycle

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.config.n_channels, self.config.tile_height_px, self.config.tile_width_px)

    # -- one cycle ----------------------------------------------------------------------------
    def next_cycle(self, conditions: CycleConditions | None = None,
                   noise: bool = True) -> np.ndarray:
        """Incorporate, image and digitise the next cycle: ``(C, H, W)`` uint16 counts."""
        self.advance(conditions)
        images = np.empty(self.shape, dtype=np.uint16)
        for channel in range(self.config.n_channels):
            images[channel] = self.render_channel(channel, noise)
        return images

    def advance(self, conditions: CycleConditions | None = None) -> None:
        """Run the next cycle's chemistry and stage move; images come from `render_channel`."""
        config = self.config
        if self.cycle >= config.read_length:
            raise CycleLimitError(f"tile {self.tile}: read length is {config.read_length} "
                                  "cycles, all of them imaged")
        conditions = conditions or CycleConditions()
        phasing, prephasing = conditions.rates(config.phasing, config.prephasing)
        self._window.advance(phasing, prephasing)
        if self.cycle > 1:
            self._decay *= 1.0 - config.decay_per_cycle
        self.last_signal_e = self._cluster_signal_e()
        for key, value in (("drift_px", self._drift(self.cycle)), ("phasing", phasing),
                           ("prephasing", prephasing), ("decay_factor", self._decay),
                           ("reagent_fraction", conditions.reagent_fraction),
                           ("temperature_error_c", conditions.temperature_error_c)):
            self._history[key].append(value)  # type: ignore[arg-type]

    def render_channel(self, channel: int, noise: bool = True) -> np.ndarray:
        """``(H, W)`` uint16 image of ``channel`` at the current cycle (same every call)."""
        config = self.config
        if self.cycle == 0:
            raise CycleLimitError("no cycle has run yet: call advance() first")
        if not 0 <= channel < config.n_channels:
            raise SimConfigError(f"channel {channel} outside 0..{config.n_channels - 1}")
        drift = np.asarray(self._history["drift_px"][-1])
        xy = self.positions + drift + self.channel_offsets_px[channel]
        expected = splat_bilinear(xy, self.last_signal_e[:, channel], config.tile_height_px,
                                  config.tile_width_px)
        apply_psf(expected, config.psf_sigma_px)
        expected += np.float32(config.background_e)
        noise_rng = self._rng(_NOISE, self.cycle, channel) if noise else None
        return digitise(expected, noise_rng, shot_noise=config.shot_noise,
                        read_noise_e=config.read_noise_e, gain_adu_per_e=config.gain_adu_per_e,
                        offset_adu=config.offset_adu, adc_max=config.adc_max)

    def truth(self) -> TileTruth:
        """The ground truth so far (positions, sequences and every true parameter)."""
        config = self.config
        history = self._history
        return TileTruth(
            tile=self.tile, cycles=self.cycle, read_length=config.read_length,
            chemistry=config.chemistry.value, channel_names=list(config.channel_names),
            reference_names=list(self._reference.names),
            wells_total=self.geometry.wells_total, config=config.to_json_dict(),
            positions_px=self.positions.copy(), templates=self._templates.codes.copy(),
            brightness_e=self.brightness_e.copy(), template_record=self._templates.record,
            template_start=self._templates.start, template_reverse=self._templates.reverse,
            crosstalk=config.crosstalk_matrix,
            encoding=channel_encoding(config.chemistry).encoding.copy(),
            channel_offsets_px=self.channel_offsets_px.copy(),
            drift_px=np.array(history["drift_px"], dtype=float).reshape(-1, 2),
            **{k: np.array(history[k], dtype=float) for k in
               ("phasing", "prephasing", "decay_factor", "reagent_fraction",
                "temperature_error_c")},
        )

    # -- internals ----------------------------------------------------------------------------
    def _rng(self, purpose: int, cycle: int = 0, channel: int = 0) -> np.random.Generator:
        sequence = np.random.SeedSequence(self.config.seed,
                                          spawn_key=(self.tile, purpose, cycle, channel))
        return np.random.default_rng(sequence)

    def _place_clusters(self) -> TileGeometry:
        config = self.config
        rng = self._rng(_GEOMETRY)
        if config.layout == Layout.PATTERNED:
            return patterned_positions(rng, config.tile_width_px, config.tile_height_px,
                                       config.well_pitch_um, config.pixel_size_um,
                                       config.occupancy)
        return random_positions(rng, config.tile_width_px, config.tile_height_px,
                                config.density_per_mm2, config.pixel_size_um)

    def _drift(self, cycle: int) -> np.ndarray:
        """Stage offset of ``cycle``: slow linear drift plus repositioning jitter."""
        jitter = self._rng(_STAGE, cycle).normal(0.0, self.config.drift_jitter_px, 2)
        return np.asarray(self.config.drift_rate_px_per_cycle) * (cycle - 1) + jitter

    def _cluster_signal_e(self) -> np.ndarray:
        """(N, C) clean photo-electrons of each cluster in each channel this cycle."""
        positions, weights = self._window.emitting()
        codes = self._templates.codes
        signal = np.zeros((len(codes), self.config.n_channels), dtype=np.float32)
        for position, weight in zip(positions, weights, strict=True):
            signal += np.float32(weight) * self._base_to_channel[codes[:, position]]
        signal *= (self.brightness_e * self._decay).astype(np.float32)[:, None]
        return signal

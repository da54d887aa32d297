"""`TileSimulator`: one tile of a flow cell, imaged cycle by cycle."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial import cKDTree

from .artefacts import Bubbles, apply_psf_field, illumination_gain, plan_dust
from .chemistry import base_to_channel_matrix, channel_encoding
from .cluster_phasing import ClusterPhasingWindow
from .config import Layout, SimConfig
from .errors import CycleLimitError, SimConfigError
from .geometry import TileGeometry, patterned_positions, random_positions, tile_area_mm2
from .library import Library, LibraryConfig, draw_library
from .noise import draw_brightness, draw_cluster_noise, noise_correlation, noise_sd_fraction
from .optics import apply_psf, digitise, splat_bilinear
from .phasing import PhasingWindow
from .reference import Reference, Templates, bundled_phix_path, read_fasta, sample_templates
from .truth import TileTruth

if TYPE_CHECKING:
    from ..recipe import Read

# Incorporation efficiency falls off as exp(-0.5 (dT / width)^2) away from the set-point;
# assumed width (polymerase activity is a broad function of temperature).
INCORPORATION_TEMPERATURE_WIDTH_C = 10.0

# Seed-stream purposes: each random source has its own stream, so results do not depend on
# the order in which they are drawn.
_GEOMETRY, _TEMPLATES, _BRIGHTNESS, _STAGE, _NOISE = range(5)
_CLUSTER_NOISE, _TRAITS, _ARTEFACTS, _FOCUS, _DUPLICATES, _SIZES = range(5, 11)
G_CODE, T_CODE = 2, 3


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

    With a ``library`` and its ``reads`` (a read structure whose cycles add up to
    ``read_length``) the clusters are library molecules (`opensbs.sim.library`): each read
    sequences its own template (read 1, the i7 and i5 indexes, read 2 from the other strand)
    and starts in phase (a new primer: the phasing of one read does not carry into the next);
    ``sequences`` are the reads one after the other. Without, every cluster is one read of
    ``read_length`` bases of the reference.
    """

    def __init__(self, config: SimConfig, tile: int = 1,
                 reference: Reference | None = None, library: LibraryConfig | None = None,
                 reads: "Sequence[Read] | None" = None) -> None:
        if tile < 0:
            raise SimConfigError(f"tile number must be >= 0, got {tile}")
        self.config = config
        self.tile = tile
        self._reference = reference or read_fasta(config.reference or bundled_phix_path())
        self._window = PhasingWindow()
        self.geometry = self._place_clusters()
        n = len(self.geometry.positions_px)
        margin = self._window.template_margin
        hop = self._hop_sources(n) if config.duplicate_fraction > 0 and \
            config.layout == Layout.PATTERNED else None
        self.library: Library | None = None
        if library is None:
            templates = sample_templates(self._rng(_TEMPLATES), self._reference, n,
                                         config.read_length + margin)
            self._read_templates = [templates.codes]
            self._read_starts = [0]
        else:
            reads = tuple(reads or ())
            if sum(r.cycles for r in reads) != config.read_length:
                raise SimConfigError(f"the reads' cycles {[r.cycles for r in reads]} must add "
                                     f"up to read_length {config.read_length}")
            drawn = draw_library(library, n, reads, self._rng(_TEMPLATES), margin,
                                 self._reference, config.index_hopping_fraction)
            self.library = drawn if hop is None else _library_rows(drawn, hop)
            self._read_templates = list(self.library.reads)
            self._read_starts = list(np.cumsum([0] + [r.cycles for r in reads[:-1]]))
            templates = Templates(
                codes=np.concatenate([t[:, :r.cycles] for t, r in zip(
                    self.library.reads[:-1], reads[:-1], strict=True)]
                    + [self.library.reads[-1]], axis=1),
                record=self.library.record, start=self.library.insert_start,
                reverse=self.library.reverse)
        if hop is not None and library is None:
            templates = Templates(codes=templates.codes[hop], record=templates.record[hop],
                                  start=templates.start[hop], reverse=templates.reverse[hop])
            self._read_templates = [templates.codes]
        self._templates = templates
        self._cluster_phasing: ClusterPhasingWindow | None = None
        self._read = 0
        self._cycle = 0
        self.brightness_e = draw_brightness(
            self._rng(_BRIGHTNESS), n, config.brightness_model, config.brightness_median_e,
            config.brightness_sigma_log, config.brightness_shape)
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
        self._emitted_e = self.last_signal_e
        self.optical_gain: np.ndarray | None = None
        self._focus_sigma_px = config.psf_sigma_px
        self._setup_realism(n)

    # -- public state -------------------------------------------------------------------------
    @property
    def positions(self) -> np.ndarray:
        return self.geometry.positions_px

    @property
    def sequences(self) -> np.ndarray:
        return self._templates.codes[:, : self.config.read_length]

    @property
    def last_emitted_e(self) -> np.ndarray:
        """(N, C) what each cluster emitted in the last cycle: ``last_signal_e`` plus cluster
        noise, times the illumination and bubbles (``last_signal_e`` itself when those are off).
        """
        return self._emitted_e

    @property
    def cycle(self) -> int:
        """Cycles imaged so far (over all reads)."""
        return self._cycle

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.config.n_channels, self.config.tile_height_px, self.config.tile_width_px)

    # -- one cycle ----------------------------------------------------------------------------
    def next_cycle(self, conditions: CycleConditions | None = None,
                   noise: bool = True) -> np.ndarray:
        """Incorporate, image and digitise the next cycle: ``(C, H, W)`` uint16 counts.

        ``noise=False`` leaves out the camera's shot and read noise; the cluster noise of the
        realism effects is part of what the clusters emit and stays."""
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
        if self._read + 1 < len(self._read_starts) and \
                self._cycle == self._read_starts[self._read + 1]:
            self._start_read(self._read + 1)
        self._cycle += 1
        self._window.advance(phasing, prephasing)
        if self._cluster_phasing is not None:
            self._cluster_phasing.advance(phasing, prephasing)
        if self.cycle > 1:
            self._decay *= 1.0 - config.decay_per_cycle
            if self._cluster_decay is not None and self._decay_rate is not None:
                self._cluster_decay *= 1.0 - self._decay_rate
        self.last_signal_e = self._cluster_signal_e()
        self._emitted_e = self._emitted_signal_e()
        self._focus_sigma_px = self._focus_sigma()
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
        shift = drift + self.channel_offsets_px[channel]
        xy, signal = self.positions + shift, self._emitted_e[:, channel]
        if self._size_offsets is not None:  # each cluster as 3 points: larger ones spread more
            xy = (xy[:, None, :] + self._size_offsets).reshape(-1, 2)
            signal = np.repeat(signal / np.float32(3.0), 3)
        if self._dust is not None:
            xy = np.concatenate([xy, self._dust[0] + shift])
            signal = np.concatenate([signal, self._dust[1]])
        expected = splat_bilinear(xy, signal, config.tile_height_px, config.tile_width_px)
        if self._focus_effects:
            apply_psf_field(expected, self._focus_sigma_px, config.focus_tilt_px)
        else:
            apply_psf(expected, config.psf_sigma_px)
        expected += np.float32(config.background_e)
        if self._emitted_e is not self.last_signal_e:  # cluster noise may dip below zero
            np.maximum(expected, np.float32(0.0), out=expected)
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
            read_cycles=None if self.library is None else [
                r.shape[1] - self._window.template_margin for r in self.library.reads],
            sample=None if self.library is None else self.library.sample.copy(),
            insert_length=None if self.library is None else self.library.insert_length.copy(),
            index_source=None if self.library is None else self.library.index_source.copy(),
        )

    # -- internals ----------------------------------------------------------------------------
    def _start_read(self, read: int) -> None:
        """A new read: every molecule starts from its new primer, in phase."""
        self._read = read
        self._window = PhasingWindow()
        if self._cluster_phasing is not None:
            self._cluster_phasing = self._cluster_phasing.restarted(self._read_templates[read])

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
                                config.density_per_mm2, config.pixel_size_um,
                                config.cluster_exclusion_um)

    def _drift(self, cycle: int) -> np.ndarray:
        """Stage offset of ``cycle``: slow linear drift plus repositioning jitter."""
        jitter = self._rng(_STAGE, cycle).normal(0.0, self.config.drift_jitter_px, 2)
        return np.asarray(self.config.drift_rate_px_per_cycle) * (cycle - 1) + jitter

    def _cluster_signal_e(self) -> np.ndarray:
        """(N, C) clean photo-electrons of each cluster in each channel this cycle (with the
        dye effects: G-quenching and accumulated T, which are systematic, not noise)."""
        config = self.config
        codes = self._read_templates[self._read]
        n = len(codes)
        signal = np.zeros((n, config.n_channels), dtype=np.float32)
        t_shown = np.zeros(n, dtype=np.float32) if self._t_residual_e is not None else None
        if self._cluster_phasing is None:
            positions, shared = self._window.emitting()
            weights: list[np.ndarray | np.float32] = [np.float32(w) for w in shared]
        else:
            positions, matrix = self._cluster_phasing.emitting()
            weights = list(matrix.T)
        for position, weight in zip(positions, weights, strict=True):
            shown = codes[:, position]
            if config.g_quench > 0 and position > 0:
                weight = weight * np.where(codes[:, position - 1] == G_CODE,
                                           np.float32(1.0 - config.g_quench), np.float32(1.0))
            if np.ndim(weight):
                signal += weight[:, None] * self._base_to_channel[shown]  # type: ignore[index]
            else:
                signal += weight * self._base_to_channel[shown]
            if t_shown is not None:
                t_shown += weight * (shown == T_CODE)
        scale = self.brightness_e * (self._decay if self._cluster_decay is None
                                     else self._cluster_decay)
        signal *= scale.astype(np.float32)[:, None]
        if t_shown is not None and self._t_residual_e is not None:
            self._t_residual_e += np.float32(config.t_accumulation) * t_shown * \
                scale.astype(np.float32)
            signal += self._t_residual_e[:, None] * self._base_to_channel[T_CODE]
        return signal

    def _emitted_signal_e(self) -> np.ndarray:
        """(N, C) what the clusters emit towards the camera this cycle: the clean signal plus
        cluster noise, times the illumination and any bubble (the clean one when all off)."""
        config = self.config
        gain = self._illumination
        if self._bubbles is not None:
            bubble = self._bubbles.gain(self.positions, self.cycle, config.bubble_transmission)
            if bubble is not None:
                gain = bubble if gain is None else gain * bubble
        self.optical_gain = gain
        if self._noise_cholesky is None and self._offset_e is None and gain is None:
            return self.last_signal_e
        emitted = self.last_signal_e.copy()
        level_e = config.brightness_median_e * self._decay
        if self._noise_cholesky is not None:
            sd_e = noise_sd_fraction(config.cluster_noise, config.cluster_noise_growth_per_cycle,
                                     self.cycle) * level_e
            noise = draw_cluster_noise(self._rng(_CLUSTER_NOISE, self.cycle), len(emitted),
                                       sd_e, self._noise_cholesky, config.cluster_noise_dof)
            emitted += noise @ self._crosstalk
        if self._offset_e is not None:
            emitted += (self._offset_e * np.float32(self._decay))[:, None]
        if gain is not None:
            emitted *= gain[:, None]
        return emitted

    def _focus_sigma(self) -> float:
        """PSF sigma of this cycle: slow focus drift plus this cycle's autofocus error."""
        config = self.config
        if not self._focus_effects:
            return config.psf_sigma_px
        error = abs(float(self._rng(_FOCUS, self.cycle).normal(0.0, config.focus_jitter_px)))
        return config.psf_sigma_px + config.focus_drift_px_per_cycle * (self.cycle - 1) + error

    def _setup_realism(self, n: int) -> None:
        """Per-cluster traits and planned artefacts of the realism effects (None when off)."""
        config = self.config
        traits = self._rng(_TRAITS)
        multiplier = np.exp(traits.normal(0.0, config.phasing_spread_log, n)) \
            if config.phasing_spread_log > 0 else np.ones(n)
        decay_multiplier = np.exp(traits.normal(0.0, config.decay_spread_log, n)) \
            if config.decay_spread_log > 0 else None
        offset = traits.normal(0.0, config.cluster_offset_sd * config.brightness_median_e, n) \
            if config.cluster_offset_sd > 0 else None
        self._cluster_phasing = None
        if config.phasing_spread_log > 0 or config.ggc_phasing_factor > 0 or \
                config.homopolymer_phasing_factor > 0:
            self._cluster_phasing = ClusterPhasingWindow(
                self._read_templates[0], multiplier, config.ggc_phasing_factor,
                config.homopolymer_phasing_factor)
        self._decay_rate = None if decay_multiplier is None else np.minimum(
            config.decay_per_cycle * decay_multiplier, 0.5)
        self._cluster_decay = None if decay_multiplier is None else np.ones(n)
        self._offset_e = None if offset is None else offset.astype(np.float32)
        self._t_residual_e = np.zeros(n, dtype=np.float32) if config.t_accumulation > 0 \
            else None
        self._noise_cholesky = None
        self._crosstalk = config.crosstalk_matrix.astype(np.float32)
        if config.cluster_noise > 0:
            self._noise_cholesky = np.linalg.cholesky(
                noise_correlation(channel_encoding(config.chemistry).encoding.shape[1]))
        width, height = config.tile_width_px, config.tile_height_px
        self._illumination = illumination_gain(self.positions, width, height,
                                               config.edge_falloff) \
            if config.edge_falloff > 0 else None
        artefacts = self._rng(_ARTEFACTS)
        area_mm2 = tile_area_mm2(width, height, config.pixel_size_um)
        self._bubbles = Bubbles.plan(
            artefacts, config.read_length, config.bubbles_per_mm2_cycle * area_mm2,
            config.bubble_radius_px, config.bubble_lifetime_cycles, width, height) \
            if config.bubbles_per_mm2_cycle > 0 else None
        self._dust = plan_dust(artefacts, config.dust_per_mm2 * area_mm2,
                               config.dust_brightness_e, config.dust_radius_px, width, height) \
            if config.dust_per_mm2 > 0 else None
        self._size_offsets: np.ndarray | None = None
        if config.cluster_size_spread > 0:  # an equilateral triangle of radius `reach`,
            sizes = self._rng(_SIZES)  # randomly turned: isotropic, + reach²/2 per axis
            reach = np.abs(sizes.normal(0.0, config.cluster_size_spread, n)) * \
                config.psf_sigma_px * np.sqrt(2.0)
            angle = sizes.uniform(0.0, 2.0 * np.pi, n)[:, None] + \
                np.array([0.0, 2.0, 4.0]) * np.pi / 3.0
            self._size_offsets = np.stack([np.cos(angle), np.sin(angle)], axis=2) * \
                reach[:, None, None]
        self._focus_effects = bool(config.focus_drift_px_per_cycle or config.focus_jitter_px
                                   or config.focus_tilt_px)

    def _hop_sources(self, n: int) -> np.ndarray:
        """Patterned flow cells: a fraction of the wells were seeded by a neighbouring well's
        molecule (pad hopping), so they carry that well's template. Row i's molecule."""
        rng = self._rng(_DUPLICATES)
        positions = self.geometry.positions_px
        source = np.arange(n)
        if n < 2:
            return source
        hop = np.flatnonzero(rng.random(n) < self.config.duplicate_fraction)
        _, nearest = cKDTree(positions).query(positions[hop], k=2)
        source[hop] = nearest[:, 1]
        return source


def _library_rows(library: Library, rows: np.ndarray) -> Library:
    """`library` with cluster i carrying the molecule of cluster rows[i]."""
    return Library(sample=library.sample[rows], record=library.record[rows],
                   insert_start=library.insert_start[rows],
                   insert_length=library.insert_length[rows], reverse=library.reverse[rows],
                   reads=tuple(r[rows] for r in library.reads),
                   index_errors=tuple(e[rows] for e in library.index_errors),
                   index_source=library.index_source[rows])

"""The incremental base caller: cycle images (or intensities) in, finalised calls out.

``IntensityCaller`` calls from extracted intensities (clusters x channels per cycle);
``TileBasecaller`` adds the image stages (template, registration, extraction) in front of it;
``call_intensities`` calls a whole (clusters x cycles x channels) array at once.

Two ways of calling (``BasecallConfig.whole_read``):

* live (default for the incremental callers): decision feedback over a look-ahead of at most
  ``max_lookahead`` cycles (``phasing_correction``); what a cycle emits is final.
* whole read (``call_intensities``, ``opensbs basecall``): every cycle is kept until
  ``finish()``, then the read model is fitted and decoded over the whole read
  (``whole_read``: linear MMSE interference cancellation, then a forward-backward pass over
  the phasing trellis); ``add_cycle`` returns nothing until then.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .chastity_filter import (
    CHASTITY_THRESHOLD,
    FILTER_CYCLES,
    MAX_FAILURES,
    ChastityFilter,
    passing_filter,
)
from .chemistry import BASES, NO_CALL, Chemistry, chemistry_for_channels
from .crosstalk import ColourModel, estimate_colour_model
from .errors import BasecallError, ShapeError
from .extraction import Extractor, estimate_kernel_sigma
from .phasing import PhasingEstimate
from .phasing_correction import CorrectedCycle, PhasingCorrector
from .quality import (
    DEFAULT_MAX_QUALITY,
    MAX_QUALITY,
    MIN_QUALITY,
    Predictors,
    QualityTable,
    four_bin_qualities,
    shipped_table_path,
)
from .registration import Registrar
from .template import Template, build_template
from .timing import StageTimes
from .unmixing import Unmixer
from .validation import check_cycle_intensities, check_intensities
from .whole_read import ReadCalls, call_whole_read

MAX_REPORTED_Q = 50


@dataclass(frozen=True)
class BasecallConfig:
    """Settings of the caller (defaults follow Illumina's RTA where it applies)."""

    template_cycles: int = 4
    colour_model_cycles: int = 4
    max_lookahead: int = 4
    filter_cycles: int = FILTER_CYCLES
    chastity_threshold: float = CHASTITY_THRESHOLD
    max_chastity_failures: int = MAX_FAILURES
    registration_patch_px: int = 256
    unmix_overlaps: bool = True
    whole_read: bool = False  # True: call at finish() from the whole read (offline)
    # Reported qualities are capped here. The offline commands and ``call_intensities`` use
    # DEFAULT_MAX_QUALITY (Q41); live runs keep the table's range until the InterOp writer
    # declares its Q bins (the interop library reads <= 7 distinct Q values in v4 Q metrics as
    # legacy-binned data and under-counts the yield).
    max_quality: int = MAX_QUALITY
    four_bin_qualities: bool = False  # report 2/12/23/37 only (current Illumina binning)


@dataclass(frozen=True)
class KnownParameters:
    """Parameters given instead of estimated (the oracle caller, or a re-run with known values).

    ``positions_px`` (n, 2) in the frame of ``shift_at``: cluster i appears in channel c at
    cycle t at ``positions_px[i] + shift_at(t)[c]`` (``shift_at`` returns (channels, 2)).
    ``colour_matrix`` fixes the normalised crosstalk (scale and offsets are still fitted).
    """

    positions_px: np.ndarray | None = None
    shift_at: Callable[[int], np.ndarray] | None = None
    colour_matrix: np.ndarray | None = None
    rates: PhasingEstimate | None = None


@dataclass(frozen=True)
class CycleMetrics:
    """Per-cycle figures for InterOp-style metrics."""

    mean_intensity: np.ndarray  # (channels,) mean raw background-corrected intensity
    p90_intensity: np.ndarray  # (channels,) 90th percentile raw intensity
    called_intensity: np.ndarray  # (4,) mean called signal per base, raw intensity units
    base_counts: np.ndarray  # (5,) calls of A, C, G, T, N
    snr: float  # mean called signal / rms residual around the called signature
    no_call_percent: float  # % of clusters called N this cycle
    q_histogram: np.ndarray  # (51,) counts of Q0..Q50
    phasing: float  # current estimate (fraction per cycle)
    prephasing: float
    shifts_px: np.ndarray | None  # (channels, 2) registration of this cycle (images only)


@dataclass(frozen=True)
class CycleCalls:
    """The final calls of one cycle of one tile."""

    cycle: int  # 1-based
    bases: np.ndarray  # (n,) uint8: 0..3 = A, C, G, T; 4 = N (no call)
    qualities: np.ndarray  # (n,) uint8 Phred; 2 for N
    chastity: np.ndarray  # (n,) float32
    predictors: Predictors  # what the quality table was looked up with
    metrics: CycleMetrics


@dataclass
class _ArrivalStats:
    mean: np.ndarray
    p90: np.ndarray
    shifts: np.ndarray | None = None


class IntensityCaller:
    """Incremental calling from per-cycle raw intensities (clusters, channels)."""

    def __init__(self, chemistry: Chemistry, config: BasecallConfig | None = None,
                 known: KnownParameters | None = None,
                 quality_table: QualityTable | None = None,
                 times: StageTimes | None = None) -> None:
        self.chemistry = chemistry
        self.times = times or StageTimes()
        self.config = config or BasecallConfig()
        self.known = known or KnownParameters()
        self.quality_table = quality_table or QualityTable.load(shipped_table_path(chemistry.name))
        self.colour_model: ColourModel | None = None
        self._buffer: list[np.ndarray] = []
        self._arrivals: dict[int, _ArrivalStats] = {}
        self._corrector: PhasingCorrector | None = None
        self._filter: ChastityFilter | None = None
        self._whole_read: ReadCalls | None = None
        self._corrected: dict[int, np.ndarray] = {}
        self.cycles_added = 0
        self.n_clusters: int | None = None

    @property
    def rates(self) -> PhasingEstimate:
        """Current phasing/prephasing estimate (or the known rates)."""
        if self._whole_read is not None:
            return self._whole_read.model.rates
        return self._corrector.rates if self._corrector else PhasingEstimate(0.0, 0.0)

    @property
    def passing_filter(self) -> np.ndarray | None:
        """(n,) bool once the chastity filter is final, else None."""
        return None if self._filter is None else self._filter.passing

    def add_cycle(self, intensities: np.ndarray, shifts_px: np.ndarray | None = None
                  ) -> list[CycleCalls]:
        """Add the next cycle's raw intensities; returns the cycles finalised by it."""
        y = check_cycle_intensities(intensities, self.chemistry.n_channels, self.cycles_added + 1)
        if self.n_clusters is None:
            self.n_clusters = y.shape[0]
        if y.shape[0] != self.n_clusters:
            raise ShapeError(f"expected {self.n_clusters} clusters, got {y.shape[0]}")
        self.cycles_added += 1
        self._arrivals[self.cycles_added] = _ArrivalStats(
            y.mean(axis=0), np.percentile(y, 90, axis=0), shifts_px)
        if self._corrector is None:
            self._buffer.append(y)
            if self.config.whole_read or len(self._buffer) < max(
                    self.config.colour_model_cycles, 2):
                return []
            return self._start()
        assert self.colour_model is not None
        with self.times.measure("crosstalk correction"):
            corrected = self.colour_model.correct(y)
        self._corrected[self.cycles_added] = corrected
        with self.times.measure("phasing correction + calls"):
            finalised = self._corrector.push(corrected)
        return self._emit(finalised)

    def finish(self) -> list[CycleCalls]:
        """End of the read: finalise every remaining cycle and the filter."""
        if self.config.whole_read:
            return self._finish_whole_read()
        out: list[CycleCalls] = []
        if self._corrector is None:
            if not self._buffer:
                return []
            out = self._start()
        assert self._corrector is not None and self._filter is not None
        with self.times.measure("phasing correction + calls"):
            finalised = self._corrector.flush()
        out += self._emit(finalised)
        self._filter.finalise()
        return out

    def _colour_corrected(self, stack: np.ndarray) -> np.ndarray:
        if stack.shape[1] < 2:
            raise BasecallError("calling needs at least 2 cycles")
        with self.times.measure("colour model estimation"):
            self.colour_model = estimate_colour_model(
                stack[:, : max(self.config.colour_model_cycles, 2)], self.chemistry,
                normalised=self.known.colour_matrix)
            return self.colour_model.correct(stack)

    def _start(self) -> list[CycleCalls]:
        stack = np.stack(self._buffer, axis=1)
        corrected = self._colour_corrected(stack)
        top = np.sort(corrected.max(axis=2), axis=1)
        amplitude = top[:, top.shape[1] // 2:].mean(axis=1)
        floor = 1e-3 * max(float(np.median(amplitude)), 1e-6)
        amplitude = np.maximum(amplitude, floor)
        self._corrector = PhasingCorrector(
            self.chemistry, amplitude, rates=self.known.rates,
            estimate=self.known.rates is None, max_lookahead=self.config.max_lookahead)
        self._filter = ChastityFilter(amplitude.size, self.config.filter_cycles,
                                      self.config.chastity_threshold,
                                      self.config.max_chastity_failures)
        out: list[CycleCalls] = []
        for cycle in range(stack.shape[1]):
            self._corrected[cycle + 1] = corrected[:, cycle]
            with self.times.measure("phasing correction + calls"):
                finalised = self._corrector.push(corrected[:, cycle])
            out += self._emit(finalised)
        self._buffer = []
        return out

    def _finish_whole_read(self) -> list[CycleCalls]:
        if not self._buffer:
            return []
        stack = np.stack(self._buffer, axis=1)
        self._buffer = []
        corrected = self._colour_corrected(stack)
        with self.times.measure("phasing correction + calls"):
            read = call_whole_read(corrected, self.chemistry, rates=self.known.rates)
        self._whole_read = read
        chastity = read.chastity
        passing = passing_filter(chastity, self.config.filter_cycles,
                                 self.config.chastity_threshold,
                                 self.config.max_chastity_failures)
        self._filter = ChastityFilter(chastity.shape[0], self.config.filter_cycles)
        self._filter.passing = passing
        edge = np.ones((chastity.shape[0], 1), np.float32)
        before = np.concatenate([edge, chastity[:, :-1]], axis=1)
        after = np.concatenate([chastity[:, 1:], edge], axis=1)
        neighbour = np.minimum(before, after)
        out = []
        with self.times.measure("quality + filter + metrics"):
            for index in range(chastity.shape[1]):
                cycle = index + 1
                bases = read.bases[:, index]
                predictors = Predictors(chastity[:, index], neighbour[:, index],
                                        read.signal_ratio[:, index],
                                        np.full(bases.shape, cycle))
                qualities = self._qualities(predictors, bases)
                expected = read.amplitude * np.float32(read.model.gain[index])
                out.append(CycleCalls(cycle, bases, qualities, chastity[:, index], predictors,
                                      self._metrics(cycle, corrected[:, index], bases,
                                                    read.signal_ratio[:, index] * expected,
                                                    qualities)))
        return out

    def _qualities(self, predictors: Predictors, bases: np.ndarray) -> np.ndarray:
        qualities = np.minimum(self.quality_table.lookup(predictors), self.config.max_quality)
        qualities[bases == NO_CALL] = MIN_QUALITY
        if self.config.four_bin_qualities:
            qualities = four_bin_qualities(qualities)
        return qualities.astype(np.uint8)

    def _emit(self, cycles: Iterable[CorrectedCycle]) -> list[CycleCalls]:
        with self.times.measure("quality + filter + metrics"):
            return self._qualify(cycles)

    def _qualify(self, cycles: Iterable[CorrectedCycle]) -> list[CycleCalls]:
        assert self._corrector is not None and self._filter is not None
        out = []
        for item in cycles:
            calls = item.calls
            predictors = Predictors(
                calls.chastity, np.minimum(item.previous_chastity, item.next_chastity),
                calls.signal_ratio, np.full(calls.chastity.shape, item.cycle))
            qualities = self._qualities(predictors, calls.bases)
            self._filter.update(calls.chastity)
            signal = calls.signal_ratio * self._corrector.amplitude
            metrics = self._metrics(item.cycle, self._corrected.pop(item.cycle), calls.bases,
                                    signal, qualities)
            out.append(CycleCalls(item.cycle, calls.bases, qualities, calls.chastity,
                                  predictors, metrics))
        return out

    def _metrics(self, cycle: int, corrected: np.ndarray, bases: np.ndarray,
                 signal: np.ndarray, qualities: np.ndarray) -> CycleMetrics:
        """Figures of one cycle; ``signal`` (n,) is each call's signal in corrected units."""
        assert self.colour_model is not None
        arrival = self._arrivals.pop(cycle)
        counts = np.bincount(bases, minlength=5)[:5]
        histogram = np.bincount(np.minimum(qualities, MAX_REPORTED_Q),
                                minlength=MAX_REPORTED_Q + 1)
        return CycleMetrics(
            mean_intensity=arrival.mean, p90_intensity=arrival.p90,
            called_intensity=called_intensity_raw(signal, bases, self.colour_model,
                                                  self.chemistry),
            base_counts=counts,
            snr=cycle_snr(corrected, bases, signal, self.chemistry),
            no_call_percent=100.0 * float(counts[NO_CALL]) / max(bases.size, 1),
            q_histogram=histogram, phasing=self.rates.phasing,
            prephasing=self.rates.prephasing, shifts_px=arrival.shifts)


def called_intensity_raw(signal: np.ndarray, bases: np.ndarray, colour_model: ColourModel,
                         chemistry: Chemistry) -> np.ndarray:
    """(4,) mean called signal per base in raw intensity units: the corrected signal times
    the raw response of the channels the base lights (the colour matrix diagonal)."""
    signature = chemistry.signature
    response = (signature * np.diag(colour_model.matrix)[:, None]).sum(axis=0) / np.maximum(
        signature.sum(axis=0), 1.0)
    out = np.zeros(len(BASES))
    for base in range(len(BASES)):
        called = bases == base
        if called.any():
            out[base] = float(signal[called].mean()) * float(response[base])
    return out


def cycle_snr(corrected: np.ndarray, bases: np.ndarray, signal: np.ndarray,
              chemistry: Chemistry) -> float:
    """Mean called signal over the rms of what is left once the called base's signature
    (scaled by the call's signal) is removed from the corrected intensities."""
    called = bases < NO_CALL
    if not called.any():
        return 0.0
    signature = chemistry.signature.T.astype(np.float32)[bases[called]]  # (m, channels)
    norm = np.maximum((signature**2).sum(axis=1), 1.0)
    residual = corrected[called] - signature * (signal[called] / norm)[:, None]
    rms = float(np.sqrt(np.mean(residual**2)))
    lit = chemistry.signature.sum(axis=0)[bases[called]] > 0
    mean_signal = float(np.mean(signal[called][lit])) if lit.any() else 0.0
    return mean_signal / rms if rms > 0 else 0.0


class TileBasecaller:
    """Incremental base caller of one tile, fed one cycle of images at a time.

    ``add_cycle(images)`` takes (channels, H, W) images of the next cycle and returns the cycles
    it finalised (a few cycles' delay; the first cycles come out once the template is built).
    Memory is bounded: the template cycles' images, then only per-cluster state.

    ``read_cycles`` (the cycles of each read; default one read): cluster positions come from
    the first read's template and hold for the run; each read has its own intensity caller,
    so its phasing starts afresh and its rates are estimated from its own cycles
    (``read_rates``), with the colour matrix's shape carried over from the first read (the
    dyes and optics do not change; index reads are too uniform to fit it). Cycles are
    numbered over the run; the chastity filter is the first read's (as RTA's).
    """

    def __init__(self, chemistry: Chemistry | None = None, config: BasecallConfig | None = None,
                 known: KnownParameters | None = None,
                 quality_table: QualityTable | None = None,
                 read_cycles: Sequence[int] | None = None) -> None:
        self.config = config or BasecallConfig()
        self.known = known or KnownParameters()
        self.chemistry = chemistry
        self._quality_table = quality_table
        self._read_cycles = tuple(read_cycles or ())
        if any(c < 1 for c in self._read_cycles):
            raise BasecallError(f"read cycles must be >= 1, got {list(self._read_cycles)}")
        self._callers: list[IntensityCaller] = []  # one per read begun
        self._images: list[np.ndarray] = []
        self.template: Template | None = None
        self._registrar: Registrar | None = None
        self._positions: np.ndarray | None = None
        self._unmixer: Unmixer | None = None
        self._extractor: Extractor | None = None
        self.kernel_sigma_px: float | None = None
        self.times = StageTimes()
        self.cycles_added = 0

    @property
    def _caller(self) -> IntensityCaller | None:
        return self._callers[-1] if self._callers else None

    @property
    def positions(self) -> np.ndarray | None:
        """(n, 2) cluster positions (x, y pixels, frame of cycle 1) once the template exists."""
        return self._positions

    @property
    def passing_filter(self) -> np.ndarray | None:
        return self._callers[0].passing_filter if self._callers else None

    @property
    def rates(self) -> PhasingEstimate:
        """The first read's phasing estimate (``read_rates``: every read's)."""
        return self._callers[0].rates if self._callers else PhasingEstimate(0.0, 0.0)

    @property
    def read_rates(self) -> list[PhasingEstimate]:
        """Phasing estimate of each read begun so far."""
        return [caller.rates for caller in self._callers]

    @property
    def colour_model(self) -> ColourModel | None:
        return None if self._caller is None else self._caller.colour_model

    def add_cycle(self, images: np.ndarray) -> list[CycleCalls]:
        """Process the next cycle's (channels, H, W) images."""
        imgs = np.asarray(images)
        if imgs.ndim != 3:
            raise ShapeError(f"images must be (channels, H, W), got shape {imgs.shape}")
        if self.chemistry is None:
            self.chemistry = chemistry_for_channels(imgs.shape[0])
        if imgs.shape[0] != self.chemistry.n_channels:
            raise ShapeError(f"{self.chemistry.name} needs {self.chemistry.n_channels} channels,"
                             f" got {imgs.shape[0]}")
        if self._images and imgs.shape != self._images[0].shape:
            raise ShapeError(f"image shape changed from {self._images[0].shape} to {imgs.shape}")
        if self._read_cycles and self.cycles_added >= sum(self._read_cycles):
            raise BasecallError(f"all {sum(self._read_cycles)} cycles of the reads were added")
        self.cycles_added += 1
        if self._caller is None:
            self._images.append(imgs)
            if len(self._images) < min(self.config.template_cycles, self._first_read_cycles):
                return []
            return self._start()
        out: list[CycleCalls] = []
        if self.cycles_added in self._read_starts()[len(self._callers):]:
            out = self._next_read()
        return out + self._process(imgs, self.cycles_added)

    def finish(self) -> list[CycleCalls]:
        """End of the last read: flush the look-ahead and fix the filter."""
        out: list[CycleCalls] = []
        if self._caller is None:
            if not self._images:
                return []
            out = self._start()
        assert self._caller is not None
        return out + self._numbered(self._caller.finish())

    @property
    def _first_read_cycles(self) -> int:
        return self._read_cycles[0] if self._read_cycles else self.config.template_cycles

    def _read_starts(self) -> list[int]:
        """First run cycle (1-based) of each read."""
        starts, first = [], 1
        for cycles in self._read_cycles:
            starts.append(first)
            first += cycles
        return starts or [1]

    def _numbered(self, calls: list[CycleCalls]) -> list[CycleCalls]:
        """The current read's calls with run cycle numbers."""
        offset = self._read_starts()[len(self._callers) - 1] - 1
        if not offset:
            return calls
        return [replace(c, cycle=c.cycle + offset) for c in calls]

    def _new_caller(self) -> IntensityCaller:
        assert self.chemistry is not None
        known = self.known
        if self._callers and known.colour_matrix is None and \
                self._callers[0].colour_model is not None:
            known = replace(known, colour_matrix=self._callers[0].colour_model.normalised())
        return IntensityCaller(self.chemistry, self.config, known, self._quality_table,
                               self.times)

    def _next_read(self) -> list[CycleCalls]:
        """The read just ended: finalise it, then start the next one's caller."""
        assert self._caller is not None
        out = self._numbered(self._caller.finish())
        self._callers.append(self._new_caller())
        return out

    def _start(self) -> list[CycleCalls]:
        assert self.chemistry is not None
        self._callers.append(self._new_caller())
        with self.times.measure("template + overlap matrix"):
            self._build_template()
        out: list[CycleCalls] = []
        for cycle, imgs in enumerate(self._images, start=1):
            out += self._process(imgs, cycle)
        self._images = []
        return out

    def _build_template(self) -> None:
        assert self.chemistry is not None
        if self.known.positions_px is None:
            self.template = build_template(self._images, self.chemistry)
            self._positions = self.template.positions_px
            self._registrar = Registrar(self.template.image, self.config.registration_patch_px)
        else:
            self._positions = np.asarray(self.known.positions_px, dtype=np.float64)
        self._extractor = Extractor(self._positions, self._images[0].shape[1:])
        if self.config.unmix_overlaps:
            first = self._images[0]
            self.kernel_sigma_px = estimate_kernel_sigma(first, self._positions,
                                                         self._shifts(first, 1))
            self._unmixer = Unmixer(self._positions, self.kernel_sigma_px)

    def _shifts(self, images: np.ndarray, cycle: int) -> np.ndarray:
        if self.known.shift_at is not None:
            return np.asarray(self.known.shift_at(cycle), dtype=np.float64)
        if self.template is not None and cycle <= self.template.shifts_px.shape[0]:
            return self.template.shifts_px[cycle - 1]
        assert self._registrar is not None
        return np.array([self._registrar.shift_px(channel) for channel in images])

    def _process(self, images: np.ndarray, cycle: int) -> list[CycleCalls]:
        assert self._caller is not None and self._extractor is not None
        with self.times.measure("registration"):
            shifts = self._shifts(images, cycle)
        with self.times.measure("extraction + background"):
            intensities = self._extractor.extract(images, shifts)
        if self._unmixer is not None:
            with self.times.measure("overlap unmixing"):
                intensities = self._unmixer.unmix(intensities)
        return self._numbered(self._caller.add_cycle(intensities, shifts))


@dataclass
class IntensityCalls:
    """Calls of a whole intensity array."""

    bases: np.ndarray  # (n, cycles) uint8, 4 = N
    qualities: np.ndarray  # (n, cycles) uint8
    passing_filter: np.ndarray  # (n,) bool
    chastity: np.ndarray  # (n, cycles) float32
    rates: PhasingEstimate
    colour_model: ColourModel | None
    metrics: list[CycleMetrics] = field(default_factory=list)


def call_intensities(intensities: np.ndarray, chemistry: Chemistry | None = None,
                     config: BasecallConfig | None = None,
                     known: KnownParameters | None = None,
                     quality_table: QualityTable | None = None) -> IntensityCalls:
    """Call (clusters, cycles, channels) raw background-corrected intensities (default: over
    the whole read, qualities capped at Q41)."""
    shape = np.shape(intensities)
    if len(shape) != 3:
        raise ShapeError(f"intensities must be (clusters, cycles, channels), got {shape}")
    chem = chemistry or chemistry_for_channels(shape[2])
    if chem.n_channels != shape[2]:
        raise ShapeError(f"{chem.name} needs {chem.n_channels} channels, got {shape[2]}")
    array = check_intensities(intensities)
    settings = config or BasecallConfig(whole_read=True, max_quality=DEFAULT_MAX_QUALITY)
    caller = IntensityCaller(chem, settings, known, quality_table)
    results: list[CycleCalls] = []
    for cycle in range(array.shape[1]):
        results += caller.add_cycle(array[:, cycle])
    results += caller.finish()
    return collect(results, caller.passing_filter, caller.rates, caller.colour_model)


def collect(results: list[CycleCalls], passing: np.ndarray | None, rates: PhasingEstimate,
            colour_model: ColourModel | None) -> IntensityCalls:
    """Stack per-cycle results (in cycle order) into whole-read arrays."""
    results = sorted(results, key=lambda r: r.cycle)
    if passing is None:
        raise BasecallError("the chastity filter is not final: call finish() first")
    return IntensityCalls(
        np.stack([r.bases for r in results], axis=1),
        np.stack([r.qualities for r in results], axis=1),
        passing,
        np.stack([r.chastity for r in results], axis=1),
        rates, colour_model, [r.metrics for r in results])

"""The recipe model: read structure, flow-cell tiles, imaging and the per-cycle chemistry steps.

Every number has its unit in its name and an allowed range declared on the field; the loader
(`opensbs.recipe.load`) turns a violated range into a `RecipeError` naming line and field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FOUR_COLOUR_CHANNELS = ("A", "C", "G", "T")
MIN_TILE_PX = 64
TWO_COLOUR_CHANNELS = ("green", "blue")


class _Strict(BaseModel):
    """No unknown keys, no coercion (`port = true` is not port 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class RunSection(_Strict):
    """Run identity and chemistry."""

    name: str = Field(default="opensbs-run", min_length=1, max_length=64, pattern=r"^[\w.-]+$")
    chemistry: Literal["four-colour", "two-colour"] = "four-colour"
    instrument: str = Field(default="OPENSBS1", min_length=1, max_length=32, pattern=r"^\w+$")
    flowcell_id: str = Field(default="OSBS0001", min_length=1, max_length=32, pattern=r"^\w+$")
    # base calls as one BCL per tile and cycle, or NovaSeq-style CBCL (one per surface and
    # cycle, all its tiles in gzip blocks)
    bcl_format: Literal["bcl", "cbcl"] = "bcl"
    # sample sheet of the pool (copied into the run folder as SampleSheet.csv); a relative
    # path is taken from the recipe file's folder
    sample_sheet: str | None = Field(default=None, min_length=1, max_length=4096)


class Read(_Strict):
    """One read of the read structure (a template read or an index read)."""

    cycles: int = Field(ge=1, le=600)
    index: bool = False
    # the paired-end turnaround (the recipe's [[turnaround]] steps) runs before this read
    turnaround: bool = False


_READ_STRUCTURE = re.compile(r"(\d+)([TB])")


def parse_read_structure(text: str) -> tuple[Read, ...]:
    """Reads of a Picard-style read structure: `151T10B10B151T` is a 151-cycle template
    read, two 10-cycle index (barcode) reads, a 151-cycle template read."""
    reads, position = [], 0
    for match in _READ_STRUCTURE.finditer(text):
        if match.start() != position:
            break
        reads.append(Read(cycles=int(match.group(1)), index=match.group(2) == "B"))
        position = match.end()
    if not reads or position != len(text):
        raise ValueError(f"read structure {text!r}: expected <cycles>T or <cycles>B segments "
                         "such as 151T10B10B151T")
    return tuple(reads)


def read_structure(reads: Sequence[Read]) -> str:
    """The Picard read structure of `reads` (`151T10B10B151T`)."""
    return "".join(f"{r.cycles}{'B' if r.index else 'T'}" for r in reads)


class Flowcell(_Strict):
    """Imaged area: one lane, one surface and swath, `tiles` tiles of width x height pixels."""

    lane: int = Field(default=1, ge=1, le=8)
    surface: int = Field(default=1, ge=1, le=2)
    swath: int = Field(default=1, ge=1, le=6)
    tiles: int = Field(default=2, ge=1, le=99)
    # the capture path streams 4-pixel words and pairs of rows; the base caller needs room
    # around clusters to register and fit spots
    width_px: int = Field(default=1024, ge=MIN_TILE_PX, le=8192, multiple_of=4)
    height_px: int = Field(default=1024, ge=MIN_TILE_PX, le=8192, multiple_of=2)

    def tile_area_mm2(self, pixel_size_um: float) -> float:
        """Flow-cell area imaged by one tile."""
        return self.width_px * self.height_px * (pixel_size_um * 1e-3) ** 2

    def tile_numbers(self) -> list[int]:
        """Illumina four-digit tile numbers (surface, swath, two-digit tile): 1101, 1102, ..."""
        return [self.surface * 1000 + self.swath * 100 + t for t in range(1, self.tiles + 1)]


class Channel(_Strict):
    """One imaging channel: dye name, exposure and laser power."""

    name: str = Field(min_length=1, max_length=16)
    exposure_us: int = Field(ge=10, le=1_000_000)
    laser_mw: int = Field(ge=0, le=500)


class Imaging(_Strict):
    """Camera settings and the channels imaged every cycle, in order."""

    bit_depth: int = Field(default=12, ge=10, le=12, multiple_of=2)  # the capture path's
    pixel_size_um: float = Field(default=0.325, gt=0.01, le=20.0)  # at the flow cell
    channels: list[Channel] = Field(min_length=1, max_length=4)


class FluidicsStep(_Strict):
    """Select a valve port and pump a volume through the flow cell at a flow rate."""

    step: Literal["fluidics"]
    what: str = ""
    port: int = Field(ge=0, le=23)  # as the valve numbers its ports (the last is waste)
    volume_nl: int = Field(ge=1, le=5_000_000)
    flow_nl_per_s: int = Field(ge=10, le=100_000)


class ThermalStep(_Strict):
    """Bring the flow cell to a set-point, wait until within tolerance, then hold."""

    step: Literal["thermal"]
    setpoint_mc: int = Field(ge=4_000, le=95_000)
    hold_ms: int = Field(ge=0, le=3_600_000)
    tolerance_mc: int = Field(default=500, ge=50, le=5_000)
    timeout_ms: int = Field(default=300_000, ge=1_000, le=3_600_000)


class WaitStep(_Strict):
    """Do nothing for a while (incubation)."""

    step: Literal["wait"]
    duration_ms: int = Field(ge=0, le=3_600_000)


class ImageStep(_Strict):
    """Image every tile in every channel (the controller fires the trigger program)."""

    step: Literal["image"]


Step = Annotated[FluidicsStep | ThermalStep | WaitStep | ImageStep, Field(discriminator="step")]
TurnaroundStep = Annotated[FluidicsStep | ThermalStep | WaitStep, Field(discriminator="step")]


class PoolSampleSection(_Strict):
    """One sample of the simulated pool: indexes as the sample sheet writes them, its share."""

    sample_id: str = Field(min_length=1, max_length=100, pattern=r"^[\w-]+$")
    index1: str = Field(default="", max_length=24, pattern=r"^[ACGT]*$")
    index2: str = Field(default="", max_length=24, pattern=r"^[ACGT]*$")
    fraction: float = Field(ge=0.0, le=1.0)


class LibrarySection(_Strict):
    """The simulated library behind `--sim` (opensbs.sim.library): inserts from a reference
    (PhiX when none is named; a relative path is taken from the recipe's folder), adapters,
    the pool and its index error rate."""

    reference_fasta: str | None = Field(default=None, min_length=1, max_length=4096)
    insert_mean_bp: float = Field(default=350.0, ge=1.0, le=100_000.0)
    insert_sd_bp: float = Field(default=80.0, ge=0.0, le=100_000.0)
    adapter_read1: str = Field(default="AGATCGGAAGAGCACACGTCTGAACTCCAGTCA", max_length=64,
                               pattern=r"^[ACGT]*$")
    adapter_read2: str = Field(default="AGATCGGAAGAGCGTCGTGTAGGGAAAGAGTGT", max_length=64,
                               pattern=r"^[ACGT]*$")
    index_error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    samples: list[PoolSampleSection] = Field(default_factory=list, max_length=1536)

    @model_validator(mode="after")
    def _check_pool(self) -> LibrarySection:
        total = sum(s.fraction for s in self.samples)
        if total > 1.0 + 1e-9:
            raise ValueError(f"library.samples: the fractions add up to {total:.6g} > 1")
        seen: set[str] = set()
        for sample in self.samples:
            if sample.sample_id in seen:
                raise ValueError(f"library.samples: duplicate sample_id {sample.sample_id!r}")
            seen.add(sample.sample_id)
        return self


class SimSection(_Strict):
    """Virtual-instrument settings used with `--sim`."""

    clock_speedup: float = Field(default=1000.0, ge=1.0, le=1e6)
    # Simulator preset (opensbs.sim.presets; keep these names in step with its PRESETS).
    preset: Literal["gentle", "miseq-v3", "novaseq-x", "prototype"] = "gentle"


class Recipe(_Strict):
    """A whole run: what to sequence and how to do one cycle of chemistry."""

    run: RunSection = RunSection()
    reads: list[Read] = Field(min_length=1, max_length=4)
    flowcell: Flowcell = Flowcell()
    imaging: Imaging
    cycle: list[Step] = Field(min_length=1, max_length=64)
    # paired-end turnaround: run once before the read marked `turnaround = true`
    turnaround: list[TurnaroundStep] = Field(default_factory=list, max_length=64)
    library: LibrarySection | None = None  # --sim: the simulated library (None: PhiX reads)
    sim: SimSection = SimSection()

    @model_validator(mode="after")
    def _check_consistency(self) -> Recipe:
        images = sum(isinstance(s, ImageStep) for s in self.cycle)
        if images != 1:
            raise ValueError(f"a cycle must contain exactly one image step, found {images}")
        names = tuple(c.name for c in self.imaging.channels)
        expected = FOUR_COLOUR_CHANNELS if self.run.chemistry == "four-colour" else (
            TWO_COLOUR_CHANNELS)
        if len(names) != len(expected):
            raise ValueError(
                f"{self.run.chemistry} chemistry needs {len(expected)} channels "
                f"{list(expected)}, found {len(names)} {list(names)}")
        if names != expected:
            raise ValueError(
                f"imaging.channels: {self.run.chemistry} chemistry images the channels "
                f"{list(expected)} in this order (the base caller reads channel i as "
                f"{list(expected)}[i]), found {list(names)}")
        self._check_reads()
        return self

    def _check_reads(self) -> None:
        turns = [n for n, r in enumerate(self.reads, start=1) if r.turnaround]
        if len(turns) > 1:
            raise ValueError(f"reads: the paired-end turnaround is marked before reads {turns};"
                             " a run turns around once")
        if turns and turns[0] == 1:
            raise ValueError("reads[0].turnaround: the turnaround comes between reads, not "
                             "before the first")
        if turns and not self.turnaround:
            raise ValueError(f"reads[{turns[0] - 1}].turnaround: no [[turnaround]] steps")
        if self.turnaround and not turns:
            raise ValueError("turnaround: steps given but no read is marked turnaround = true")
        if sum(r.index for r in self.reads) > 2 or sum(not r.index for r in self.reads) > 2:
            raise ValueError("reads: at most two template reads and two index reads")
        if all(r.index for r in self.reads):
            raise ValueError("reads: at least one template read")

    @property
    def total_cycles(self) -> int:
        """Cycles over all reads."""
        return sum(r.cycles for r in self.reads)

    @property
    def read_structure(self) -> str:
        """The Picard read structure of the reads (`151T10B10B151T`)."""
        return read_structure(self.reads)

    def board_steps(self) -> list[tuple[tuple[str, int], Step]]:
        """Every step the board runs, with its key path: the cycle's, then the turnaround's."""
        return [(("cycle", i), s) for i, s in enumerate(self.cycle)] + [
            (("turnaround", i), s) for i, s in enumerate(self.turnaround)]

    def turnaround_cycle(self) -> int | None:
        """The run cycle before which the paired-end turnaround runs (None: no turnaround)."""
        return next((start for start, read in zip(self.read_starts(), self.reads, strict=True)
                     if read.turnaround), None)

    def read_starts(self) -> list[int]:
        """First run cycle (1-based) of each read."""
        starts, first = [], 1
        for read in self.reads:
            starts.append(first)
            first += read.cycles
        return starts

    @property
    def i5_reverse_complement(self) -> bool:
        """Whether the i5 read shows the reverse complement of the sample sheet's index2.
        Forward-strand workflow (MiSeq, HiSeq 2000/2500, NovaSeq 6000 v1.0): the i5 read comes
        before the paired-end turnaround, primed on the forward strand, and reads index2 as
        written. Reverse-complement workflow (iSeq, MiniSeq, NextSeq, HiSeq 3000/4000/X,
        NovaSeq 6000 v1.5, NovaSeq X): it comes after the turnaround's resynthesis, primed on
        the reverse strand, and reads its reverse complement."""
        index_reads = [n for n, r in enumerate(self.reads) if r.index]
        if len(index_reads) < 2:
            return False
        turn = next((n for n, r in enumerate(self.reads) if r.turnaround), len(self.reads))
        return index_reads[1] >= turn

    @property
    def channel_names(self) -> list[str]:
        """Imaging channel names, in acquisition order."""
        return [c.name for c in self.imaging.channels]

    def read_of_cycle(self, cycle: int) -> tuple[int, int]:
        """(read number, cycle within read), both 1-based, for a 1-based run cycle."""
        if not 1 <= cycle <= self.total_cycles:
            raise ValueError(f"cycle {cycle} outside 1..{self.total_cycles}")
        start = 0
        for number, read in enumerate(self.reads, start=1):
            if cycle <= start + read.cycles:
                return number, cycle - start
            start += read.cycles
        raise AssertionError("unreachable")

    def chemistry_time_ms(self) -> int:
        """Nominal chemistry time of one cycle (pumping and holds, ramps not counted)."""
        total = 0
        for s in self.cycle:
            if isinstance(s, FluidicsStep):
                total += 1000 * s.volume_nl // s.flow_nl_per_s
            elif isinstance(s, ThermalStep):
                total += s.hold_ms
            elif isinstance(s, WaitStep):
                total += s.duration_ms
        return total

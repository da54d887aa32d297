"""The recipe model: read structure, flow-cell tiles, imaging and the per-cycle chemistry steps.

Every number has its unit in its name and an allowed range declared on the field; the loader
(`opensbs.recipe.load`) turns a violated range into a `RecipeError` naming line and field.
"""

from __future__ import annotations

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


class Read(_Strict):
    """One read of the read structure (a template read or an index read)."""

    cycles: int = Field(ge=1, le=600)
    index: bool = False


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
        return self

    @property
    def total_cycles(self) -> int:
        """Cycles over all reads."""
        return sum(r.cycles for r in self.reads)

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

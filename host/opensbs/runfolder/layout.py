"""Paths inside an Illumina-style run folder (one lane; tiles named with four digits)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunFolderLayout:
    """Where each file of a run lives, relative to the run folder `root`."""

    root: Path
    lane: int = 1

    @property
    def lane_dir(self) -> str:
        return f"L{self.lane:03d}"

    @property
    def run_info(self) -> Path:
        return self.root / "RunInfo.xml"

    @property
    def run_parameters(self) -> Path:
        return self.root / "RunParameters.xml"

    @property
    def sample_sheet(self) -> Path:
        """The run's sample sheet (the recipe's, copied in when the run starts)."""
        return self.root / "SampleSheet.csv"

    @property
    def interop(self) -> Path:
        return self.root / "InterOp"

    @property
    def basecalls(self) -> Path:
        return self.root / "Data" / "Intensities" / "BaseCalls" / self.lane_dir

    def bcl(self, cycle: int, tile: int) -> Path:
        return self.basecalls / f"C{cycle}.1" / f"s_{self.lane}_{tile}.bcl"

    def cbcl(self, cycle: int, surface: int) -> Path:
        """NovaSeq-style CBCL of one cycle and surface, all its tiles."""
        return self.basecalls / f"C{cycle}.1" / f"{self.lane_dir}_{surface}.cbcl"

    def state_bcl(self, cycle: int, tile: int) -> Path:
        """A CBCL run's per-tile calls while it runs (the CBCLs are written at its end)."""
        return self.state / "bcl" / f"C{cycle}.1" / f"s_{self.lane}_{tile}.bcl"

    @property
    def s_locs(self) -> Path:
        """The one locs file of the lane that CBCL readers use (patterned flow cells)."""
        return self.root / "Data" / "Intensities" / "s.locs"

    def filter(self, tile: int) -> Path:
        return self.basecalls / f"s_{self.lane}_{tile}.filter"

    def locs(self, tile: int) -> Path:
        return self.root / "Data" / "Intensities" / self.lane_dir / f"s_{self.lane}_{tile}.locs"

    def fastq(self, read_label: str) -> Path:
        """FASTQ.gz of a read labelled as bcl2fastq does: R1, R2 for reads, I1, I2 for indexes."""
        return self.root / "Fastq" / f"Undetermined_S0_L{self.lane:03d}_{read_label}_001.fastq.gz"

    def image(self, tile: int, cycle: int) -> Path:
        """A kept cycle image (--keep-images), in the layout `opensbs basecall RUN` reads."""
        return self.root / "images" / f"tile_{tile:04d}" / f"cycle_{cycle:03d}.tif"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    @property
    def report(self) -> Path:
        return self.root / "report.html"

    @property
    def run_log(self) -> Path:
        return self.root / "run_log.jsonl"

    @property
    def journal(self) -> Path:
        return self.root / "journal.jsonl"

    @property
    def recipe(self) -> Path:
        return self.root / "recipe.toml"

    @property
    def state(self) -> Path:
        """Checkpoints the run controller needs to resume (base-caller state per cycle)."""
        return self.root / "State"

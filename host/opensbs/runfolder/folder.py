"""Write and read an OpenSBS run folder (Illumina layout plus summary, log, journal)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..basecall.fastq import ReadNaming, fastq_records, gzip_deterministic
from ..recipe import Recipe, load_recipe
from .atomic import atomic_write_bytes, atomic_write_text
from .basecall_files import (
    decode_bcl,
    decode_filter,
    decode_locs,
    encode_bcl,
    encode_filter,
    encode_locs,
)
from .cbcl import CbclTile, binned_qualities, encode_cbcl
from .errors import RunFolderError
from .interop_files import CycleTileMetrics, TileSummary, interop_files
from .journal import Journal
from .layout import RunFolderLayout
from .run_xml import run_info_xml, run_parameters_xml


@dataclass(frozen=True)
class RunIdentity:
    """Run id, number, date and flow cell written into RunInfo.xml and the read names."""

    run_id: str
    run_number: int
    date_yymmdd: str
    flowcell_id: str | None = None  # None: the recipe's


class RunFolder:
    """A run folder for one recipe: every write is atomic, every read is checked."""

    def __init__(self, root: Path | str, recipe: Recipe, identity: RunIdentity) -> None:
        self.layout = RunFolderLayout(Path(root), recipe.flowcell.lane)
        if identity.flowcell_id not in (None, recipe.run.flowcell_id):  # --flowcell
            recipe = recipe.model_copy(update={"run": recipe.run.model_copy(
                update={"flowcell_id": identity.flowcell_id})})
        self.recipe = recipe
        self.identity = identity

    @property
    def root(self) -> Path:
        return self.layout.root

    @classmethod
    def open(cls, root: Path | str) -> RunFolder:
        """Open an existing run folder from its recipe.toml and journal start record."""
        root = Path(root)
        layout = RunFolderLayout(root)
        if not layout.recipe.exists() or not layout.journal.exists():
            raise RunFolderError(f"{root}: not an OpenSBS run folder (no recipe.toml/journal)")
        recipe = load_recipe(layout.recipe)
        start = Journal(layout.journal).read().start
        identity = RunIdentity(start["run_id"], start["run_number"], start["date_yymmdd"],
                               start.get("flowcell_id"))
        return cls(root, recipe, identity)

    def write_static(self, recipe_text: str, software_version: str) -> None:
        """RunInfo.xml, RunParameters.xml and the recipe used."""
        i = self.identity
        atomic_write_text(self.layout.run_info,
                          run_info_xml(self.recipe, i.run_id, i.run_number, i.date_yymmdd))
        atomic_write_text(self.layout.run_parameters,
                          run_parameters_xml(self.recipe, i.run_id, i.run_number,
                                             software_version))
        atomic_write_text(self.layout.recipe, recipe_text)

    def write_locs(self, tile: int, xy_px: np.ndarray) -> None:
        atomic_write_bytes(self.layout.locs(tile), encode_locs(xy_px))

    @property
    def cbcl(self) -> bool:
        """Whether the run's base calls end up as CBCL files (the recipe's run.bcl_format)."""
        return self.recipe.run.bcl_format == "cbcl"

    def _bcl_path(self, cycle: int, tile: int) -> Path:
        """Per-tile calls: in BaseCalls (BCL runs), in State/ until the CBCLs are written."""
        return self.layout.state_bcl(cycle, tile) if self.cbcl else self.layout.bcl(cycle, tile)

    def write_bcl(self, cycle: int, tile: int, bases: np.ndarray, qualities: np.ndarray) -> None:
        atomic_write_bytes(self._bcl_path(cycle, tile), encode_bcl(bases, qualities))

    def write_cbcl(self) -> list[Path]:
        """A CBCL run's CBCL per cycle (one surface, every tile; PF clusters only) from the
        per-tile calls and filters, and the lane's s.locs: CBCL readers take one locs file
        for all tiles, as on a patterned flow cell; it holds the positions of the tile with
        the most clusters (every tile's own positions stay in its s_L_TTTT.locs)."""
        tiles = self.recipe.flowcell.tile_numbers()
        passed = {tile: self.read_filter(tile) for tile in tiles}
        written = []
        for cycle in range(1, self.recipe.total_cycles + 1):
            parts = [CbclTile(tile, *self.read_bcl(cycle, tile), passed[tile]) for tile in tiles]
            path = self.layout.cbcl(cycle, self.recipe.flowcell.surface)
            atomic_write_bytes(path, encode_cbcl(parts))
            written.append(path)
        largest = max(tiles, key=lambda tile: len(passed[tile]))
        atomic_write_bytes(self.layout.s_locs, encode_locs(self.read_locs(largest)))
        return written

    def write_filter(self, tile: int, passed: np.ndarray) -> None:
        atomic_write_bytes(self.layout.filter(tile), encode_filter(passed))

    def write_interop(self, tiles: Sequence[TileSummary],
                      metrics: Sequence[CycleTileMetrics]) -> None:
        for name, data in interop_files(tiles, metrics).items():
            atomic_write_bytes(self.layout.interop / name, data)

    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write_text(self.layout.summary, json.dumps(summary, indent=2) + "\n")

    def read_locs(self, tile: int) -> np.ndarray:
        return decode_locs(self._read(self.layout.locs(tile)), str(self.layout.locs(tile)))

    def read_filter(self, tile: int) -> np.ndarray:
        return decode_filter(self._read(self.layout.filter(tile)), str(self.layout.filter(tile)))

    def read_bcl(self, cycle: int, tile: int) -> tuple[np.ndarray, np.ndarray]:
        path = self._bcl_path(cycle, tile)
        return decode_bcl(self._read(path), str(path))

    def read_calls(self, tile: int, cycles: range) -> tuple[np.ndarray, np.ndarray]:
        """(clusters, cycles) bases and qualities of one tile over `cycles` from the BCLs."""
        pairs = [self.read_bcl(c, tile) for c in cycles]
        return (np.stack([b for b, _ in pairs], axis=1), np.stack([q for _, q in pairs], axis=1))

    def write_fastq(self) -> list[Path]:
        """One FASTQ.gz per read (PF clusters only) from the BCL, filter and locs files (in a
        CBCL run with the qualities its CBCLs store)."""
        written, first, counts = [], 1, {"R": 0, "I": 0}
        for number, read in enumerate(self.recipe.reads, start=1):
            kind = "I" if read.index else "R"
            counts[kind] += 1
            cycles = range(first, first + read.cycles)
            naming = ReadNaming(self.recipe.run.instrument, self.identity.run_number,
                                self.recipe.run.flowcell_id, self.recipe.flowcell.lane,
                                read=number)
            chunks = []
            for tile in self.recipe.flowcell.tile_numbers():
                bases, quals = self.read_calls(tile, cycles)
                if self.cbcl:
                    quals = binned_qualities(bases, quals)
                chunks.append(fastq_records(bases, quals, self.read_locs(tile),
                                            self.read_filter(tile), tile, naming))
            path = self.layout.fastq(f"{kind}{counts[kind]}")
            atomic_write_bytes(path, gzip_deterministic(chunks))
            written.append(path)
            first += read.cycles
        return written

    def _read(self, path: Path) -> bytes:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise RunFolderError(f"{path}: missing") from None

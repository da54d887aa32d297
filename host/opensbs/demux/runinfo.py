"""Read RunInfo.xml (any Illumina run folder): identity, lanes, tiles and the read structure."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from .errors import RunInfoError


@dataclass(frozen=True)
class ReadSpec:
    """One read of the run: its number in RunInfo, cycles, whether it reads an index, and
    whether the instrument reads it as the reverse complement (NovaSeq X marks i5 so)."""

    number: int
    cycles: int
    is_index: bool
    is_reverse_complement: bool = False


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    run_number: int
    flowcell: str
    instrument: str
    reads: tuple[ReadSpec, ...]
    tiles: tuple[tuple[int, int], ...]  # (lane, tile); empty when RunInfo lists none

    @property
    def total_cycles(self) -> int:
        return sum(r.cycles for r in self.reads)

    def first_cycle(self, read: ReadSpec) -> int:
        """1-based run cycle at which `read` starts."""
        return 1 + sum(r.cycles for r in self.reads if r.number < read.number)

    @property
    def index_reads(self) -> tuple[ReadSpec, ...]:
        return tuple(r for r in self.reads if r.is_index)

    @property
    def template_reads(self) -> tuple[ReadSpec, ...]:
        return tuple(r for r in self.reads if not r.is_index)


def _flag(element: ET.Element, name: str, path: Path) -> bool:
    value = element.get(name, "N")
    if value not in ("Y", "N"):
        raise RunInfoError(f"{path}: Read {name}={value!r} (expected Y or N)")
    return value == "Y"


def _int(text: str | None, what: str, path: Path) -> int:
    try:
        return int(text or "")
    except ValueError:
        raise RunInfoError(f"{path}: {what}={text!r} is not an integer") from None


def _tile(text: str, path: Path) -> tuple[int, int]:
    lane, _, tile = text.strip().partition("_")
    return _int(lane, "Tile lane", path), _int(tile, "Tile number", path)


def read_run_info(path: Path | str) -> RunInfo:
    """Parse RunInfo.xml; a missing file or a missing/ill-formed field raises RunInfoError."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except FileNotFoundError:
        raise RunInfoError(f"{path}: missing") from None
    except ET.ParseError as exc:
        raise RunInfoError(f"{path}: not valid XML ({exc})") from None
    run = root.find("Run")
    if run is None:
        raise RunInfoError(f"{path}: no <Run> element")
    reads = tuple(
        ReadSpec(_int(r.get("Number"), "Read Number", path),
                 _int(r.get("NumCycles"), "Read NumCycles", path),
                 _flag(r, "IsIndexedRead", path), _flag(r, "IsReverseComplement", path))
        for r in run.iterfind("Reads/Read"))
    if not reads:
        raise RunInfoError(f"{path}: no <Reads>/<Read> elements")
    if [r.number for r in reads] != list(range(1, len(reads) + 1)):
        raise RunInfoError(f"{path}: Read numbers {[r.number for r in reads]} are not 1..n")
    tiles = tuple(_tile(t.text or "", path) for t in run.iterfind(".//Tiles/Tile"))
    return RunInfo(run_id=run.get("Id", ""), run_number=_int(run.get("Number"), "Run Number", path),
                   flowcell=(run.findtext("Flowcell") or "").strip(),
                   instrument=(run.findtext("Instrument") or "").strip(),
                   reads=reads, tiles=tiles)

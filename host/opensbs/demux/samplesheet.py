"""Sample sheets: BCL Convert v2 (`[BCLConvert_Settings]`, `[BCLConvert_Data]`) and the older
bcl2fastq v1 form (`[Settings]`, `[Data]`).

`read_sample_sheet(path)` checks everything a sheet can be checked for on its own (sample IDs,
index characters and lengths, index collisions within the allowed mismatches, settings) and
raises `SampleSheetError` naming file, line and field. Whether it fits a run's read structure
is checked by `opensbs.demux.layout.read_layout`.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .barcodes import collisions, encode
from .errors import SampleSheetError

MAX_MISMATCHES = 2
_SAMPLE_ID = re.compile(r"^[A-Za-z0-9_-]+$")
_BASES = re.compile(r"^[ACGT]*$")
# data columns that may repeat a setting per sample (v2); they must agree across the sheet
_PER_SAMPLE_SETTINGS = ("OverrideCycles", "BarcodeMismatchesIndex1", "BarcodeMismatchesIndex2",
                        "AdapterRead1", "AdapterRead2")
_V1_SETTINGS = {"adapter": "AdapterRead1", "adapterread1": "AdapterRead1",
                "adapterread2": "AdapterRead2"}
_V1_MASK = ("maskadapter", "maskadapterread2")
_NO_EFFECT = ("SoftwareVersion",)


@dataclass(frozen=True)
class Sample:
    """One row of the data section. `number` is n of `_S<n>_` (order of first appearance of
    the Sample_ID); `lane` None means every lane of the run."""

    sample_id: str
    number: int
    lane: int | None
    index1: str
    index2: str
    project: str
    line: int


@dataclass(frozen=True)
class DemuxSettings:
    """Settings that apply to the whole sheet, and the line each came from (for errors)."""

    override_cycles: str | None = None
    mismatches_i7: int = 1
    mismatches_i5: int = 1
    adapter_read1: str = ""
    adapter_read2: str = ""
    adapter_behavior: str = "trim"  # or "mask"
    adapter_stringency: float = 0.9
    minimum_adapter_overlap: int = 1
    minimum_trimmed_read_length: int = 35
    mask_short_reads: int = 22
    create_fastq_for_index_reads: bool = False
    lines: dict[str, int] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class SampleSheet:
    path: Path
    version: int  # 1: bcl2fastq, 2: BCL Convert
    header: dict[str, str]
    reads: dict[str, tuple[int, int]]  # Read1Cycles... -> (cycles, line)
    settings: DemuxSettings
    samples: tuple[Sample, ...]

    def error(self, line: int | None, what: str | None, problem: str) -> SampleSheetError:
        return SampleSheetError(self.path, line, what, problem)

    @property
    def instrument_platform(self) -> str:
        """`InstrumentPlatform` (v2) or `Instrument Type` (v1) of the header, or ''."""
        for key in ("InstrumentPlatform", "InstrumentType", "Instrument Type"):
            if self.header.get(key):
                return self.header[key]
        return ""


@dataclass
class _Section:
    name: str
    line: int
    rows: list[tuple[int, list[str]]] = field(default_factory=list)


def _sections(path: Path, text: str) -> dict[str, _Section]:
    sections: dict[str, _Section] = {}
    current: _Section | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        cells = [c.strip() for c in next(csv.reader([line]), [])]
        while cells and not cells[-1]:
            cells.pop()
        if not cells:
            continue
        heading = re.fullmatch(r"\[(.+)\]", cells[0])
        if heading:
            name = heading.group(1).strip()
            if name in sections:
                raise SampleSheetError(path, number, None,
                                       f"section [{name}] repeats (first at line "
                                       f"{sections[name].line})")
            current = sections[name] = _Section(name, number)
        elif current is None:
            raise SampleSheetError(path, number, None, "text before the first [Section]")
        else:
            current.rows.append((number, cells))
    return sections


def _key_values(section: _Section | None) -> dict[str, tuple[str, int]]:
    if section is None:
        return {}
    return {cells[0]: (cells[1] if len(cells) > 1 else "", line) for line, cells in section.rows}


def _int_value(path: Path, line: int, key: str, text: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise SampleSheetError(path, line, key, f"{text!r} is not an integer") from None
    if not low <= value <= high:
        raise SampleSheetError(path, line, key, f"{value} is outside {low}..{high}")
    return value


def _adapter(path: Path, line: int, key: str, text: str) -> str:
    adapter = text.upper()
    for part in adapter.split("+"):
        if not _BASES.match(part):
            raise SampleSheetError(path, line, key, f"illegal character in adapter {text!r} "
                                   "(A, C, G, T only)")
    if "+" in adapter:
        raise SampleSheetError(path, line, key, "several adapters per read are not supported")
    return adapter


def _settings(path: Path, values: dict[str, tuple[str, int]], version: int) -> DemuxSettings:
    out: dict[str, object] = {}
    lines: dict[str, int] = {}
    for key, (text, line) in values.items():
        name = _V1_SETTINGS.get(key.lower(), key) if version == 1 else key
        lines[name] = line
        if name in ("AdapterRead1", "AdapterRead2"):
            out["adapter_read" + name[-1]] = _adapter(path, line, key, text)
        elif version == 1 and key.lower() in _V1_MASK:
            if _int_value(path, line, key, text, 0, 1):
                out["adapter_behavior"] = "mask"
        elif name in ("BarcodeMismatchesIndex1", "BarcodeMismatchesIndex2"):
            out["mismatches_i" + ("7" if name[-1] == "1" else "5")] = _int_value(
                path, line, key, text, 0, MAX_MISMATCHES)
        elif name == "OverrideCycles":
            out["override_cycles"] = text
        elif name == "AdapterBehavior":
            if text.lower() not in ("trim", "mask"):
                raise SampleSheetError(path, line, key, f"{text!r} (expected trim or mask)")
            out["adapter_behavior"] = text.lower()
        elif name == "AdapterStringency":
            try:
                out["adapter_stringency"] = float(text)
            except ValueError:
                raise SampleSheetError(path, line, key, f"{text!r} is not a number") from None
            if not 0.5 <= float(text) <= 1.0:
                raise SampleSheetError(path, line, key, f"{text} is outside 0.5..1")
        elif name == "MinimumAdapterOverlap":
            out["minimum_adapter_overlap"] = _int_value(path, line, key, text, 1, 3)
        elif name == "MinimumTrimmedReadLength":
            out["minimum_trimmed_read_length"] = _int_value(path, line, key, text, 0, 10000)
        elif name == "MaskShortReads":
            out["mask_short_reads"] = _int_value(path, line, key, text, 0, 10000)
        elif name == "CreateFastqForIndexReads":
            out["create_fastq_for_index_reads"] = bool(_int_value(path, line, key, text, 0, 1))
        elif name == "FastqCompressionFormat":
            if text != "gzip":
                raise SampleSheetError(path, line, key, f"{text!r}: only gzip is written")
        elif name not in _NO_EFFECT:
            raise SampleSheetError(path, line, key, "unknown setting")
    return DemuxSettings(**out, lines=lines)  # type: ignore[arg-type]


def _reads(path: Path, section: _Section | None, version: int) -> dict[str, tuple[int, int]]:
    if section is None:
        return {}
    if version == 2:
        return {cells[0]: (_int_value(path, line, cells[0], cells[1] if len(cells) > 1 else "",
                                      1, 10000), line) for line, cells in section.rows}
    names = ("Read1Cycles", "Read2Cycles")
    if len(section.rows) > len(names):
        raise SampleSheetError(path, section.rows[2][0], "Reads", "more than two reads")
    return {name: (_int_value(path, line, "Reads", cells[0], 1, 10000), line)
            for name, (line, cells) in zip(names, section.rows, strict=False)}


def _index(path: Path, line: int, column: str, text: str) -> str:
    sequence = text.upper()
    if not _BASES.match(sequence):
        raise SampleSheetError(path, line, column,
                               f"illegal character in index {text!r} (A, C, G, T only)")
    return sequence


def _data(path: Path, section: _Section, version: int,
          ) -> tuple[tuple[Sample, ...], dict[str, tuple[str, int]]]:
    """The samples, and the settings given per sample (v2 columns; equal in every row)."""
    if not section.rows:
        raise SampleSheetError(path, section.line, None, f"[{section.name}] has no header row")
    header_line, header = section.rows[0]
    columns = {name.lower(): i for i, name in enumerate(header)}
    if "sample_id" not in columns:
        raise SampleSheetError(path, header_line, "Sample_ID", "column missing")
    per_sample: dict[str, tuple[str, int]] = {}
    samples: list[Sample] = []
    numbers: dict[str, int] = {}
    seen: dict[tuple[str, int | None], int] = {}

    def cell(cells: list[str], name: str) -> str:
        i = columns.get(name.lower())
        return cells[i] if i is not None and i < len(cells) else ""

    for line, cells in section.rows[1:]:
        sample_id = cell(cells, "Sample_ID")
        if not sample_id:
            raise SampleSheetError(path, line, "Sample_ID", "empty")
        if not _SAMPLE_ID.match(sample_id):
            raise SampleSheetError(path, line, "Sample_ID", f"illegal character in "
                                   f"{sample_id!r} (letters, digits, - and _ only)")
        lane_text = cell(cells, "Lane")
        lane = _int_value(path, line, "Lane", lane_text, 1, 8) if lane_text else None
        for (other_id, other_lane), first in seen.items():
            if other_id == sample_id and (None in (lane, other_lane) or other_lane == lane):
                raise SampleSheetError(path, line, "Sample_ID", f"{sample_id!r} repeats (line "
                                       f"{first}) in the same lane")
        seen[(sample_id, lane)] = line
        numbers.setdefault(sample_id, len(numbers) + 1)
        for name in _PER_SAMPLE_SETTINGS:
            value = cell(cells, name)
            if version == 2 and name.lower() in columns:
                if name in per_sample and per_sample[name][0] != value:
                    raise SampleSheetError(path, line, name, f"{value!r} differs from "
                                           f"{per_sample[name][0]!r} (line {per_sample[name][1]})"
                                           "; one setting per sheet is supported")
                per_sample.setdefault(name, (value, line))
        samples.append(Sample(
            sample_id=sample_id, number=numbers[sample_id], lane=lane,
            index1=_index(path, line, "Index" if version == 2 else "index",
                          cell(cells, "Index")),
            index2=_index(path, line, "Index2" if version == 2 else "index2",
                          cell(cells, "Index2")),
            project=cell(cells, "Sample_Project"), line=line))
    if not samples:
        raise SampleSheetError(path, section.line, None, f"[{section.name}] lists no sample")
    return tuple(samples), {k: v for k, v in per_sample.items() if v[0]}


def _lanes_together(samples: tuple[Sample, ...]) -> list[list[Sample]]:
    """Groups of samples that are demultiplexed together (a lane-less sample is in every lane)."""
    lanes = sorted({s.lane for s in samples if s.lane is not None})
    if not lanes:
        return [list(samples)]
    return [[s for s in samples if s.lane in (lane, None)] for lane in lanes]


def _check_indexes(path: Path, samples: tuple[Sample, ...], settings: DemuxSettings) -> None:
    """One index length per index read in the sheet (one read layout), no two samples of a lane
    within reach of one read."""
    first = samples[0]
    for attr, column in (("index1", "Index"), ("index2", "Index2")):
        for s in samples:
            if len(getattr(s, attr)) != len(getattr(first, attr)):
                raise SampleSheetError(path, s.line, column, f"length {len(getattr(s, attr))} "
                                       f"differs from {len(getattr(first, attr))} (line "
                                       f"{first.line}); one index length per sheet")
    for group in _lanes_together(samples):
        if len(group) > 1 and not group[0].index1 and not group[0].index2:
            raise SampleSheetError(path, group[1].line, "Index",
                                   "several samples in a lane need indexes")
        i7 = [encode(s.index1) for s in group]
        i5 = [encode(s.index2) for s in group]
        clashes = collisions(np.array(i7), np.array(i5), settings.mismatches_i7,
                             settings.mismatches_i5)
        if clashes:
            a, b = group[clashes[0][0]], group[clashes[0][1]]
            raise SampleSheetError(
                path, b.line, "Index", f"{b.sample_id} ({b.index1}-{b.index2}) collides with "
                f"{a.sample_id} ({a.index1}-{a.index2}, line {a.line}) within "
                f"{settings.mismatches_i7}/{settings.mismatches_i5} allowed mismatches")


def parse_sample_sheet(text: str, path: Path | str = "SampleSheet.csv") -> SampleSheet:
    """Parse and check sample-sheet text (`path` names it in errors)."""
    path = Path(path)
    sections = _sections(path, text)
    if "BCLConvert_Data" in sections:
        version, data, settings_section = 2, sections["BCLConvert_Data"], "BCLConvert_Settings"
    elif "Data" in sections:
        version, data, settings_section = 1, sections["Data"], "Settings"
    else:
        raise SampleSheetError(path, None, None, "no [BCLConvert_Data] or [Data] section")
    header = {k: v for k, (v, _) in _key_values(sections.get("Header")).items()}
    declared = header.get("FileFormatVersion")
    if declared is not None and declared != str(version):
        line = _key_values(sections.get("Header"))["FileFormatVersion"][1]
        raise SampleSheetError(path, line, "FileFormatVersion",
                               f"{declared!r} but the sheet has [{data.name}] (version {version})")
    samples, per_sample = _data(path, data, version)
    settings = _settings(path, {**_key_values(sections.get(settings_section)), **per_sample},
                         version)
    _check_indexes(path, samples, settings)
    return SampleSheet(path, version, header, _reads(path, sections.get("Reads"), version),
                       settings, samples)


def read_sample_sheet(path: Path | str) -> SampleSheet:
    """Read and check a sample sheet file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SampleSheetError(path, None, None, "missing") from None
    except UnicodeDecodeError as exc:
        raise SampleSheetError(path, None, None, f"not UTF-8 text ({exc.reason})") from None
    return parse_sample_sheet(text, path)

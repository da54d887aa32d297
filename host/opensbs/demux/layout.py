"""Which run cycles make which output read: the sheet's `OverrideCycles` (or its index lengths)
laid over RunInfo's read structure, checked to fit.

`Y` cycles go to the template FASTQs (R1, R2), `I` cycles are matched as the index (and go to
I1, I2 on request), `N` cycles are skipped. Without OverrideCycles a template read is all `Y`
and an index read is `I` for the length of the sheet's index, then `N`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .runinfo import ReadSpec, RunInfo
from .samplesheet import SampleSheet

_TOKENS = re.compile(r"([YINU])(\d+)")


@dataclass(frozen=True)
class OutputRead:
    """A FASTQ read: label (R1, R2, I1, I2), number in read names, 0-based run cycles."""

    label: str
    name_number: int
    cycles: np.ndarray


@dataclass(frozen=True)
class ReadLayout:
    template: tuple[OutputRead, ...]
    index1: np.ndarray  # 0-based run cycles matched as i7 (may be empty)
    index2: np.ndarray  # ... as i5
    index_reads: tuple[OutputRead, ...]  # I1, I2 (the I cycles)


def _override_tokens(sheet: SampleSheet, read_count: int) -> list[str] | None:
    text = sheet.settings.override_cycles
    if text is None:
        return None
    parts = [p.strip() for p in text.split(";")]
    if len(parts) != read_count:
        raise sheet.error(sheet.settings.lines.get("OverrideCycles"), "OverrideCycles",
                          f"{text!r} has {len(parts)} reads; RunInfo.xml has {read_count}")
    return parts


def _read_mask(sheet: SampleSheet, read: ReadSpec, token: str) -> str:
    """One letter per cycle of `read` (Y, I or N) from an OverrideCycles entry."""
    line = sheet.settings.lines.get("OverrideCycles")
    if not re.fullmatch(r"(?:[YINU]\d+)+", token):
        raise sheet.error(line, "OverrideCycles", f"{token!r} is not a list of Y/I/N/U counts")
    mask = "".join(kind * int(count) for kind, count in _TOKENS.findall(token))
    if len(mask) != read.cycles:
        raise sheet.error(line, "OverrideCycles", f"{token!r} covers {len(mask)} cycles; read "
                          f"{read.number} has {read.cycles}")
    allowed = "IN" if read.is_index else "YN"
    if set(mask) - set(allowed):
        raise sheet.error(line, "OverrideCycles", f"{token!r}: read {read.number} is "
                          f"{'an index' if read.is_index else 'a template'} read and takes only "
                          f"{'/'.join(allowed)} cycles (UMIs are not supported)")
    return mask


def _default_mask(read: ReadSpec, index_length: int) -> str:
    return "Y" * read.cycles if not read.is_index else \
        "I" * index_length + "N" * (read.cycles - index_length)


def _check_reads_section(sheet: SampleSheet, run: RunInfo) -> None:
    expected = {f"Read{k}Cycles": r.cycles for k, r in enumerate(run.template_reads, start=1)}
    expected |= {f"Index{k}Cycles": r.cycles for k, r in enumerate(run.index_reads, start=1)}
    for key, (cycles, line) in sheet.reads.items():
        if expected.get(key) != cycles:
            raise sheet.error(line, key, f"{cycles} but RunInfo.xml has "
                              f"{expected.get(key, 'no such read')}")


def read_layout(sheet: SampleSheet, run: RunInfo) -> ReadLayout:
    """The layout of `sheet` on `run`; SampleSheetError when index lengths, [Reads] or
    OverrideCycles do not fit the run's reads."""
    _check_reads_section(sheet, run)
    index_reads = run.index_reads
    lengths = (len(sheet.samples[0].index1), len(sheet.samples[0].index2))
    for k, (length, column) in enumerate(zip(lengths, ("Index", "Index2"), strict=True)):
        if length and k >= len(index_reads):
            raise sheet.error(sheet.samples[0].line, column, f"the run has no index read {k + 1}")
        if length and length > index_reads[k].cycles:
            raise sheet.error(sheet.samples[0].line, column, f"{length} bases do not fit index "
                              f"read {k + 1} ({index_reads[k].cycles} cycles)")
    tokens = _override_tokens(sheet, len(run.reads))
    template: list[OutputRead] = []
    found_i: list[ReadSpec] = []
    i_cycles: list[np.ndarray] = []
    for read in run.reads:
        k = len(found_i)
        mask = (_read_mask(sheet, read, tokens[read.number - 1]) if tokens else
                _default_mask(read, lengths[k] if read.is_index and k < 2 else 0))
        first = run.first_cycle(read) - 1
        if read.is_index:
            cycles = first + np.flatnonzero(np.frombuffer(mask.encode(), np.uint8) == ord("I"))
            if k < 2 and len(cycles) != lengths[k] and (len(cycles) or lengths[k]):
                raise sheet.error(sheet.samples[0].line, ("Index", "Index2")[k],
                                  f"{lengths[k]} bases but OverrideCycles reads {len(cycles)} "
                                  f"index cycles in read {read.number}")
            found_i.append(read)
            i_cycles.append(cycles)
        else:
            cycles = first + np.flatnonzero(np.frombuffer(mask.encode(), np.uint8) == ord("Y"))
            if len(cycles):
                template.append(OutputRead(f"R{len(template) + 1}", len(template) + 1, cycles))
    i_cycles += [np.zeros(0, np.int64)] * (2 - len(i_cycles))
    index_out = tuple(OutputRead(f"I{k + 1}", k + 1, c) for k, c in enumerate(i_cycles) if len(c))
    return ReadLayout(tuple(template), i_cycles[0], i_cycles[1], index_out)

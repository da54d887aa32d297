"""Reference genomes and template sampling (both strands) for the simulated library."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data import PHIX174_FASTA
from .chemistry import encode_sequences
from .errors import FastaError

_INVALID_CODE = 255


@dataclass(frozen=True)
class Reference:
    """FASTA records as uint8 base codes (A=0, C=1, G=2, T=3; N=255)."""

    names: tuple[str, ...]
    records: tuple[np.ndarray, ...]

    @property
    def total_bases(self) -> int:
        return sum(len(r) for r in self.records)


@dataclass(frozen=True)
class Templates:
    """Sampled templates: base codes (N, length), source record, 0-based start and strand."""

    codes: np.ndarray
    record: np.ndarray
    start: np.ndarray
    reverse: np.ndarray  # True: the template is the reverse complement of [start, start+len)


def bundled_phix_path() -> Path:
    """Path of the bundled PhiX174 control genome (GenBank J02482.1, 5,386 bp)."""
    return PHIX174_FASTA


def read_fasta(path: Path | str) -> Reference:
    """Parse a FASTA file; only A/C/G/T/N (any case) are accepted in sequences."""
    path = Path(path)
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise FastaError(f"reference FASTA not found: {path}") from None
    except UnicodeDecodeError:
        raise FastaError(f"reference FASTA {path} is not ASCII text") from None
    names: list[str] = []
    chunks: list[list[str]] = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if line.startswith(">"):
            names.append(line[1:].split()[0] if line[1:].split() else f"record{len(names) + 1}")
            chunks.append([])
        elif not chunks:
            raise FastaError(f"{path}:{line_no}: sequence before the first '>' header")
        else:
            chunks[-1].append(line)
    if not names:
        raise FastaError(f"{path} holds no FASTA records")
    records = []
    for name, lines in zip(names, chunks, strict=True):
        seq = "".join(lines)
        codes = encode_sequences(seq)
        bad = (codes == _INVALID_CODE) & ~np.isin(np.frombuffer(seq.encode(), np.uint8),
                                                 (ord("N"), ord("n")))
        if bad.any():
            raise FastaError(f"{path}: record {name!r} has a non-ACGTN character "
                             f"{seq[int(np.argmax(bad))]!r} at position {int(np.argmax(bad))}")
        if codes.size == 0:
            raise FastaError(f"{path}: record {name!r} is empty")
        records.append(codes)
    return Reference(names=tuple(names), records=tuple(records))


def sample_templates(rng: np.random.Generator, reference: Reference, count: int,
                     length: int) -> Templates:
    """``count`` templates of ``length`` bases from uniform starts on either strand.

    Records shorter than ``length`` are skipped; an N in the reference becomes a random base.
    """
    usable = np.array([max(len(r) - length + 1, 0) for r in reference.records], dtype=np.int64)
    if usable.sum() == 0:
        raise FastaError(f"no reference record is at least {length} bases long "
                         f"(longest {max(len(r) for r in reference.records)})")
    genome = np.concatenate(reference.records)
    offsets = np.concatenate([[0], np.cumsum([len(r) for r in reference.records])[:-1]])
    cumulative = np.concatenate([[0], np.cumsum(usable)])
    draw = rng.integers(0, cumulative[-1], size=count)
    record = np.searchsorted(cumulative, draw, side="right") - 1
    start = draw - cumulative[record]
    codes = genome[(offsets[record] + start)[:, None] + np.arange(length)]
    unknown = codes == _INVALID_CODE
    if unknown.any():
        codes[unknown] = rng.integers(0, 4, size=int(unknown.sum()), dtype=np.uint8)
    reverse = rng.random(count) < 0.5
    codes[reverse] = 3 - codes[reverse, ::-1]  # reverse complement: A<->T, C<->G
    return Templates(codes=codes, record=record.astype(np.int32), start=start, reverse=reverse)

"""Simulated sequencing libraries: inserts from a reference, adapters and dual indexes.

    from opensbs.recipe import parse_read_structure
    from opensbs.sim.library import LibraryConfig, PoolSample, draw_library
    config = LibraryConfig(samples=(PoolSample("S1", "ACGTACGT", "TTGGCCAA", 0.5), ...))
    library = draw_library(config, 80_000, parse_read_structure("151T10B10B151T"), rng)
    library.sample           # (n,) 0 = no sample (an unindexed spike-in, undetermined), k = k-th
    library.reads[0]         # (n, 151) uint8 A=0 C=1 G=2 T=3: what read 1 sequences

A cluster is one molecule of the library: an insert of `insert_length` bases starting at
`insert_start` on the forward strand of reference record `record`, ligated between the two
TruSeq-style adapters. `reverse` says which strand read 1 reads (True: the reverse strand).

* Read 1 sequences the insert from its read-1 end; read 2 the other strand from the other end
  (the reverse complement of the insert). A read longer than the insert runs into its adapter
  (`adapter_read1` / `adapter_read2`, as a sample sheet names them), then the index and the
  flow-cell oligo behind it.
* The i7 read sequences `index1` as written in the sample sheet. The i5 read sequences
  `index2` as written (forward-strand workflow: MiSeq, HiSeq 2000/2500, NovaSeq 6000 v1.0
  reagents) or its reverse complement (reverse-complement workflow: iSeq, MiniSeq, NextSeq,
  HiSeq 3000/4000/X, NovaSeq 6000 v1.5, NovaSeq X); `LibraryConfig.i5_workflow` picks it.
  An index read longer than the index reads on into the adapter. Each index base is replaced
  by another base with probability `index_error_rate` (synthesis errors in the oligos).
* Clusters of no sample (`PoolSample` fractions summing to less than 1; all clusters when the
  pool is empty) carry random index sequences.
* Index hopping (`index_hopping_fraction` of `draw_library`): on patterned flow cells free
  index primers and adapters in the pool extend library molecules during ExAmp clustering,
  so a molecule carries the i7 or the i5 (one end, either with equal chance) of another
  sample of the pool, drawn by the pool's shares. Only clusters of a sample hop, and only when
  the pool has another sample. The index reads and the read-through past a short insert show
  the hopped index; `Library.index_source` says whose i7 and i5 each cluster carries.

The first index read of a read structure is i7, the second i5; the first template read is read
1, the second read 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from ..recipe.model import Read
from .chemistry import encode_sequences
from .errors import SimConfigError
from .reference import Reference, bundled_phix_path, read_fasta

# Illumina TruSeq adapters (the sequences BCL Convert trims by default for TruSeq libraries)
TRUSEQ_ADAPTER_READ1 = "AGATCGGAAGAGCACACGTCTGAACTCCAGTCA"
TRUSEQ_ADAPTER_READ2 = "AGATCGGAAGAGCGTCGTGTAGGGAAAGAGTGT"
# What follows the index on each side: the P7 and P5 flow-cell oligo regions
P7_AFTER_I7 = "ATCTCGTATGCCGTCTTCTGCTTG"
P5_AFTER_I5 = "GTGTAGATCTCGGTGGTCGCCGTATCATT"
MIN_INSERT_BP = 1
_BASES = "ACGT"
_UNKNOWN = 255

I5Workflow = Literal["forward", "reverse-complement"]


class LibraryError(SimConfigError):
    """A library setting or pool that cannot be simulated (names the field and value)."""


@dataclass(frozen=True)
class PoolSample:
    """One sample of the pool: its indexes as the sample sheet writes them and its share of
    the clusters."""

    sample_id: str
    index1: str
    index2: str
    fraction: float


@dataclass(frozen=True)
class LibraryConfig:
    """How the library was made (insert sizes, adapters, indexes) and how it was pooled."""

    reference_fasta: Path | None = None  # None: PhiX174 (opensbs/data/phix174.fa)
    insert_mean_bp: float = 350.0
    insert_sd_bp: float = 80.0
    adapter_read1: str = TRUSEQ_ADAPTER_READ1
    adapter_read2: str = TRUSEQ_ADAPTER_READ2
    index_error_rate: float = 0.0
    samples: tuple[PoolSample, ...] = ()
    i5_workflow: I5Workflow = "forward"

    def __post_init__(self) -> None:
        if not self.insert_mean_bp >= MIN_INSERT_BP:
            raise LibraryError(f"insert_mean_bp must be >= {MIN_INSERT_BP}, "
                               f"got {self.insert_mean_bp}")
        if not self.insert_sd_bp >= 0:
            raise LibraryError(f"insert_sd_bp must be >= 0, got {self.insert_sd_bp}")
        if not 0.0 <= self.index_error_rate <= 1.0:
            raise LibraryError(f"index_error_rate must be in [0, 1], "
                               f"got {self.index_error_rate}")
        if self.i5_workflow not in ("forward", "reverse-complement"):
            raise LibraryError(f"i5_workflow must be 'forward' or 'reverse-complement', "
                               f"got {self.i5_workflow!r}")
        for name in ("adapter_read1", "adapter_read2"):
            _check_bases(name, getattr(self, name))
        ids = set()
        for number, sample in enumerate(self.samples, start=1):
            where = f"samples[{number}] ({sample.sample_id!r})"
            _check_bases(f"{where}.index1", sample.index1)
            _check_bases(f"{where}.index2", sample.index2)
            if not 0.0 <= sample.fraction <= 1.0:
                raise LibraryError(f"{where}.fraction must be in [0, 1], got {sample.fraction}")
            if sample.sample_id in ids:
                raise LibraryError(f"{where}: duplicate sample_id")
            ids.add(sample.sample_id)
        total = sum(s.fraction for s in self.samples)
        if total > 1.0 + 1e-9:
            raise LibraryError(f"the samples' fractions add up to {total:.6g} > 1")


@dataclass(frozen=True)
class Library:
    """The drawn clusters (see the module docstring); arrays have one row per cluster."""

    sample: np.ndarray  # (n,) int32: 0 = no sample, k = config.samples[k - 1]
    record: np.ndarray  # (n,) int32: reference record of the insert
    insert_start: np.ndarray  # (n,) int64: 0-based start on the record's forward strand
    insert_length: np.ndarray  # (n,) int32
    reverse: np.ndarray  # (n,) bool: read 1 reads the reverse strand
    reads: tuple[np.ndarray, ...]  # per read of the structure: (n, cycles [+ margin]) uint8
    index_errors: tuple[np.ndarray, ...]  # per read: (n,) substituted index bases (0: template)
    index_source: np.ndarray  # (n, 2) int32: the sample whose i7, i5 the cluster carries

    @property
    def n_clusters(self) -> int:
        return int(self.sample.size)


def _check_bases(name: str, text: str) -> None:
    bad = set(text.upper()) - set(_BASES)
    if bad:
        raise LibraryError(f"{name} = {text!r}: only A, C, G, T allowed (found "
                           f"{''.join(sorted(bad))!r})")


def _codes(text: str) -> np.ndarray:
    return encode_sequences(text.upper()).astype(np.uint8)


def reverse_complement_codes(codes: np.ndarray) -> np.ndarray:
    """Reverse complement of base codes (A<->T, C<->G) along the last axis."""
    return (3 - codes[..., ::-1]).astype(np.uint8)


def _index_roles(reads: Sequence[Read]) -> list[str]:
    """'r1', 'r2', 'i7', 'i5' for each read of the structure."""
    roles, templates, indexes = [], 0, 0
    for read in reads:
        if read.index:
            indexes += 1
            if indexes > 2:
                raise LibraryError("a read structure has at most two index reads (i7, i5)")
            roles.append("i7" if indexes == 1 else "i5")
        else:
            templates += 1
            if templates > 2:
                raise LibraryError("a read structure has at most two template reads")
            roles.append("r1" if templates == 1 else "r2")
    return roles


def _filled(rng: np.random.Generator, pieces: Sequence[np.ndarray], length: int) -> np.ndarray:
    """The pieces joined, cut to `length`; random bases past their end."""
    joined = np.concatenate([*pieces, np.zeros(0, np.uint8)])[:length].astype(np.uint8)
    if joined.size < length:
        joined = np.concatenate([joined, rng.integers(0, 4, length - joined.size,
                                                      dtype=np.uint8)])
    return joined


def _index_codes(config: LibraryConfig, role: str, n_samples: int) -> list[np.ndarray]:
    """What an index read shows for each sample (row 0, no sample, is filled in later)."""
    out = [np.zeros(0, np.uint8)]
    for sample in config.samples:
        if role == "i7":
            out.append(_codes(sample.index1))
        elif config.i5_workflow == "forward":
            out.append(_codes(sample.index2))
        else:
            out.append(reverse_complement_codes(_codes(sample.index2)))
    assert len(out) == n_samples + 1
    return out


def _index_read(rng: np.random.Generator, config: LibraryConfig, role: str, sample: np.ndarray,
                length: int) -> tuple[np.ndarray, np.ndarray]:
    """(bases (n, length), substituted index bases (n,)) of the i7 or i5 read."""
    n_samples = len(config.samples)
    indexes = _index_codes(config, role, n_samples)
    tail = _codes(P7_AFTER_I7 if role == "i7" else P5_AFTER_I5)
    table = np.stack([_filled(rng, [code, tail], length) for code in indexes])
    bases = table[sample]
    index_len = np.array([code.size for code in indexes])[sample]
    none = sample == 0  # unindexed clusters: random bases over the whole read
    bases[none] = rng.integers(0, 4, (int(none.sum()), length), dtype=np.uint8)
    within = np.arange(length)[None, :] < index_len[:, None]
    hit = within & (rng.random(bases.shape) < config.index_error_rate)
    bases[hit] = (bases[hit] + rng.integers(1, 4, int(hit.sum()), dtype=np.uint8)) % 4
    return bases, hit.sum(axis=1).astype(np.int32)


def _insert_read(genome: np.ndarray, offset: np.ndarray, start: np.ndarray,
                 length: np.ndarray, backward: np.ndarray, cycles: int, tail: np.ndarray,
                 sample: np.ndarray) -> np.ndarray:
    """(n, cycles): the insert read from its start (`backward`: from its end, complemented),
    then `tail[sample]` (adapter, index, flow-cell oligo) past the insert."""
    k = np.arange(cycles)[None, :]
    inside = k < length[:, None]
    position = np.where(backward[:, None], start[:, None] + length[:, None] - 1 - k,
                        start[:, None] + k)
    position = np.clip(position, start[:, None], (start + length - 1)[:, None])
    bases = genome[offset[:, None] + position]
    bases = np.where(backward[:, None] & (bases != _UNKNOWN), 3 - bases, bases)
    past = np.clip(k - length[:, None], 0, tail.shape[1] - 1)
    beyond = tail[sample[:, None], past]
    return np.where(inside, bases, beyond).astype(np.uint8)


def _tails(rng: np.random.Generator, config: LibraryConfig, role: str,
           cycles: int) -> np.ndarray:
    """(samples + 1, cycles): what a template read shows after the insert, per sample: its
    adapter, the index on its side as that side's index read shows it, the flow-cell oligo."""
    adapter = _codes(config.adapter_read1 if role == "r1" else config.adapter_read2)
    index_role = "i7" if role == "r1" else "i5"
    oligo = _codes(P7_AFTER_I7 if role == "r1" else P5_AFTER_I5)
    return np.stack([_filled(rng, [adapter, index, oligo], cycles)
                     for index in _index_codes(config, index_role, len(config.samples))])


def _draw_inserts(rng: np.random.Generator, reference: Reference, config: LibraryConfig,
                  n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(record, start, length) of `n` inserts: length ~ normal(mean, sd) clipped to the
    record, record weighted by its length, start uniform where the insert fits."""
    sizes = np.array([len(r) for r in reference.records], np.int64)
    record = rng.choice(sizes.size, size=n, p=sizes / sizes.sum()).astype(np.int32)
    length = np.rint(rng.normal(config.insert_mean_bp, config.insert_sd_bp, n)).astype(np.int64)
    length = np.clip(length, MIN_INSERT_BP, sizes[record])
    start = (rng.random(n) * (sizes[record] - length + 1)).astype(np.int64)
    return record, start, length.astype(np.int32)


def draw_library(config: LibraryConfig, n_clusters: int, reads: Sequence[Read],
                 rng: np.random.Generator, margin_bases: int = 0,
                 reference: Reference | None = None, index_hopping_fraction: float = 0.0
                 ) -> Library:
    """Draw `n_clusters` library molecules and what each read of `reads` sequences on them.

    `margin_bases` extra bases per read (the simulator's leading molecules show them);
    `reference` saves re-reading `config.reference_fasta`; `index_hopping_fraction` of the
    clusters of a sample carry one index of another sample (module docstring)."""
    if n_clusters < 0:
        raise LibraryError(f"n_clusters must be >= 0, got {n_clusters}")
    if not 0.0 <= index_hopping_fraction <= 1.0:
        raise LibraryError(f"index_hopping_fraction must be in [0, 1], "
                           f"got {index_hopping_fraction}")
    if margin_bases < 0:
        raise LibraryError(f"margin_bases must be >= 0, got {margin_bases}")
    roles = _index_roles(reads)
    reference = reference or read_fasta(config.reference_fasta or bundled_phix_path())
    shares = np.array([1.0 - min(sum(s.fraction for s in config.samples), 1.0)]
                      + [s.fraction for s in config.samples])
    sample = rng.choice(shares.size, size=n_clusters, p=shares / shares.sum()).astype(np.int32)
    record, start, length = _draw_inserts(rng, reference, config, n_clusters)
    reverse = rng.random(n_clusters) < 0.5
    genome = np.concatenate(reference.records)
    offsets = np.concatenate([[0], np.cumsum([len(r) for r in reference.records])[:-1]])
    offset = offsets[record].astype(np.int64)
    source = _hopped_index_sources(rng, sample, shares, index_hopping_fraction)
    out, errors = [], []
    for read, role in zip(reads, roles, strict=True):
        cycles = read.cycles + margin_bases
        if role in ("i7", "i5"):
            bases, substituted = _index_read(rng, config, role, source[:, int(role == "i5")],
                                             cycles)
        else:
            backward = reverse if role == "r1" else ~reverse
            bases = _insert_read(genome, offset, start, length, backward, cycles,
                                 _tails(rng, config, role, cycles),
                                 source[:, int(role == "r2")])
            substituted = np.zeros(n_clusters, np.int32)
        unknown = bases == _UNKNOWN  # an N in the reference: a random base
        if unknown.any():
            bases[unknown] = rng.integers(0, 4, int(unknown.sum()), dtype=np.uint8)
        out.append(bases)
        errors.append(substituted)
    return Library(sample=sample, record=record, insert_start=start, insert_length=length,
                   reverse=reverse, reads=tuple(out), index_errors=tuple(errors),
                   index_source=source)


def _hopped_index_sources(rng: np.random.Generator, sample: np.ndarray, shares: np.ndarray,
                          fraction: float) -> np.ndarray:
    """(n, 2) samples whose i7 and i5 each cluster carries: its own, except that `fraction` of
    the clusters of a sample carry one end (i7 or i5) of another sample, drawn by share."""
    source = np.repeat(sample[:, None], 2, axis=1).astype(np.int32)
    pool = shares[1:]
    if fraction <= 0 or np.count_nonzero(pool) < 2:
        return source
    hop = np.flatnonzero((sample > 0) & (rng.random(sample.size) < fraction))
    end = rng.integers(0, 2, hop.size)
    others = np.repeat(pool[None, :], hop.size, axis=0)
    others[np.arange(hop.size), sample[hop] - 1] = 0.0  # another sample, not its own
    cumulative = np.cumsum(others, axis=1)
    draw = rng.random(hop.size) * cumulative[:, -1]
    donor = np.minimum((cumulative < draw[:, None]).sum(axis=1), pool.size - 1) + 1
    source[hop, end] = donor
    return source

"""Per-cycle error rate and quality calibration from reads aligned to a control genome.

As Illumina's RTA does with its PhiX spike-in, reads are aligned to the control reference
(minimap2 through ``mappy``, short-read preset) and every aligned cycle is scored: a
mismatch or an inserted base is an error at its cycle, a deletion an error at the cycle after
it. Soft-clipped ends are scored ungapped against the reference where it extends that far, so
clipping does not hide the error-prone last cycles. No-calls are neither bases nor errors.
Nothing here knows the simulation truth: it works on any run with the control in it.
"""

from dataclasses import dataclass, field
from pathlib import Path

import mappy
import numpy as np

from ..data import PHIX174_FASTA

LETTERS = b"ACGTN"
NO_CALL_CODE = 4
MAX_Q = 93
CIGAR_MATCH, CIGAR_INSERTION, CIGAR_DELETION = 0, 1, 2
_CIRCULAR_OVERLAP_BP = 1000


class AlignmentError(ValueError):
    """A reference or read set that cannot be aligned (missing file, empty FASTA, bad shape)."""


@dataclass
class AlignmentTally:
    """Counts from scoring aligned reads: per cycle, per reported quality, per read."""

    n_cycles: int
    n_reads: int = 0
    n_aligned: int = 0
    error_free_reads: int = 0
    bases_by_cycle: np.ndarray = field(init=False)
    errors_by_cycle: np.ndarray = field(init=False)
    bases_by_q: np.ndarray = field(default_factory=lambda: np.zeros(MAX_Q + 1, np.int64))
    errors_by_q: np.ndarray = field(default_factory=lambda: np.zeros(MAX_Q + 1, np.int64))

    def __post_init__(self) -> None:
        self.bases_by_cycle = np.zeros(self.n_cycles, np.int64)
        self.errors_by_cycle = np.zeros(self.n_cycles, np.int64)

    @property
    def error_rate(self) -> float:
        """Errors per aligned base (0 when nothing aligned)."""
        total = int(self.bases_by_cycle.sum())
        return float(self.errors_by_cycle.sum()) / total if total else 0.0

    @property
    def aligned_fraction(self) -> float:
        """Fraction of scored reads with an alignment."""
        return self.n_aligned / self.n_reads if self.n_reads else 0.0

    def error_rate_through(self, cycle: int) -> float:
        """Error rate over cycles 1..``cycle`` (as SAV's "error rate 35/75/100")."""
        bases = int(self.bases_by_cycle[:cycle].sum())
        return float(self.errors_by_cycle[:cycle].sum()) / bases if bases else 0.0

    def empirical_q(self, min_bases: int = 1000) -> dict[int, float]:
        """Empirical Phred quality per reported Q holding ≥ ``min_bases`` aligned bases."""
        result = {}
        for q in np.flatnonzero(self.bases_by_q >= min_bases):
            rate = max(int(self.errors_by_q[q]), 1) / int(self.bases_by_q[q])
            result[int(q)] = float(-10.0 * np.log10(rate))
        return result

    def merge(self, other: "AlignmentTally") -> None:
        """Add another tally's counts (same number of cycles) into this one."""
        if other.n_cycles != self.n_cycles:
            raise AlignmentError(f"cannot merge tallies of {other.n_cycles} and "
                                 f"{self.n_cycles} cycles")
        self.n_reads += other.n_reads
        self.n_aligned += other.n_aligned
        self.error_free_reads += other.error_free_reads
        for name in ("bases_by_cycle", "errors_by_cycle", "bases_by_q", "errors_by_q"):
            getattr(self, name)[:] += getattr(other, name)


class ControlAligner:
    """minimap2 index of a control genome (PhiX174 by default), circular ends joined."""

    def __init__(self, fasta: Path | None = None, min_aligned_fraction: float = 0.5) -> None:
        path = Path(fasta) if fasta is not None else PHIX174_FASTA
        self.reference = _read_single_fasta(path)
        joined = self.reference + self.reference[:_CIRCULAR_OVERLAP_BP]
        # Every 11-mer of the small control genome seeds (k=11, w=1) and one seed may make a
        # hit: the preset's k=21 minimizers miss reads under 35 cycles and the reads of 49 whose
        # errors break every 21-mer, halving the measured error rate (1 % true: 0.53 %).
        self._aligner = mappy.Aligner(seq=joined, preset="sr", k=11, w=1, min_cnt=1,
                                      min_chain_score=15, min_dp_score=20)
        if not self._aligner:
            raise AlignmentError(f"minimap2 could not index {path}")
        self._joined = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
        self.min_aligned_fraction = min_aligned_fraction

    def tally(self, bases: np.ndarray, qualities: np.ndarray | None = None) -> AlignmentTally:
        """Align reads given as base codes (n, cycles; 0-3 = ACGT, 4 = no-call) and score them."""
        errors, scored, aligned = self.read_errors(bases)
        if qualities is not None and np.shape(qualities) != errors.shape:
            raise AlignmentError(f"qualities {np.shape(qualities)} do not match reads "
                                 f"{errors.shape}")
        tally = AlignmentTally(errors.shape[1], n_reads=errors.shape[0],
                               n_aligned=int(aligned.sum()),
                               error_free_reads=int((aligned & ~errors.any(axis=1)).sum()))
        tally.bases_by_cycle += scored.sum(axis=0)
        tally.errors_by_cycle += errors.sum(axis=0)
        if qualities is not None:
            q = np.clip(np.asarray(qualities, dtype=np.int64), 0, MAX_Q)
            tally.bases_by_q += np.bincount(q[scored], minlength=MAX_Q + 1)
            tally.errors_by_q += np.bincount(q[errors.astype(bool)], minlength=MAX_Q + 1)
        return tally

    def read_errors(self, bases: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per read of ``bases`` (n, cycles; 0-3 = ACGT, 4 = no-call): errors (n, cycles) 0/1,
        scored cycles (n, cycles) bool, and aligned (n,) bool; unaligned reads score nothing."""
        bases = np.asarray(bases)
        if bases.ndim != 2 or bases.shape[1] == 0:
            raise AlignmentError(f"reads must be a non-empty (n, cycles) array, got {bases.shape}")
        errors = np.zeros(bases.shape, np.int64)
        scored = np.zeros(bases.shape, bool)
        aligned = np.zeros(bases.shape[0], bool)
        letters = np.frombuffer(LETTERS, dtype=np.uint8)[np.clip(bases, 0, NO_CALL_CODE)]
        for row in range(bases.shape[0]):
            row_errors, row_scored = self._score_read(letters[row])
            if row_errors is None or row_scored is None:
                continue
            aligned[row] = True
            errors[row] = row_errors
            scored[row] = row_scored
        return errors, scored, aligned

    def _score_read(self, letters: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(errors per cycle as int, scored-cycle mask) of one read, or (None, None)."""
        n = letters.size
        hit = next(iter(self._aligner.map(letters.tobytes().decode("ascii"))), None)
        if hit is None or (hit.q_en - hit.q_st) < self.min_aligned_fraction * n:
            return None, None
        read = letters if hit.strand > 0 else _reverse_complement(letters)
        q_start = hit.q_st if hit.strand > 0 else n - hit.q_en
        errors = np.zeros(n, np.int64)
        # Walk the cigar in reference orientation; query index q is in oriented read space.
        q, r = q_start, hit.r_st
        self._score_ungapped(read, errors, 0, q, r - q)
        for length, op in hit.cigar:
            if op == CIGAR_MATCH:
                errors[q:q + length] += read[q:q + length] != self._joined[r:r + length]
                q, r = q + length, r + length
            elif op == CIGAR_INSERTION:
                errors[q:q + length] += 1
                q += length
            elif op == CIGAR_DELETION:
                errors[min(q, n - 1)] += 1
                r += length
        self._score_ungapped(read, errors, q, n, r)
        scored = read != LETTERS[NO_CALL_CODE]
        errors = np.where(scored, np.minimum(errors, 1), 0)
        if hit.strand < 0:
            errors, scored = errors[::-1].copy(), scored[::-1].copy()
        return errors, scored

    def _score_ungapped(self, read: np.ndarray, errors: np.ndarray, q_from: int, q_to: int,
                        r_from: int) -> None:
        """Score a soft clip, read[q_from:q_to], ungapped against the reference from
        ``r_from``; clipped bases beyond either end of the reference count as errors."""
        r = r_from + np.arange(q_to - q_from)
        inside = (r >= 0) & (r < self._joined.size)
        reference = self._joined[np.clip(r, 0, self._joined.size - 1)]
        errors[q_from:q_to] += np.where(inside, read[q_from:q_to] != reference, True)


def _reverse_complement(letters: np.ndarray) -> np.ndarray:
    table = np.arange(256, dtype=np.uint8)
    for a, b in (b"AT", b"TA", b"CG", b"GC"):
        table[a] = b
    return table[letters[::-1]]


def _read_single_fasta(path: Path) -> str:
    if not path.is_file():
        raise AlignmentError(f"reference {path} is not a file")
    names_and_sequences = list(mappy.fastx_read(str(path)))
    if not names_and_sequences:
        raise AlignmentError(f"reference {path} holds no FASTA sequence")
    return "".join(sequence.upper() for _, sequence, _ in names_and_sequences[:1])

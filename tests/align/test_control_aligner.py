"""Scoring reads against PhiX with minimap2: errors land on the right cycles, no truth used."""

import numpy as np
import pytest
from opensbs.align import AlignmentError, ControlAligner
from opensbs.data import PHIX174_FASTA

CODES = {c: i for i, c in enumerate("ACGT")}


@pytest.fixture(scope="module")
def aligner() -> ControlAligner:
    return ControlAligner()


def _phix_codes(aligner: ControlAligner) -> np.ndarray:
    return np.array([CODES[c] for c in aligner.reference], dtype=np.int64)


def _reads(genome: np.ndarray, starts: list[int], length: int, reverse: list[bool]) -> np.ndarray:
    reads = []
    for start, rev in zip(starts, reverse, strict=True):
        read = np.take(genome, np.arange(start, start + length), mode="wrap")
        reads.append(3 - read[::-1] if rev else read)
    return np.array(reads)


def test_mismatches_are_counted_at_their_cycles_on_both_strands(aligner):
    genome = _phix_codes(aligner)
    reads = _reads(genome, [100, 2000, 4000, 5350], 100, [False, True, False, True])
    reads[0, 10] = (reads[0, 10] + 1) % 4
    reads[1, 97] = (reads[1, 97] + 2) % 4  # near the 3' end, where a clip would hide it
    reads[2, 50] = 4  # a no-call is neither a base nor an error
    tally = aligner.tally(reads)
    assert tally.n_reads == 4 and tally.n_aligned == 4  # 5350+100 wraps the circular genome
    assert tally.errors_by_cycle.sum() == 2
    assert tally.errors_by_cycle[10] == 1 and tally.errors_by_cycle[97] == 1
    assert tally.bases_by_cycle[50] == 3 and tally.bases_by_cycle[0] == 4
    assert tally.error_free_reads == 2
    assert tally.error_rate == pytest.approx(2 / 399)


def test_quality_calibration_counts_by_reported_q(aligner):
    rng = np.random.default_rng(3)
    genome = _phix_codes(aligner)
    reads = _reads(genome, list(rng.integers(0, 5000, 200)), 80, [False] * 200)
    qualities = np.full(reads.shape, 40)
    qualities[:, 60:] = 10
    flip = rng.random(reads.shape) < np.where(qualities == 10, 0.1, 0.0)
    reads[flip] = (reads[flip] + 1) % 4
    tally = aligner.tally(reads, qualities)
    assert tally.errors_by_q[40] == 0 and tally.bases_by_q[40] == 200 * 60
    assert tally.errors_by_q[10] == flip.sum()
    assert tally.empirical_q(min_bases=1000)[10] == pytest.approx(10.0, abs=1.0)


def test_reads_from_elsewhere_do_not_align(aligner):
    rng = np.random.default_rng(4)
    tally = aligner.tally(rng.integers(0, 4, (20, 100)))
    assert tally.n_reads == 20 and tally.n_aligned == 0 and tally.error_rate == 0.0


def test_bad_input_is_a_typed_error(aligner, tmp_path):
    with pytest.raises(AlignmentError, match="non-empty"):
        aligner.tally(np.zeros((3, 0), dtype=int))
    with pytest.raises(AlignmentError, match="do not match"):
        aligner.tally(np.zeros((3, 50), dtype=int), np.zeros((3, 49), dtype=int))
    with pytest.raises(AlignmentError, match="not a file"):
        ControlAligner(tmp_path / "missing.fa")
    (tmp_path / "empty.fa").write_text("")
    with pytest.raises(AlignmentError, match="no FASTA"):
        ControlAligner(tmp_path / "empty.fa")
    assert PHIX174_FASTA.is_file()

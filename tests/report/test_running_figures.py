"""The live error rate: PF reads aligned to PhiX every 5 cycles once a read is 25 cycles long."""

import numpy as np
import pytest
from opensbs.align import ControlAligner
from opensbs.basecall.pipeline import CycleCalls
from opensbs.run.running_figures import RunningFigures


def _phix_reads(n: int, cycles: int, error_rate: float, seed: int) -> tuple[np.ndarray, int]:
    """(n, cycles) base codes read from PhiX with substitutions; and how many were made."""
    rng = np.random.default_rng(seed)
    reference = np.frombuffer(ControlAligner().reference.encode(), np.uint8)
    codes = np.full(256, 4, np.uint8)
    codes[np.frombuffer(b"ACGT", np.uint8)] = np.arange(4)
    starts = rng.integers(0, reference.size - cycles, n)
    reads = codes[reference[starts[:, None] + np.arange(cycles)]]
    wrong = rng.random(reads.shape) < error_rate
    reads[wrong] = (reads[wrong] + rng.integers(1, 4, int(wrong.sum()))) % 4
    return reads, int(wrong.sum())


def _calls(cycle: int, bases: np.ndarray) -> CycleCalls:
    n = len(bases)
    return CycleCalls(cycle, bases, np.full(n, 35, np.uint8), np.ones(n, np.float32),
                      predictors=None, metrics=None)  # type: ignore[arg-type]


def test_live_error_rate_is_measured_against_phix_from_cycle_25_every_5_cycles():
    reads, _ = _phix_reads(600, 40, 0.01, seed=1)
    figures = RunningFigures([(40, False)])
    seen = {}
    for cycle in range(1, 41):
        figures.add(1101, np.zeros((len(reads), 2)), _calls(cycle, reads[:, cycle - 1]))
        seen[cycle] = figures.snapshot().error_rate
    assert all(seen[c] is None for c in range(1, 25))
    assert seen[25] == seen[29] != seen[30]  # re-measured at 25, 30, 35, 40
    truth = ControlAligner().tally(reads).error_rate
    assert seen[40] == pytest.approx(truth)  # all 600 reads: the sample is the whole tile
    assert seen[40] == pytest.approx(0.01, rel=0.25)
    assert figures.snapshot().truth_error_rate is None  # no simulation truth given


def test_index_reads_are_not_aligned():
    reads, _ = _phix_reads(200, 30, 0.0, seed=2)
    figures = RunningFigures([(30, True)])
    for cycle in range(1, 31):
        figures.add(1101, np.zeros((len(reads), 2)), _calls(cycle, reads[:, cycle - 1]))
    assert figures.snapshot().error_rate is None

"""The run's one definition of the Q histogram, base counts, %>=Q30 and %PF."""

import numpy as np
from opensbs.basecall.metrics import Q_BINS, base_counts, pf_fraction, q30_fraction, q_histogram


def test_q_histogram_bins_q1_to_q50_over_the_passed_clusters():
    qualities = np.array([[0, 2], [29, 30], [41, 60]], np.uint8)  # (clusters, cycles)
    passed = np.array([True, True, False])
    hist = q_histogram(qualities, passed)
    assert hist.shape == (Q_BINS,) and hist.sum() == 4
    assert (hist[0], hist[1], hist[28], hist[29]) == (1, 1, 1, 1)  # Q0 counts as Q1
    everything = q_histogram(qualities)
    assert everything[Q_BINS - 1] == 1 and everything[40] == 1  # above Q50 counts as Q50


def test_base_counts_are_indexed_by_base_code_a_c_g_t_n():
    bases = np.array([0, 0, 1, 2, 3, 4, 4, 4], np.uint8)
    assert base_counts(bases).tolist() == [2, 1, 1, 1, 3]
    assert base_counts(bases, bases != 4).tolist() == [2, 1, 1, 1, 0]


def test_q30_counts_q30_and_above_and_pf_sums_over_tiles():
    hist = q_histogram(np.array([29, 30, 31, 12]))
    assert q30_fraction(hist) == 0.5
    assert q30_fraction(np.stack([hist, q_histogram(np.array([40, 40]))])) == 4 / 6
    assert q30_fraction(np.zeros(Q_BINS)) is None
    # two tiles, 90 of 100 and 10 of 50 PF: 100 of 150, not the tiles' mean 55 %
    assert pf_fraction(90 + 10, 100 + 50) == 100 / 150
    assert pf_fraction(0, 0) is None

"""Read-name x/y exactly as Picard computes them from locs floats (Math.round on float32)."""

from __future__ import annotations

import math
import struct

import numpy as np
from opensbs.basecall.fastq import read_name_coordinate


def _f32(value: float) -> float:
    """Round a double to the nearest float32 (ties to even), as Java's float arithmetic does."""
    return float(struct.unpack("<f", struct.pack("<f", value))[0])


def _java_pos_to_qseq(pos: float) -> int:
    """Java's ``Math.round(pos * 10 + 1000)`` with ``float pos``, emulated one operation at a
    time: each product/sum is exact in double, then rounded to float32; Math.round(float) is
    floor(v + 1/2) (exact in double)."""
    p = _f32(pos)
    return math.floor(_f32(_f32(p * 10.0) + 1000.0) + 0.5)


# (float written in Picard's own position-parser tests, the qseq coordinate they expect)
PICARD_TEST_VALUES = [(0.35, 1004), (2.35, 1024), (97.35, 1974), (9.05, 1091), (101.35, 2014),
                      (207.8, 3078), (2540.553, 26406), (11011.81, 111118), (0.01, 1000),
                      (87.85, 1879), (211.992, 3120), (32022.0, 321220)]


def test_picard_expected_coordinates() -> None:
    floats = np.array([v for v, _ in PICARD_TEST_VALUES])
    assert read_name_coordinate(floats).tolist() == [q for _, q in PICARD_TEST_VALUES]
    # several of them differ from rounding the float64 value: the bug this replaces
    old = np.rint(10.0 * floats.astype(np.float32).astype(np.float64) + 1000.0)
    assert int(np.count_nonzero(old != [q for _, q in PICARD_TEST_VALUES])) >= 3


def test_exact_halves_round_up() -> None:
    halves = np.array([0.05, 0.15, 12.25, 100.05, 2047.95, 0.0, 1.0])
    assert read_name_coordinate(halves).tolist() == [
        _java_pos_to_qseq(v) for v in halves.tolist()]
    # x.5 after float32 arithmetic goes up (Java), not to even (numpy's rint)
    assert read_name_coordinate(np.array([0.25, 0.45])).tolist() == [1003, 1005]


def test_matches_java_emulation_where_float32_and_float64_disagree() -> None:
    rng = np.random.default_rng(12)
    xs = (rng.random(400_000) * 4096).astype(np.float32)
    old = np.rint(10.0 * xs.astype(np.float64) + 1000.0).astype(np.int64)
    new = read_name_coordinate(xs)
    disagree = np.flatnonzero(old != new)
    assert len(disagree) >= 10  # such values exist and were found
    assert np.all(np.abs(old - new)[disagree] == 1)
    for i in disagree[:200].tolist() + list(range(300)):
        assert new[i] == _java_pos_to_qseq(float(xs[i])), float(xs[i])


def test_float64_input_goes_through_float32_first() -> None:
    x64 = np.array([97.34999999999, 2.3499999999])  # both float32-round to x.35f
    assert read_name_coordinate(x64).tolist() == [1974, 1024]

"""Intensity-level stages against known truth: colour model, phasing estimate, calls, filter."""

import numpy as np
import pytest
from opensbs.basecall import FOUR_COLOUR, TWO_COLOUR, call_intensities
from opensbs.basecall.calls import call_bases
from opensbs.basecall.chastity_filter import ChastityFilter, passing_filter
from opensbs.basecall.crosstalk import estimate_colour_model
from opensbs.basecall.errors import BasecallError, ShapeError
from opensbs.basecall.phasing import phasing_matrix
from opensbs.basecall.quality import QualityTable
from opensbs.sim import phasing_matrix as sim_phasing_matrix

from .intensity_model import generate

FLAT = QualityTable.flat(30)


def test_phasing_matrix_matches_the_simulator_model() -> None:
    ours = phasing_matrix(0.003, 0.002, 40)
    theirs = sim_phasing_matrix(np.full(40, 0.003), np.full(40, 0.002), n_positions=45)
    # ours has position 0 = "nothing incorporated"; theirs is 0-based template positions
    np.testing.assert_allclose(ours[:, 1:46], theirs, atol=1e-9)
    assert np.all(ours.sum(axis=1) <= 1.0 + 1e-12)


@pytest.mark.parametrize("chemistry", [FOUR_COLOUR, TWO_COLOUR])
def test_colour_model_recovers_matrix_and_offsets(chemistry) -> None:
    data = generate(chemistry, n_clusters=6000, n_cycles=4, phasing=0.0, prephasing=0.0,
                    offset=25.0, seed=1)
    model = estimate_colour_model(data.intensities, chemistry)
    truth = data.matrix / np.diag(data.matrix)[None, :]
    np.testing.assert_allclose(model.normalised(), truth, atol=0.02)
    np.testing.assert_allclose(model.offset, 25.0, atol=10.0)


def test_phasing_estimate_and_calls_four_colour() -> None:
    data = generate(FOUR_COLOUR, n_clusters=5000, n_cycles=80, phasing=0.003, prephasing=0.002)
    result = call_intensities(data.intensities, FOUR_COLOUR, quality_table=FLAT)
    assert abs(result.rates.phasing - 0.003) / 0.003 < 0.2
    assert abs(result.rates.prephasing - 0.002) / 0.002 < 0.2
    error = np.mean(result.bases != data.sequences)
    assert error < 0.002
    assert result.passing_filter.mean() > 0.9


def test_phasing_correction_beats_no_correction() -> None:
    data = generate(FOUR_COLOUR, n_clusters=3000, n_cycles=120, phasing=0.004, prephasing=0.004,
                    noise=0.03, seed=2)
    result = call_intensities(data.intensities, FOUR_COLOUR, quality_table=FLAT)
    raw = np.argmax(data.intensities @ np.linalg.inv(data.matrix).T, axis=2)
    late = slice(90, 120)
    corrected_error = np.mean(result.bases[:, late] != data.sequences[:, late])
    raw_error = np.mean(raw[:, late] != data.sequences[:, late])
    assert corrected_error < raw_error / 5


def test_two_colour_calls() -> None:
    data = generate(TWO_COLOUR, n_clusters=5000, n_cycles=40, phasing=0.001, prephasing=0.001,
                    noise=0.03, seed=3)
    result = call_intensities(data.intensities, TWO_COLOUR, quality_table=FLAT)
    assert np.mean(result.bases != data.sequences) < 0.005


def test_four_colour_chastity_is_brightest_over_top_two() -> None:
    signal = np.array([[10.0, 5.0, 1.0, 0.0], [-1.0, -2.0, 3.0, 1.0], [-1.0, -1.0, -1.0, -1.0]])
    calls = call_bases(signal, np.ones(3), FOUR_COLOUR)
    np.testing.assert_array_equal(calls.bases, [0, 2, 4])
    np.testing.assert_allclose(calls.chastity, [10 / 15, 3 / 4, 0.0])


def test_two_colour_signatures() -> None:
    # channels (green, blue): A = blue only, C = both, G = dark, T = green only
    signal = np.array([[0.0, 1.0], [1.1, 0.9], [0.05, -0.02], [0.95, 0.1]])
    calls = call_bases(signal, np.ones(4), TWO_COLOUR)
    np.testing.assert_array_equal(calls.bases, [0, 1, 2, 3])
    assert np.all(calls.chastity > 0.8)


def test_chastity_filter_rule() -> None:
    chastity = np.full((4, 30), 0.9)
    chastity[1, 3] = 0.59  # one failure: passes
    chastity[2, [3, 7]] = 0.5  # two failures: fails
    chastity[3, [3, 26, 27]] = 0.1  # failures after cycle 25 do not count
    np.testing.assert_array_equal(passing_filter(chastity), [True, True, False, True])
    incremental = ChastityFilter(4)
    for cycle in range(30):
        incremental.update(chastity[:, cycle])
        assert (incremental.passing is None) == (cycle < 24)
    np.testing.assert_array_equal(incremental.passing, passing_filter(chastity))


def test_bad_shapes_raise_typed_errors() -> None:
    with pytest.raises(ShapeError):
        call_intensities(np.zeros((10, 5)), FOUR_COLOUR)
    with pytest.raises(ShapeError):
        call_bases(np.zeros((3, 3)), np.ones(3), FOUR_COLOUR)
    with pytest.raises(ShapeError):
        call_intensities(np.zeros((10, 5, 3)))
    with pytest.raises(BasecallError):
        estimate_colour_model(np.zeros((10, 3, 4)), FOUR_COLOUR)

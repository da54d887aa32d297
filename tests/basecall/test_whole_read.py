"""Whole-read calling: the trellis, phasing recovery against truth, qualities, bad input."""

import itertools

import numpy as np
import pytest
from opensbs.basecall import FOUR_COLOUR, TWO_COLOUR, BasecallConfig, call_intensities
from opensbs.basecall.cif import CifData, stack_cif, write_cif
from opensbs.basecall.errors import CifFormatError, IntensityError, ShapeError
from opensbs.basecall.quality import QualityTable, four_bin_qualities
from opensbs.basecall.trellis import max_log_metrics
from opensbs.basecall.validation import check_intensities, check_positions
from opensbs.cli import app
from opensbs.sim.intensities import IntensityConfig, simulate_intensities
from typer.testing import CliRunner

from .intensity_model import generate

FLAT = QualityTable.flat(30)
LIVE = BasecallConfig()


def test_trellis_finds_the_best_sequence_through_each_base() -> None:
    rng = np.random.default_rng(0)
    positions, signature = 5, np.eye(4)
    columns = rng.random((8, positions))
    gram = columns.T @ columns
    gram[np.abs(np.subtract.outer(np.arange(positions), np.arange(positions))) > 2] = 0.0
    evidence = rng.normal(size=(positions, 4))
    score = evidence - 0.5 * np.diag(gram)[:, None]
    metrics = max_log_metrics(score[None].astype(np.float32), gram, signature, np.ones(1))[0]
    best = np.full((positions, 4), -np.inf)
    for sequence in itertools.product(range(4), repeat=positions):
        x = signature[:, sequence]
        value = sum(evidence[k, b] for k, b in enumerate(sequence)) - 0.5 * np.einsum(
            "ck,kj,cj->", x, gram, x)
        for k, b in enumerate(sequence):
            best[k, b] = max(best[k, b], value)
    np.testing.assert_allclose(metrics, best, atol=1e-4)


def test_whole_read_beats_live_decision_feedback_at_high_phasing() -> None:
    data = generate(FOUR_COLOUR, n_clusters=3000, n_cycles=100, phasing=0.006,
                    prephasing=0.003, noise=0.03, seed=4)
    offline = call_intensities(data.intensities, FOUR_COLOUR, quality_table=FLAT)
    live = call_intensities(data.intensities, FOUR_COLOUR, LIVE, quality_table=FLAT)
    offline_error = np.mean(offline.bases != data.sequences)
    live_error = np.mean(live.bases != data.sequences)
    assert offline_error < 0.7 * live_error, (offline_error, live_error)
    assert abs(offline.rates.phasing - 0.006) / 0.006 < 0.1
    assert abs(offline.rates.prephasing - 0.003) / 0.003 < 0.2


def test_whole_read_two_colour_recovers_phasing() -> None:
    data = generate(TWO_COLOUR, n_clusters=3000, n_cycles=80, phasing=0.005, prephasing=0.0025,
                    noise=0.03, seed=6)
    offline = call_intensities(data.intensities, TWO_COLOUR, quality_table=FLAT)
    live = call_intensities(data.intensities, TWO_COLOUR, LIVE, quality_table=FLAT)
    offline_error = np.mean(offline.bases != data.sequences)
    assert offline_error < 0.01
    assert offline_error < np.mean(live.bases != data.sequences)


def test_same_seed_without_phasing_is_the_same_library_and_noise() -> None:
    config = IntensityConfig(seed=9, n_clusters=500, n_cycles=30, phasing=0.01, prephasing=0.005)
    phased, flat = simulate_intensities(config), simulate_intensities(config.without_phasing())
    np.testing.assert_array_equal(phased.sequences, flat.sequences)
    np.testing.assert_array_equal(phased.brightness, flat.brightness)
    np.testing.assert_array_equal(phased.mixed, flat.mixed)
    # cycle 1 differs only by the molecules that lagged or led in that first cycle
    assert not np.allclose(phased.intensities[:, -1], flat.intensities[:, -1])


def test_mixed_clusters_fail_the_filter_or_get_low_qualities() -> None:
    data = simulate_intensities(IntensityConfig(seed=13, n_clusters=3000, n_cycles=40,
                                                mixed_fraction=0.3, mixed_weight=(0.4, 0.5)))
    calls = call_intensities(data.intensities, FOUR_COLOUR)
    mixed, pure = data.mixed, ~data.mixed
    assert calls.passing_filter[mixed].mean() < 0.3
    assert calls.passing_filter[pure].mean() > 0.8
    trusted = calls.passing_filter[:, None] & (calls.qualities >= 30)
    assert trusted[mixed].mean() < 0.25 * trusted[pure].mean()


def test_qualities_are_capped_and_binned_on_request() -> None:
    data = generate(FOUR_COLOUR, n_clusters=2000, n_cycles=30, seed=8)
    capped = call_intensities(data.intensities, FOUR_COLOUR)
    assert capped.qualities.max() <= 41
    full = call_intensities(data.intensities, FOUR_COLOUR, BasecallConfig(
        whole_read=True, max_quality=50))
    assert full.qualities.max() > 41  # the shipped table holds more than Q41 for clean calls
    binned = call_intensities(data.intensities, FOUR_COLOUR, BasecallConfig(
        whole_read=True, four_bin_qualities=True))
    live = call_intensities(data.intensities, FOUR_COLOUR, BasecallConfig(max_quality=41))
    assert live.qualities.max() <= 41
    assert set(np.unique(binned.qualities)) <= {2, 12, 23, 37}
    np.testing.assert_array_equal(four_bin_qualities(np.array([0, 2, 9, 10, 19, 20, 29, 30, 41])),
                                  [2, 2, 2, 12, 12, 23, 23, 37, 37])


def test_cycle_metrics_are_in_raw_units_with_snr_and_no_calls() -> None:
    data = generate(FOUR_COLOUR, n_clusters=2000, n_cycles=30, seed=10)
    for config in (LIVE, BasecallConfig(whole_read=True)):
        metrics = call_intensities(data.intensities, FOUR_COLOUR, config).metrics
        first = metrics[0]
        # brightness lognormal(0, 0.3) x colour-matrix diagonal 900..1100 raw units
        assert np.all((first.called_intensity > 600) & (first.called_intensity < 1600))
        assert metrics[-1].called_intensity.mean() < first.called_intensity.mean()  # decay
        assert 5.0 < first.snr < 100.0
        assert 0.0 <= first.no_call_percent < 1.0


@pytest.mark.parametrize("bad, message", [
    (-np.abs(generate(FOUR_COLOUR, 300, 6, seed=1).intensities), "no positive signal"),
    (np.zeros((300, 6, 4)), "no positive signal"),
    (np.where(np.arange(4) == 2, np.nan, 1.0) * np.ones((300, 6, 4)), "NaN or infinite"),
    (np.full((300, 6, 4), np.inf), "NaN or infinite"),
    (np.ones((300, 6, 4)) * (1 + 1j), "complex"),
    (np.zeros((0, 6, 4)), "empty"),
])
def test_bad_intensities_raise_a_typed_error(bad: np.ndarray, message: str) -> None:
    with pytest.raises(IntensityError, match=message):
        check_intensities(bad)
    with pytest.raises(IntensityError):
        call_intensities(bad, FOUR_COLOUR)


def test_bad_positions_and_cif_sets_raise_typed_errors() -> None:
    with pytest.raises(IntensityError, match="NaN"):
        check_positions(np.array([[1.0, np.nan], [2.0, 3.0]]), 2)
    with pytest.raises(ShapeError):
        check_positions(np.zeros((3, 2)), 2)
    block = np.ones((10, 2, 4), dtype=np.int32)
    with pytest.raises(CifFormatError, match="start at 1"):
        stack_cif([CifData(2, block)])
    with pytest.raises(CifFormatError, match="cluster count"):
        stack_cif([CifData(1, block), CifData(3, block[:7])])
    with pytest.raises(CifFormatError, match="expected cycle 3"):
        stack_cif([CifData(1, block), CifData(4, block)])
    assert stack_cif([CifData(3, block), CifData(1, block)]).shape == (10, 4, 4)


def test_basecall_intensities_command_rejects_bad_input(tmp_path) -> None:
    runner = CliRunner()
    good = generate(FOUR_COLOUR, 400, 8, seed=2).intensities
    cases = {"nan_positions.npz": {"intensities": good,
                                   "positions": np.full((400, 2), np.nan)},
             "negated.npz": {"intensities": -good}}
    for name, arrays in cases.items():
        np.savez(tmp_path / name, **arrays)  # type: ignore[arg-type]
        result = runner.invoke(app, ["basecall-intensities", str(tmp_path / name),
                                     "--out", str(tmp_path / "r.fastq.gz")])
        assert result.exit_code == 2 and "error:" in result.output, result.output
        assert not (tmp_path / "r.fastq.gz").exists()
    write_cif(tmp_path / "c2.cif", np.rint(good[:, 1:2]).astype(np.int32), first_cycle=2)
    result = runner.invoke(app, ["basecall-intensities", str(tmp_path / "c2.cif"),
                                 "--out", str(tmp_path / "r.fastq.gz")])
    assert result.exit_code == 2 and "start at 1" in result.output

"""Each true parameter shows in the images, measured the way a base caller would."""

import numpy as np
import pytest
from opensbs.sim import CycleConditions, SimConfig, TileSimulator, phasing_matrix
from sim_measure import aperture, background_adu, centroids, isolated

# isolated, bright clusters: the measurements below are limited by the model, not by noise
SPARSE = dict(tile_width_px=384, tile_height_px=384, density_per_mm2=60_000, read_length=12,
              brightness_median_e=10_000.0, brightness_sigma_log=0.2, adc_bits=16)
IDENTITY_4 = tuple(tuple(float(i == j) for j in range(4)) for i in range(4))


def cluster_signals(simulator: TileSimulator, images: np.ndarray, keep: np.ndarray,
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(sums (n, C), centroids (n, C, 2)) of the kept clusters in one cycle's images."""
    truth = simulator.truth()
    sums, centroids = [], []
    for channel, image in enumerate(images):
        xy = truth.positions_px + truth.drift_px[-1] + truth.channel_offsets_px[channel]
        total, cx, cy = aperture(image, xy[keep], background_adu(image, xy))
        sums.append(total)
        centroids.append(np.column_stack([cx, cy]))
    return np.column_stack(sums), np.stack(centroids, axis=1)


def test_same_seed_same_images_and_truth_other_seed_differs():
    config = SimConfig(tile_width_px=96, tile_height_px=80, read_length=4, seed=11)
    a, b, c = TileSimulator(config, 1101), TileSimulator(config, 1101), \
        TileSimulator(config.replace(seed=12), 1101)
    for _ in range(3):
        images_a = a.next_cycle()
        np.testing.assert_array_equal(images_a, b.next_cycle())
        assert not np.array_equal(images_a, c.next_cycle())
    np.testing.assert_array_equal(a.truth().templates, b.truth().templates)
    np.testing.assert_array_equal(a.truth().drift_px, b.truth().drift_px)
    assert not np.array_equal(a.positions, TileSimulator(config, 1102).positions)


def test_measured_crosstalk_of_pure_base_clusters_matches_the_truth_matrix():
    config = SimConfig(seed=2, phasing=0.0, prephasing=0.0, **SPARSE)
    simulator = TileSimulator(config)
    images = simulator.next_cycle()
    keep = isolated(simulator.positions, 10.0, 384, 384)
    sums, _ = cluster_signals(simulator, images, keep)
    first_base = simulator.sequences[keep, 0]
    truth = simulator.truth().crosstalk
    for base in range(4):
        rows = sums[first_base == base]
        assert len(rows) >= 15
        measured = np.median(rows / rows[:, [base]], axis=0)
        np.testing.assert_allclose(measured, truth[base] / truth[base, base], atol=0.03)


def test_two_colour_encoding_novaseq_x():
    config = SimConfig(seed=3, chemistry="two-colour", phasing=0.0, prephasing=0.0, **SPARSE)
    simulator = TileSimulator(config)
    images = simulator.next_cycle()
    assert images.shape == (2, 384, 384)
    keep = isolated(simulator.positions, 10.0, 384, 384)
    sums, _ = cluster_signals(simulator, images, keep)
    brightness = simulator.brightness_e[keep][:, None] * config.gain_adu_per_e
    relative = sums / brightness
    first_base = simulator.sequences[keep, 0]
    crosstalk = np.array(config.crosstalk_matrix)
    # dye 0 is the green dye, dye 1 the blue one
    expected = {0: crosstalk[1], 1: crosstalk[0] + crosstalk[1], 2: np.zeros(2), 3: crosstalk[0]}
    for base, levels in expected.items():  # A blue, C both, G dark, T green
        np.testing.assert_allclose(np.median(relative[first_base == base], axis=0), levels,
                                   atol=0.05)


def test_measured_drift_and_channel_offsets_match_truth():
    config = SimConfig(seed=4, drift_jitter_px=0.8, drift_rate_px_per_cycle=(0.3, -0.2),
                       channel_offset_max_px=0.7, **SPARSE)
    simulator = TileSimulator(config)
    keep = isolated(simulator.positions, 10.0, 384, 384, margin_px=14.0)
    for _ in range(3):
        images = simulator.next_cycle()
    truth = simulator.truth()
    # centroids measured around the undrifted positions: the mean shift is drift + offset
    offsets = []
    for channel, image in enumerate(images):
        # start from the undrifted positions: the centroids must find the shift themselves
        background = background_adu(image, truth.positions_px + truth.drift_px[-1])
        lit = keep & (simulator.last_signal_e[:, channel] > 0.5 * simulator.brightness_e)
        found = centroids(image, truth.positions_px[lit], background)
        shift = found - truth.positions_px[lit]
        offsets.append(np.median(shift, axis=0))
    measured = np.array(offsets)
    expected = truth.drift_px[-1] + truth.channel_offsets_px
    np.testing.assert_allclose(measured, expected, atol=0.06)
    assert np.abs(expected).max() > 0.5  # the test measures a real shift


def test_phasing_and_prephasing_leak_into_previous_and_next_base():
    config = SimConfig(seed=5, phasing=0.06, prephasing=0.04, decay_per_cycle=0.0,
                       crosstalk=IDENTITY_4, shot_noise=False, read_noise_e=0.0, **SPARSE)
    simulator = TileSimulator(config)
    keep = isolated(simulator.positions, 10.0, 384, 384)
    cycles = 6
    for _ in range(cycles):
        images = simulator.next_cycle()
    sums, _ = cluster_signals(simulator, images, keep)
    seq = simulator.truth().templates[keep]
    current, previous, following = seq[:, cycles - 1], seq[:, cycles - 2], seq[:, cycles]
    matrix = phasing_matrix(simulator.truth().phasing, simulator.truth().prephasing)
    rows = np.arange(len(sums))
    distinct = (previous != current) & (following != current) & (previous != following)
    lag = sums[rows, previous] / sums[rows, current]
    lead = sums[rows, following] / sums[rows, current]
    expected_lag = matrix[cycles - 1, cycles - 2] / matrix[cycles - 1, cycles - 1]
    expected_lead = matrix[cycles - 1, cycles] / matrix[cycles - 1, cycles - 1]
    assert expected_lag > 0.2 and expected_lead > 0.1
    assert np.median(lag[distinct]) == pytest.approx(expected_lag, rel=0.1)
    assert np.median(lead[distinct]) == pytest.approx(expected_lead, rel=0.1)


def test_signal_decays_per_cycle_as_in_truth():
    config = SimConfig(seed=6, phasing=0.0, prephasing=0.0, decay_per_cycle=0.05,
                       crosstalk=IDENTITY_4, **SPARSE)
    simulator = TileSimulator(config)
    keep = isolated(simulator.positions, 10.0, 384, 384)
    totals = []
    for _ in range(8):
        sums, _ = cluster_signals(simulator, simulator.next_cycle(), keep)
        totals.append(np.median(sums.sum(axis=1) / simulator.brightness_e[keep]))
    measured = np.array(totals) / totals[0]
    np.testing.assert_allclose(measured, simulator.truth().decay_factor, rtol=0.02)
    np.testing.assert_allclose(simulator.truth().decay_factor, 0.95 ** np.arange(8))


def test_clean_signal_follows_the_documented_truth_formula():
    config = SimConfig(seed=7, tile_width_px=64, tile_height_px=64, read_length=30,
                       phasing=0.02, prephasing=0.01, decay_per_cycle=0.01)
    simulator = TileSimulator(config)
    conditions = [CycleConditions()] * 30
    conditions[9] = CycleConditions(temperature_error_c=6.0)
    conditions[20] = CycleConditions(reagent_fraction=0.0)
    signals = []
    for cycle_conditions in conditions:
        simulator.next_cycle(cycle_conditions)
        signals.append(simulator.last_signal_e.copy())
    truth = simulator.truth()
    matrix = phasing_matrix(truth.phasing, truth.prephasing)
    per_base = truth.base_to_channel()
    for t in (0, 9, 10, 20, 29):
        expected = truth.brightness_e[:, None] * truth.decay_factor[t] * np.einsum(
            "k,nkc->nc", matrix[t], per_base[truth.templates[:, : matrix.shape[1]]])
        np.testing.assert_allclose(signals[t], expected, rtol=1e-4)


def test_failed_steps_raise_phasing_in_truth_and_in_the_data():
    config = SimConfig(seed=8, phasing=0.001, prephasing=0.001, crosstalk=IDENTITY_4,
                       shot_noise=False, read_noise_e=0.0, **SPARSE)
    simulator = TileSimulator(config)
    keep = isolated(simulator.positions, 10.0, 384, 384)
    simulator.next_cycle()
    simulator.next_cycle(CycleConditions(reagent_fraction=0.0))  # no incorporation mix
    truth = simulator.truth()
    assert truth.phasing[1] == pytest.approx(1.0)
    sums, _ = cluster_signals(simulator, simulator.next_cycle(), keep)
    seq = truth.templates[keep]
    rows = np.arange(len(sums))
    # cycle 3 shows what a good run shows at cycle 2: the whole cluster lags one base
    assert np.mean(np.argmax(sums, axis=1) == seq[:, 1]) > 0.97
    assert np.mean(sums[rows, seq[:, 1]] / sums.sum(axis=1)) > 0.9
    hot = TileSimulator(config)
    hot.next_cycle(CycleConditions(temperature_error_c=5.0))
    expected = 1 - (1 - 0.001) * np.exp(-0.5 * 0.5 ** 2)
    assert hot.truth().phasing[0] == pytest.approx(expected)


def test_camera_noise_gain_offset_and_adc_range():
    config = SimConfig(seed=9, tile_width_px=256, tile_height_px=256, density_per_mm2=1.0,
                       read_length=3, background_e=400.0, read_noise_e=3.0,
                       gain_adu_per_e=0.5, offset_adu=64, adc_bits=10)
    simulator = TileSimulator(config)
    assert len(simulator.positions) == 0
    image = simulator.next_cycle()[0].astype(float)
    assert image.mean() == pytest.approx(64 + 0.5 * 400, abs=0.3)
    assert image.var() == pytest.approx(0.25 * (400 + 9) + 1 / 12, rel=0.05)
    clean = TileSimulator(config.replace(shot_noise=False, read_noise_e=0.0)).next_cycle()
    assert np.all(clean == 264)
    saturated = TileSimulator(config.replace(background_e=5000.0)).next_cycle()
    assert saturated.max() == 1023 and saturated.dtype == np.uint16

"""Cluster placement: Poisson density and hexagonal wells with occupancy."""

import numpy as np
import pytest
from opensbs.sim import SimConfig, SimConfigError, TileSimulator
from opensbs.sim.geometry import hex_grid, tile_area_mm2
from scipy.spatial import cKDTree


def test_poisson_placement_matches_density_and_fills_the_tile_uniformly():
    config = SimConfig(tile_width_px=512, tile_height_px=512, density_per_mm2=400_000,
                       read_length=10)
    expected = 400_000 * tile_area_mm2(512, 512, config.pixel_size_um)
    counts = []
    for seed in range(4):
        positions = TileSimulator(config.replace(seed=seed)).positions
        counts.append(len(positions))
        assert positions.min() >= -0.5 and positions.max() < 511.5
        quadrant = np.histogram2d(positions[:, 0], positions[:, 1], bins=2,
                                  range=[[-0.5, 511.5], [-0.5, 511.5]])[0]
        assert np.all(np.abs(quadrant - len(positions) / 4) < 5 * np.sqrt(len(positions) / 4))
    # Poisson counts: each within 5 sigma of the expectation, and not all identical
    assert all(abs(c - expected) < 5 * np.sqrt(expected) for c in counts)
    assert len(set(counts)) > 1


def test_exclusion_keeps_clusters_apart_at_the_configured_cluster_density():
    config = SimConfig(tile_width_px=512, tile_height_px=512, density_per_mm2=650_000,
                       read_length=10, cluster_exclusion_um=0.5)
    expected = 650_000 * tile_area_mm2(512, 512, config.pixel_size_um)
    poisson = TileSimulator(config.replace(cluster_exclusion_um=0.0)).positions
    for seed in range(3):
        positions = TileSimulator(config.replace(seed=seed)).positions
        nearest, _ = cKDTree(positions).query(positions, k=2)
        assert nearest[:, 1].min() >= 0.5 / config.pixel_size_um
        # the thinning keeps the cluster density (edges, with fewer rivals, keep a few more)
        assert abs(len(positions) - expected) < 5 * np.sqrt(expected) + 0.02 * expected
    # the same density without exclusion has clusters closer than the exclusion distance
    nearest, _ = cKDTree(poisson).query(poisson, k=2)
    assert np.mean(nearest[:, 1] < 0.5 / config.pixel_size_um) > 0.3
    with pytest.raises(SimConfigError, match="clusters 0.5 um apart"):
        SimConfig(density_per_mm2=1_300_000, cluster_exclusion_um=0.5)


def test_hex_grid_has_six_neighbours_at_the_pitch():
    wells = hex_grid(200, 160, pitch_px=4.0)
    distance, _ = cKDTree(wells).query(wells, k=7)
    interior = (wells[:, 0] > 10) & (wells[:, 0] < 185) & (wells[:, 1] > 10) & \
        (wells[:, 1] < 145)
    np.testing.assert_allclose(distance[interior, 1:], 4.0, atol=1e-9)
    assert len(wells) == expected_hex_count(200, 160, 4.0)


def expected_hex_count(width, height, pitch):
    rows = len(np.arange(0.0, height - 0.5, pitch * np.sqrt(3) / 2))
    even = len(np.arange(0.0, width - 0.5, pitch))
    odd = len(np.arange(pitch / 2, width - 0.5, pitch))
    return (rows + 1) // 2 * even + rows // 2 * odd


def test_patterned_occupancy_and_positions_on_wells():
    config = SimConfig(tile_width_px=400, tile_height_px=400, layout="patterned",
                       well_pitch_um=1.3, occupancy=0.6, read_length=10, seed=5)
    simulator = TileSimulator(config)
    wells = hex_grid(400, 400, 1.3 / config.pixel_size_um)
    assert simulator.geometry.wells_total == len(wells)
    fraction = len(simulator.positions) / len(wells)
    sigma = np.sqrt(0.6 * 0.4 / len(wells))
    assert abs(fraction - 0.6) < 5 * sigma
    distance, _ = cKDTree(wells).query(simulator.positions)
    assert distance.max() < 1e-9

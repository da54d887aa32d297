"""The on-disk image folder: writer, reader, truth round trip, errors, and the CLI."""

import json

import numpy as np
import pytest
import tifffile
from opensbs.cli import app
from opensbs.sim import SimConfig, SimLayoutError, SimulatedRun, TileSimulator, write_simulated_run
from typer.testing import CliRunner

CONFIG = SimConfig(seed=3, tile_width_px=64, tile_height_px=48, read_length=5,
                   chemistry="two-colour")


def test_round_trip_images_and_truth(tmp_path):
    write_simulated_run(tmp_path, CONFIG, tiles=[1101, 1102], cycles=4)
    run = SimulatedRun.open(tmp_path)
    assert run.tiles == (1101, 1102) and run.cycles == 4
    assert run.channel_names == ("green", "blue") and run.image_shape == (2, 48, 64)
    # the index spells out the crosstalk in effect (the chemistry's default here)
    assert run.config == CONFIG.replace(crosstalk=tuple(map(tuple, CONFIG.crosstalk_matrix)))
    fresh = TileSimulator(CONFIG, 1102)
    for cycle in range(1, 5):
        np.testing.assert_array_equal(run.read_cycle(1102, cycle), fresh.next_cycle())
    truth = run.truth(1102)
    expected = fresh.truth()
    for name in ("positions_px", "templates", "brightness_e", "crosstalk", "drift_px",
                 "phasing", "prephasing", "decay_factor", "channel_offsets_px"):
        np.testing.assert_array_equal(getattr(truth, name), getattr(expected, name))
    assert truth.cycles == 4 and truth.sequences.shape == (len(truth.positions_px), 5)
    # the JSON side is readable without numpy
    meta = json.loads((tmp_path / "truth" / "tile_1102.json").read_text())
    assert meta["n_clusters"] == len(truth.positions_px)
    assert meta["crosstalk"] == CONFIG.crosstalk_matrix.tolist()
    # the TIFF is a plain multi-page uint16 file
    with tifffile.TiffFile(tmp_path / "images" / "tile_1101" / "cycle_002.tif") as tif:
        assert len(tif.pages) == 2 and tif.pages[0].dtype == np.uint16


def test_reader_names_what_is_wrong(tmp_path):
    with pytest.raises(SimLayoutError, match="no simulation.json"):
        SimulatedRun.open(tmp_path)
    write_simulated_run(tmp_path, CONFIG, tiles=[1101], cycles=2)
    run = SimulatedRun.open(tmp_path)
    with pytest.raises(SimLayoutError, match="tile 1201 is not in this run"):
        run.read_cycle(1201, 1)
    with pytest.raises(SimLayoutError, match="cycle 3 is outside"):
        run.read_cycle(1101, 3)
    (tmp_path / "images" / "tile_1101" / "cycle_002.tif").unlink()
    with pytest.raises(SimLayoutError, match="image file missing"):
        run.read_cycle(1101, 2)
    tifffile.imwrite(tmp_path / "images" / "tile_1101" / "cycle_001.tif",
                     np.zeros((2, 48, 64), np.uint8))
    with pytest.raises(SimLayoutError, match="expected uint16"):
        run.read_cycle(1101, 1)
    (tmp_path / "truth" / "tile_1101.npz").unlink()
    with pytest.raises(SimLayoutError, match="truth of tile 1101 missing"):
        run.truth(1101)
    index = json.loads((tmp_path / "simulation.json").read_text())
    (tmp_path / "simulation.json").write_text(json.dumps({**index, "version": 99}))
    with pytest.raises(SimLayoutError, match="version"):
        SimulatedRun.open(tmp_path)
    with pytest.raises(SimLayoutError, match="cycles must be"):
        write_simulated_run(tmp_path, CONFIG, tiles=[1], cycles=6)


def test_cli_simulate_writes_a_readable_run(tmp_path):
    result = CliRunner().invoke(app, [
        "simulate", "--out", str(tmp_path), "--tiles", "2", "--tile-size", "64",
        "--cycles", "3", "--chemistry", "two-colour", "--phasing", "0.002", "--seed", "9",
        "--layout", "patterned", "--occupancy", "0.5", "--no-noise"])
    assert result.exit_code == 0, result.output
    run = SimulatedRun.open(tmp_path)
    assert run.tiles == (1101, 1102) and run.cycles == 3
    assert run.config.phasing == 0.002 and run.config.layout == "patterned"
    assert run.config.shot_noise is False and run.config.read_noise_e == 0.0
    assert run.read_cycle(1102, 3).shape == (2, 64, 64)
    bad = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path / "x"),
                                   "--phasing", "0.9"])
    assert bad.exit_code == 2 and "phasing must be in [0, 0.5)" in bad.output


def test_cli_simulate_explicit_options_override_the_preset(tmp_path):
    result = CliRunner().invoke(app, [
        "simulate", "--out", str(tmp_path), "--tiles", "1", "--tile-size", "64",
        "--cycles", "2", "--preset", "miseq-v3", "--phasing", "0.004", "--chemistry",
        "two-colour", "--density", "300000", "--drift", "0.1", "--no-noise", "--workers", "1"])
    assert result.exit_code == 0, result.output
    config = SimulatedRun.open(tmp_path).config
    preset = SimConfig.preset("miseq-v3", tile_width_px=64, tile_height_px=64, read_length=2)
    assert (config.phasing, config.chemistry, config.density_per_mm2) == (
        0.004, "two-colour", 300_000.0)
    assert (config.drift_jitter_px, config.shot_noise, config.read_noise_e) == (0.1, False, 0.0)
    # what was not given stays the preset's, not the gentle default
    assert config.prephasing == preset.prephasing == 0.0008
    assert config.ggc_phasing_factor == preset.ggc_phasing_factor > 0
    assert config.cluster_noise == preset.cluster_noise > 0
    assert config.layout == "random" and config.occupancy == preset.occupancy

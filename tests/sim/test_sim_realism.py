"""Realism effects and presets: each effect does what it says at its size, and is off at 0."""

import hashlib

import numpy as np
import pytest
from opensbs.recipe import RecipeError, default_recipe_text, parse_recipe
from opensbs.recipe.model import SimSection
from opensbs.sim import SimConfig, SimConfigError, TileSimulator
from opensbs.sim.artefacts import Bubbles, apply_psf_field, illumination_gain
from opensbs.sim.cluster_phasing import ClusterPhasingWindow
from opensbs.sim.noise import (
    FOUR_COLOUR_NOISE_CORRELATION,
    draw_brightness,
    draw_cluster_noise,
)
from opensbs.sim.phasing import PhasingWindow
from opensbs.sim.presets import PRESETS, preset_config, preset_names

SMALL = {"tile_width_px": 96, "tile_height_px": 96, "read_length": 8}


def digest(config: SimConfig, cycles: int) -> str:
    sim = TileSimulator(config, 1101)
    h = hashlib.sha256()
    for _ in range(cycles):
        h.update(sim.next_cycle().tobytes())
    return h.hexdigest()


def test_gentle_preset_is_exactly_the_default_config():
    assert preset_config("gentle") == SimConfig()
    assert SimConfig.preset("gentle", seed=3) == SimConfig(seed=3)


def test_every_preset_is_valid_and_unknown_names_are_refused():
    for name in preset_names():
        config = preset_config(name, **SMALL)
        assert config.read_length == 8
    assert preset_config("novaseq-x").chemistry.value == "two-colour"
    assert preset_config("novaseq-x").layout == "patterned"
    with pytest.raises(SimConfigError, match="unknown simulator preset 'hiseq'"):
        preset_config("hiseq")


@pytest.mark.parametrize("name", ["miseq-v3", "novaseq-x", "prototype"])
def test_presets_are_deterministic_and_seeded(name):
    config = preset_config(name, seed=4, **SMALL)
    assert digest(config, 6) == digest(config, 6)
    assert digest(config, 6) != digest(config.replace(seed=5), 6)


def test_realism_fields_are_validated():
    for bad in ({"cluster_noise_dof": 1.5}, {"g_quench": 1.0}, {"edge_falloff": -0.1},
                {"brightness_model": "gamma"}, {"brightness_model": "logistic"},
                {"bubble_transmission": 1.5}, {"duplicate_fraction": 0.6},
                {"bubble_lifetime_cycles": 0}):
        with pytest.raises(SimConfigError):
            SimConfig(**bad)


def test_recipe_preset_names_match_the_simulator_presets():
    literal = SimSection.model_fields["preset"].annotation.__args__  # type: ignore[union-attr]
    assert set(literal) == set(PRESETS)
    default = parse_recipe(default_recipe_text(), "default_sbs.toml")
    assert default.sim.preset == "miseq-v3"
    bad = default_recipe_text().replace('preset = "miseq-v3"', 'preset = "hiseq"')
    with pytest.raises(RecipeError, match="preset"):
        parse_recipe(bad, "bad.toml")


# -- brightness and cluster noise ---------------------------------------------------------------

def test_brightness_models_have_their_published_spread():
    rng = np.random.default_rng(0)
    logistic = draw_brightness(rng, 200_000, "logistic", 1000.0, 0.0, 0.105)
    assert np.median(logistic) == pytest.approx(1000.0, rel=0.01)
    assert logistic.std() / 1000.0 == pytest.approx(0.105 * np.pi / np.sqrt(3), rel=0.02)
    weibull = draw_brightness(rng, 200_000, "weibull", 1000.0, 0.0, 1.573)
    assert np.median(weibull) == pytest.approx(1000.0, rel=0.01)
    assert weibull.std() / weibull.mean() == pytest.approx(0.65, abs=0.01)  # the GA-II fit
    assert weibull.min() >= 20.0  # floored at 2 % of the median
    lognormal = draw_brightness(np.random.default_rng(1), 10, "lognormal", 2000.0, 0.35, 0.0)
    assert np.array_equal(lognormal,
                          np.random.default_rng(1).lognormal(np.log(2000.0), 0.35, 10))


@pytest.mark.parametrize("dof", [0.0, 6.0])
def test_cluster_noise_has_the_runfile_correlation_and_the_asked_sd(dof):
    cholesky = np.linalg.cholesky(FOUR_COLOUR_NOISE_CORRELATION)
    noise = draw_cluster_noise(np.random.default_rng(2), 400_000, 50.0, cholesky, dof)
    assert noise.std(axis=0) == pytest.approx(np.full(4, 50.0), rel=0.02)
    assert np.corrcoef(noise.T) == pytest.approx(FOUR_COLOUR_NOISE_CORRELATION, abs=0.01)
    excess_kurtosis = (noise[:, 0] ** 4).mean() / noise[:, 0].var() ** 2 - 3.0
    if dof:  # Student-t: 6 / (dof - 4) = 3 for dof 6
        assert excess_kurtosis > 1.5
    else:
        assert abs(excess_kurtosis) < 0.1


def test_cluster_noise_in_the_emitted_signal_grows_with_cycle():
    config = SimConfig(seed=1, tile_width_px=128, tile_height_px=128, read_length=40,
                       cluster_noise=0.1, cluster_noise_growth_per_cycle=0.02,
                       decay_per_cycle=0.0, crosstalk=tuple(map(tuple, np.eye(4))))
    sim = TileSimulator(config, 1)
    spread = []
    for cycle in range(1, 41):
        sim.next_cycle()
        if cycle in (1, 40):
            residual = sim.last_emitted_e - sim.last_signal_e
            spread.append(residual.std() / config.brightness_median_e)
    assert spread[0] == pytest.approx(0.1, rel=0.05)
    assert spread[1] == pytest.approx(0.1 * (1 + 0.02 * 39), rel=0.05)
    off = TileSimulator(config.replace(cluster_noise=0.0), 1)
    off.next_cycle()
    assert off.last_emitted_e is off.last_signal_e


# -- phasing: per cluster and sequence context ----------------------------------------------------

def test_cluster_window_with_no_spread_or_context_is_the_shared_model():
    templates = np.random.default_rng(0).integers(0, 4, (5, 60)).astype(np.uint8)
    per_cluster = ClusterPhasingWindow(templates, np.ones(5), 0.0, 0.0)
    shared = PhasingWindow()
    for _ in range(40):
        per_cluster.advance(0.004, 0.002)
        shared.advance(0.004, 0.002)
    positions, weights = per_cluster.emitting()
    expected = dict(zip(*shared.emitting(), strict=True))
    for j, position in enumerate(positions):
        assert weights[:, j] == pytest.approx(expected.get(position, 0.0), abs=1e-6)


def test_ggc_and_homopolymers_raise_the_lag_of_the_next_incorporation():
    codes = {"A": 0, "C": 1, "G": 2, "T": 3}
    reads = ["GGCATACGTA", "ATCATACGTA", "AAAGTACGTA"]
    templates = np.array([[codes[b] for b in r] for r in reads], dtype=np.uint8)
    window = ClusterPhasingWindow(templates, np.ones(3), ggc_factor=9.0, homopolymer_factor=4.0)
    for _ in range(4):  # the 4th cycle incorporates base 3, after GGC / AAA
        window.advance(0.01, 0.0)
    positions, weights = window.emitting()
    lagging = weights[:, list(positions).index(2)]  # still on base 2 after cycle 4
    on_base_2 = 0.97  # molecules that reached base 2 after 3 cycles (1 % lagged per cycle)
    assert lagging[1] == pytest.approx(0.039, abs=0.002)  # lagged once in any of 4 cycles
    assert lagging[0] - lagging[1] == pytest.approx(0.01 * 9 * on_base_2, rel=0.03)
    assert lagging[2] - lagging[1] == pytest.approx(0.01 * 4 * on_base_2, rel=0.03)


def test_phasing_spread_gives_clusters_different_lags():
    config = SimConfig(seed=2, phasing=0.003, prephasing=0.0, phasing_spread_log=0.5,
                       shot_noise=False, read_noise_e=0.0, **SMALL)
    sim = TileSimulator(config, 1)
    for _ in range(8):
        sim.advance()
    assert sim._cluster_phasing is not None
    lag = 1.0 - sim._cluster_phasing.emitting()[1].max(axis=1)
    assert lag.std() / lag.mean() == pytest.approx(np.sqrt(np.exp(0.25) - 1), rel=0.15)


# -- dyes ----------------------------------------------------------------------------------------

def clean_signal_config(**changes):
    return SimConfig(seed=3, phasing=0.0, prephasing=0.0, decay_per_cycle=0.0,
                     crosstalk=tuple(map(tuple, np.eye(4))), tile_width_px=128,
                     tile_height_px=128, read_length=12, **changes)


def test_g_quenching_dims_the_base_after_a_g():
    sim = TileSimulator(clean_signal_config(g_quench=0.2), 1)
    for _ in range(5):
        sim.advance()
    ratio = sim.last_signal_e.max(axis=1) / sim.brightness_e
    after_g = sim.sequences[:, 3] == 2
    assert ratio[after_g] == pytest.approx(0.8)
    assert ratio[~after_g] == pytest.approx(1.0)


def test_t_accumulation_leaves_a_growing_t_signal():
    sim = TileSimulator(clean_signal_config(t_accumulation=0.01), 1)
    for _ in range(10):
        sim.advance()
    t_so_far = (sim.sequences[:, :10] == 3).sum(axis=1)
    not_t = sim.sequences[:, 9] != 3
    residual = sim.last_signal_e[not_t, 3] / sim.brightness_e[not_t]
    assert residual == pytest.approx(0.01 * t_so_far[not_t], abs=1e-5)


# -- optics --------------------------------------------------------------------------------------

def test_edge_falloff_is_one_minus_falloff_at_the_corners():
    xy = np.array([[-0.5, -0.5], [63.5, 63.5], [127.5, 127.5], [127.5, 63.5]])
    gain = illumination_gain(xy, 128, 128, 0.2)
    assert gain == pytest.approx([0.8, 1.0, 0.8, 0.9], abs=2e-3)


def test_bubbles_block_light_only_under_them_and_only_while_they_last():
    bubbles = Bubbles(np.array([[50.0, 50.0]]), np.array([10.0]), np.array([3]), np.array([5]))
    xy = np.array([[50.0, 55.0], [50.0, 70.0]])
    assert bubbles.gain(xy, 2, 0.2) is None
    assert bubbles.gain(xy, 4, 0.2) == pytest.approx([0.2, 1.0])
    assert bubbles.gain(xy, 6, 0.2) is None


def test_dust_adds_bright_blobs_to_every_channel():
    base = SimConfig(seed=5, tile_width_px=256, tile_height_px=256, read_length=2,
                     shot_noise=False, read_noise_e=0.0)
    clean = TileSimulator(base, 1).next_cycle().astype(float)
    dusty = TileSimulator(base.replace(dust_per_mm2=1000.0, dust_brightness_e=60_000.0),
                          1).next_cycle().astype(float)
    extra = dusty - clean
    assert (extra >= 0).all()
    for channel in range(4):
        assert extra[channel].max() > 200  # a blob tens of times a cluster's peak above bg


def test_focus_tilt_blurs_one_side_more():
    image = np.zeros((64, 256), dtype=np.float32)
    image[32, 16] = image[32, 240] = 1000.0
    apply_psf_field(image, 1.2, 0.8)
    assert image[32, 16] > 1.5 * image[32, 240]  # sigma 0.9 on the left, 1.5 on the right
    assert image[:, :128].sum() == pytest.approx(1000.0, rel=1e-3)
    flat = np.zeros_like(image)
    flat[32, 16] = 1000.0
    assert apply_psf_field(flat, 1.2, 0.0)[32, 16] == pytest.approx(
        1000.0 / (2 * np.pi * 1.2 ** 2), rel=0.05)


def test_focus_drift_and_jitter_change_the_psf_per_cycle():
    config = SimConfig(seed=1, focus_drift_px_per_cycle=0.01, focus_jitter_px=0.05, **SMALL)
    sim = TileSimulator(config, 1)
    sigmas = []
    for _ in range(8):
        sim.advance()
        sigmas.append(sim._focus_sigma_px)
    assert all(s >= 1.0 + 0.01 * i for i, s in enumerate(sigmas))
    assert len(set(sigmas)) == len(sigmas)


# -- patterned flow cells ---------------------------------------------------------------------

def test_pad_hopping_copies_a_neighbours_template():
    config = SimConfig(seed=6, layout="patterned", tile_width_px=200, tile_height_px=200,
                       read_length=20, duplicate_fraction=0.1)
    sim = TileSimulator(config, 1)
    from scipy.spatial import cKDTree

    _, nearest = cKDTree(sim.positions).query(sim.positions, k=2)
    same = (sim.sequences == sim.sequences[nearest[:, 1]]).all(axis=1)
    # every copy matches its nearest well; a source matches when the copy is its nearest too
    assert 0.08 <= same.mean() <= 0.2
    plain = TileSimulator(config.replace(duplicate_fraction=0.0), 1)
    _, nearest = cKDTree(plain.positions).query(plain.positions, k=2)
    assert (plain.sequences == plain.sequences[nearest[:, 1]]).all(axis=1).mean() < 0.01


# -- choosing a preset: recipe, instrument, CLI ---------------------------------------------------

def test_the_instrument_takes_the_recipes_preset_and_its_own_chemistry_and_size():
    from opensbs.recipe import default_recipe
    from opensbs.sim.instrument import VirtualInstrument

    recipe = default_recipe()
    instrument = VirtualInstrument.from_recipe(recipe, seed=3, tile_width_px=64,
                                               tile_height_px=48)
    expected = preset_config("miseq-v3", seed=3, tile_width_px=64, tile_height_px=48,
                             read_length=recipe.total_cycles, chemistry="four-colour",
                             adc_bits=12)
    assert instrument.config == expected
    nova = VirtualInstrument.from_recipe(recipe, preset="novaseq-x", tile_width_px=64,
                                         tile_height_px=48)
    assert nova.config.layout == "patterned"
    assert nova.config.chemistry.value == "four-colour"  # the recipe's chemistry wins


def test_cli_simulate_and_run_take_a_preset(tmp_path):
    from opensbs.cli import app
    from opensbs.sim import SimulatedRun
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path), "--tile-size", "64",
                                      "--cycles", "3", "--preset", "prototype", "--seed", "2"])
    assert result.exit_code == 0, result.output
    run = SimulatedRun.open(tmp_path)
    assert run.config.to_json_dict() == preset_config(
        "prototype", seed=2, tile_width_px=64, tile_height_px=64, read_length=3).to_json_dict()
    bad = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path / "x"), "--preset", "x"])
    assert bad.exit_code == 2 and "unknown simulator preset 'x'" in bad.output
    bad_run = CliRunner().invoke(app, ["run", "--sim", "--preset", "hiseq", "--out",
                                       str(tmp_path / "r")])
    assert bad_run.exit_code == 2 and "unknown --preset 'hiseq'" in bad_run.output
    assert not (tmp_path / "r").exists()


def test_cluster_size_spread_widens_clusters_and_keeps_their_light():
    base = SimConfig(seed=7, tile_width_px=128, tile_height_px=128, read_length=2,
                     density_per_mm2=20_000.0, shot_noise=False, read_noise_e=0.0,
                     background_e=0.0, offset_adu=0.0, drift_jitter_px=0.0,
                     channel_offset_max_px=0.0, adc_bits=16)
    sharp = TileSimulator(base, 1).next_cycle().astype(float)
    wide = TileSimulator(base.replace(cluster_size_spread=1.0), 1).next_cycle().astype(float)
    assert wide.sum() == pytest.approx(sharp.sum(), rel=1e-2)  # less what leaves the tile
    assert wide.max() < 0.9 * sharp.max()


def test_a_resumed_run_keeps_its_preset(tmp_path):
    from opensbs.run import RunRequest, start_run
    from opensbs.runfolder import RunFolderError

    with pytest.raises(RunFolderError, match="--preset cannot change when resuming"):
        start_run(RunRequest(resume=tmp_path, preset="gentle"))

"""End to end on small simulated tiles: accuracy against truth, PF, Q sanity, incremental
delay and bounded state, the offline commands, and typed errors on bad images."""

import gzip
import json

import numpy as np
import pytest
from opensbs.basecall import FOUR_COLOUR, ShapeError, TileBasecaller
from opensbs.basecall.quality import QualityTable
from opensbs.calibration.evaluation import simulate_and_call
from opensbs.cli import app
from opensbs.sim import SimConfig, TileSimulator, write_simulated_run
from typer.testing import CliRunner

SMALL = SimConfig(seed=11, tile_width_px=192, tile_height_px=192, read_length=40)


@pytest.fixture(scope="module")
def called():
    return simulate_and_call(SMALL, oracle=True)


def test_accuracy_against_truth(called) -> None:
    tile = called["caller"]
    rows = tile.matched & tile.calls.passing_filter
    assert tile.matched.sum() > 0.7 * tile.n_true_clusters
    assert tile.calls.passing_filter.mean() > 0.7
    error = tile.errors[rows].mean()
    assert error < 0.01
    oracle = called["oracle"]
    oracle_error = oracle.errors[oracle.calls.passing_filter].mean()
    assert error < 2.0 * oracle_error + 0.001


def test_quality_scores_rank_errors(called) -> None:
    tile = called["caller"]
    rows = tile.matched & tile.calls.passing_filter
    q = tile.calls.qualities[rows]
    wrong = tile.errors[rows]
    high, low = q >= 30, q < 20
    assert high.mean() > 0.7
    assert wrong[high].mean() < 0.002
    assert wrong[low].mean() > 5 * wrong[high].mean()


def test_incremental_delay_and_bounded_state() -> None:
    simulator = TileSimulator(SMALL.replace(read_length=20), 1101)
    caller = TileBasecaller(FOUR_COLOUR)
    last = 0
    for cycle in range(1, 21):
        for done in caller.add_cycle(simulator.next_cycle()):
            assert done.cycle == last + 1
            last = done.cycle
            assert done.bases.dtype == np.uint8 and done.qualities.dtype == np.uint8
            assert done.metrics.q_histogram.sum() == done.bases.size
        if cycle >= caller.config.template_cycles:
            assert cycle - last <= caller.config.max_lookahead
            assert caller._images == []  # no image history once the template exists
    assert caller.passing_filter is None  # 20 < 25 cycles: not final before finish
    assert [d.cycle for d in caller.finish()] == list(range(last + 1, 21))
    assert caller.passing_filter is not None
    with pytest.raises(ShapeError):
        caller.add_cycle(np.zeros((4, 100, 100), np.uint16))
    with pytest.raises(ShapeError):
        TileBasecaller(FOUR_COLOUR).add_cycle(np.zeros((2, 64, 64), np.uint16))
    with pytest.raises(ShapeError):
        TileBasecaller().add_cycle(np.zeros((64, 64), np.uint16))


def test_offline_commands(tmp_path, called) -> None:
    run_dir = tmp_path / "run"
    write_simulated_run(run_dir, SMALL.replace(read_length=30, seed=5), [1101], 30)
    runner = CliRunner()
    result = runner.invoke(app, ["basecall", str(run_dir), "--out", str(tmp_path / "calls")])
    assert result.exit_code == 0, result.output
    fastq = tmp_path / "calls" / "Undetermined_S0_L001_R1_001.fastq.gz"
    text = gzip.decompress(fastq.read_bytes()).decode()
    lines = text.splitlines()
    assert lines[0].startswith("@OPENSBS:1:FLOWCELL:1:1101:") and lines[0].endswith(" 1:N:0:")
    assert len(lines[1]) == 30 and len(lines[3]) == 30 and lines[2] == "+"
    summary = json.loads((tmp_path / "calls" / "summary.json").read_text())
    assert summary["1101"]["pf_fraction"] > 0.5

    tile = called["caller"]
    npz = tmp_path / "intensities.npz"
    np.savez(npz, intensities=np.zeros((5, 3, 4)))
    bad = runner.invoke(app, ["basecall-intensities", str(npz), "--out", str(tmp_path / "x.gz")])
    assert bad.exit_code == 2 and "error" in bad.output
    assert tile.calls.bases.shape[1] == 40
    missing = runner.invoke(app, ["basecall", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "not a directory" in missing.output


def test_recalibrate_command_writes_a_table_per_chemistry(tmp_path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["basecall-recalibrate", "--out-dir", str(tmp_path),
                                 "--chemistry", "two-colour", "--tile-size", "128",
                                 "--seed", "7"])
    assert result.exit_code == 0, result.output
    table = QualityTable.load(tmp_path / "qtable_two_colour.json")
    assert table.source.startswith("simulation: two-colour 128x128 150 cycles")
    assert not (tmp_path / "qtable_four_colour.json").exists()
    bad = runner.invoke(app, ["basecall-recalibrate", "--out-dir", str(tmp_path),
                              "--chemistry", "three-colour"])
    assert bad.exit_code == 2 and "unknown chemistry" in bad.output


def test_two_colour_tile_against_truth() -> None:
    config = SMALL.replace(chemistry="two-colour", read_length=30, seed=12)
    tile = simulate_and_call(config, oracle=False)["caller"]
    rows = tile.matched & tile.calls.passing_filter
    assert tile.calls.passing_filter.mean() > 0.6
    assert tile.errors[rows].mean() < 0.01

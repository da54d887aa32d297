"""The per-tile job engine: same files whatever the layout, resume, progress, errors.

Small flow cells (96 px tiles, 8 cycles) keep the local clusters quick on a loaded machine.
"""

import re

from distributed import LocalCluster
from job_files import SIMULATE, TILES, folder_bytes, invoke
from opensbs.cli import app
from opensbs.jobs import cluster as cluster_module
from opensbs.jobs.completion import MARKER_FOLDER
from typer.testing import CliRunner


def test_local_cluster_writes_the_same_files_as_one_process(flow_cell, in_process_calls,
                                                           tmp_path) -> None:
    simulated = tmp_path / "sim"
    log = invoke("simulate", "--out", str(simulated), *SIMULATE, "--workers", "2")
    assert "on a local cluster of 2 workers" in log
    assert folder_bytes(simulated) == folder_bytes(flow_cell)
    assert len(folder_bytes(flow_cell)) == TILES * (8 + 2) + 1  # images, truth, index

    log = invoke("basecall", str(flow_cell), "--out", str(tmp_path / "calls"), "--workers", "2")
    assert folder_bytes(tmp_path / "calls") == in_process_calls
    assert set(in_process_calls) == {"summary.json", "Undetermined_S0_L001_R1_001.fastq.gz"} | {
        f"tiles/R1_{1101 + i}.fastq.gz" for i in range(TILES)}
    # off a terminal: one plain progress line per tile, with the count, rate and ETA
    lines = [line for line in log.splitlines() if line.startswith("basecall: tile_")]
    assert len(lines) == TILES
    assert re.fullmatch(r"basecall: tile_\d{4} done \(3/3, [\d.]+ tiles/s, ETA \d+ s\) "
                        r"in [\d.]+ s on .+:\d+", lines[-1])


def test_rerun_skips_complete_tiles_and_redoes_damaged_or_changed_ones(
        flow_cell, in_process_calls, tmp_path) -> None:
    out = tmp_path / "calls"
    invoke("basecall", str(flow_cell), "--out", str(out), "--workers", "1")
    assert "3 of 3 tiles already complete, skipped" in invoke(
        "basecall", str(flow_cell), "--out", str(out), "--workers", "1")

    fastq = out / "tiles" / "R1_1102.fastq.gz"
    fastq.write_bytes(fastq.read_bytes()[:-10])  # a tile's output cut short
    (out / MARKER_FOLDER / "tile_1103.json").unlink()  # a tile killed before its marker
    log = invoke("basecall", str(flow_cell), "--out", str(out), "--workers", "1")
    assert "1 of 3 tiles already complete, skipped" in log
    assert "tile_1102 done" in log and "tile_1103 done" in log and "tile_1101 done" not in log
    assert folder_bytes(out) == in_process_calls

    # other arguments (here: also write filtered reads) are other work: every tile re-runs
    log = invoke("basecall", str(flow_cell), "--out", str(out), "--workers", "1",
                 "--include-filtered")
    assert "skipped" not in log and log.count("done (") == TILES
    assert folder_bytes(out)["tiles/R1_1101.fastq.gz"] != in_process_calls["tiles/R1_1101.fastq.gz"]


def test_unreachable_or_empty_cluster_is_a_one_line_error(flow_cell, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(cluster_module, "CONNECT_TIMEOUT_S", 1)
    monkeypatch.setenv("OPENSBS_SCHEDULER", "tcp://127.0.0.1:1")
    result = CliRunner().invoke(app, ["basecall", str(flow_cell), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "error: cannot reach the Dask scheduler at tcp://127.0.0.1:1" in result.output
    assert not (tmp_path / "summary.json").exists()
    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as empty:
        result = CliRunner().invoke(app, ["basecall", str(flow_cell), "--out", str(tmp_path),
                                          "--scheduler", empty.scheduler_address])
    assert result.exit_code == 2
    assert f"the Dask cluster at {empty.scheduler_address} has no workers" in result.output
    bad = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path), "--workers", "0"])
    assert bad.exit_code == 2 and "--workers" in bad.output

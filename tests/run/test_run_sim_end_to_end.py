"""`opensbs run --sim` end to end on a tiny recipe: run folder, numbers, determinism, resume
after kill -9 and after Ctrl-C, and the refusal to run without hardware or --sim."""

import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import gated_opensbs, wait_for
from opensbs.basecall.pipeline import BasecallConfig
from opensbs.run import RunProgress, RunRequest, start_run
from opensbs.run.calling import MAX_QUEUED_CYCLES
from opensbs.runfolder import Journal, RunFolder, read_run_log
from opensbs.runfolder.interop_files import EXTRACTION_DTYPE, decode_metric_file

TINY = Path(__file__).with_name("tiny_recipe.toml")
CYCLES = 8
TILES = (1101, 1102)


def _opensbs(*args: str) -> list[str]:
    return [sys.executable, "-c", "from opensbs.cli import main; main()", *args]


def _calls_bytes(root: Path) -> dict[str, bytes]:
    """Every BCL and FASTQ of a run folder, by relative path."""
    files = sorted(root.glob("Data/Intensities/BaseCalls/L001/C*.1/*.bcl"))
    files += sorted(root.glob("Fastq/*.fastq.gz"))
    return {str(p.relative_to(root)): p.read_bytes() for p in files}


LIVE: list[RunProgress] = []


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory) -> Path:
    """One uninterrupted tiny run with seed 5 (its live progress kept in LIVE)."""
    out = tmp_path_factory.mktemp("ref") / "run"
    start_run(RunRequest(sim=True, recipe=TINY, out=out, seed=5), LIVE.append)
    return out


def test_live_figures_match_the_final_ones(reference_run: Path):
    summary = json.loads((reference_run / "summary.json").read_text())
    [progress] = LIVE
    assert progress.cycle == progress.basecalled_cycle == CYCLES
    assert progress.clusters == summary["clusters"]
    assert progress.pf_fraction == pytest.approx(summary["pf_fraction"])
    assert progress.frames_received == CYCLES * len(TILES) * 4
    assert progress.frames_dropped == 0
    # 8-cycle reads are too short to align to PhiX (tests/report runs one long enough): the
    # live view ends on the final figures, and the truth diagnostic stays apart
    assert progress.error_rate == summary["error_rate"]
    assert progress.truth_error_rate == summary["sim_truth_error_rate"] < 0.05
    assert 0.4 < progress.q30_fraction <= 1.0


def test_run_folder_is_complete_and_consistent(reference_run: Path):
    root = reference_run
    for name in ("RunInfo.xml", "RunParameters.xml", "summary.json", "report.html",
                 "run_log.jsonl", "journal.jsonl", "recipe.toml"):
        assert (root / name).is_file(), name
    interop = {p.name for p in (root / "InterOp").iterdir()}
    assert interop == {"TileMetricsOut.bin", "ExtractionMetricsOut.bin", "QMetricsOut.bin",
                       "CorrectedIntMetricsOut.bin", "ImageMetricsOut.bin",
                       "SummaryRunMetricsOut.bin"}  # no ErrorMetrics: nothing aligned
    assert len(_calls_bytes(root)) == CYCLES * len(TILES) + 1
    assert not list(root.rglob("*.partial"))
    assert not (root / "State" / "images").exists()  # sim runs keep no images
    folder = RunFolder.open(root)
    summary = json.loads((root / "summary.json").read_text())
    n_pf = 0
    for tile in TILES:
        bases, _ = folder.read_calls(tile, range(1, CYCLES + 1))
        passed = folder.read_filter(tile)
        assert bases.shape == (len(passed), CYCLES) == (len(folder.read_locs(tile)), CYCLES)
        n_pf += int(passed.sum())
    assert summary["clusters_pf"] == n_pf
    fastq = gzip.decompress(next((root / "Fastq").iterdir()).read_bytes()).decode()
    assert fastq.count("\n") == 4 * n_pf
    assert fastq.startswith("@OPENSBS1:1:OSBS0001:1:1101:")
    # a working instrument and caller: most clusters pass, few errors against the truth
    true_clusters = sum(len(np.load(root / "Truth" / f"tile_{t}.npz")["positions_px"])
                        for t in TILES)
    assert 0.5 * true_clusters < summary["clusters"] <= 1.1 * true_clusters
    assert summary["pf_fraction"] > 0.7
    assert summary["error_rate"] is None and summary["aligned_fraction"] == 0.0
    assert 0.0 <= summary["sim_truth_error_rate"] < 0.05
    assert summary["q30_fraction"] > 0.5
    # the lag is counted to calls on disk: the caller's look-ahead plus the images queued
    assert summary["max_basecall_lag_cycles"] <= (BasecallConfig().max_lookahead
                                                  + MAX_QUEUED_CYCLES + 1)
    journal = Journal(root / "journal.jsonl").read()
    assert journal.finished and journal.completed_cycles == CYCLES
    extraction = decode_metric_file((root / "InterOp" / "ExtractionMetricsOut.bin").read_bytes(),
                                    2, EXTRACTION_DTYPE)
    assert len(extraction) == CYCLES * len(TILES)
    # spot width measured on the images, per channel and cycle: a 1-px-sigma PSF is 2.35 px
    assert (extraction["fwhm"] > 2.0).all() and (extraction["fwhm"] < 3.5).all()


def test_interop_reader_agrees_with_summary(reference_run: Path):
    from interop import py_interop_run_metrics, py_interop_summary

    summary = json.loads((reference_run / "summary.json").read_text())
    metrics = py_interop_run_metrics.run_metrics()
    metrics.read(str(reference_run))
    result = py_interop_summary.run_summary()
    py_interop_summary.summarize_run_metrics(metrics, result)
    total = result.total_summary()
    assert total.cluster_count() == summary["clusters"]
    assert total.cluster_count_pf() == summary["clusters_pf"]
    assert total.yield_g() * 1e9 == pytest.approx(summary["yield_bases"], rel=1e-6)
    assert total.percent_gt_q30() / 100 == pytest.approx(summary["q30_fraction"], rel=1e-5)
    lane = result.at(0).at(0)
    assert lane.percent_aligned().mean() / 100 == pytest.approx(summary["aligned_fraction"],
                                                                rel=1e-5)


def test_run_log_records_commands_telemetry_and_safe_stop(reference_run: Path):
    log = read_run_log(reference_run / "run_log.jsonl")
    kinds = {r["event"] for r in log}
    assert {"identify", "command", "telemetry", "step_done", "cycle_imaged",
            "cycle_complete", "finished"} <= kinds
    commands = [r["name"] for r in log if r["event"] == "command"]
    assert {"valve_select", "pump_move", "heater_set", "trigger_program"} <= set(commands)
    assert commands.count("trigger_program") == CYCLES * len(TILES) * 4
    assert commands[-2:] == ["heater_off", "pump_stop"]
    temps = [r["temperature_mc"] for r in log if r["event"] == "telemetry"]
    assert max(temps) > 59_000  # the flow cell really reached the 60 C set-point


@pytest.mark.parametrize("how", ["kill -9", "Ctrl-C"])
def test_resume_gives_the_same_bcls_and_fastq(reference_run: Path, tmp_path: Path, how: str):
    out = tmp_path / "run"
    marker = tmp_path / "at-last-cycle"
    proc = subprocess.Popen(gated_opensbs(marker, CYCLES, "run", "--sim", "--recipe", str(TINY),
                                          "--out", str(out), "--seed", "5", "--no-live"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    journal = Journal(out / "journal.jsonl")
    # held at the start of the last cycle until the signal; the caller catches up meanwhile
    wait_for(lambda: marker.exists() and journal.read().completed_cycles >= 3, proc)
    signum = signal.SIGKILL if how == "kill -9" else signal.SIGINT
    proc.send_signal(signum)
    output, _ = proc.communicate(timeout=120)
    state = journal.read()
    assert not state.finished and 3 <= state.completed_cycles < CYCLES
    if how == "kill -9":
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == 128 + signum, output
        assert f"opensbs run --resume {out}" in output.replace("\n", "")
        assert "Traceback" not in output
        log = read_run_log(out / "run_log.jsonl")
        stop = max(i for i, r in enumerate(log) if r["event"] == "stop")
        assert how in log[stop]["message"]
        assert [r["name"] for r in log[stop:] if r["event"] == "command"] == [
            "heater_off", "pump_stop"]
        assert not [r for r in log[stop:] if r["event"] == "fault"]  # both were ACKed
        assert state.records[-1]["event"] == "stopped" and state.records[-1]["reason"] == how
    result = subprocess.run(_opensbs("run", "--resume", str(out), "--no-live"),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _calls_bytes(out) == _calls_bytes(reference_run)


def test_run_without_sim_or_hardware_refuses_and_suggests_sim(tmp_path: Path):
    env = {**os.environ, "PYUSB_DEBUG": ""}
    result = subprocess.run(_opensbs("run", "--no-live", "--out", str(tmp_path / "x")),
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2
    assert "--sim" in result.stdout
    assert not (tmp_path / "x").exists()  # nothing started, nothing simulated


def test_resume_refuses_a_finished_run_and_changed_options(reference_run: Path):
    result = subprocess.run(_opensbs("run", "--resume", str(reference_run), "--no-live"),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "already finished" in " ".join(result.stdout.split())
    result = subprocess.run(_opensbs("run", "--resume", str(reference_run), "--seed", "9",
                                     "--no-live"), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--seed cannot change when resuming" in " ".join(result.stdout.split())


def test_same_seed_same_calls_other_seed_other_calls(reference_run: Path, tmp_path: Path):
    start_run(RunRequest(sim=True, recipe=TINY, out=tmp_path / "other", seed=6))
    other = _calls_bytes(tmp_path / "other")
    ref = _calls_bytes(reference_run)
    assert other.keys() == ref.keys() and other != ref
    bases, _ = RunFolder.open(reference_run).read_calls(1101, range(1, CYCLES + 1))
    assert np.isin(bases, [0, 1, 2, 3, 4]).all()


def test_keep_images_stores_what_basecall_rereads(tmp_path: Path):
    out = tmp_path / "run"
    start_run(RunRequest(sim=True, recipe=TINY, out=out, seed=5, keep_images=True))
    images = sorted((out / "images").rglob("cycle_*.tif"))
    assert len(images) == CYCLES * len(TILES)
    result = subprocess.run(_opensbs("basecall", str(out), "--out", str(tmp_path / "again")),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    again = json.loads((tmp_path / "again" / "summary.json").read_text())
    folder = RunFolder.open(out)
    for tile in TILES:  # offline re-analysis finds the same clusters and filter
        passed = folder.read_filter(tile)
        assert again[str(tile)]["clusters"] == len(passed)
        assert again[str(tile)]["pf_fraction"] == pytest.approx(passed.mean())


def test_usb_disconnect_stops_safely_and_resumes_identically(reference_run: Path, tmp_path: Path,
                                                              monkeypatch, instruments):
    from opensbs.run import RunStopped

    made = instruments  # the conftest fixture patches VirtualInstrument.from_recipe
    out = tmp_path / "run"
    journal = Journal(out / "journal.jsonl")

    def unplug_camera_after_cycle_3(progress: RunProgress) -> None:
        def watch() -> None:
            while not (journal.path.exists() and journal.read().completed_cycles >= 3):
                time.sleep(0.01)
            made[0].bus.detach(made[0].camera)

        threading.Thread(target=watch, daemon=True).start()

    with pytest.raises(RunStopped) as stopped:
        start_run(RunRequest(sim=True, recipe=TINY, out=out, seed=5),
                  unplug_camera_after_cycle_3)
    assert 3 <= stopped.value.completed_cycles < CYCLES
    log = read_run_log(out / "run_log.jsonl")
    assert any(r["event"] == "stop" and "vanished" in r["message"] for r in log)
    monkeypatch.undo()
    start_run(RunRequest(resume=out))
    assert _calls_bytes(out) == _calls_bytes(reference_run)


def test_base_caller_failure_stops_the_run_safely(tmp_path: Path, monkeypatch):
    from opensbs.basecall.pipeline import TileBasecaller
    from opensbs.run import RunStopped

    original = TileBasecaller.add_cycle

    def fail_at_cycle_3(self, images):
        if self.cycles_seen == 2:
            raise FloatingPointError("singular crosstalk matrix")
        self.cycles_seen += 1
        return original(self, images)

    monkeypatch.setattr(TileBasecaller, "cycles_seen", 0, raising=False)
    monkeypatch.setattr(TileBasecaller, "add_cycle", fail_at_cycle_3)
    with pytest.raises(RunStopped, match="base calling failed") as stopped:
        start_run(RunRequest(sim=True, recipe=TINY, out=tmp_path / "run", seed=5))
    assert stopped.value.completed_cycles < CYCLES
    log = read_run_log(tmp_path / "run" / "run_log.jsonl")
    stop = max(i for i, r in enumerate(log) if r["event"] == "stop")
    assert [r["name"] for r in log[stop:] if r["event"] == "command"] == ["heater_off",
                                                                         "pump_stop"]
    assert all(r["acked"] for r in log[stop:] if r["event"] == "command")
    assert not Journal(tmp_path / "run" / "journal.jsonl").read().finished

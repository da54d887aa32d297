"""SIGTERM and SIGHUP stop a run as Ctrl-C does (the Ctrl-C case is in the end-to-end test):
the safe stop, a `stopped` record with the reason, exit status 128 + signal, and a resumed run
byte-identical to an uninterrupted one. The run is held at a known cycle until the signal."""

import signal
import subprocess

import pytest
from conftest import MICRO, calls_bytes, gated_opensbs, wait_for
from opensbs.run import RunRequest, start_run
from opensbs.runfolder import Journal, read_run_log


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_stop_safely_and_resume(signum, tmp_path, micro_reference):
    out, marker = tmp_path / "run", tmp_path / "at-cycle-5"
    proc = subprocess.Popen(gated_opensbs(marker, 5, "run", "--sim", "--recipe", str(MICRO),
                                          "--out", str(out), "--seed", "5", "--no-live"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    journal = Journal(out / "journal.jsonl")
    wait_for(lambda: marker.exists() and journal.read().completed_cycles >= 1, proc)
    proc.send_signal(signum)
    output, _ = proc.communicate(timeout=120)
    name = signal.Signals(signum).name
    assert proc.returncode == 128 + signum, output
    assert "Traceback" not in output and "heater off and pump stopped." in output
    state = journal.read()
    assert not state.finished and state.records[-1]["reason"] == name
    log = read_run_log(out / "run_log.jsonl")
    stop = max(i for i, r in enumerate(log) if r["event"] == "stop")
    assert name in log[stop]["message"] and "cycle 5" in log[stop]["message"]
    assert [(r["name"], r["acked"]) for r in log[stop:] if r["event"] == "command"] == [
        ("heater_off", True), ("pump_stop", True)]
    start_run(RunRequest(resume=out))
    assert calls_bytes(out) == calls_bytes(micro_reference)


def test_a_second_run_into_a_locked_folder_fails_at_once_naming_the_pid(tmp_path):
    out, marker = tmp_path / "run", tmp_path / "at-cycle-2"
    proc = subprocess.Popen(gated_opensbs(marker, 2, "run", "--sim", "--recipe", str(MICRO),
                                          "--out", str(out), "--no-live"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(marker.exists, proc)
        before = sorted(p.name for p in out.iterdir())
        from opensbs.runfolder import RunFolderLockedError

        for request in (RunRequest(resume=out), RunRequest(sim=True, recipe=MICRO, out=out)):
            with pytest.raises(RunFolderLockedError, match=f"in use by process {proc.pid}"):
                start_run(request)
        assert sorted(p.name for p in out.iterdir()) == before
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=120)
    assert proc.returncode == 130

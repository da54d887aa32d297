"""A full disk at any write site of a run: heater off and pump stopped first, a typed stop
(no traceback), and once space is freed the resumed run is byte-identical to an uninterrupted
one. The disk is filled by failing `write_fully`, through which every run-folder byte goes."""

import errno
import os
from pathlib import Path

import pytest
from conftest import MICRO, calls_bytes
from opensbs.run import RunRequest, RunStopped, start_run
from opensbs.runfolder import Journal, atomic, read_run_log

# site: (path pattern, writes to that site that succeed before the disk is full)
SITES = {
    "run_log": ("run_log.jsonl", 150),
    "journal": ("journal.jsonl", 2),
    "bcl": (".bcl", 2),
    "metrics": (".npz", 3),
    "interop": (".bin", 0),
    "fastq": (".fastq.gz", 0),
    "summary": ("summary.json", 0),
    "report": ("report.html", 0),
}


class FullDisk:
    """Fails every run-folder write with ENOSPC from the `after`-th write to `site` on, until
    `free()`; with `once`, only that one write fails (space comes back at once)."""

    def __init__(self, root: Path, site: str, after: int, once: bool = False) -> None:
        self.root, self.site, self.after, self.once = str(root), site, after, once
        self.full = False
        self.failed = 0
        self._writes = 0
        self._write = atomic.write_fully

    def __call__(self, fd: int, data, path: Path) -> None:
        name = str(path)
        if name.startswith(self.root) and not self.failed and self.site in name:
            self._writes += 1
            self.full = self._writes > self.after
        if self.full and name.startswith(self.root):
            self.failed += 1
            self.full = not self.once
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), name)
        self._write(fd, data, path)

    def free(self) -> None:
        self.full = False


def _board_is_safe(instrument) -> None:
    """Heater off and pump stopped by the host's commands (virtual time stood still after
    the stop, so the board's own heartbeat timeout did not do it)."""
    controller = instrument.board.controller
    assert not any(zone.enabled for zone in controller.heaters)
    assert not any(pump.moving for pump in controller.pumps)
    assert controller.faults == 0  # no HEARTBEAT_LOST: it was the safe stop


@pytest.mark.parametrize("site", list(SITES))
def test_disk_full_stops_safely_and_resumes_identically(site, tmp_path, monkeypatch,
                                                        instruments, micro_reference):
    out = tmp_path / "run"
    pattern, after = SITES[site]
    disk = FullDisk(out, pattern, after)
    monkeypatch.setattr(atomic, "write_fully", disk)
    with pytest.raises(RunStopped) as stopped:
        start_run(RunRequest(sim=True, recipe=MICRO, out=out, seed=5))
    assert disk.failed and "disk full" in stopped.value.reason
    assert "No space left on device" in stopped.value.reason
    _board_is_safe(instruments[-1])
    assert not [p for p in stopped.value.problems if p.startswith(("heater_off", "pump_stop"))]
    assert not Journal(out / "journal.jsonl").read().finished
    disk.free()
    start_run(RunRequest(resume=out))
    assert Journal(out / "journal.jsonl").read().finished
    assert calls_bytes(out) == calls_bytes(micro_reference)
    assert not list(out.rglob("*.partial"))


@pytest.mark.parametrize("site", ["run_log", "bcl"])
def test_stop_is_recorded_once_space_is_back(site, tmp_path, monkeypatch, instruments):
    out = tmp_path / "run"
    pattern, after = SITES[site]
    monkeypatch.setattr(atomic, "write_fully", FullDisk(out, pattern, after, once=True))
    with pytest.raises(RunStopped) as stopped:
        start_run(RunRequest(sim=True, recipe=MICRO, out=out, seed=5))
    assert stopped.value.problems == []
    _board_is_safe(instruments[-1])
    log = read_run_log(out / "run_log.jsonl")
    stop = max(i for i, r in enumerate(log) if r["event"] == "stop")
    assert "disk full" in log[stop]["message"]
    assert [(r["name"], r["acked"]) for r in log[stop:] if r["event"] == "command"] == [
        ("heater_off", True), ("pump_stop", True)]
    [record] = [r for r in Journal(out / "journal.jsonl").read().records
                if r["event"] == "stopped"]
    assert "No space left on device" in record["reason"]

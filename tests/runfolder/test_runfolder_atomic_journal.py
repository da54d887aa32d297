"""Atomic writes never expose half-written files; the journal survives a torn final line."""

import os
from pathlib import Path

import pytest
from opensbs.runfolder import (
    Journal,
    RunFolderError,
    RunLog,
    atomic_write_bytes,
    read_run_log,
    remove_partials,
)


def test_failed_atomic_write_keeps_old_content_and_leaves_no_temp(tmp_path: Path, monkeypatch):
    target = tmp_path / "C1.1" / "s_1_1101.bcl"
    atomic_write_bytes(target, b"old")

    def crash(src, dst):
        raise OSError("disk pulled")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk pulled"):
        atomic_write_bytes(target, b"new content")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in target.parent.iterdir()) == ["s_1_1101.bcl"]


def test_atomic_write_creates_files_with_the_usual_permissions(tmp_path: Path):
    path = tmp_path / "summary.json"
    atomic_write_bytes(path, b"{}")
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_remove_partials_deletes_leftover_temporaries(tmp_path: Path):
    leftover = tmp_path / "x" / ".s_1_1101.bcl.abc.partial"
    leftover.parent.mkdir()
    leftover.write_bytes(b"half")
    (tmp_path / "x" / "keep.bcl").write_bytes(b"full")
    assert remove_partials(tmp_path) == [leftover]
    assert [p.name for p in (tmp_path / "x").iterdir()] == ["keep.bcl"]


START = {"run_id": "r", "run_number": 1, "date_yymmdd": "260101", "seed": 1, "sim": True,
         "recipe_sha256": "0" * 64}


def test_journal_counts_complete_cycles_and_ignores_torn_tail(tmp_path: Path):
    journal = Journal(tmp_path / "journal.jsonl")
    journal.append("start", **START)
    journal.append("cycle_complete", cycle=1)
    journal.append("cycle_complete", cycle=2)
    with journal.path.open("a") as f:
        f.write('{"event":"cycle_compl')  # kill -9 during a write
    state = journal.read()
    assert state.completed_cycles == 2 and not state.finished
    assert state.start["seed"] == 1


def test_journal_rejects_gaps_and_missing_start(tmp_path: Path):
    journal = Journal(tmp_path / "journal.jsonl")
    with pytest.raises(RunFolderError, match="no journal"):
        journal.read()
    journal.append("start", **START)
    journal.append("cycle_complete", cycle=2)
    with pytest.raises(RunFolderError, match="cycle 2 completed after cycle 0"):
        journal.read()


def test_run_log_is_json_lines(tmp_path: Path):
    with RunLog(tmp_path / "run_log.jsonl") as log:
        log.write("command", name="heater_set", setpoint_mc=60000)
        log.write("telemetry", temperature_mc=59875)
    records = read_run_log(tmp_path / "run_log.jsonl")
    assert [r["kind"] for r in records] == ["command", "telemetry"]
    assert records[0]["setpoint_mc"] == 60000

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
from opensbs.runfolder.events import (
    Command,
    CycleComplete,
    CycleStart,
    Start,
    TelemetrySample,
    parse_event,
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
    journal.append(Start(**START))
    journal.append(CycleComplete(1))
    journal.append(CycleComplete(2))
    with journal.path.open("a") as f:
        f.write('{"event":"cycle_compl')  # kill -9 during a write
    state = journal.read()
    assert state.completed_cycles == 2 and not state.finished
    assert state.start["seed"] == 1


def test_journal_rejects_gaps_and_missing_start(tmp_path: Path):
    journal = Journal(tmp_path / "journal.jsonl")
    with pytest.raises(RunFolderError, match="no journal"):
        journal.read()
    journal.append(Start(**START))
    journal.append(CycleComplete(2))
    with pytest.raises(RunFolderError, match="cycle 2 completed after cycle 0"):
        journal.read()


def test_run_log_is_json_lines(tmp_path: Path):
    with RunLog(tmp_path / "run_log.jsonl") as log:
        log.write(Command("heater_set", t_s=1.5, extra={"setpoint_mc": 60000}))
        log.write(TelemetrySample(2.0, temperature_mc=59875))
    records = read_run_log(tmp_path / "run_log.jsonl")
    assert [r["event"] for r in records] == ["command", "telemetry"]
    assert records[0]["setpoint_mc"] == 60000 and records[0]["t_s"] == 1.5
    assert "setpoint_mc" not in records[1]  # a field left None is not written
    assert [parse_event(r) for r in records] == [
        Command("heater_set", t_s=1.5, extra={"setpoint_mc": 60000}),
        TelemetrySample(2.0, temperature_mc=59875)]


def test_a_run_log_written_before_the_events_were_typed_still_reads(tmp_path: Path):
    path = tmp_path / "run_log.jsonl"
    path.write_text('{"kind":"cycle_start","wall_s":1.0,"cycle":1,"t_s":0.0,"replay":false}\n'
                    '{"kind":"cycle_basecalled","wall_s":2.0,"cycle":1,"wall_elapsed_s":0.7}\n')
    with RunLog(path) as log:  # a resume appends today's records to it
        log.write(CycleComplete(2, wall_elapsed_s=1.4))
    assert [parse_event(r) for r in read_run_log(path)] == [
        CycleStart(1, 0.0), CycleComplete(1, 0.7), CycleComplete(2, 1.4)]


def test_a_record_lacking_a_field_of_its_kind_is_named():
    with pytest.raises(RunFolderError, match="'cycle_complete' record has no 'cycle'"):
        parse_event({"event": "cycle_complete", "wall_elapsed_s": 0.7})
    assert parse_event({"event": "from_a_newer_version"}) is None

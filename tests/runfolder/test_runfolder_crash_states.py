"""Realistic crash states of the journal and run log: typed errors or tolerated, never a
traceback; a torn tail is dropped, reported and cut off before the next append; a failed
append leaves no trace; the run-folder lock names its holder."""

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
from opensbs.runfolder import (
    Journal,
    RunFolderError,
    RunFolderLock,
    RunFolderLockedError,
    RunLog,
    atomic,
    read_run_log_contents,
)
from opensbs.runfolder.events import CycleComplete, Finished

START = ('{"event":"start","run_id":"r","run_number":1,"date_yymmdd":"260101","seed":1,'
         '"sim":true,"recipe_sha256":"00"}\n')


def _journal(tmp_path: Path, body: bytes) -> Journal:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(body)
    return Journal(path)


@pytest.mark.parametrize("body, message", [
    (b"", "the journal is empty"),
    (b'{"event":"start","run_id":"r","run_nu', "the journal is empty"),  # torn start record
    (START.encode() + b"null\n" + b'{"event":"finished"}\n', r"journal.jsonl:2: not a JSON"),
    (START.encode() + b"42\n", r"journal.jsonl:2: not a JSON object"),
    (START.encode() + b'{"event":"cycle_complete"}\n', r":2: 'cycle_complete' record has no "
                                                       r"valid 'cycle'"),
    (START.encode() + b'{"event":"cycle_complete","cycle":true}\n', "no valid 'cycle'"),
    (START.encode() + b'\xff\xfe{"event":"x"}\n' + b'{"event":"finished"}\n', ":2: not a JSON"),
    (b'{"event":"cycle_complete","cycle":1}\n', ":1: journal does not begin with a start"),
    (START.replace('"seed":1', '"seed":"1"').encode(), ":1: 'start' record has no valid 'seed'"),
    (START.encode() + b'{"cycle":1}\n', ":2: record without an 'event'"),
])
def test_damaged_journals_give_typed_errors_naming_file_and_line(tmp_path, body, message):
    with pytest.raises(RunFolderError, match=message):
        _journal(tmp_path, body).read()


def test_journal_as_a_directory_is_a_typed_error(tmp_path):
    (tmp_path / "journal.jsonl").mkdir()
    with pytest.raises(RunFolderError, match="is a directory"):
        Journal(tmp_path / "journal.jsonl").read()
    with pytest.raises(RunFolderError, match="is a directory"):
        Journal(tmp_path / "journal.jsonl").append(Finished())


def test_torn_tail_is_reported_then_cut_before_the_next_append(tmp_path):
    torn = b'{"event":"cycle_complete","cy'
    journal = _journal(tmp_path, START.encode() + b'{"event":"cycle_complete","cycle":1}\n'
                       + torn)
    state = journal.read()
    assert (state.completed_cycles, state.torn_tail_bytes) == (1, len(torn))
    journal.append(CycleComplete(2))
    state = journal.read()
    assert (state.completed_cycles, state.torn_tail_bytes) == (2, 0)
    assert journal.path.read_bytes().count(b"\n") == 3


def test_invalid_utf8_in_a_torn_tail_is_only_a_torn_tail(tmp_path):
    state = _journal(tmp_path, START.encode() + b'{"event":"fin\xff').read()
    assert state.torn_tail_bytes == len(b'{"event":"fin\xff') and not state.finished


def test_run_log_reads_tolerantly_and_a_reopened_log_cuts_its_torn_tail(tmp_path):
    path = tmp_path / "run_log.jsonl"
    torn = b'{"event":"c","x":'
    path.write_bytes(b'{"event":"a"}\nnull\n\xff\xfe\n{"event":"b"}\n' + torn)
    contents = read_run_log_contents(path)
    assert [r["event"] for r in contents.records] == ["a", "b"]
    assert contents.bad_lines == [2, 3] and contents.torn_tail_bytes == len(torn)
    with RunLog(path) as log:
        assert log.cut_tail_bytes == len(torn)
        log.write(Finished())
    contents = read_run_log_contents(path)
    assert [r["event"] for r in contents.records] == ["a", "b", "finished"]
    assert contents.torn_tail_bytes == 0


def test_a_failed_append_leaves_no_half_record(tmp_path, monkeypatch):
    journal = _journal(tmp_path, START.encode())
    before = journal.path.read_bytes()
    real = atomic.write_fully

    def half_then_full(fd, data, path):
        real(fd, data[:7], path)  # part of the record reached the disk, then it filled
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(atomic, "write_fully", half_then_full)
    with pytest.raises(OSError, match="No space left"):
        journal.append(CycleComplete(1))
    assert journal.path.read_bytes() == before
    monkeypatch.undo()
    journal.append(CycleComplete(1))
    assert journal.read().completed_cycles == 1


def test_a_second_lock_fails_at_once_naming_the_holder(tmp_path):
    with RunFolderLock(tmp_path):
        with pytest.raises(RunFolderLockedError, match=f"in use by process {os.getpid()}"):
            RunFolderLock(tmp_path).acquire()
    RunFolderLock(tmp_path).acquire().release()  # free again once released


def test_the_lock_of_another_process_names_its_pid_and_dies_with_it(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from opensbs.runfolder import RunFolderLock; "
         f"lock = RunFolderLock({str(tmp_path)!r}).acquire(); print('held', flush=True); "
         "sys.stdin.read()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(RunFolderLockedError) as info:
            RunFolderLock(tmp_path).acquire()
        assert info.value.pid == holder.pid
    finally:
        holder.kill()
        holder.wait()
    RunFolderLock(tmp_path).acquire().release()  # the OS released it with the process

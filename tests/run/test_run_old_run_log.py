"""A run folder whose run log was written before the events were typed (records keyed `kind`,
`cycle_basecalled`, a step's wall time under `wall_s`) still resumes, counts and reports."""

import json
from pathlib import Path

import pytest
from conftest import MICRO, calls_bytes
from opensbs.run import RunRequest, RunStopped, start_run
from opensbs.runfolder import Journal, atomic, read_events
from opensbs.runfolder.events import CycleComplete, CycleStart, StepDone
from test_run_disk_full import SITES, FullDisk


def _as_before_typed_events(path: Path) -> int:
    """Rewrite a run log as the earlier versions wrote it; returns its records."""
    lines = []
    for line in path.read_text("utf-8").splitlines():
        record = json.loads(line)
        kind = record.pop("event")
        record = {"kind": "cycle_basecalled" if kind == "cycle_complete" else kind, **record}
        if "wall_duration_s" in record:
            record["wall_s"] = record.pop("wall_duration_s")
        lines.append(json.dumps(record, separators=(",", ":")))
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return len(lines)


def test_a_stopped_run_with_an_old_run_log_resumes_and_reads_whole(tmp_path, monkeypatch,
                                                                   micro_reference):
    out = tmp_path / "run"
    pattern, after = SITES["bcl"]
    disk = FullDisk(out, pattern, after)
    monkeypatch.setattr(atomic, "write_fully", disk)
    with pytest.raises(RunStopped):
        start_run(RunRequest(sim=True, recipe=MICRO, out=out, seed=5))
    disk.free()
    log = out / "run_log.jsonl"
    old_records = _as_before_typed_events(log)
    old_events = read_events(log)
    assert len(old_events) == old_records  # every old record is read as today's event
    assert any(isinstance(e, StepDone) for e in old_events)
    old_complete = [e.cycle for e in old_events if isinstance(e, CycleComplete)]
    assert old_complete  # were `cycle_basecalled`
    outcome = start_run(RunRequest(resume=out))
    assert Journal(out / "journal.jsonl").read().finished
    assert calls_bytes(out) == calls_bytes(micro_reference)
    events = read_events(log)
    cycles = max(e.cycle for e in events if isinstance(e, CycleStart))
    complete = [e.cycle for e in events if isinstance(e, CycleComplete)]
    assert set(complete) == set(range(1, cycles + 1))
    assert complete[: len(old_complete)] == old_complete
    assert outcome.summary["link_faults"]["recorded"] == {}  # read over both formats

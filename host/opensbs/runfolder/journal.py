"""The run journal: what a resumed run needs to continue where the stopped one left off.

`journal.jsonl` holds events (`events`). It starts with a `start` record (run id, seed, recipe
digest, options). Then:

* `cycle_imaged` (cycle): that cycle's chemistry is done and its images are stored durably
  (hardware runs keep them in State/ for a resume; the chemistry is never repeated);
* `cycle_complete` (cycle): that cycle's calls are on disk, fsynced: every tile's BCL and the
  caller's per-cycle figures (the filter files are written once the run ends);
* `stopped` (after a safe stop) and `finished`.

Every record is fsynced. A torn last line (kill -9 mid-write) is dropped and reported, and cut
off before the next append; any other damage is a RunFolderError naming file and line.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .atomic import atomic_write_bytes
from .errors import RunFolderError
from .events import KEY, CycleComplete, CycleImaged, Event, Finished, Start
from .json_lines import AppendOnlyFile, read_json_lines

START_FIELDS: dict[str, type | tuple[type, ...]] = {
    "run_id": str, "run_number": int, "date_yymmdd": str, "seed": int, "sim": bool,
    "recipe_sha256": str}


@dataclass
class JournalState:
    """What the journal says about a run."""

    start: dict[str, Any]
    completed_cycles: int = 0
    imaged_cycles: int = 0
    finished: bool = False
    records: list[dict[str, Any]] = field(default_factory=list)
    torn_tail_bytes: int = 0  # an incomplete last line, dropped


def _field(path: Path, line: int, record: dict[str, Any], name: str,
           kind: type | tuple[type, ...]) -> Any:
    value = record.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise RunFolderError(f"{path}:{line}: {record.get(KEY)!r} record has no valid "
                             f"{name!r} (found {value!r})")
    return value


class Journal:
    """Append-only, fsynced JSON-lines journal."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()  # the run's thread and the caller's worker append

    def create(self, start: Start) -> None:
        """Write the journal with its start record, atomically: a run folder either has a
        journal that can describe its run, or none."""
        if self.path.exists():
            raise RunFolderError(f"{self.path}: already exists")
        atomic_write_bytes(self.path, (json.dumps(start.record(),
                                                  separators=(",", ":")) + "\n").encode())

    def append(self, event: Event) -> None:
        """Append one event and force it to disk (a failed append leaves no trace)."""
        with self._lock, AppendOnlyFile(self.path, durable=True) as f:
            f.append(event.record())

    def read(self) -> JournalState:
        """Parse and check the journal; RunFolderError (naming file:line) when it cannot
        describe a run."""
        if not self.path.exists():
            raise RunFolderError(f"{self.path}: no journal, not an OpenSBS run folder")
        lines = read_json_lines(self.path, skip_bad_lines=False)
        records = lines.records
        if not records:
            raise RunFolderError(f"{self.path}: the journal is empty (the run never started; "
                                 "remove the folder and start again)")
        if records[0].get(KEY) != Start.KIND:
            raise RunFolderError(f"{self.path}:1: journal does not begin with a start record")
        for name, kind in START_FIELDS.items():
            _field(self.path, 1, records[0], name, kind)
        state = JournalState(start=records[0], records=records,
                             torn_tail_bytes=lines.torn_tail_bytes)
        for line, rec in zip(lines.line_numbers[1:], records[1:], strict=True):
            event = rec.get(KEY)
            if event == CycleComplete.KIND:
                cycle = _field(self.path, line, rec, "cycle", int)
                if cycle != state.completed_cycles + 1:
                    raise RunFolderError(f"{self.path}:{line}: cycle {cycle} completed after "
                                         f"cycle {state.completed_cycles}")
                state.completed_cycles = cycle
            elif event == CycleImaged.KIND:
                cycle = _field(self.path, line, rec, "cycle", int)
                if not 1 <= cycle <= state.imaged_cycles + 1:
                    raise RunFolderError(f"{self.path}:{line}: cycle {cycle} imaged after "
                                         f"cycle {state.imaged_cycles}")
                state.imaged_cycles = max(state.imaged_cycles, cycle)
            elif event == Finished.KIND:
                state.finished = True
            elif not isinstance(event, str):
                raise RunFolderError(f"{self.path}:{line}: record without an 'event'")
        state.imaged_cycles = max(state.imaged_cycles, state.completed_cycles)
        return state

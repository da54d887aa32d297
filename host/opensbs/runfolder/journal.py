"""The run journal: what a resumed run needs to continue from the last complete cycle.

`journal.jsonl` starts with a `start` record (run id, seed, recipe digest, options) and gets
one `cycle_complete` record per cycle, written only after every file of that cycle is in place
(atomically) and fsynced itself. A torn last line (kill -9 mid-write) is ignored.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import RunFolderError

START = "start"
CYCLE_COMPLETE = "cycle_complete"
STOPPED = "stopped"
FINISHED = "finished"


@dataclass
class JournalState:
    """What the journal says about a run."""

    start: dict[str, Any]
    completed_cycles: int = 0
    finished: bool = False
    records: list[dict[str, Any]] = field(default_factory=list)


class Journal:
    """Append-only, fsynced JSON-lines journal."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def append(self, event: str, **fields: Any) -> None:
        """Append one record and force it to disk."""
        line = json.dumps({"event": event, **fields}, separators=(",", ":")) + "\n"
        with self.path.open("a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def read(self) -> JournalState:
        """Parse the journal; raise RunFolderError if it is missing or has no start record."""
        if not self.path.exists():
            raise RunFolderError(f"{self.path}: no journal, not an OpenSBS run folder")
        records = []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                if number == len(lines):
                    break  # torn final write
                raise RunFolderError(f"{self.path}:{number}: corrupt journal line") from exc
        if not records or records[0].get("event") != START:
            raise RunFolderError(f"{self.path}: journal does not begin with a start record")
        state = JournalState(start=records[0], records=records)
        for rec in records[1:]:
            if rec.get("event") == CYCLE_COMPLETE:
                if rec["cycle"] != state.completed_cycles + 1:
                    raise RunFolderError(f"{self.path}: cycle {rec['cycle']} completed after "
                                         f"cycle {state.completed_cycles}")
                state.completed_cycles = rec["cycle"]
            elif rec.get("event") == FINISHED:
                state.finished = True
        return state

"""The structured run log: one JSON object per line for every event of the run (commands,
faults, telemetry samples, cycles; `events`), appended as the run goes.

Writes come from several threads (the run, the base-calling worker, the control-link reader).
A failed write (full disk) leaves no half record behind and raises; opening an existing log
cuts off a torn last line. Reading is tolerant: the run log is a record of what happened, so a
torn last line or a damaged line is skipped and counted, never fatal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .events import KEY, Event, EventRecordError, parse_event, record_kind
from .json_lines import AppendOnlyFile, read_json_lines


class RunLog:
    """Append-only JSON-lines log; each record is an event's (`Event.record`) with `wall_s`."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = AppendOnlyFile(self.path, durable=False)

    @property
    def cut_tail_bytes(self) -> int:
        """Bytes of a torn last line cut off when the log was opened."""
        return self._file.cut_tail_bytes

    def write(self, event: Event) -> None:
        """Append one event (raises OSError, leaving the log as it was, when that fails)."""
        record = event.record()
        self._file.append({KEY: record.pop(KEY), "wall_s": round(time.time(), 6), **record},
                          default=_jsonable)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "name") and hasattr(value, "value"):  # enums
        return value.name
    return str(value)


@dataclass
class RunLogContents:
    """The readable records of a run log and how much of it could not be read."""

    records: list[dict[str, Any]]
    torn_tail_bytes: int
    bad_lines: list[int]


def read_run_log_contents(path: Path | str) -> RunLogContents:
    """Every readable record (the kind under `event`, also in a log written before the events
    were typed), and what was skipped (RunFolderError if the file is missing or not a file)."""
    lines = read_json_lines(path, skip_bad_lines=True)
    records = [{KEY: record_kind(r), **{k: v for k, v in r.items() if k not in (KEY, "kind")}}
               for r in lines.records]
    return RunLogContents(records, lines.torn_tail_bytes, lines.bad_lines)


def read_run_log(path: Path | str) -> list[dict[str, Any]]:
    """All readable records of a run log (torn or damaged lines skipped)."""
    return read_run_log_contents(path).records


def read_events(path: Path | str) -> list[Event]:
    """The run log's events (torn or damaged lines, records of unknown kinds or lacking a
    field of their kind skipped)."""
    events = []
    for record in read_run_log(path):
        try:
            event = parse_event(record)
        except EventRecordError:
            continue
        if event is not None:
            events.append(event)
    return events

"""The structured run log: one JSON object per line for every command, event, fault and
telemetry sample, appended and flushed as the run goes."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, TextIO


class RunLog:
    """Append-only JSON-lines log; each record has `kind`, `wall_s` and the given fields."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: TextIO = self.path.open("a", encoding="utf-8")

    def write(self, kind: str, **fields: Any) -> None:
        """Append one record and flush it to the OS."""
        record = {"kind": kind, "wall_s": round(time.time(), 6), **fields}
        self._file.write(json.dumps(record, default=_jsonable, separators=(",", ":")) + "\n")
        self._file.flush()

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


def read_run_log(path: Path | str) -> list[dict[str, Any]]:
    """All complete records of a run log (a torn last line after a kill is skipped)."""
    records = []
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if number != len(lines):
                raise
    return records

"""The files run watchers wait for, written last when a run finished.

What Illumina instruments write, and what OpenSBS writes (in this order, each atomically):

* `RunCompletionStatus.xml` (MiSeq/NextSeq form): `<CompletionStatus>CompletedAsPlanned
  </CompletionStatus>`, the run id and `<ErrorDescription>None</ErrorDescription>`; scripts grep
  the `CompletionStatus` element.
* `RTAComplete.txt`: RTA 2.x writes one line "RTA 2.4.11 completed on 5/20/2017 9:47:13 PM";
  OpenSBS writes "OpenSBS <version> completed on <M/D/YYYY h:mm:ss AM|PM>" (local time).
* `CopyComplete.txt`: empty, written last of all (watchers that copy the folder wait for it).

A stopped run writes none of them; they exist only once everything else is on disk.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from xml.sax.saxutils import escape

from .atomic import atomic_write_bytes, atomic_write_text

RUN_COMPLETION_STATUS = "RunCompletionStatus.xml"
RTA_COMPLETE = "RTAComplete.txt"
COPY_COMPLETE = "CopyComplete.txt"
COMPLETION_FILES = (RUN_COMPLETION_STATUS, RTA_COMPLETE, COPY_COMPLETE)  # order written


def run_completion_status_xml(run_id: str) -> str:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<RunCompletionStatus xmlns:xsd="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <CompletionStatus>CompletedAsPlanned</CompletionStatus>
  <RunId>{escape(run_id)}</RunId>
  <ErrorDescription>None</ErrorDescription>
</RunCompletionStatus>
"""


def rta_complete_text(software_version: str, finished: dt.datetime) -> str:
    """One line in RTA 2.x's form, e.g. "OpenSBS 0.1.0 completed on 5/20/2017 9:47:13 PM"."""
    hour = finished.hour % 12 or 12
    stamp = (f"{finished.month}/{finished.day}/{finished.year} {hour}:{finished.minute:02d}:"
             f"{finished.second:02d} {'AM' if finished.hour < 12 else 'PM'}")
    return f"OpenSBS {software_version} completed on {stamp}\n"


def write_completion_files(root: Path, run_id: str, software_version: str,
                           finished: dt.datetime | None = None) -> None:
    """Write the three completion files into the run folder `root`, CopyComplete.txt last."""
    atomic_write_text(root / RUN_COMPLETION_STATUS, run_completion_status_xml(run_id))
    atomic_write_text(root / RTA_COMPLETE,
                      rta_complete_text(software_version, finished or dt.datetime.now()))
    atomic_write_bytes(root / COPY_COMPLETE, b"")

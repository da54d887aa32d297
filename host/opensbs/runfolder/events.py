"""The run's events: one dataclass per kind, shared by the run log, the journal, the live view
and the report.

The run emits events (`OnEvent`); `RunLog.write` and `Journal.append` store them as one JSON
object per line whose ``event`` key names the kind (`Event.record`), and readers turn records
back into events (`parse_event`). Fields that are open-ended (a command's arguments, the
board's identity, a step's details) are stored flat in the record, beside the fixed ones.

Run logs written before the events were typed say ``kind`` instead of ``event`` and
``cycle_basecalled`` for `CycleComplete`; both are read as today's records.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .errors import RunFolderError

KEY = "event"  # the record key naming the event kind, in the run log and the journal
_OLD_KEY = "kind"  # run logs before the events were typed
_OLD_KINDS = {"cycle_basecalled": "cycle_complete"}
_FLAT = "extra"  # the open-ended fields, stored flat in the record


class EventRecordError(RunFolderError):
    """A record that names an event kind but lacks one of its fields."""


@dataclass(frozen=True)
class Event:
    """Base of every event; `KIND` is its name on disk."""

    KIND: ClassVar[str] = ""

    def record(self) -> dict[str, Any]:
        """The JSON object stored for this event (fields that are None left out)."""
        out: dict[str, Any] = {KEY: self.KIND}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == _FLAT:
                out.update(value)
            elif value is not None:
                out[f.name] = value
        return out


# -- run log -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TelemetrySample(Event):
    """One telemetry sample of the controller board (instrument clock `t_s`)."""

    KIND: ClassVar[str] = "telemetry"
    t_s: float
    temperature_mc: int | None = None
    setpoint_mc: int | None = None
    pump_position_nl: int | None = None
    valve_port: int | None = None
    faults: int | None = None


@dataclass(frozen=True)
class Command(Event):
    """A command sent to the board; `extra` are its arguments; `acked` on the stop path."""

    KIND: ClassVar[str] = "command"
    name: str
    t_s: float | None = None
    acked: bool | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FaultEvent(Event):
    """A fault the board reported or the host met."""

    KIND: ClassVar[str] = "fault"
    message: str
    t_s: float | None = None


@dataclass(frozen=True)
class Stop(Event):
    """The run stopped safely at `cycle` (why in `message`)."""

    KIND: ClassVar[str] = "stop"
    cycle: int
    message: str


@dataclass(frozen=True)
class LinkFault(Event):
    """A retransmission, NAK, resync, CRC error, lost frame or retake on one link."""

    KIND: ClassVar[str] = "link_fault"
    link: str  # "control" or "image"
    fault: str
    count: int = 1
    sequence: int | None = None
    detail: str | None = None
    attempt: int | None = None
    t_s: float | None = None


@dataclass(frozen=True)
class Identify(Event):
    """The board's IDENTIFY reply (its fields in `extra`)."""

    KIND: ClassVar[str] = "identify"
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CycleStart(Event):
    """A cycle's chemistry starts (`replay`: re-run on resume to rebuild the callers)."""

    KIND: ClassVar[str] = "cycle_start"
    cycle: int
    t_s: float
    replay: bool = False


@dataclass(frozen=True)
class TurnaroundStart(Event):
    """The paired-end turnaround starts, before the first cycle (`cycle`) of its read."""

    KIND: ClassVar[str] = "turnaround_start"
    cycle: int
    t_s: float


@dataclass(frozen=True)
class TurnaroundDone(Event):
    """The paired-end turnaround's steps are done (instrument clock `t_s`)."""

    KIND: ClassVar[str] = "turnaround_done"
    cycle: int
    t_s: float


@dataclass(frozen=True)
class StepDone(Event):
    """A recipe step of a cycle done, its instrument-clock and wall durations; `extra` its
    details (set-point, volume, ...)."""

    KIND: ClassVar[str] = "step_done"
    cycle: int
    step: str
    duration_s: float
    wall_duration_s: float | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Imaged(Event):
    """One tile of a cycle imaged (all channels)."""

    KIND: ClassVar[str] = "imaged"
    cycle: int
    tile: int
    frames: int


@dataclass(frozen=True)
class Resume(Event):
    """A resumed run continues after `completed_cycles` (calls) / `imaged_cycles`."""

    KIND: ClassVar[str] = "resume"
    completed_cycles: int
    imaged_cycles: int


@dataclass(frozen=True)
class TornTailDropped(Event):
    """An incomplete last line of `file` was cut off when the run was resumed."""

    KIND: ClassVar[str] = "torn_tail_dropped"
    file: str
    bytes: int


@dataclass(frozen=True)
class FaultsInjected(Event):
    """--sim --faults: what the virtual links injected ({link: {"in.drop": n}} in `extra`)."""

    KIND: ClassVar[str] = "faults_injected"
    extra: Mapping[str, Any] = field(default_factory=dict)


# -- run log and journal -----------------------------------------------------------------------


@dataclass(frozen=True)
class CycleImaged(Event):
    """A cycle's chemistry is done and its images taken (journal: stored durably)."""

    KIND: ClassVar[str] = "cycle_imaged"
    cycle: int
    wall_elapsed_s: float | None = None


@dataclass(frozen=True)
class CycleComplete(Event):
    """A cycle's calls are on disk (journal: fsynced)."""

    KIND: ClassVar[str] = "cycle_complete"
    cycle: int
    wall_elapsed_s: float | None = None


@dataclass(frozen=True)
class Finished(Event):
    """The run finished."""

    KIND: ClassVar[str] = "finished"
    wall_elapsed_s: float | None = None


# -- journal -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Start(Event):
    """The journal's first record: the run's identity and options (`extra`: the rest)."""

    KIND: ClassVar[str] = "start"
    run_id: str
    run_number: int
    date_yymmdd: str
    seed: int
    sim: bool
    recipe_sha256: str
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Stopped(Event):
    """The run stopped safely after `completed_cycles` cycles' calls (journal)."""

    KIND: ClassVar[str] = "stopped"
    cycle: int
    completed_cycles: int
    reason: str


OnEvent = Callable[[Event], None]

EVENT_TYPES: dict[str, type[Event]] = {cls.KIND: cls for cls in (
    TelemetrySample, Command, FaultEvent, Stop, LinkFault, Identify, CycleStart, TurnaroundStart,
    TurnaroundDone, StepDone, Imaged, Resume, TornTailDropped, FaultsInjected, CycleImaged,
    CycleComplete, Finished, Start, Stopped)}


def record_kind(record: Mapping[str, Any]) -> str | None:
    """The event kind a stored record names (today's or an older run log's spelling)."""
    kind = record.get(KEY, record.get(_OLD_KEY))
    return _OLD_KINDS.get(kind, kind) if isinstance(kind, str) else None


def parse_event(record: Mapping[str, Any]) -> Event | None:
    """The event a stored record holds; None for a kind this version does not know;
    EventRecordError when a field of its kind is missing."""
    cls = EVENT_TYPES.get(record_kind(record) or "")
    if cls is None:
        return None
    names = {f.name: f for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for name, f in names.items():
        if name == _FLAT:
            continue
        if name in record:
            values[name] = record[name]
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise EventRecordError(f"{cls.KIND!r} record has no {name!r}")
    if _FLAT in names:
        values[_FLAT] = {k: v for k, v in record.items()
                         if k not in names and k not in (KEY, _OLD_KEY, "wall_s")}
    return cls(**values)

"""Control-link client: requests with sequence/ack, retransmission and resync; subscriptions.

API (used by the run controller and `opensbs board ...`)::

    from opensbs.usb import ControlClient, open_controller
    client = open_controller(serial=None, backend=None)    # discovery + connect(); or
    client = ControlClient(UsbBulkTransport(dev))          # any Transport (USB bulk, serial)
    client = ControlClient(SerialTransport(serial.serial_for_url("loop://")))
    identity = client.connect()        # starts the reader thread, IDENTIFY, version check
    client.ping(token) -> int; client.status() -> dict (STATUS_REPLY fields)
    client.identify() -> dict (IDENTIFY_REPLY fields)
    client.heater_set(zone, setpoint_mc, enable=True, ramp_mc_per_s=0)
    client.pump_move(pump, volume_nl, rate_nl_per_s); client.pump_stop(pump)
    client.valve_select(valve, port)
    client.trigger_program(output, exposure_us, period_us, pulse_count, laser_mask)
    client.trigger_arm(output); client.trigger_fire(output)
    client.fault_clear(faults); client.emergency_stop(); client.heartbeat()
    client.request(msg_type, fields) -> ControlFrame       # any request, reply checked
    unsubscribe = client.subscribe(callback, {MsgType.TELEMETRY, ...})  # None: every type
    q = client.subscribe_queue({MsgType.FAULT_EVENT})       # queue.Queue of ControlFrame
    client.start_heartbeat(); client.stop_heartbeat()      # period from IDENTIFY by default
    client.timing (LinkTiming from IDENTIFY: heartbeat timeout, control period, ...)
    client.boot_id; client.resets; client.stats (ControlLinkStats); client.close()

Every request returns its reply or raises: CommandNakError (carries the ErrorCode),
CommandTimeoutError (no reply after ``max_retries`` retransmissions, backing off from
``reply_timeout_s`` by ``backoff``), DeviceResetError (the device rebooted while it was
outstanding), DeviceVanishedError, ProtocolVersionMismatchError (another protocol version or
declaration hash: flash the firmware). A request that returns was executed exactly once: the
device answers a retransmission (same seq as its last request) with its cached reply instead of
running it again. A NAK with BAD_CRC, BAD_LENGTH or BAD_VERSION means the device never parsed
the request, so it is retransmitted at once.

Resynchronisation: every device frame carries the device's boot_id in its header; a new one
marks a device reset. Every request carries the boot_id it is meant for, and the device refuses
one for another boot (NAK STALE_BOOT, not executed), so a retransmission never runs in the
device's next life even when its reply and the BOOT message were both lost. A request
outstanding across a reset is never retransmitted: if it was sent once and the new boot
answered it (or refused it as stale: then it never ran, and it is sent again after IDENTIFY),
it ran at most once and returns; otherwise it fails with DeviceResetError. Subscribers get the
BOOT frame, and the next request first re-runs IDENTIFY.

IDENTIFY also tells the link's timing (``timing``): heartbeats go every third of the board's
heartbeat timeout, and only when no other request kept the board fed in that time.
Unsolicited TELEMETRY, FAULT_EVENT, LOG, BOOT and TRIGGER_DONE frames go to subscribers,
called on the reader thread (keep callbacks short, or use ``subscribe_queue``).
"""

import itertools
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..protocol.control import (
    ANY_BOOT,
    PROTOCOL_VERSION,
    UNSOLICITED,
    ControlFrame,
    ErrorCode,
    FrameHeader,
    FrameSplitter,
    MsgType,
    encode_frame,
    reply_type,
)
from ..protocol.errors import BadVersionError, ProtocolError
from ..protocol.tables import declaration_hash
from .errors import (
    CommandNakError,
    CommandTimeoutError,
    DeviceResetError,
    LinkTimeoutError,
    ProtocolVersionMismatchError,
    TransportError,
)
from .transport import Transport

Subscriber = Callable[[ControlFrame], None]
RESEND_AT_ONCE = frozenset({ErrorCode.BAD_CRC, ErrorCode.BAD_LENGTH, ErrorCode.BAD_VERSION})
REPLY_TYPES = frozenset({MsgType.ACK, MsgType.NAK, MsgType.IDENTIFY_REPLY, MsgType.PONG,
                         MsgType.STATUS_REPLY})
HEARTBEATS_PER_TIMEOUT = 3


@dataclass(frozen=True)
class LinkTiming:
    """The board's link timing, as its IDENTIFY_REPLY states it."""

    heartbeat_timeout_s: float
    control_period_s: float
    telemetry_period_s: float
    frame_silence_s: float

    @classmethod
    def from_identity(cls, fields: dict[str, Any]) -> "LinkTiming":
        return cls(fields["heartbeat_timeout_ms"] / 1000, fields["control_period_ms"] / 1000,
                   fields["telemetry_period_ms"] / 1000, fields["frame_silence_ms"] / 1000)

    @property
    def heartbeat_period_s(self) -> float:
        """How often the host must show itself so the board never latches HEARTBEAT_LOST."""
        return self.heartbeat_timeout_s / HEARTBEATS_PER_TIMEOUT


class _StaleBootRefusal(Exception):
    """The device refused the request's first transmission as meant for an earlier boot."""


@dataclass
class ControlLinkStats:
    """Counters of what the link went through."""

    requests: int = 0
    replies: int = 0
    retransmissions: int = 0
    timeouts: int = 0
    naks: int = 0
    bad_frames: int = 0
    stale_replies: int = 0
    unsolicited: int = 0
    resets: int = 0


class _Pending:
    def __init__(self, msg_type: MsgType, seq: int) -> None:
        self.msg_type = msg_type
        self.seq = seq
        self.expected = reply_type(msg_type)
        self.reply: ControlFrame | None = None
        self.error: TransportError | None = None
        self.resend_now = False
        self.attempts = 0
        self.reset_seen = False  # the device rebooted while this request was outstanding
        self.event = threading.Event()

    def matches(self, frame: ControlFrame) -> bool:
        if frame.ack != self.seq:
            return False
        if frame.msg_type in (MsgType.ACK, MsgType.NAK):
            return bool(frame.fields["msg_type"] == self.msg_type)
        return frame.msg_type == self.expected


class ControlClient:
    """One control link to one controller board over any ``Transport``."""

    def __init__(self, transport: Transport, *, reply_timeout_s: float = 0.25,
                 max_retries: int = 4, backoff: float = 2.0, first_seq: int = 0,
                 poll_timeout_s: float = 0.05) -> None:
        self.transport = transport
        self.reply_timeout_s = reply_timeout_s
        self.max_retries = max_retries
        self.backoff = backoff
        self.poll_timeout_s = poll_timeout_s
        self.stats = ControlLinkStats()
        self.boot_id: int | None = None
        self.identity: dict[str, Any] | None = None
        self.timing: LinkTiming | None = None
        self._last_write_s = 0.0
        self._seq = itertools.count(first_seq)
        self._last_rx_seq = 0
        self._splitter = FrameSplitter(stale_after_s=min(0.05, reply_timeout_s / 2))
        self._request_lock = threading.Lock()  # one request on the wire at a time
        self._state_lock = threading.Lock()
        self._pending: _Pending | None = None
        self._subscribers: list[tuple[Subscriber, frozenset[MsgType] | None]] = []
        self._needs_identify = False
        self._peer_version: int | None = None
        self._fatal: TransportError | None = None
        self._stop = threading.Event()
        self._reader: threading.Thread | None = None
        self._heartbeat: threading.Thread | None = None
        self._heartbeat_stop = threading.Event()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the reader thread (``connect`` does this)."""
        if self._reader is None:
            self._reader = threading.Thread(target=self._read_loop, name="control-link-reader",
                                            daemon=True)
            self._reader.start()

    def connect(self) -> dict[str, Any]:
        """Start the reader, IDENTIFY the device and check its protocol version."""
        self.start()
        return self.identify()

    def close(self) -> None:
        """Stop the heartbeat and reader threads and close the transport."""
        self.stop_heartbeat()
        self._stop.set()
        if self._reader is not None:
            self._reader.join(timeout=2.0)
            self._reader = None
        self.transport.close()

    def __enter__(self) -> "ControlClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def resets(self) -> int:
        return self.stats.resets

    # -- subscriptions -----------------------------------------------------------------------

    def subscribe(self, callback: Subscriber,
                  msg_types: Iterable[MsgType] | None = None) -> Callable[[], None]:
        """Call ``callback(frame)`` for every unsolicited frame of ``msg_types``; returns the
        function that unsubscribes."""
        entry = (callback, None if msg_types is None else frozenset(msg_types))
        with self._state_lock:
            self._subscribers.append(entry)

        def unsubscribe() -> None:
            with self._state_lock:
                if entry in self._subscribers:
                    self._subscribers.remove(entry)

        return unsubscribe

    def subscribe_queue(self, msg_types: Iterable[MsgType] | None = None,
                        maxsize: int = 0) -> "queue.Queue[ControlFrame]":
        """A queue that receives every unsolicited frame of ``msg_types``."""
        q: queue.Queue[ControlFrame] = queue.Queue(maxsize)
        self.subscribe(q.put, msg_types)
        return q

    # -- requests ----------------------------------------------------------------------------

    def request(self, msg_type: MsgType, fields: dict[str, Any] | None = None) -> ControlFrame:
        """Send one request and return its (non-NAK) reply; see the module docstring."""
        with self._request_lock:
            if self._needs_identify and msg_type != MsgType.IDENTIFY:
                self._needs_identify = False
                self._identify_locked()
            try:
                return self._request_locked(msg_type, fields)
            except _StaleBootRefusal:  # it never ran: learn the new boot, send it again
                self._identify_locked()
                return self._request_locked(msg_type, fields)

    def _request_locked(self, msg_type: MsgType,
                        fields: dict[str, Any] | None) -> ControlFrame:
        if self._fatal is not None:
            raise self._fatal
        self.start()
        seq = next(self._seq) & 0xFF
        pending = _Pending(msg_type, seq)
        boot_id = ANY_BOOT if msg_type == MsgType.IDENTIFY or self.boot_id is None \
            else self.boot_id
        data = encode_frame(msg_type, fields, seq=seq, ack=self._last_rx_seq, boot_id=boot_id)
        with self._state_lock:
            self._pending = pending
        self.stats.requests += 1
        timeout_s = self.reply_timeout_s
        try:
            for attempt in range(self.max_retries + 1):
                if pending.reset_seen:
                    raise self._reset_error(pending)
                if attempt:
                    self.stats.retransmissions += 1
                pending.resend_now = False
                pending.event.clear()
                pending.attempts += 1
                self._last_write_s = time.monotonic()
                try:
                    self.transport.write(data)
                except LinkTimeoutError:
                    pass  # counts as a lost transmission
                if pending.event.wait(timeout_s) and not pending.resend_now:
                    return self._finish(pending)
                if not pending.resend_now:
                    timeout_s *= self.backoff
            if pending.reset_seen:
                raise self._reset_error(pending)
            self.stats.timeouts += 1
            if self._peer_version is not None:
                raise ProtocolVersionMismatchError(self._peer_version, PROTOCOL_VERSION)
            raise CommandTimeoutError(
                f"no reply to {msg_type.name} (seq {seq}) after {self.max_retries} "
                "retransmissions: check that the board is powered and running its firmware"
            )
        finally:
            with self._state_lock:
                self._pending = None

    def _finish(self, pending: _Pending) -> ControlFrame:
        if pending.error is not None:
            raise pending.error
        reply = pending.reply
        assert reply is not None
        if reply.msg_type == MsgType.NAK:
            self.stats.naks += 1
            if reply.fields["error"] == ErrorCode.STALE_BOOT:
                if pending.attempts == 1:
                    raise _StaleBootRefusal
                raise self._reset_error(pending)
            raise CommandNakError(pending.msg_type, reply.fields["error"])
        return reply

    def identify(self) -> dict[str, Any]:
        """IDENTIFY: capabilities and versions; raises ProtocolVersionMismatchError."""
        with self._request_lock:
            return self._identify_locked()

    def _identify_locked(self) -> dict[str, Any]:
        fields = self._request_locked(MsgType.IDENTIFY, None).fields
        if fields["protocol_version"] != PROTOCOL_VERSION:
            raise ProtocolVersionMismatchError(fields["protocol_version"], PROTOCOL_VERSION)
        if fields["protocol_hash"] != declaration_hash():
            raise ProtocolVersionMismatchError(
                PROTOCOL_VERSION, PROTOCOL_VERSION,
                f"firmware {fields['fw_major']}.{fields['fw_minor']}.{fields['fw_patch']} was "
                f"built from other protocol declarations (hash 0x{fields['protocol_hash']:08x}, "
                f"this host 0x{declaration_hash():08x})")
        self.identity = fields
        self.timing = LinkTiming.from_identity(fields)
        # a retransmission must come after the board's silence rule dropped a cut-off frame
        self.reply_timeout_s = max(self.reply_timeout_s, 2 * self.timing.frame_silence_s)
        self._needs_identify = False
        return fields

    def ping(self, token: int = 0) -> int:
        reply = self.request(MsgType.PING, {"token": token}).fields["token"]
        if reply != token:
            raise TransportError(f"PONG token {reply} != PING token {token}")
        return int(reply)

    def status(self) -> dict[str, Any]:
        return self.request(MsgType.GET_STATUS).fields

    def heartbeat(self, host_time_ms: int = 0) -> None:
        self.request(MsgType.HEARTBEAT, {"host_time_ms": host_time_ms & 0xFFFFFFFF})

    def heater_set(self, zone: int, setpoint_mc: int, *, enable: bool = True,
                   ramp_mc_per_s: int = 0) -> None:
        self.request(MsgType.HEATER_SET, {"zone": zone, "enable": int(enable),
                                          "setpoint_mc": setpoint_mc,
                                          "ramp_mc_per_s": ramp_mc_per_s})

    def pump_move(self, pump: int, volume_nl: int, rate_nl_per_s: int) -> None:
        self.request(MsgType.PUMP_MOVE, {"pump": pump, "volume_nl": volume_nl,
                                         "rate_nl_per_s": rate_nl_per_s})

    def pump_stop(self, pump: int) -> None:
        self.request(MsgType.PUMP_STOP, {"pump": pump})

    def valve_select(self, valve: int, port: int) -> None:
        self.request(MsgType.VALVE_SELECT, {"valve": valve, "port": port})

    def trigger_program(self, output: int, *, exposure_us: int, period_us: int,
                        pulse_count: int, laser_mask: int) -> None:
        self.request(MsgType.TRIGGER_PROGRAM, {"output": output, "exposure_us": exposure_us,
                                               "period_us": period_us,
                                               "pulse_count": pulse_count,
                                               "laser_mask": laser_mask})

    def trigger_arm(self, output: int) -> None:
        self.request(MsgType.TRIGGER_ARM, {"output": output})

    def trigger_fire(self, output: int) -> None:
        self.request(MsgType.TRIGGER_FIRE, {"output": output})

    def fault_clear(self, faults: int) -> None:
        self.request(MsgType.FAULT_CLEAR, {"faults": faults})

    def emergency_stop(self) -> None:
        self.request(MsgType.EMERGENCY_STOP)

    # -- heartbeat ---------------------------------------------------------------------------

    def start_heartbeat(self, period_s: float | None = None) -> None:
        """From a background thread until stopped, send HEARTBEAT whenever no request went
        out for ``period_s`` (default: a third of the board's heartbeat timeout)."""
        if self._heartbeat is not None:
            return
        if period_s is None:
            if self.timing is None:
                self.identify()
            assert self.timing is not None
            period_s = self.timing.heartbeat_period_s
        self._heartbeat_stop.clear()

        def beat() -> None:
            t0 = time.monotonic()
            wait_s = period_s
            while not self._heartbeat_stop.wait(wait_s):
                wait_s = self.heartbeat_due_in(period_s, time.monotonic())
                if wait_s > 0:
                    continue  # another request fed the board recently
                wait_s = period_s
                try:
                    self.heartbeat(round((time.monotonic() - t0) * 1000))
                except TransportError:
                    if self._fatal is not None:
                        return

        self._heartbeat = threading.Thread(target=beat, name="control-link-heartbeat",
                                           daemon=True)
        self._heartbeat.start()

    def heartbeat_due_in(self, period_s: float, now_s: float) -> float:
        """Seconds until a HEARTBEAT is due (<= 0: now): ``period_s`` after the last request
        of any kind went out (``now_s`` on the time.monotonic clock)."""
        return period_s - (now_s - self._last_write_s)

    def stop_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat_stop.set()
            self._heartbeat.join(timeout=2.0)
            self._heartbeat = None

    # -- reader ------------------------------------------------------------------------------

    def _read_loop(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.transport.read(4096, self.poll_timeout_s)
            except TransportError as exc:
                self._fail_all(exc)
                return
            if data:
                for item in self._splitter.feed(data):
                    if isinstance(item, ProtocolError):
                        self._on_bad_frame(item)
                    else:
                        self._on_frame(item)

    def _fail_all(self, exc: TransportError) -> None:
        with self._state_lock:
            self._fatal = exc
            pending = self._pending
        if pending is not None:
            pending.error = exc
            pending.event.set()

    def _on_bad_frame(self, exc: ProtocolError) -> None:
        self.stats.bad_frames += 1
        if isinstance(exc, BadVersionError) and exc.frame is not None:
            version = FrameHeader.parse(exc.frame).version
            self._peer_version = version
            with self._state_lock:
                pending = self._pending
            if pending is not None:
                pending.error = ProtocolVersionMismatchError(version, PROTOCOL_VERSION)
                pending.event.set()

    def _on_frame(self, frame: ControlFrame) -> None:
        self._last_rx_seq = frame.seq
        is_reply = frame.msg_type in REPLY_TYPES
        if frame.boot_id != ANY_BOOT and frame.boot_id != self.boot_id:
            self._on_reset(frame.boot_id, reply=frame if is_reply else None)
        if is_reply:
            self._on_reply(frame)
            return
        self.stats.unsolicited += 1
        if frame.msg_type in UNSOLICITED:
            with self._state_lock:
                subscribers = list(self._subscribers)
            for callback, types in subscribers:
                if types is None or frame.msg_type in types:
                    callback(frame)

    def _on_reply(self, frame: ControlFrame) -> None:
        with self._state_lock:
            pending = self._pending
            if pending is None or pending.event.is_set() or not pending.matches(frame):
                self.stats.stale_replies += 1
                return
        self.stats.replies += 1
        if frame.msg_type == MsgType.NAK and frame.fields["error"] in RESEND_AT_ONCE:
            pending.resend_now = True
        pending.reply = frame
        pending.event.set()

    def _on_reset(self, boot_id: int, reply: ControlFrame | None = None) -> None:
        """A new boot_id: fail what is outstanding (unless ``reply`` answers it)."""
        if boot_id == self.boot_id:
            return
        known = self.boot_id is not None
        self.boot_id = boot_id
        if not known:
            return
        self.stats.resets += 1
        self._needs_identify = True
        with self._state_lock:
            pending = self._pending
        if pending is None or pending.event.is_set():
            return
        pending.reset_seen = True
        if reply is not None and pending.matches(reply) and pending.attempts == 1:
            return  # sent once and answered by the new boot: it ran exactly once
        if pending.attempts > 1:  # an earlier copy may have run before the reset
            pending.error = self._reset_error(pending)
            pending.event.set()

    def _reset_error(self, pending: _Pending) -> DeviceResetError:
        return DeviceResetError(
            f"device rebooted (boot_id {self.boot_id}) while {pending.msg_type.name} "
            f"(seq {pending.seq}) was outstanding: it may or may not have run; "
            "read status() before repeating it"
        )

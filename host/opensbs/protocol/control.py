"""Control link (host <-> controller board): frame and message declarations.

Frame, all little-endian::

    sync     2  A5 5A
    version  u8 PROTOCOL_VERSION
    msg_type u8 MsgType
    seq      u8 sender's sequence number (wraps at 256)
    ack      u8 for a reply: the seq of the request it answers; otherwise the last
                seq received from the peer
    boot_id  u32 device -> host: the device's boot id; host -> device: the boot the request
                is meant for (0 until the host knows it); the device NAKs any other with
                STALE_BOOT, so a retransmission never runs in the device's next life
    length   u16 payload bytes, at most MAX_PAYLOAD_BYTES
    payload  length bytes, the message declared for msg_type
    crc      u16 CRC16-CCITT-FALSE over version..payload (sync excluded)

Every request is answered by exactly one reply: IDENTIFY -> IDENTIFY_REPLY,
PING -> PONG, GET_STATUS -> STATUS_REPLY, every other request -> ACK, or NAK with an
ErrorCode. TELEMETRY, FAULT_EVENT, LOG, BOOT and TRIGGER_DONE are unsolicited.
Integer units on the wire: milli-degrees C, nanolitres, microseconds, per-mille duty.

These declarations are the protocol's single source: ``python -m opensbs.protocol.codegen``
generates the firmware's tables from them, and IDENTIFY_REPLY carries the hash of them
(``declaration_hash``) so a host refuses firmware built from other declarations.
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag
from typing import Any

from construct import (
    Const,
    ConstructError,
    Int8ul,
    Int16ul,
    Int32sl,
    Int32ul,
    PascalString,
    PrefixedArray,
    Struct,
)

from .crc import crc16_ccitt
from .errors import (
    BadCrcError,
    BadLengthError,
    BadSyncError,
    BadVersionError,
    MalformedPayloadError,
    ProtocolError,
    UnknownMessageError,
)

PROTOCOL_VERSION = 2
SYNC = b"\xa5\x5a"
MAX_PAYLOAD_BYTES = 512
MAX_TEXT_BYTES = 200
MAX_BOARD_ID_BYTES = 32
TEXT_LIMITS = {"text": MAX_TEXT_BYTES, "board_id": MAX_BOARD_ID_BYTES}  # by field name
ANY_BOOT = 0  # a request's boot_id before the host knows the device's


class MsgType(IntEnum):
    """Message type codes; 0x01-0x7F host -> device, 0x80-0xFF device -> host."""

    IDENTIFY = 0x01
    PING = 0x02
    HEARTBEAT = 0x03
    GET_STATUS = 0x04
    HEATER_SET = 0x10
    PUMP_MOVE = 0x11
    PUMP_STOP = 0x12
    VALVE_SELECT = 0x13
    TRIGGER_PROGRAM = 0x20
    TRIGGER_ARM = 0x21
    TRIGGER_FIRE = 0x22
    FAULT_CLEAR = 0x30
    EMERGENCY_STOP = 0x31
    IDENTIFY_REPLY = 0x81
    PONG = 0x82
    STATUS_REPLY = 0x83
    TELEMETRY = 0x90
    FAULT_EVENT = 0x91
    LOG = 0x92
    BOOT = 0x93
    TRIGGER_DONE = 0x94
    ACK = 0xF0
    NAK = 0xF1


class ErrorCode(IntEnum):
    """Reason carried by a NAK."""

    UNKNOWN_MESSAGE = 1
    BAD_LENGTH = 2
    BAD_CRC = 3
    BAD_VERSION = 4
    OUT_OF_RANGE = 5
    UNKNOWN_TARGET = 6
    BUSY = 7
    FAULT_LATCHED = 8
    NOT_ARMED = 9
    ESTOP_ACTIVE = 10
    NOT_CONFIGURED = 11
    INTERNAL = 12
    STALE_BOOT = 13  # the request names a boot_id the device no longer has: not executed


class Fault(IntFlag):
    """Latched fault flags; FAULT_EVENT.fault carries the bit index."""

    THERMISTOR_OPEN = 1 << 0
    THERMISTOR_SHORT = 1 << 1
    OVER_TEMPERATURE = 1 << 2
    THERMAL_RUNAWAY = 1 << 3
    HEARTBEAT_LOST = 1 << 4
    WATCHDOG_RESET = 1 << 5
    BOARD_CONFIG = 1 << 6
    EMERGENCY_STOP = 1 << 7
    PUMP_FAULT = 1 << 8
    VALVE_TIMEOUT = 1 << 9


class DeviceState(IntEnum):
    """Board state reported in STATUS_REPLY and TELEMETRY."""

    IDLE = 0
    ACTIVE = 1
    FAULT = 2
    ESTOP = 3
    SAFE = 4  # no valid board configuration: every output held off


class ResetCause(IntEnum):
    POWER_ON = 0
    SOFT = 1
    WATCHDOG = 2
    HARD = 3
    UNKNOWN = 255


class TriggerState(IntEnum):
    IDLE = 0
    PROGRAMMED = 1
    ARMED = 2
    FIRING = 3


class LogLevel(IntEnum):
    DEBUG = 10
    INFO = 20
    WARNING = 30
    ERROR = 40


NO_SOURCE = 0xFF  # FAULT_EVENT.source when the fault belongs to no zone/pump/valve

Text = PascalString(Int8ul, "utf8")

HeaterCapability = Struct(
    "min_setpoint_mc" / Int32sl,
    "max_setpoint_mc" / Int32sl,
    "max_ramp_mc_per_s" / Int32ul,
)
PumpCapability = Struct("max_rate_nl_per_s" / Int32ul, "capacity_nl" / Int32ul)
ValveCapability = Struct("ports" / Int8ul)
TriggerCapability = Struct(
    "lasers" / Int8ul,
    "min_exposure_us" / Int32ul,
    "max_exposure_us" / Int32ul,
)

HeaterTelemetry = Struct(
    "temperature_mc" / Int32sl,
    "setpoint_mc" / Int32sl,
    "duty_permille" / Int16ul,
    "enabled" / Int8ul,
)
PumpTelemetry = Struct("position_nl" / Int32sl, "flow_nl_per_s" / Int32sl, "moving" / Int8ul)
ValveTelemetry = Struct("port" / Int8ul, "moving" / Int8ul)
TriggerTelemetry = Struct("state" / Int8ul, "pulses_done" / Int16ul)

EMPTY = Struct()

MESSAGES: dict[MsgType, Struct] = {
    MsgType.IDENTIFY: EMPTY,
    MsgType.PING: Struct("token" / Int32ul),
    MsgType.HEARTBEAT: Struct("host_time_ms" / Int32ul),
    MsgType.GET_STATUS: EMPTY,
    MsgType.HEATER_SET: Struct(
        "zone" / Int8ul,
        "enable" / Int8ul,
        "setpoint_mc" / Int32sl,
        "ramp_mc_per_s" / Int32ul,  # 0: step change
    ),
    MsgType.PUMP_MOVE: Struct(
        "pump" / Int8ul,
        "volume_nl" / Int32sl,  # > 0 dispense, < 0 aspirate
        "rate_nl_per_s" / Int32ul,
    ),
    MsgType.PUMP_STOP: Struct("pump" / Int8ul),
    MsgType.VALVE_SELECT: Struct("valve" / Int8ul, "port" / Int8ul),
    MsgType.TRIGGER_PROGRAM: Struct(
        "output" / Int8ul,
        "exposure_us" / Int32ul,
        "period_us" / Int32ul,
        "pulse_count" / Int16ul,
        "laser_mask" / Int8ul,
    ),
    MsgType.TRIGGER_ARM: Struct("output" / Int8ul),
    MsgType.TRIGGER_FIRE: Struct("output" / Int8ul),
    MsgType.FAULT_CLEAR: Struct("faults" / Int32ul),
    MsgType.EMERGENCY_STOP: EMPTY,
    MsgType.IDENTIFY_REPLY: Struct(
        "protocol_version" / Int8ul,
        "fw_major" / Int8ul,
        "fw_minor" / Int8ul,
        "fw_patch" / Int8ul,
        "protocol_hash" / Int32ul,  # declaration_hash() of the firmware's generated tables
        "board_id" / Text,
        "board_config_crc" / Int32ul,
        "boot_id" / Int32ul,
        "heartbeat_timeout_ms" / Int32ul,  # silence after which the board latches
        "control_period_ms" / Int16ul,
        "telemetry_period_ms" / Int16ul,
        "frame_silence_ms" / Int16ul,  # a partial frame is dropped after this silence
        "heaters" / PrefixedArray(Int8ul, HeaterCapability),
        "pumps" / PrefixedArray(Int8ul, PumpCapability),
        "valves" / PrefixedArray(Int8ul, ValveCapability),
        "triggers" / PrefixedArray(Int8ul, TriggerCapability),
    ),
    MsgType.PONG: Struct("token" / Int32ul),
    MsgType.STATUS_REPLY: Struct(
        "state" / Int8ul,
        "faults" / Int32ul,
        "uptime_ms" / Int32ul,
        "heartbeat_age_ms" / Int32ul,
        "boot_id" / Int32ul,
        "armed_mask" / Int8ul,
        "pumps_busy_mask" / Int8ul,
        "valves_busy_mask" / Int8ul,
    ),
    MsgType.TELEMETRY: Struct(
        "uptime_ms" / Int32ul,
        "state" / Int8ul,
        "faults" / Int32ul,
        "heaters" / PrefixedArray(Int8ul, HeaterTelemetry),
        "pumps" / PrefixedArray(Int8ul, PumpTelemetry),
        "valves" / PrefixedArray(Int8ul, ValveTelemetry),
        "triggers" / PrefixedArray(Int8ul, TriggerTelemetry),
    ),
    MsgType.FAULT_EVENT: Struct(
        "fault" / Int8ul,  # bit index into Fault
        "source" / Int8ul,  # zone/pump/valve index, or NO_SOURCE
        "value" / Int32sl,  # e.g. the temperature in mC that tripped it
        "faults" / Int32ul,  # every latched flag after this event
    ),
    MsgType.LOG: Struct("level" / Int8ul, "text" / Text),
    MsgType.BOOT: Struct("boot_id" / Int32ul, "reset_cause" / Int8ul, "faults" / Int32ul),
    MsgType.TRIGGER_DONE: Struct("output" / Int8ul, "pulses" / Int16ul),
    MsgType.ACK: Struct("msg_type" / Int8ul),
    MsgType.NAK: Struct("msg_type" / Int8ul, "error" / Int8ul),
}

REPLY_FOR: dict[MsgType, MsgType] = {
    MsgType.IDENTIFY: MsgType.IDENTIFY_REPLY,
    MsgType.PING: MsgType.PONG,
    MsgType.GET_STATUS: MsgType.STATUS_REPLY,
}
UNSOLICITED = frozenset(
    {MsgType.TELEMETRY, MsgType.FAULT_EVENT, MsgType.LOG, MsgType.BOOT, MsgType.TRIGGER_DONE}
)
REQUESTS = frozenset(t for t in MsgType if t < 0x80)


def reply_type(request: MsgType) -> MsgType:
    """The reply a successful ``request`` gets (ACK unless it returns data)."""
    return REPLY_FOR.get(request, MsgType.ACK)


FrameHeader = Struct(
    "sync" / Const(SYNC),
    "version" / Int8ul,
    "msg_type" / Int8ul,
    "seq" / Int8ul,
    "ack" / Int8ul,
    "boot_id" / Int32ul,
    "length" / Int16ul,
)
Crc = Int16ul  # CRC16-CCITT-FALSE over version..payload
HEADER_BYTES = FrameHeader.sizeof()
CRC_BYTES = Crc.sizeof()
MAX_FRAME_BYTES = HEADER_BYTES + MAX_PAYLOAD_BYTES + CRC_BYTES
_HEADER_PARSER = FrameHeader.compile()


@dataclass(frozen=True)
class ControlFrame:
    """One decoded control-link frame."""

    msg_type: MsgType
    seq: int
    ack: int
    fields: dict[str, Any] = field(default_factory=dict)
    boot_id: int = ANY_BOOT


def _plain(value: Any) -> Any:
    """construct Containers/ListContainers -> plain dicts/lists (private '_' keys dropped)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _check_text(msg_type: MsgType, fields: dict[str, Any]) -> None:
    for name, limit in TEXT_LIMITS.items():
        if name in fields and len(str(fields[name]).encode("utf8")) > limit:
            raise MalformedPayloadError(f"{msg_type.name}.{name} longer than {limit} bytes")


def encode_payload(msg_type: MsgType, fields: dict[str, Any] | None = None) -> bytes:
    """Payload bytes of one message; MalformedPayloadError for missing/out-of-range fields."""
    fields = fields or {}
    try:
        msg_type = MsgType(msg_type)
    except ValueError as exc:
        raise UnknownMessageError(f"unknown message type 0x{msg_type:02x}") from exc
    _check_text(msg_type, fields)
    try:
        payload = MESSAGES[msg_type].build(fields)
    except (ConstructError, KeyError, TypeError, ValueError, UnicodeError) as exc:
        raise MalformedPayloadError(f"cannot encode {msg_type.name}: {exc}") from exc
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise BadLengthError(f"{msg_type.name} payload {len(payload)} > {MAX_PAYLOAD_BYTES} bytes")
    return payload


def encode_frame(
    msg_type: MsgType,
    fields: dict[str, Any] | None = None,
    seq: int = 0,
    ack: int = 0,
    version: int = PROTOCOL_VERSION,
    boot_id: int = ANY_BOOT,
) -> bytes:
    """Bytes of one complete frame, CRC included."""
    payload = encode_payload(msg_type, fields)
    header = FrameHeader.build({"version": version, "msg_type": msg_type, "seq": seq & 0xFF,
                                "ack": ack & 0xFF, "boot_id": boot_id & 0xFFFFFFFF,
                                "length": len(payload)})
    body = header[len(SYNC):] + payload
    return SYNC + body + Crc.build(crc16_ccitt(body))


def _payload_length(buf: bytes | bytearray) -> int | None:
    """The header's payload length of the frame ``buf`` starts with (None: header incomplete)."""
    if len(buf) < HEADER_BYTES:
        return None
    length: int = _HEADER_PARSER.parse(bytes(buf[:HEADER_BYTES])).length
    return length


def decode_payload(msg_type: int, payload: bytes) -> dict[str, Any]:
    """Fields of one message payload; raises a ProtocolError subclass on bad bytes."""
    try:
        kind = MsgType(msg_type)
    except ValueError as exc:
        raise UnknownMessageError(f"unknown message type 0x{msg_type:02x}") from exc
    struct = MESSAGES[kind]
    try:
        fields = struct.parse(payload)
    except (ConstructError, UnicodeError, ValueError, OverflowError) as exc:
        raise MalformedPayloadError(f"{kind.name}: {exc}") from exc
    if len(struct.build(fields)) != len(payload):
        raise BadLengthError(f"{kind.name}: {len(payload)} payload bytes, trailing data")
    result: dict[str, Any] = _plain(fields)
    _check_text(kind, result)
    return result


def decode_frame(data: bytes | bytearray | memoryview) -> ControlFrame:
    """Decode exactly one frame; raises a ProtocolError subclass naming what was wrong."""
    data = bytes(data)
    if len(data) < HEADER_BYTES + CRC_BYTES:
        raise BadLengthError(f"frame of {len(data)} bytes is shorter than the minimum "
                             f"{HEADER_BYTES + CRC_BYTES}")
    if data[:2] != SYNC:
        raise BadSyncError(f"bad sync marker {data[:2].hex()}, expected {SYNC.hex()}")
    header = _HEADER_PARSER.parse(data[:HEADER_BYTES])
    if header.length > MAX_PAYLOAD_BYTES:
        raise BadLengthError(f"payload length {header.length} > {MAX_PAYLOAD_BYTES}")
    end = HEADER_BYTES + header.length
    if len(data) != end + CRC_BYTES:
        raise BadLengthError(f"frame is {len(data)} bytes, header says {end + CRC_BYTES}")
    expected = crc16_ccitt(data[len(SYNC):end])
    got = Crc.parse(data[end:])
    if got != expected:
        raise BadCrcError(f"CRC 0x{got:04x} != computed 0x{expected:04x}")
    if header.version != PROTOCOL_VERSION:
        raise BadVersionError(f"protocol version {header.version}, this host speaks "
                              f"{PROTOCOL_VERSION}")
    fields = decode_payload(header.msg_type, data[HEADER_BYTES:end])
    return ControlFrame(MsgType(header.msg_type), header.seq, header.ack, fields,
                        header.boot_id)


class FrameSplitter:
    """Cuts a byte stream (CDC serial, bulk packets) into frames, resyncing on the sync marker.

    ``feed`` yields a ControlFrame for every good frame and a ProtocolError for every
    damaged one; after damage it restarts the search one byte past the bad sync marker,
    so a corrupt length field never swallows the frames behind it.

    Senders write each frame in one burst. With ``stale_after_s`` set, a frame still
    incomplete when new bytes arrive after that much silence is abandoned (BadLengthError)
    and the search restarts one byte into it: a length field damaged into a larger value
    then costs one silence, not the frames that follow (a retransmission gets through).
    """

    def __init__(self, stale_after_s: float | None = None) -> None:
        self._buffer = bytearray()
        self.stale_after_s = stale_after_s
        self._last_feed_s = 0.0

    @property
    def pending_bytes(self) -> int:
        return len(self._buffer)

    def _stale_bytes(self, now_s: float | None) -> int:
        """How many buffered bytes predate a silence longer than ``stale_after_s``."""
        if self.stale_after_s is None:
            return 0
        now_s = time.monotonic() if now_s is None else now_s
        stale = now_s - self._last_feed_s > self.stale_after_s
        self._last_feed_s = now_s
        return len(self._buffer) if stale else 0

    def feed(self, data: bytes | bytearray | memoryview,
             now_s: float | None = None) -> Iterator[ControlFrame | ProtocolError]:
        stale = self._stale_bytes(now_s)
        self._buffer += data
        buf = self._buffer
        while True:
            start = buf.find(SYNC)
            if start < 0:
                dropped = len(buf) - (1 if buf[-1:] == SYNC[:1] else 0)
                if dropped:
                    yield BadSyncError(f"{dropped} bytes outside any frame discarded")
                    del buf[:dropped]
                return
            if start:
                yield BadSyncError(f"{start} bytes before sync marker discarded")
                del buf[:start]
                stale = max(0, stale - start)
            length = _payload_length(buf) or 0
            if length > MAX_PAYLOAD_BYTES:
                yield BadLengthError(f"payload length {length} > {MAX_PAYLOAD_BYTES}")
                del buf[:1]
                stale = max(0, stale - 1)
                continue
            total = HEADER_BYTES + length + CRC_BYTES
            if len(buf) < HEADER_BYTES or len(buf) < total:
                if not stale:
                    return
                yield BadLengthError(f"frame incomplete after {self.stale_after_s} s of "
                                     f"silence ({len(buf)} of {total} bytes): abandoned")
                del buf[:1]
                stale -= 1
                continue
            try:
                frame = decode_frame(buf[:total])
            except ProtocolError as exc:
                exc.frame = bytes(buf[:total])
                yield exc
                del buf[:1]
                stale = max(0, stale - 1)
                continue
            del buf[:total]
            stale = max(0, stale - total)
            yield frame

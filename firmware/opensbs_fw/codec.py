"""Control-link codec for the firmware: frames, message payloads, stream reassembly.

Held to host/opensbs/protocol/control.py by the golden vectors. Frame (little-endian):
sync A5 5A | version u8 | msg_type u8 | seq u8 | ack u8 | length u16 | payload | crc16
(CRC16-CCITT-FALSE over version..payload). A frame that fails a check raises FrameError,
whose ``nak`` is the ErrorCode to answer with, or 0 when the frame cannot be answered.
"""

import struct

from .crc16 import crc16_ccitt

PROTOCOL_VERSION = 1
SYNC0 = 0xA5
SYNC1 = 0x5A
HEADER_BYTES = 8
CRC_BYTES = 2
MAX_PAYLOAD_BYTES = 512
MAX_TEXT_BYTES = 200
MAX_BOARD_ID_BYTES = 32
NO_SOURCE = 0xFF

# MsgType
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

# ErrorCode
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

# Fault flags (bit index = FAULT_EVENT.fault)
THERMISTOR_OPEN = 1 << 0
THERMISTOR_SHORT = 1 << 1
OVER_TEMPERATURE = 1 << 2
THERMAL_RUNAWAY = 1 << 3
HEARTBEAT_LOST = 1 << 4
WATCHDOG_RESET = 1 << 5
BOARD_CONFIG = 1 << 6
EMERGENCY_STOP_FAULT = 1 << 7
PUMP_FAULT = 1 << 8
VALVE_TIMEOUT = 1 << 9

# DeviceState
STATE_IDLE = 0
STATE_ACTIVE = 1
STATE_FAULT = 2
STATE_ESTOP = 3
STATE_SAFE = 4

# ResetCause
RESET_POWER_ON = 0
RESET_SOFT = 1
RESET_WATCHDOG = 2
RESET_HARD = 3
RESET_UNKNOWN = 255

# TriggerState
TRIG_IDLE = 0
TRIG_PROGRAMMED = 1
TRIG_ARMED = 2
TRIG_FIRING = 3

TEXT = "text"  # u8 length + UTF-8 bytes

_HEATER_CAP = (("max_setpoint_mc", "i"),)
_PUMP_CAP = (("max_rate_nl_per_s", "I"), ("capacity_nl", "I"))
_VALVE_CAP = (("ports", "B"),)
_TRIGGER_CAP = (("lasers", "B"),)
_HEATER_TEL = (("temperature_mc", "i"), ("setpoint_mc", "i"), ("duty_permille", "H"),
               ("enabled", "B"))
_PUMP_TEL = (("position_nl", "i"), ("flow_nl_per_s", "i"), ("moving", "B"))
_VALVE_TEL = (("port", "B"), ("moving", "B"))
_TRIGGER_TEL = (("state", "B"), ("pulses_done", "H"))

# Each field is (name, kind): kind is a struct code, TEXT, or a tuple (a u8-prefixed array
# of that sub-schema).
SCHEMAS = {
    IDENTIFY: (),
    PING: (("token", "I"),),
    HEARTBEAT: (("host_time_ms", "I"),),
    GET_STATUS: (),
    HEATER_SET: (("zone", "B"), ("enable", "B"), ("setpoint_mc", "i"), ("ramp_mc_per_s", "I")),
    PUMP_MOVE: (("pump", "B"), ("volume_nl", "i"), ("rate_nl_per_s", "I")),
    PUMP_STOP: (("pump", "B"),),
    VALVE_SELECT: (("valve", "B"), ("port", "B")),
    TRIGGER_PROGRAM: (("output", "B"), ("exposure_us", "I"), ("period_us", "I"),
                      ("pulse_count", "H"), ("laser_mask", "B")),
    TRIGGER_ARM: (("output", "B"),),
    TRIGGER_FIRE: (("output", "B"),),
    FAULT_CLEAR: (("faults", "I"),),
    EMERGENCY_STOP: (),
    IDENTIFY_REPLY: (("protocol_version", "B"), ("fw_major", "B"), ("fw_minor", "B"),
                     ("fw_patch", "B"), ("board_id", TEXT), ("board_config_crc", "I"),
                     ("boot_id", "I"), ("heaters", _HEATER_CAP), ("pumps", _PUMP_CAP),
                     ("valves", _VALVE_CAP), ("triggers", _TRIGGER_CAP)),
    PONG: (("token", "I"),),
    STATUS_REPLY: (("state", "B"), ("faults", "I"), ("uptime_ms", "I"),
                   ("heartbeat_age_ms", "I"), ("boot_id", "I"), ("armed_mask", "B"),
                   ("pumps_busy_mask", "B"), ("valves_busy_mask", "B")),
    TELEMETRY: (("uptime_ms", "I"), ("state", "B"), ("faults", "I"), ("heaters", _HEATER_TEL),
                ("pumps", _PUMP_TEL), ("valves", _VALVE_TEL), ("triggers", _TRIGGER_TEL)),
    FAULT_EVENT: (("fault", "B"), ("source", "B"), ("value", "i"), ("faults", "I")),
    LOG: (("level", "B"), ("text", TEXT)),
    BOOT: (("boot_id", "I"), ("reset_cause", "B"), ("faults", "I")),
    TRIGGER_DONE: (("output", "B"), ("pulses", "H")),
    ACK: (("msg_type", "B"),),
    NAK: (("msg_type", "B"), ("error", "B")),
}

_SIZES = {"B": 1, "H": 2, "I": 4, "i": 4}
_TEXT_LIMITS = {"text": MAX_TEXT_BYTES, "board_id": MAX_BOARD_ID_BYTES}


class FrameError(Exception):
    """A frame or payload that fails a check; ``nak`` is the ErrorCode to answer (0: none)."""

    def __init__(self, nak: int, message: str, msg_type: int = 0, seq: int = 0) -> None:
        super().__init__(message)
        self.nak = nak
        self.msg_type = msg_type
        self.seq = seq


def _encode_fields(schema, fields, out: bytearray) -> None:
    for name, kind in schema:
        value = fields[name]
        if kind == TEXT:
            raw = value.encode("utf-8")
            if len(raw) > _TEXT_LIMITS[name]:
                raise ValueError(name + " too long")
            out.append(len(raw))
            out.extend(raw)
        elif isinstance(kind, tuple):
            if len(value) > 255:
                raise ValueError(name + " has more than 255 entries")
            out.append(len(value))
            for item in value:
                _encode_fields(kind, item, out)
        else:
            out.extend(struct.pack("<" + kind, value))


def encode_payload(msg_type: int, fields=None) -> bytes:
    """Payload bytes of one message from a dict of its fields."""
    out = bytearray()
    _encode_fields(SCHEMAS[msg_type], fields or {}, out)
    if len(out) > MAX_PAYLOAD_BYTES:
        raise ValueError("payload too long")
    return bytes(out)


def encode_frame(msg_type: int, fields=None, seq: int = 0, ack: int = 0) -> bytes:
    """One complete frame, CRC included."""
    payload = encode_payload(msg_type, fields)
    n = len(payload)
    frame = bytearray(HEADER_BYTES + n + CRC_BYTES)
    frame[0] = SYNC0
    frame[1] = SYNC1
    struct.pack_into("<BBBBH", frame, 2, PROTOCOL_VERSION, msg_type, seq & 0xFF, ack & 0xFF, n)
    frame[HEADER_BYTES:HEADER_BYTES + n] = payload
    crc = crc16_ccitt(memoryview(frame)[2:HEADER_BYTES + n])
    struct.pack_into("<H", frame, HEADER_BYTES + n, crc)
    return bytes(frame)


def _decode_fields(schema, data, pos: int, out: dict) -> int:
    end = len(data)
    for name, kind in schema:
        if kind == TEXT:
            if pos >= end:
                raise FrameError(BAD_LENGTH, "short payload at " + name)
            n = data[pos]
            if pos + 1 + n > end:
                raise FrameError(BAD_LENGTH, "short payload at " + name)
            if n > _TEXT_LIMITS[name]:
                raise FrameError(BAD_LENGTH, name + " too long")
            try:
                out[name] = str(bytes(data[pos + 1:pos + 1 + n]), "utf-8")
            except UnicodeError:
                raise FrameError(BAD_LENGTH, name + " is not UTF-8") from None
            pos += 1 + n
        elif isinstance(kind, tuple):
            if pos >= end:
                raise FrameError(BAD_LENGTH, "short payload at " + name)
            count = data[pos]
            pos += 1
            items = []
            for _ in range(count):
                item: dict = {}
                pos = _decode_fields(kind, data, pos, item)
                items.append(item)
            out[name] = items
        else:
            size = _SIZES[kind]
            if pos + size > end:
                raise FrameError(BAD_LENGTH, "short payload at " + name)
            out[name] = struct.unpack_from("<" + kind, data, pos)[0]
            pos += size
    return pos


def decode_payload(msg_type: int, payload) -> dict:
    """Fields of one payload; FrameError(UNKNOWN_MESSAGE | BAD_LENGTH) on bad bytes."""
    schema = SCHEMAS.get(msg_type)
    if schema is None:
        raise FrameError(UNKNOWN_MESSAGE, "unknown message type", msg_type)
    fields: dict = {}
    end = _decode_fields(schema, payload, 0, fields)
    if end != len(payload):
        raise FrameError(BAD_LENGTH, "trailing payload bytes", msg_type)
    return fields


def check_frame(data) -> tuple:
    """(msg_type, seq, ack, payload memoryview) of exactly one frame; FrameError otherwise."""
    n = len(data)
    if n < HEADER_BYTES + CRC_BYTES:
        raise FrameError(0, "frame shorter than 10 bytes")
    if data[0] != SYNC0 or data[1] != SYNC1:
        raise FrameError(0, "bad sync marker")
    version, msg_type, seq, ack, length = struct.unpack_from("<BBBBH", data, 2)
    if length > MAX_PAYLOAD_BYTES:
        raise FrameError(0, "payload length over maximum")
    if n != HEADER_BYTES + length + CRC_BYTES:
        raise FrameError(0, "frame length disagrees with header")
    mv = memoryview(data)
    crc = struct.unpack_from("<H", data, n - CRC_BYTES)[0]
    if crc != crc16_ccitt(mv[2:n - CRC_BYTES]):
        raise FrameError(BAD_CRC, "bad CRC", msg_type, seq)
    if version != PROTOCOL_VERSION:
        raise FrameError(BAD_VERSION, "unsupported protocol version", msg_type, seq)
    if msg_type not in SCHEMAS:
        raise FrameError(UNKNOWN_MESSAGE, "unknown message type", msg_type, seq)
    return msg_type, seq, ack, mv[HEADER_BYTES:n - CRC_BYTES]


def decode_frame(data) -> tuple:
    """(msg_type, seq, ack, fields dict) of exactly one frame; FrameError otherwise."""
    msg_type, seq, ack, payload = check_frame(data)
    try:
        fields = decode_payload(msg_type, payload)
    except FrameError as exc:
        exc.msg_type = msg_type
        exc.seq = seq
        raise
    return msg_type, seq, ack, fields


class FrameReader:
    """Cuts a byte stream into whole frames, resynchronising on the sync marker.

    ``feed`` returns a list of whole frames (bytes with a good CRC, payload not yet decoded)
    and FrameErrors; after a bad length or CRC it restarts one byte past the sync marker.
    """

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data) -> list:
        buf = self._buf
        buf.extend(data)
        out: list = []
        while True:
            start = buf.find(b"\xa5\x5a")
            if start < 0:
                keep = 1 if len(buf) and buf[-1] == SYNC0 else 0
                if len(buf) > keep:
                    out.append(FrameError(0, "bytes outside any frame discarded"))
                    self._buf = buf = buf[len(buf) - keep:]
                return out
            if start:
                out.append(FrameError(0, "bytes before sync marker discarded"))
                self._buf = buf = buf[start:]
            if len(buf) < HEADER_BYTES:
                return out
            length = buf[6] | (buf[7] << 8)
            if length > MAX_PAYLOAD_BYTES:
                out.append(FrameError(0, "payload length over maximum"))
                self._buf = buf = buf[1:]
                continue
            total = HEADER_BYTES + length + CRC_BYTES
            if len(buf) < total:
                return out
            frame = bytes(buf[:total])
            try:
                check_frame(frame)
            except FrameError as exc:
                if exc.nak == BAD_CRC:  # the length may be damaged too: resync
                    out.append(exc)
                    self._buf = buf = buf[1:]
                    continue
            self._buf = buf = buf[total:]
            out.append(frame)

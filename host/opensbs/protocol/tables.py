"""The control-link declarations as plain tables: what the firmware is generated from.

``message_schemas()`` turns each construct Struct of ``control.MESSAGES`` into the firmware
codec's schema form: a tuple of ``(field name, kind)``, where kind is a ``struct`` format code
("B", "H", "I", "i"), ``TEXT`` (u8 length + UTF-8) or a nested tuple (a u8-prefixed array of
that sub-schema). ``declaration_hash()`` is a CRC-32 over every table the firmware is built
from (version, header layout, enums, schemas, limits): IDENTIFY_REPLY carries the firmware's
copy, and the host refuses a board whose hash differs from its own.
"""

import zlib
from enum import IntEnum, IntFlag
from typing import Any

from construct import Array, Const, FocusedSeq, FormatField, Renamed, Struct

from . import control as c

TEXT = "text"
Schema = tuple[tuple[str, Any], ...]

# enum -> (prefix of its constants in the firmware, suffix used when a name is already taken)
FIRMWARE_ENUMS: tuple[tuple[type[IntEnum] | type[IntFlag], str, str], ...] = (
    (c.MsgType, "", ""),
    (c.ErrorCode, "", ""),
    (c.Fault, "", "_FAULT"),
    (c.DeviceState, "STATE_", ""),
    (c.ResetCause, "RESET_", ""),
    (c.TriggerState, "TRIG_", ""),
    (c.LogLevel, "LOG_", ""),
)


def _kind(sub: Any) -> Any:
    """The firmware kind of one construct field."""
    while isinstance(sub, Renamed):
        sub = sub.subcon
    if isinstance(sub, FormatField):
        return sub.fmtstr.lstrip("<>=")
    if sub is c.Text:
        return TEXT
    if isinstance(sub, FocusedSeq):  # PrefixedArray(Int8ul, Struct): "count" then "items"
        count, items = sub.subcons
        if count.subcon.subcon is c.Int8ul and isinstance(items.subcon, Array):
            return struct_schema(items.subcon.subcon)
    raise TypeError(f"no firmware kind for construct {sub!r}")


def struct_schema(struct: Struct) -> Schema:
    """``(name, kind)`` pairs of a construct Struct, in wire order."""
    return tuple((sub.name, _kind(sub)) for sub in struct.subcons)


def message_schemas() -> dict[int, Schema]:
    """Every message's schema by MsgType value."""
    return {int(t): struct_schema(s) for t, s in sorted(c.MESSAGES.items())}


def header_format() -> str:
    """The ``struct`` format of the frame header after the sync marker."""
    codes = [_kind(sub) for sub in c.FrameHeader.subcons if not isinstance(sub.subcon, Const)]
    return "<" + "".join(codes)


def firmware_constants() -> list[tuple[str, int]]:
    """``(name, value)`` of every enum member, named as the firmware names them."""
    out: list[tuple[str, int]] = []
    taken: set[str] = set()
    for enum, prefix, clash_suffix in FIRMWARE_ENUMS:
        for member in enum:
            name = prefix + str(member.name)
            if name in taken:
                name += clash_suffix
            if name in taken:
                raise ValueError(f"firmware constant {name} declared twice")
            taken.add(name)
            out.append((name, int(member)))
    return out


def scalar_constants() -> list[tuple[str, int]]:
    """The link's numeric limits and layout, as the firmware names them."""
    return [
        ("PROTOCOL_VERSION", c.PROTOCOL_VERSION),
        ("SYNC0", c.SYNC[0]),
        ("SYNC1", c.SYNC[1]),
        ("HEADER_BYTES", c.HEADER_BYTES),
        ("CRC_BYTES", c.CRC_BYTES),
        ("MAX_PAYLOAD_BYTES", c.MAX_PAYLOAD_BYTES),
        ("MAX_TEXT_BYTES", c.MAX_TEXT_BYTES),
        ("MAX_BOARD_ID_BYTES", c.MAX_BOARD_ID_BYTES),
        ("NO_SOURCE", c.NO_SOURCE),
        ("ANY_BOOT", c.ANY_BOOT),
    ]


def declaration_hash() -> int:
    """CRC-32 of every table the firmware's protocol module is generated from."""
    text = repr((scalar_constants(), header_format(), firmware_constants(),
                 sorted(c.TEXT_LIMITS.items()), sorted(message_schemas().items())))
    return zlib.crc32(text.encode())

"""Image link (host <-> FPGA USB 3 bridge): packet declarations and the register map.

Upstream (bridge -> host) packets, all little-endian, every length a multiple of 4 bytes:

* image frame (version 2, streamed: the FPGA sends the header at frame start):
  36-byte ImageHeader (``flags`` holds only what is known at frame start: BINNED, CROPPED,
  TEST_PATTERN, NO_TRIGGER), ``payload_length`` bytes of u16 pixels (row-major,
  ``width * height * 2``; ``width`` is even), an 8-byte ImageTrailer (u16 ``status``:
  OVERFLOW, TRUNCATED; u16 reserved 0; u32 ``delivered_pixels``), then a u32 CRC-32 over
  header, payload and trailer. A frame the FPGA could not complete still has its full
  length: the pixels after the first ``delivered_pixels`` are zero padding and ``status``
  says OVERFLOW (FIFO overrun) or TRUNCATED (sensor frame too short). Decoded, the header's
  ``flags`` is the union of header flags and trailer status.
* register reply: 16 bytes, one per register command.

Downstream (host -> bridge): 16-byte register commands (write or read).
"""

import functools
import struct
from dataclasses import dataclass, replace
from enum import IntEnum, IntFlag
from typing import Any

import numpy as np
from construct import Const, ConstructError, Int8ul, Int16ul, Int32ul, Int64ul, Struct

from .crc import crc32, crc32_combine, crc32_shift_operator
from .errors import (
    BadCrcError,
    BadLengthError,
    BadSyncError,
    BadVersionError,
    MalformedPayloadError,
    UnknownMessageError,
)

IMAGE_MAGIC = b"OSIF"
REGISTER_COMMAND_MAGIC = b"OSRC"
REGISTER_REPLY_MAGIC = b"OSRR"
IMAGE_LINK_VERSION = 2
RTL_REVISION = 1  # the capture RTL's revision, low half of the VERSION register
VERSION_REGISTER_VALUE = IMAGE_LINK_VERSION << 16 | RTL_REVISION
MAX_IMAGE_DIMENSION = 8192
MAX_PAYLOAD_BYTES = MAX_IMAGE_DIMENSION * MAX_IMAGE_DIMENSION * 2


class FrameFlags(IntFlag):
    OVERFLOW = 1 << 0  # the CDC FIFO overran: some pixels lost (sent as 0)
    TRUNCATED = 1 << 1  # the sensor frame ended early: missing pixels sent as 0
    BINNED = 1 << 2  # 2x2 binning applied
    CROPPED = 1 << 3  # ROI crop applied
    TEST_PATTERN = 1 << 4  # pixels come from the FPGA's pattern generator
    NO_TRIGGER = 1 << 5  # frame started with no exposure trigger seen


ALL_FRAME_FLAGS = int(sum(FrameFlags))
STATUS_FLAGS = int(FrameFlags.OVERFLOW | FrameFlags.TRUNCATED)  # trailer: known at frame end
HEADER_FLAGS = ALL_FRAME_FLAGS & ~STATUS_FLAGS  # header: known at frame start


class RegisterOp(IntEnum):
    WRITE = 1
    READ = 2


class RegisterStatus(IntEnum):
    OK = 0
    BAD_ADDRESS = 1
    READ_ONLY = 2
    BAD_VALUE = 3
    BAD_CRC = 4


class Register(IntEnum):
    """Register byte addresses of the capture path (32-bit registers)."""

    ID = 0x00  # RO, REGISTER_ID_VALUE
    VERSION = 0x04  # RO, image-link version << 16 | RTL revision
    CONTROL = 0x08  # RW, ControlBits
    ROI_X = 0x0C  # RW, first column (sensor pixels)
    ROI_Y = 0x10  # RW, first row
    ROI_WIDTH = 0x14  # RW, columns before binning (even; multiple of 4 when binning)
    ROI_HEIGHT = 0x18  # RW, rows before binning (even when binning)
    CHANNEL = 0x1C  # RW, channel number stamped into frame headers
    FRAME_COUNT = 0x20  # RO, frames sent
    DROP_COUNT = 0x24  # RO, frames that could not be completed (flagged)
    OVERFLOW_COUNT = 0x28  # RO, FIFO overflow events
    TRIGGER_COUNT = 0x2C  # RO, exposure triggers seen
    STATUS = 0x30  # RO, StatusBits
    COUNTER_CLEAR = 0x34  # WO, write 1 to zero every counter


REGISTER_ID_VALUE = 0x4F534246  # "OSBF"


class ControlBits(IntFlag):
    ENABLE = 1 << 0
    BINNING_2X2 = 1 << 1
    CROP = 1 << 2
    TEST_PATTERN = 1 << 3


class StatusBits(IntFlag):
    RUNNING = 1 << 0
    FIFO_OVERFLOW_SEEN = 1 << 1
    IN_FRAME = 1 << 2


ImageHeader = Struct(
    "magic" / Const(IMAGE_MAGIC),
    "version" / Int8ul,
    "header_length" / Int8ul,
    "flags" / Int16ul,
    "sequence" / Int32ul,
    "trigger_id" / Int32ul,
    "timestamp_us" / Int64ul,
    "width" / Int16ul,
    "height" / Int16ul,
    "bits_per_pixel" / Int8ul,
    "channel" / Int8ul,
    "reserved" / Int16ul,
    "payload_length" / Int32ul,
)

ImageTrailer = Struct(
    "status" / Int16ul,  # STATUS_FLAGS bits
    "reserved" / Int16ul,
    "delivered_pixels" / Int32ul,  # pixels from the sensor; the rest of the payload is zero
)

ImageCrc = Int32ul  # CRC-32 over header, payload and trailer

RegisterCommand = Struct(
    "magic" / Const(REGISTER_COMMAND_MAGIC),
    "op" / Int8ul,
    "tag" / Int8ul,
    "address" / Int16ul,
    "value" / Int32ul,
    "crc" / Int32ul,  # CRC-32 over the 12 bytes before it
)

RegisterReply = Struct(
    "magic" / Const(REGISTER_REPLY_MAGIC),
    "tag" / Int8ul,
    "status" / Int8ul,
    "address" / Int16ul,
    "value" / Int32ul,
    "crc" / Int32ul,  # CRC-32 over the 12 bytes before it
)

IMAGE_HEADER_BYTES = ImageHeader.sizeof()
IMAGE_TRAILER_BYTES = ImageTrailer.sizeof()
IMAGE_CRC_BYTES = ImageCrc.sizeof()
REGISTER_PACKET_BYTES = RegisterCommand.sizeof()
_REGISTER_CRC_OFFSET = REGISTER_PACKET_BYTES - Int32ul.sizeof()

_crc32_shift = functools.lru_cache(maxsize=8)(crc32_shift_operator)



class _FixedLayout:
    """A Struct of fixed-width fields read with one ``struct`` unpack (the per-frame hot path:
    a construct parse costs tens of microseconds); the layout comes from the declaration."""

    def __init__(self, declaration: Struct) -> None:
        codes = []
        for sub in declaration.subcons:
            field = sub.subcon
            codes.append(f"{len(field.value)}s" if isinstance(field, Const)
                         else field.fmtstr.lstrip("<"))
        self.names = tuple(sub.name for sub in declaration.subcons)
        self.layout = struct.Struct("<" + "".join(codes))
        assert self.layout.size == declaration.sizeof()

    def parse(self, data: bytes | bytearray | memoryview, offset: int = 0) -> dict[str, Any]:
        return dict(zip(self.names, self.layout.unpack_from(data, offset), strict=True))


# The decoders check the magic and every field themselves.
_IMAGE_HEADER_PARSER = _FixedLayout(ImageHeader)
_TRAILER_PARSER = _FixedLayout(ImageTrailer)
_CRC_PARSER = _FixedLayout(Struct("crc" / ImageCrc))
_REGISTER_PARSERS = {REGISTER_COMMAND_MAGIC: RegisterCommand.compile(),
                     REGISTER_REPLY_MAGIC: RegisterReply.compile()}


@dataclass(frozen=True)
class ImageFrameHeader:
    """Decoded header fields of one image frame."""

    sequence: int
    trigger_id: int
    timestamp_us: int
    width: int
    height: int
    bits_per_pixel: int
    channel: int
    flags: FrameFlags
    payload_length: int
    version: int = IMAGE_LINK_VERSION
    delivered_pixels: int | None = None  # from the trailer; None from decode_image_header

    @property
    def frame_bytes(self) -> int:
        return IMAGE_HEADER_BYTES + self.payload_length + IMAGE_TRAILER_BYTES + IMAGE_CRC_BYTES


@dataclass(frozen=True)
class ImageFrame:
    header: ImageFrameHeader
    pixels: np.ndarray  # (height, width) uint16, a read-only view into the received bytes


@dataclass(frozen=True)
class RegisterAccess:
    """A register command (down) or reply (up), decoded."""

    op: RegisterOp | None  # None for a reply
    tag: int
    address: int
    value: int
    status: RegisterStatus = RegisterStatus.OK


def decode_image_header(data: bytes | bytearray | memoryview) -> ImageFrameHeader:
    """Parse and check the 36-byte header; raises a ProtocolError subclass on bad bytes.

    ``flags`` holds the header flags only and ``delivered_pixels`` is None: the completion
    status is in the trailer, which ``decode_image_frame`` reads.
    """
    if len(data) < IMAGE_HEADER_BYTES:
        raise BadLengthError(f"image header needs {IMAGE_HEADER_BYTES} bytes, got {len(data)}")
    if bytes(data[:4]) != IMAGE_MAGIC:
        raise BadSyncError(f"bad image magic {bytes(data[:4]).hex()}")
    h = _IMAGE_HEADER_PARSER.parse(data)
    version, flags, width, height = h["version"], h["flags"], h["width"], h["height"]
    if version != IMAGE_LINK_VERSION:
        raise BadVersionError(f"image link version {version}, host speaks version "
                              f"{IMAGE_LINK_VERSION}")
    if h["header_length"] != IMAGE_HEADER_BYTES:
        raise BadLengthError(f"header_length {h['header_length']} != {IMAGE_HEADER_BYTES}")
    if flags & ~HEADER_FLAGS:
        raise MalformedPayloadError(f"header flag bits 0x{flags & ~HEADER_FLAGS:04x} undefined "
                                    "(OVERFLOW/TRUNCATED belong in the trailer)")
    if h["reserved"]:
        raise MalformedPayloadError(f"reserved field is 0x{h['reserved']:04x}, must be 0")
    if not (0 < width <= MAX_IMAGE_DIMENSION and 0 < height <= MAX_IMAGE_DIMENSION):
        raise MalformedPayloadError(f"image size {width}x{height} out of range")
    if width % 2:
        raise MalformedPayloadError(f"image width {width} is odd")
    if not 8 <= h["bits_per_pixel"] <= 16:
        raise MalformedPayloadError(f"bits_per_pixel {h['bits_per_pixel']} not in 8..16")
    if h["payload_length"] != width * height * 2:
        raise BadLengthError(f"payload_length {h['payload_length']} != {width}x{height}x2")
    return ImageFrameHeader(
        sequence=h["sequence"],
        trigger_id=h["trigger_id"],
        timestamp_us=h["timestamp_us"],
        width=width,
        height=height,
        bits_per_pixel=h["bits_per_pixel"],
        channel=h["channel"],
        flags=FrameFlags(flags),
        payload_length=h["payload_length"],
        version=version,
    )


def decode_image_frame(data: bytes | bytearray | memoryview,
                       header: ImageFrameHeader | None = None) -> ImageFrame:
    """Decode one complete frame (header + payload + trailer + CRC) without copying pixels.

    ``header``: what ``decode_image_header`` already returned for these same bytes (a stream
    parser that needed it to find the frame's end), so it is not parsed twice. The returned
    header's ``flags`` is the union of the header flags and the trailer status, and
    ``delivered_pixels`` comes from the trailer.
    """
    if header is None:
        header = decode_image_header(data)
    if len(data) != header.frame_bytes:
        raise BadLengthError(f"frame is {len(data)} bytes, header says {header.frame_bytes}")
    view = memoryview(data)
    end = len(data) - IMAGE_CRC_BYTES
    got = _CRC_PARSER.parse(view, end)["crc"]
    expected = crc32(view[:end])
    if got != expected:
        raise BadCrcError(f"frame {header.sequence}: CRC 0x{got:08x} != 0x{expected:08x}")
    status, delivered = _decode_trailer(view[end - IMAGE_TRAILER_BYTES:end], header)
    header = replace(header, flags=header.flags | status, delivered_pixels=delivered)
    pixels = np.frombuffer(view, dtype="<u2", count=header.width * header.height,
                           offset=IMAGE_HEADER_BYTES).reshape(header.height, header.width)
    if pixels.flags.writeable:
        pixels = pixels.view()
        pixels.flags.writeable = False
    return ImageFrame(header, pixels)


def _decode_trailer(trailer: memoryview, header: ImageFrameHeader) -> tuple[FrameFlags, int]:
    """Check the 8-byte trailer of ``header``'s frame; returns (status flags, delivered)."""
    parsed = _TRAILER_PARSER.parse(trailer)
    status, reserved, delivered = parsed["status"], parsed["reserved"], parsed["delivered_pixels"]
    if status & ~STATUS_FLAGS:
        raise MalformedPayloadError(f"frame {header.sequence}: trailer status bits "
                                    f"0x{status & ~STATUS_FLAGS:04x} undefined")
    if reserved:
        raise MalformedPayloadError(f"frame {header.sequence}: trailer reserved field is "
                                    f"0x{reserved:04x}, must be 0")
    pixels = header.width * header.height
    if delivered > pixels:
        raise MalformedPayloadError(f"frame {header.sequence}: delivered_pixels {delivered} > "
                                    f"{header.width}x{header.height}")
    if not status and delivered != pixels:
        raise MalformedPayloadError(f"frame {header.sequence}: delivered_pixels {delivered} != "
                                    f"{pixels} with no OVERFLOW/TRUNCATED status")
    return FrameFlags(status), delivered


def encode_image_frame(
    pixels: np.ndarray,
    *,
    sequence: int,
    trigger_id: int,
    timestamp_us: int,
    channel: int,
    bits_per_pixel: int = 12,
    flags: int = 0,
    delivered_pixels: int | None = None,
    payload_crc: int | None = None,
) -> bytes:
    """Bytes of one image frame for ``pixels`` ((height, width) integers).

    ``flags``: any FrameFlags; OVERFLOW/TRUNCATED go into the trailer status, the others into
    the header. ``delivered_pixels``: pixels that came from the sensor (default all of them).
    ``payload_crc``: CRC-32 of the u16 payload when the caller already knows it (a repeated
    test pattern): the frame CRC is then combined from it without another pass over it.
    """
    height, width = pixels.shape
    payload = np.ascontiguousarray(pixels, dtype="<u2").data.cast("B")  # no copy
    if delivered_pixels is None:
        delivered_pixels = width * height
    try:
        header = ImageHeader.build(
            {
                "version": IMAGE_LINK_VERSION,
                "header_length": IMAGE_HEADER_BYTES,
                "flags": int(flags) & ~STATUS_FLAGS,
                "sequence": sequence,
                "trigger_id": trigger_id,
                "timestamp_us": timestamp_us,
                "width": width,
                "height": height,
                "bits_per_pixel": bits_per_pixel,
                "channel": channel,
                "reserved": 0,
                "payload_length": payload.nbytes,
            }
        )
        trailer = ImageTrailer.build({"status": int(flags) & STATUS_FLAGS, "reserved": 0,
                                      "delivered_pixels": delivered_pixels})
    except ConstructError as exc:
        raise MalformedPayloadError(f"cannot encode image frame: {exc}") from exc
    decoded = decode_image_header(header)  # the same checks as the receiver applies
    _decode_trailer(memoryview(trailer), decoded)
    if payload_crc is None:
        crc = crc32(payload, crc32(header))
    else:
        crc = crc32_combine(crc32(header), payload_crc, _crc32_shift(payload.nbytes))
    crc = crc32(trailer, crc)
    return b"".join((header, payload, trailer, ImageCrc.build(crc)))  # the one copy


def _register_packet(packet: Struct, fields: dict[str, int]) -> bytes:
    try:
        body = packet.build({**fields, "crc": 0})[:_REGISTER_CRC_OFFSET]
    except ConstructError as exc:
        raise MalformedPayloadError(f"register packet field out of range: {exc}") from exc
    return body + Int32ul.build(crc32(body))


def encode_register_command(op: RegisterOp, tag: int, address: int, value: int = 0) -> bytes:
    """A 16-byte register write/read command."""
    return _register_packet(RegisterCommand, {"op": RegisterOp(op), "tag": tag,
                                              "address": address, "value": value})


def encode_register_reply(
    tag: int, address: int, value: int, status: RegisterStatus = RegisterStatus.OK
) -> bytes:
    """A 16-byte register reply."""
    return _register_packet(RegisterReply, {"tag": tag, "status": RegisterStatus(status),
                                            "address": address, "value": value})


def parse_register_packet(data: bytes | bytearray | memoryview, magic: bytes) -> dict[str, int]:
    """Fields of a 16-byte register command (``magic`` REGISTER_COMMAND_MAGIC) or reply, CRC
    not yet checked (``crc_ok`` says); BadLengthError/BadSyncError for bytes that are not one."""
    data = bytes(data)
    if len(data) != REGISTER_PACKET_BYTES:
        raise BadLengthError(f"register packet is {len(data)} bytes, expected "
                             f"{REGISTER_PACKET_BYTES}")
    if data[:len(magic)] != magic:
        raise BadSyncError(f"bad register packet magic {data[:4].hex()}, expected {magic.hex()}")
    fields = dict(_REGISTER_PARSERS[magic].parse(data))
    fields["crc_ok"] = fields["crc"] == crc32(data[:_REGISTER_CRC_OFFSET])
    return fields


def _checked_register_packet(data: bytes | bytearray | memoryview,
                             magic: bytes) -> dict[str, int]:
    fields = parse_register_packet(data, magic)
    if not fields["crc_ok"]:
        raise BadCrcError(f"register packet CRC 0x{fields['crc']:08x} does not match")
    return fields


def decode_register_command(data: bytes | bytearray | memoryview) -> RegisterAccess:
    f = _checked_register_packet(data, REGISTER_COMMAND_MAGIC)
    try:
        op = RegisterOp(f["op"])
    except ValueError as exc:
        raise UnknownMessageError(f"unknown register op {f['op']}") from exc
    return RegisterAccess(op, f["tag"], f["address"], f["value"])


def decode_register_reply(data: bytes | bytearray | memoryview) -> RegisterAccess:
    f = _checked_register_packet(data, REGISTER_REPLY_MAGIC)
    try:
        status = RegisterStatus(f["status"])
    except ValueError as exc:
        raise MalformedPayloadError(f"unknown register status {f['status']}") from exc
    return RegisterAccess(None, f["tag"], f["address"], f["value"], status)

"""Typed errors raised by every protocol decoder.

Decoders never raise anything else on bad bytes: callers catch ``ProtocolError``.
"""


class ProtocolError(Exception):
    """Bytes that do not form a valid frame or message.

    ``frame`` holds the delimited bytes of the damaged frame when a stream splitter could
    tell where it ended (so a device can NAK it, or a host can read its version byte).
    """

    frame: bytes | None = None


class BadSyncError(ProtocolError):
    """The frame does not start with the expected sync marker or magic."""


class BadVersionError(ProtocolError):
    """The frame carries a protocol version this host does not speak."""


class BadLengthError(ProtocolError):
    """A length field disagrees with the bytes present, or exceeds the maximum."""


class BadCrcError(ProtocolError):
    """The checksum over the frame does not match."""


class UnknownMessageError(ProtocolError):
    """The message type is not in the protocol's table."""


class MalformedPayloadError(ProtocolError):
    """The payload does not decode as the declared message, or a field is out of its range."""

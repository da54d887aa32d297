"""Wire protocols: the single source of truth for the control link and the image link."""

from .errors import (
    BadCrcError,
    BadLengthError,
    BadSyncError,
    BadVersionError,
    MalformedPayloadError,
    ProtocolError,
    UnknownMessageError,
)

__all__ = [
    "BadCrcError",
    "BadLengthError",
    "BadSyncError",
    "BadVersionError",
    "MalformedPayloadError",
    "ProtocolError",
    "UnknownMessageError",
]

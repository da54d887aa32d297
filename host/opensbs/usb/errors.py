"""Typed, actionable errors of the USB transports.

Every error says what went wrong and what to do about it; callers catch ``TransportError``.
"""

from ..protocol.control import ErrorCode, MsgType

UDEV_HINT = (
    "install the udev rules shipped with opensbs (`opensbs devices --udev-rules` prints the "
    "file and the commands; see docs/usb.md, section 'USB permissions'), then unplug and "
    "replug the device"
)


class TransportError(Exception):
    """A USB or serial link to an OpenSBS device failed."""


class NoUsbBackendError(TransportError):
    """pyusb found no libusb on this machine."""


class DeviceNotFoundError(TransportError):
    """No attached device matches the requested kind/serial."""


class DevicePermissionError(TransportError):
    """The device is attached but this user may not open it (no udev rule)."""


class DeviceVanishedError(TransportError):
    """The device disappeared (unplugged, reset, power lost) during a transfer."""


class ProtocolVersionMismatchError(TransportError):
    """The device speaks another control-link or image-link protocol version."""

    def __init__(self, device_version: int, host_version: int, detail: str = "") -> None:
        what = detail or (f"device speaks protocol version {device_version}, this host speaks "
                          f"{host_version}")
        super().__init__(f"{what}: flash the firmware of this opensbs (`opensbs board flash`) "
                         "or update opensbs so they match")
        self.device_version = device_version
        self.host_version = host_version


class CommandNakError(TransportError):
    """The device refused a request with a NAK; ``error`` says why."""

    def __init__(self, request: MsgType, error: ErrorCode | int) -> None:
        try:
            error = ErrorCode(error)
            name = error.name
        except ValueError:
            name = f"undefined error code {error}"
        super().__init__(f"device refused {request.name}: {name}")
        self.request = request
        self.error = error


class CommandTimeoutError(TransportError):
    """No reply after every retransmission: the request may or may not have run."""


class DeviceResetError(TransportError):
    """The device rebooted while a request was outstanding: it may or may not have run."""


class LinkTimeoutError(TransportError):
    """A single transfer did not complete in time (the device did not accept data)."""


class RegisterAccessError(TransportError):
    """The camera bridge refused a register access, or never answered it."""

"""USB transports over pyusb: discovery, the control-link client, the image-link receiver.

See ``control_client`` (requests, subscriptions), ``image_receiver`` (frames from the camera
bridge) and ``discovery`` (finding devices). The in-process virtual pyusb backend is
``opensbs.sim.usb``.
"""

from .control_client import ControlClient, ControlLinkStats
from .discovery import (
    DeviceInfo,
    DeviceKind,
    find_device,
    list_devices,
    open_camera,
    open_controller,
)
from .errors import (
    CommandNakError,
    CommandTimeoutError,
    DeviceNotFoundError,
    DevicePermissionError,
    DeviceResetError,
    DeviceVanishedError,
    LinkTimeoutError,
    NoUsbBackendError,
    ProtocolVersionMismatchError,
    RegisterAccessError,
    TransportError,
)
from .image_receiver import (
    ImageReceiver,
    ImageStreamParser,
    LinkEvent,
    LinkEventKind,
    ReceiverStats,
)
from .transport import SerialTransport, Transport, UsbBulkTransport

__all__ = [
    "CommandNakError",
    "CommandTimeoutError",
    "ControlClient",
    "ControlLinkStats",
    "DeviceInfo",
    "DeviceKind",
    "DeviceNotFoundError",
    "DevicePermissionError",
    "DeviceResetError",
    "DeviceVanishedError",
    "LinkTimeoutError",
    "NoUsbBackendError",
    "ProtocolVersionMismatchError",
    "RegisterAccessError",
    "SerialTransport",
    "Transport",
    "TransportError",
    "UsbBulkTransport",
    "ImageReceiver",
    "ImageStreamParser",
    "LinkEvent",
    "LinkEventKind",
    "ReceiverStats",
    "find_device",
    "list_devices",
    "open_camera",
    "open_controller",
]

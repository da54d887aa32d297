"""Finding OpenSBS devices by VID/PID/serial, on real USB or on a virtual bus.

    list_devices(backend=None) -> list[DeviceInfo]       # what `opensbs devices` prints
    find_device(DeviceKind.CONTROLLER, serial=None, backend=None) -> usb.core.Device
    open_controller(serial=None, backend=None, **client_options) -> ControlClient (connected)
    open_camera(serial=None, backend=None, **receiver_options) -> ImageReceiver (not started)

``backend=None`` uses libusb; pass ``VirtualUsbBus().backend`` for simulated devices. Errors:
NoUsbBackendError, DeviceNotFoundError, DevicePermissionError (points to the udev rules),
plus what the client raises on connect (ProtocolVersionMismatchError, ...).
"""

import errno
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

import usb.core
import usb.util

from .errors import (
    UDEV_HINT,
    DeviceNotFoundError,
    DevicePermissionError,
    NoUsbBackendError,
    TransportError,
)
from .ids import CAMERA_BRIDGE_PID, CONTROLLER_PID, OPENSBS_VID
from .transport import usb_error

if TYPE_CHECKING:
    from .control_client import ControlClient
    from .image_receiver import ImageReceiver


class DeviceKind(Enum):
    CONTROLLER = "controller"
    CAMERA_BRIDGE = "camera-bridge"

    @property
    def product_id(self) -> int:
        return CONTROLLER_PID if self is DeviceKind.CONTROLLER else CAMERA_BRIDGE_PID


KIND_BY_PID = {kind.product_id: kind for kind in DeviceKind}


@dataclass(frozen=True)
class DeviceInfo:
    """One attached OpenSBS device as `opensbs devices` lists it."""

    kind: DeviceKind
    vendor_id: int
    product_id: int
    serial_number: str | None  # None when this user may not open the device
    bus: int | None
    address: int | None
    product: str | None
    accessible: bool

    @property
    def vid_pid(self) -> str:
        return f"{self.vendor_id:04x}:{self.product_id:04x}"


def _find_all(backend: Any, **match: int) -> list[usb.core.Device]:
    try:
        return list(usb.core.find(find_all=True, backend=backend, idVendor=OPENSBS_VID, **match))
    except usb.core.NoBackendError as exc:
        raise NoUsbBackendError(
            "pyusb found no libusb: install it (Debian/Ubuntu: `sudo apt install libusb-1.0-0`)"
        ) from exc
    except usb.core.USBError as exc:
        raise NoUsbBackendError(
            f"cannot enumerate USB devices ({exc}): is /dev/bus/usb present? In a container, "
            "pass the USB bus through (e.g. docker --device /dev/bus/usb)"
        ) from exc


def _serial(dev: usb.core.Device) -> str | None:
    """The serial number string; None when the device may not be opened (EACCES)."""
    try:
        return str(dev.serial_number)
    except usb.core.USBError as exc:
        if exc.errno == errno.EACCES:
            return None
        raise usb_error(exc, "reading the serial number") from exc
    except ValueError:  # no langids: pyusb's way of saying it could not read strings
        return None


def list_devices(backend: Any = None) -> list[DeviceInfo]:
    """Every attached OpenSBS controller and camera bridge."""
    found = []
    for dev in _find_all(backend):
        kind = KIND_BY_PID.get(dev.idProduct)
        if kind is None:
            continue
        serial = _serial(dev)
        product = None
        if serial is not None:
            try:
                product = dev.product
            except (usb.core.USBError, ValueError):
                product = None
        found.append(DeviceInfo(kind, dev.idVendor, dev.idProduct, serial, dev.bus,
                                dev.address, product, serial is not None))
        usb.util.dispose_resources(dev)
    return found


def find_device(kind: DeviceKind, serial: str | None = None,
                backend: Any = None) -> usb.core.Device:
    """The configured pyusb device of ``kind`` (with ``serial`` if given)."""
    candidates = _find_all(backend, idProduct=kind.product_id)
    denied = 0
    for dev in candidates:
        found_serial = _serial(dev)
        if found_serial is None:
            denied += 1
            continue
        if serial is None or found_serial == serial:
            try:
                dev.set_configuration()
            except usb.core.USBError as exc:
                if exc.errno == errno.EACCES:
                    raise DevicePermissionError(f"no permission to open the {kind.value} "
                                                f"{found_serial}: {UDEV_HINT}") from exc
                raise usb_error(exc, "configuring the device") from exc
            return dev
    if denied:
        raise DevicePermissionError(
            f"{denied} OpenSBS {kind.value}(s) attached ({OPENSBS_VID:04x}:"
            f"{kind.product_id:04x}) but this user may not open them: {UDEV_HINT}"
        )
    wanted = f" with serial {serial!r}" if serial else ""
    others = [d.serial_number for d in candidates]
    raise DeviceNotFoundError(
        f"no OpenSBS {kind.value}{wanted} attached (looked for USB "
        f"{OPENSBS_VID:04x}:{kind.product_id:04x}"
        + (f"; found serials {others}" if others else "")
        + "): check the cable and power, and run `opensbs devices`"
    )


def open_controller(serial: str | None = None, backend: Any = None,
                    **client_options: Any) -> "ControlClient":
    """Find the controller, wrap it in a ControlClient and ``connect()`` (IDENTIFY)."""
    from .control_client import ControlClient
    from .transport import UsbBulkTransport

    client = ControlClient(UsbBulkTransport(find_device(DeviceKind.CONTROLLER, serial, backend)),
                           **client_options)
    try:
        client.connect()
    except TransportError:
        client.close()
        raise
    return client


def open_camera(serial: str | None = None, backend: Any = None,
                **receiver_options: Any) -> "ImageReceiver":
    """Find the camera bridge and wrap it in an ImageReceiver (call ``start()``)."""
    from .image_receiver import ImageReceiver

    return ImageReceiver(find_device(DeviceKind.CAMERA_BRIDGE, serial, backend),
                         **receiver_options)

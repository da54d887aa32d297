"""Byte transports for the control link: a pyusb bulk interface or a CDC serial port.

Both offer the same three calls, so the control-link client does not care which it has::

    write(data)                    # all bytes or an error
    read(max_bytes, timeout_s)     # some bytes, or b"" when nothing came in time
    close()

Failures become typed errors: DeviceVanishedError when the device disappears,
LinkTimeoutError when a write is not accepted in time.
"""

import array
import errno
from typing import Protocol

import serial
import usb.core
import usb.util

from .errors import DeviceVanishedError, LinkTimeoutError, TransportError
from .ids import BULK_IN_ENDPOINT, BULK_OUT_ENDPOINT

VENDOR_INTERFACE_CLASS = 0xFF

VANISHED_ERRNOS = frozenset({errno.ENODEV, errno.ESHUTDOWN, errno.EIO})


class Transport(Protocol):
    """What the control-link client needs from a link."""

    def write(self, data: bytes) -> None: ...

    def read(self, max_bytes: int, timeout_s: float) -> bytes: ...

    def close(self) -> None: ...


def usb_error(exc: usb.core.USBError, what: str) -> TransportError:
    """The typed error for a pyusb error raised while doing ``what``."""
    if exc.errno in VANISHED_ERRNOS:
        return DeviceVanishedError(
            f"device vanished during {what} ({exc}): check the cable and power, then reconnect"
        )
    return TransportError(f"USB error during {what}: {exc}")


def vendor_bulk_endpoints(device: usb.core.Device) -> tuple[int, int]:
    """(OUT, IN) bulk endpoint addresses of the device's vendor-class interface.

    A board that keeps its CDC serial port (mpremote needs it) numbers the vendor endpoints
    after CDC's, so they are read from the descriptors; (0x01, 0x81) when none is declared.
    """
    try:
        config = device.get_active_configuration()
    except usb.core.USBError as exc:
        raise usb_error(exc, "reading the configuration descriptor") from exc
    for interface in config:
        if interface.bInterfaceClass != VENDOR_INTERFACE_CLASS:
            continue
        bulk = [e for e in interface
                if usb.util.endpoint_type(e.bmAttributes) == usb.util.ENDPOINT_TYPE_BULK]
        outs = [e.bEndpointAddress for e in bulk
                if usb.util.endpoint_direction(e.bEndpointAddress) == usb.util.ENDPOINT_OUT]
        ins = [e.bEndpointAddress for e in bulk
               if usb.util.endpoint_direction(e.bEndpointAddress) == usb.util.ENDPOINT_IN]
        if outs and ins:
            return outs[0], ins[0]
    return BULK_OUT_ENDPOINT, BULK_IN_ENDPOINT


class UsbBulkTransport:
    """The vendor bulk interface of a pyusb device (hardware or the virtual backend)."""

    def __init__(self, device: usb.core.Device, *, out_endpoint: int | None = None,
                 in_endpoint: int | None = None, write_timeout_s: float = 1.0,
                 read_buffer_bytes: int = 4096) -> None:
        self.device = device
        found_out, found_in = vendor_bulk_endpoints(device)
        self.out_endpoint = found_out if out_endpoint is None else out_endpoint
        self.in_endpoint = found_in if in_endpoint is None else in_endpoint
        self.write_timeout_ms = max(1, round(write_timeout_s * 1000))
        self._buffer = array.array("B", [0]) * read_buffer_bytes
        self._view = memoryview(self._buffer)

    def write(self, data: bytes) -> None:
        try:
            self.device.write(self.out_endpoint, data, self.write_timeout_ms)
        except usb.core.USBTimeoutError as exc:
            raise LinkTimeoutError(f"device did not accept {len(data)} bytes in time") from exc
        except usb.core.USBError as exc:
            raise usb_error(exc, "write") from exc

    def read(self, max_bytes: int, timeout_s: float) -> bytes:
        if max_bytes > len(self._buffer):
            self._buffer = array.array("B", [0]) * max_bytes
            self._view = memoryview(self._buffer)
        try:
            n = self.device.read(self.in_endpoint, self._buffer, max(1, round(timeout_s * 1000)))
        except usb.core.USBTimeoutError:
            return b""
        except usb.core.USBError as exc:
            raise usb_error(exc, "read") from exc
        return bytes(self._view[: min(n, max_bytes)])

    def close(self) -> None:
        usb.util.dispose_resources(self.device)


class SerialTransport:
    """A CDC serial port (pyserial ``Serial`` or ``serial_for_url("loop://")``)."""

    def __init__(self, port: serial.SerialBase) -> None:
        self.port = port

    def write(self, data: bytes) -> None:
        try:
            self.port.write(data)
        except serial.SerialTimeoutException as exc:
            raise LinkTimeoutError(f"serial port did not accept {len(data)} bytes") from exc
        except (serial.SerialException, OSError) as exc:
            raise DeviceVanishedError(
                f"serial port {self.port.name} vanished during write ({exc}): reconnect it"
            ) from exc

    def read(self, max_bytes: int, timeout_s: float) -> bytes:
        try:
            if self.port.timeout != timeout_s:
                self.port.timeout = timeout_s
            data = self.port.read(1)
            if data:
                waiting = min(self.port.in_waiting, max_bytes - 1)
                if waiting:
                    data += self.port.read(waiting)
        except (serial.SerialException, OSError) as exc:
            raise DeviceVanishedError(
                f"serial port {self.port.name} vanished during read ({exc}): reconnect it"
            ) from exc
        return bytes(data)

    def close(self) -> None:
        self.port.close()

"""A pyusb backend that serves VirtualDevices in-process, and the bus they attach to.

    bus = VirtualUsbBus()
    bus.attach(SimBoardDevice(SimBoard("pico"), "SB1"), faults=FaultInjector(...))
    dev = usb.core.find(backend=bus.backend, idVendor=OPENSBS_VID, idProduct=CONTROLLER_PID)
    dev.write(0x01, frame); dev.read(0x81, array_or_size, timeout_ms)

It behaves as libusb does where host code can tell: ``USBTimeoutError`` when nothing arrives
in time, ``USBError`` with errno ENODEV on every transfer of a device that was detached (a
re-attached device is a new USB device with a new address; old handles stay dead), EACCES on
open for a device attached with ``permission_denied=True``, and string descriptors (serial,
product, manufacturer) served through control transfers. Each device may carry a
FaultInjector that damages its transfers (see ``faults``).
"""

import errno
import threading
import time
from array import array
from types import SimpleNamespace

import usb.backend
import usb.core

from .device import VirtualDevice
from .faults import FaultInjector, FaultKind

LANGID_EN_US = 0x0409
NO_TIMEOUT_S = 24 * 3600.0
STRING_INDEX = {1: "manufacturer", 2: "product", 3: "serial_number"}


def _no_device() -> usb.core.USBError:
    return usb.core.USBError("No such device (it may have been disconnected)", -4,
                             errno.ENODEV)


class Attachment:
    """One plug-in of a VirtualDevice: its bus address, fault injector and liveness."""

    def __init__(self, device: VirtualDevice, bus: int, address: int,
                 faults: FaultInjector | None, permission_denied: bool) -> None:
        self.device = device
        self.bus = bus
        self.address = address
        self.faults = faults
        self.permission_denied = permission_denied
        self.attached = True
        self.replay: dict[int, bytes] = {}  # IN data duplicated by fault injection


class VirtualUsbBus:
    """Virtual devices plugged into one virtual bus; ``backend`` is what pyusb is handed."""

    def __init__(self, bus_number: int = 1) -> None:
        self.bus_number = bus_number
        self._next_address = 1
        self._lock = threading.Lock()
        self._attached: list[Attachment] = []
        self.backend = VirtualBackend(self)

    def attach(self, device: VirtualDevice, *, faults: FaultInjector | None = None,
               permission_denied: bool = False) -> Attachment:
        """Plug ``device`` in (a new address each time)."""
        with self._lock:
            attachment = Attachment(device, self.bus_number, self._next_address, faults,
                                    permission_denied)
            self._next_address = self._next_address % 127 + 1
            self._attached.append(attachment)
        return attachment

    def detach(self, device: VirtualDevice) -> None:
        """Unplug ``device``: its open handles fail with ENODEV from now on."""
        with self._lock:
            for attachment in [a for a in self._attached if a.device is device]:
                attachment.attached = False
                self._attached.remove(attachment)

    def reconnect(self, device: VirtualDevice, *, reset: bool = True) -> Attachment:
        """Unplug and plug ``device`` back in, rebooted (``on_reset``) unless ``reset=False``."""
        old = self.attachment(device)
        self.detach(device)
        if reset:
            device.on_reset()
        return self.attach(device, faults=old.faults if old else None,
                           permission_denied=old.permission_denied if old else False)

    def attachment(self, device: VirtualDevice) -> Attachment | None:
        with self._lock:
            return next((a for a in self._attached if a.device is device), None)

    def attachments(self) -> list[Attachment]:
        with self._lock:
            return list(self._attached)

    def disconnect_fault(self, attachment: Attachment) -> None:
        """A DISCONNECT fault: detach now, reconnect (rebooted) after the injector's delay."""
        if not attachment.attached:
            return
        self.detach(attachment.device)
        delay = attachment.faults.reconnect_after_s if attachment.faults else None
        if delay is not None:
            timer = threading.Timer(delay, self._replug, (attachment,))
            timer.daemon = True
            timer.start()

    def _replug(self, old: Attachment) -> None:
        old.device.on_reset()
        self.attach(old.device, faults=old.faults, permission_denied=old.permission_denied)


class _Handle:
    def __init__(self, attachment: Attachment) -> None:
        self.attachment = attachment
        self.configuration = 0


class VirtualBackend(usb.backend.IBackend):  # type: ignore[misc]
    """``usb.backend.IBackend`` over a VirtualUsbBus."""

    def __init__(self, bus: VirtualUsbBus) -> None:
        super().__init__()
        self.bus = bus

    # -- descriptors -------------------------------------------------------------------------

    def enumerate_devices(self) -> list[Attachment]:
        return self.bus.attachments()

    def get_parent(self, dev: Attachment) -> None:
        return None

    def get_device_descriptor(self, dev: Attachment) -> SimpleNamespace:
        d = dev.device
        speed = getattr(d, "usb_speed", 3)
        return SimpleNamespace(
            bLength=18, bDescriptorType=1, bcdUSB=0x0300 if speed >= 4 else 0x0200,
            bDeviceClass=0, bDeviceSubClass=0, bDeviceProtocol=0, bMaxPacketSize0=64,
            idVendor=d.vendor_id, idProduct=d.product_id, bcdDevice=0x0100,
            iManufacturer=1, iProduct=2, iSerialNumber=3, bNumConfigurations=1,
            address=dev.address, bus=dev.bus, port_number=dev.address,
            port_numbers=(dev.address,), speed=speed,
        )

    def get_configuration_descriptor(self, dev: Attachment, config: int) -> SimpleNamespace:
        if config != 0:
            raise IndexError(f"configuration {config}")
        return SimpleNamespace(bLength=9, bDescriptorType=2, wTotalLength=32, bNumInterfaces=1,
                               bConfigurationValue=1, iConfiguration=0, bmAttributes=0x80,
                               bMaxPower=50, extra_descriptors=[])

    def get_interface_descriptor(self, dev: Attachment, intf: int, alt: int,
                                 config: int) -> SimpleNamespace:
        if (intf, alt, config) != (0, 0, 0):
            raise IndexError(f"interface {intf} alt {alt}")
        return SimpleNamespace(bLength=9, bDescriptorType=4, bInterfaceNumber=0,
                               bAlternateSetting=0, bNumEndpoints=2, bInterfaceClass=0xFF,
                               bInterfaceSubClass=0, bInterfaceProtocol=0, iInterface=0,
                               extra_descriptors=[])

    def get_endpoint_descriptor(self, dev: Attachment, ep: int, intf: int, alt: int,
                                config: int) -> SimpleNamespace:
        d = dev.device
        addresses = (d.out_endpoint, d.in_endpoint)
        if (intf, alt, config) != (0, 0, 0) or not 0 <= ep < len(addresses):
            raise IndexError(f"endpoint {ep}")
        return SimpleNamespace(bLength=7, bDescriptorType=5, bEndpointAddress=addresses[ep],
                               bmAttributes=0x02, wMaxPacketSize=d.max_packet_bytes,
                               bInterval=0, bRefresh=0, bSynchAddress=0, extra_descriptors=[])

    # -- handles -----------------------------------------------------------------------------

    def _live(self, handle: _Handle) -> Attachment:
        if not handle.attachment.attached:
            raise _no_device()
        return handle.attachment

    def open_device(self, dev: Attachment) -> _Handle:
        if not dev.attached:
            raise _no_device()
        if dev.permission_denied:
            raise usb.core.USBError("Access denied (insufficient permissions)", -3,
                                    errno.EACCES)
        return _Handle(dev)

    def close_device(self, dev_handle: _Handle) -> None:
        pass

    def set_configuration(self, dev_handle: _Handle, config_value: int) -> None:
        self._live(dev_handle)
        dev_handle.configuration = config_value

    def get_configuration(self, dev_handle: _Handle) -> int:
        self._live(dev_handle)
        return dev_handle.configuration or 1

    def set_interface_altsetting(self, dev_handle: _Handle, intf: int, altsetting: int) -> None:
        self._live(dev_handle)

    def claim_interface(self, dev_handle: _Handle, intf: int) -> None:
        self._live(dev_handle)

    def release_interface(self, dev_handle: _Handle, intf: int) -> None:
        pass

    def clear_halt(self, dev_handle: _Handle, ep: int) -> None:
        self._live(dev_handle)

    def reset_device(self, dev_handle: _Handle) -> None:
        self._live(dev_handle).device.on_reset()

    def is_kernel_driver_active(self, dev_handle: _Handle, intf: int) -> bool:
        return False

    def detach_kernel_driver(self, dev_handle: _Handle, intf: int) -> None:
        pass

    def attach_kernel_driver(self, dev_handle: _Handle, intf: int) -> None:
        pass

    def ctrl_transfer(self, dev_handle: _Handle, bmRequestType: int, bRequest: int,
                      wValue: int, wIndex: int, data: array, timeout: int) -> int:
        """Standard GET_DESCRIPTOR(STRING) only; anything else stalls (EPIPE)."""
        attachment = self._live(dev_handle)
        if bmRequestType == 0x80 and bRequest == 0x06 and wValue >> 8 == 3:
            index = wValue & 0xFF
            if index == 0:
                body = LANGID_EN_US.to_bytes(2, "little")
            elif index in STRING_INDEX:
                body = str(getattr(attachment.device, STRING_INDEX[index])).encode("utf-16-le")
            else:
                raise usb.core.USBError("Pipe error", -9, errno.EPIPE)
            desc = bytes((2 + len(body), 3)) + body
            n = min(len(desc), len(data))
            memoryview(data).cast("B")[:n] = desc[:n]
            return n
        raise usb.core.USBError("Pipe error", -9, errno.EPIPE)

    # -- bulk transfers ----------------------------------------------------------------------

    def bulk_write(self, dev_handle: _Handle, ep: int, intf: int, data: array,
                   timeout: int) -> int:
        attachment = self._live(dev_handle)
        payload: bytes | bytearray = data.tobytes()
        n = len(payload)
        fault = attachment.faults.draw("out") if attachment.faults else None
        if fault is None:
            attachment.device.handle_out(ep, bytes(payload))
            return n
        assert attachment.faults is not None
        if fault is FaultKind.DISCONNECT:
            self.bus.disconnect_fault(attachment)
            raise _no_device()
        if fault is FaultKind.DROP:
            return n
        if fault is FaultKind.CORRUPT:
            payload = bytearray(payload)
            attachment.faults.corrupt(payload)
        elif fault is FaultKind.TRUNCATE:
            payload = payload[: attachment.faults.truncated_length(n)]
        elif fault is FaultKind.DELAY:
            time.sleep(attachment.faults.delay_s)
        attachment.device.handle_out(ep, bytes(payload))
        if fault is FaultKind.DUPLICATE:
            attachment.device.handle_out(ep, bytes(payload))
        return n

    def bulk_read(self, dev_handle: _Handle, ep: int, intf: int, buff: array,
                  timeout: int) -> int:
        attachment = self._live(dev_handle)
        view = memoryview(buff).cast("B")
        replay = attachment.replay.pop(ep, None)
        if replay:
            n = min(len(replay), len(view))
            view[:n] = replay[:n]
            if n < len(replay):
                attachment.replay[ep] = replay[n:]
            return n
        deadline = time.monotonic() + (timeout / 1000 if timeout > 0 else NO_TIMEOUT_S)
        while True:
            n = attachment.device.read_into(ep, view, max(0.0, deadline - time.monotonic()))
            self._live(dev_handle)
            if n == 0:
                raise usb.core.USBTimeoutError("Operation timed out", -7, errno.ETIMEDOUT)
            fault = attachment.faults.draw("in") if attachment.faults else None
            if fault is None:
                return n
            if self._damage_in(attachment, ep, view, n, fault) and time.monotonic() < deadline:
                continue
            return self._damaged_length(attachment, view, n, fault)

    def _damage_in(self, attachment: Attachment, ep: int, view: memoryview, n: int,
                   fault: FaultKind) -> bool:
        """Apply an IN fault; True when the data was dropped and the read goes on."""
        faults = attachment.faults
        assert faults is not None
        if fault is FaultKind.DISCONNECT:
            self.bus.disconnect_fault(attachment)
            raise _no_device()
        if fault is FaultKind.DROP:
            return True
        if fault is FaultKind.CORRUPT:
            faults.corrupt(view[:n])
        elif fault is FaultKind.DUPLICATE:
            attachment.replay[ep] = bytes(view[:n])
        elif fault is FaultKind.DELAY:
            time.sleep(faults.delay_s)
        return False

    def _damaged_length(self, attachment: Attachment, view: memoryview, n: int,
                        fault: FaultKind) -> int:
        if fault is FaultKind.DROP:
            raise usb.core.USBTimeoutError("Operation timed out", -7, errno.ETIMEDOUT)
        if fault is FaultKind.TRUNCATE:
            assert attachment.faults is not None
            return attachment.faults.truncated_length(n)
        return n


"""The virtual pyusb backend behaves as libusb does, and injects each fault as declared."""

import errno
import time
from array import array

import pytest
import usb.core
import usb.util
from opensbs.sim.usb import (
    FaultInjector,
    FaultKind,
    FaultRates,
    VirtualDevice,
    VirtualUsbBus,
)
from opensbs.usb.ids import CAMERA_BRIDGE_PID, CONTROLLER_PID, OPENSBS_VID


class Recorder(VirtualDevice):
    """Records what the host writes; returns what the test queues."""

    def __init__(self, serial: str = "REC-1", product_id: int = CONTROLLER_PID) -> None:
        super().__init__(OPENSBS_VID, product_id, serial, product="recorder")
        self.received: list[bytes] = []
        self.to_host: list[bytes] = []
        self.resets = 0

    def handle_out(self, endpoint: int, data: bytes) -> None:
        self.received.append(data)

    def next_in(self, endpoint: int, max_bytes: int, timeout_s: float) -> bytes:
        if not self.to_host:
            time.sleep(min(timeout_s, 0.01))
            return b""
        data = self.to_host.pop(0)
        if len(data) > max_bytes:
            self.to_host.insert(0, data[max_bytes:])
        return data[:max_bytes]

    def on_reset(self) -> None:
        self.resets += 1


def attach(faults: FaultInjector | None = None) -> tuple[VirtualUsbBus, Recorder, usb.core.Device]:
    bus = VirtualUsbBus()
    device = Recorder()
    bus.attach(device, faults=faults)
    dev = usb.core.find(backend=bus.backend, idVendor=OPENSBS_VID, idProduct=CONTROLLER_PID)
    assert dev is not None
    return bus, device, dev


def test_find_descriptors_and_strings() -> None:
    bus = VirtualUsbBus(bus_number=3)
    bus.attach(Recorder("A-1"))
    bus.attach(Recorder("B-2", CAMERA_BRIDGE_PID))
    found = list(usb.core.find(find_all=True, backend=bus.backend, idVendor=OPENSBS_VID))
    assert [(d.idProduct, d.serial_number, d.bus, d.address) for d in found] == [
        (CONTROLLER_PID, "A-1", 3, 1), (CAMERA_BRIDGE_PID, "B-2", 3, 2)]
    assert found[0].product == "recorder" and found[0].manufacturer == "OpenSBS"
    cfg = found[0].get_active_configuration()
    endpoints = [ep.bEndpointAddress for ep in cfg[(0, 0)]]
    assert endpoints == [0x01, 0x81]
    assert usb.core.find(backend=bus.backend, idVendor=OPENSBS_VID, idProduct=0x1234) is None


def test_write_read_into_array_and_timeout() -> None:
    _, device, dev = attach()
    assert dev.write(0x01, b"hello", 100) == 5
    assert device.received == [b"hello"]
    device.to_host.append(b"abcdef")
    buffer = array("B", bytes(4))
    assert dev.read(0x81, buffer, 100) == 4 and bytes(buffer) == b"abcd"
    assert bytes(dev.read(0x81, 16, 100)) == b"ef"
    with pytest.raises(usb.core.USBTimeoutError):
        dev.read(0x81, 16, 20)


def test_detached_device_fails_with_enodev_and_reattaches_as_new_device() -> None:
    bus, device, dev = attach()
    bus.detach(device)
    for call in (lambda: dev.write(0x01, b"x", 100), lambda: dev.read(0x81, 8, 100)):
        with pytest.raises(usb.core.USBError) as info:
            call()
        assert info.value.errno == errno.ENODEV
    assert usb.core.find(backend=bus.backend, idVendor=OPENSBS_VID) is None
    bus.reconnect(device)
    assert device.resets == 1
    new = usb.core.find(backend=bus.backend, idVendor=OPENSBS_VID)
    assert new is not None and new.address != dev.address
    with pytest.raises(usb.core.USBError):  # old handles stay dead, as with libusb
        dev.write(0x01, b"x", 100)
    new.write(0x01, b"y", 100)
    assert device.received == [b"y"]


def test_permission_denied_on_open() -> None:
    bus = VirtualUsbBus()
    bus.attach(Recorder(), permission_denied=True)
    dev = usb.core.find(backend=bus.backend, idVendor=OPENSBS_VID)
    with pytest.raises(usb.core.USBError) as info:
        dev.write(0x01, b"x", 100)
    assert info.value.errno == errno.EACCES


def only(kind: FaultKind, direction: str, **extra: float) -> FaultInjector:
    rates = FaultRates(**{kind.value: 1.0})
    if direction == "out":
        return FaultInjector(out=rates, seed=1, **extra)  # type: ignore[arg-type]
    return FaultInjector(in_=rates, seed=1, **extra)  # type: ignore[arg-type]


def test_out_faults() -> None:
    payload = bytes(range(32))
    for kind, check in [
        (FaultKind.DROP, lambda got: got == []),
        (FaultKind.DUPLICATE, lambda got: got == [payload, payload]),
        (FaultKind.CORRUPT, lambda got: len(got) == 1 and len(got[0]) == 32 and
         sum(a != b for a, b in zip(got[0], payload, strict=True)) == 1),
        (FaultKind.TRUNCATE, lambda got: len(got) == 1 and payload.startswith(got[0]) and
         len(got[0]) < 32),
        (FaultKind.DELAY, lambda got: got == [payload]),
    ]:
        faults = only(kind, "out", delay_s=0.03)
        _, device, dev = attach(faults)
        t0 = time.monotonic()
        assert dev.write(0x01, payload, 100) == 32  # the host cannot tell
        assert check(device.received), kind
        assert (time.monotonic() - t0 >= 0.03) == (kind is FaultKind.DELAY)
        assert faults.counts[("out", kind)] == 1


def test_in_faults() -> None:
    payload = bytes(range(32))
    faults = only(FaultKind.CORRUPT, "in")
    _, device, dev = attach(faults)
    device.to_host.append(payload)
    got = bytes(dev.read(0x81, 64, 100))
    assert len(got) == 32 and sum(a != b for a, b in zip(got, payload, strict=True)) == 1

    faults = only(FaultKind.DUPLICATE, "in")
    _, device, dev = attach(faults)
    device.to_host.append(payload)
    assert bytes(dev.read(0x81, 64, 100)) == payload
    faults.enabled = False
    assert bytes(dev.read(0x81, 64, 100)) == payload

    faults = only(FaultKind.TRUNCATE, "in")
    _, device, dev = attach(faults)
    device.to_host.append(payload)
    got = bytes(dev.read(0x81, 64, 100))
    assert payload.startswith(got) and len(got) < 32

    faults = only(FaultKind.DROP, "in")
    _, device, dev = attach(faults)
    device.to_host += [payload, b"next"]
    with pytest.raises(usb.core.USBTimeoutError):  # both dropped, then nothing more
        dev.read(0x81, 64, 50)
    assert faults.counts[("in", FaultKind.DROP)] == 2


def test_disconnect_fault_then_reconnect_rebooted() -> None:
    faults = only(FaultKind.DISCONNECT, "out", reconnect_after_s=0.02)
    bus, device, dev = attach(faults)
    with pytest.raises(usb.core.USBError) as info:
        dev.write(0x01, b"x", 100)
    assert info.value.errno == errno.ENODEV
    deadline = time.monotonic() + 2
    while bus.attachment(device) is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert bus.attachment(device) is not None and device.resets == 1


def test_faults_are_reproducible_from_the_seed() -> None:
    rates = FaultRates(drop=0.1, corrupt=0.1, duplicate=0.1, truncate=0.1)

    def run(seed: int) -> list[bytes]:
        _, device, dev = attach(FaultInjector(out=rates, seed=seed))
        for i in range(200):
            dev.write(0x01, bytes([i]) * 8, 100)
        return device.received

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_fault_rates_are_validated() -> None:
    with pytest.raises(ValueError):
        FaultRates(drop=0.6, corrupt=0.6)
    with pytest.raises(ValueError):
        FaultRates(delay=-0.1)

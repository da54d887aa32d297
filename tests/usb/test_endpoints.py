"""Bulk endpoints come from the vendor interface descriptor, not fixed numbers."""

import usb.core
from opensbs.sim.board.device import SimBoardDevice
from opensbs.sim.board.sim_board import SimBoard
from opensbs.sim.usb import VirtualUsbBus
from opensbs.usb.ids import CONTROLLER_PID, OPENSBS_VID
from opensbs.usb.transport import UsbBulkTransport, vendor_bulk_endpoints


class CdcFirstController(SimBoardDevice):
    """A board that keeps CDC on endpoints 1/2, so its vendor interface is on 0x03/0x83."""

    out_endpoint = 0x03
    in_endpoint = 0x83


def _find(device: SimBoardDevice) -> usb.core.Device:
    bus = VirtualUsbBus()
    bus.attach(device)
    found = usb.core.find(backend=bus.backend, idVendor=OPENSBS_VID, idProduct=CONTROLLER_PID)
    assert found is not None
    return found


def test_default_endpoints_are_read_from_descriptors() -> None:
    assert vendor_bulk_endpoints(_find(SimBoardDevice(SimBoard(), "A"))) == (0x01, 0x81)


def test_transport_uses_the_vendor_interface_endpoints() -> None:
    dev = _find(CdcFirstController(SimBoard(), "B"))
    assert vendor_bulk_endpoints(dev) == (0x03, 0x83)
    transport = UsbBulkTransport(dev)
    assert (transport.out_endpoint, transport.in_endpoint) == (0x03, 0x83)

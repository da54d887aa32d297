"""The device side of the USB tests: the real firmware core (SimBoard) and the real capture
model (CameraBridge), served by the virtual pyusb backend with faults injected there."""

from typing import Any

from opensbs.protocol.control import MsgType, decode_frame
from opensbs.sim.board.device import SimBoardDevice
from opensbs.sim.board.sim_board import SimBoard
from opensbs.sim.usb import FaultInjector, VirtualUsbBus
from opensbs.usb import ControlClient, open_controller


def sim_board(**options: Any) -> SimBoard:
    """The pico firmware on the simulated board, recording the requests it executes (serve
    it with exactly one device)."""
    return SimBoard("pico", record_requests=True, **options)


def sim_controller(serial: str = "CTRL-1", **board: Any) -> tuple[SimBoard, SimBoardDevice]:
    """``sim_board`` served as a USB device."""
    sim = sim_board(**board)
    return sim, SimBoardDevice(sim, serial)


def connect(device: SimBoardDevice | None = None, faults: FaultInjector | None = None,
            **options: Any) -> tuple[VirtualUsbBus, SimBoard, ControlClient]:
    """A connected client (IDENTIFY done) to ``device`` (default: a fresh simulated pico)."""
    bus = VirtualUsbBus()
    device = device or sim_controller()[1]
    bus.attach(device, faults=faults)
    options.setdefault("reply_timeout_s", 0.05)
    client = open_controller(backend=bus.backend, **options)
    return bus, device.board, client


def executed(board: SimBoard) -> list[MsgType]:
    """Types of the requests the firmware executed, in order."""
    assert board.executed is not None
    return [MsgType(t) for t, _ in board.executed]


def msg_type_of(data: bytes) -> MsgType | None:
    """The message type of one whole host frame (None if it does not decode)."""
    try:
        return decode_frame(data).msg_type
    except Exception:  # noqa: BLE001 - a damaged frame is simply not the one looked for
        return None



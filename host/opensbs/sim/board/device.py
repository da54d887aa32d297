"""SimBoardDevice: the simulated board served as a USB device by the virtual pyusb backend.

    board = SimBoard("pico", seed=0); board.start_realtime(speed=20.0)
    bus.attach(SimBoardDevice(board, serial_number="SIM-PICO-0"))

VID/PID come from the board file (the OpenSBS controller ids when the file is broken).
Host OUT transfers go straight to the firmware's link handler at the current virtual time;
IN transfers return the firmware's queued frames as a byte stream. A USB reset clears the
link buffers only (the MCU keeps running, as on hardware).
"""

import threading
import time

from ...usb.ids import CONTROLLER_PID, OPENSBS_VID
from ..usb.device import VirtualDevice
from .sim_board import SimBoard

MAX_QUEUED_IN_BYTES = 1 << 20  # the oldest frames are dropped beyond this (host not reading)


class SimBoardDevice(VirtualDevice):
    """The VirtualDevice contract over a SimBoard (thread-safe)."""

    usb_speed = 2  # full speed, like an RP2040

    def __init__(self, board: SimBoard, serial_number: str = "SIM-0") -> None:
        usb = board.cfg["usb"] if board.cfg else {"vid": OPENSBS_VID, "pid": CONTROLLER_PID}
        board_id = board.cfg["board_id"] if board.cfg else "unconfigured"
        super().__init__(usb["vid"], usb["pid"], serial_number,
                         product=f"OpenSBS controller ({board_id}, simulated)")
        self.board = board
        self._in = bytearray()
        self._ready = threading.Condition(board.lock)
        board.on_output(self._collect)
        with self._ready:
            self._collect()

    def _collect(self) -> None:
        """Move the firmware's outgoing frames into the IN stream (called under the lock)."""
        for frame in self.board.receive():
            self._in += frame
        if len(self._in) > MAX_QUEUED_IN_BYTES:
            del self._in[:len(self._in) - MAX_QUEUED_IN_BYTES]
        self._ready.notify_all()

    def handle_out(self, endpoint: int, data: bytes) -> None:
        self.board.send(bytes(data))

    def next_in(self, endpoint: int, max_bytes: int, timeout_s: float) -> bytes:
        deadline = time.monotonic() + timeout_s
        with self._ready:
            while not self._in:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return b""
                self._ready.wait(remaining)
            data = bytes(self._in[:max_bytes])
            del self._in[:max_bytes]
            return data

    def on_reset(self) -> None:
        with self._ready:
            self._in.clear()
            self.board.controller.reset_link()

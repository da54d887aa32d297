"""The camera bridge as a VirtualDevice: the FPGA capture model behind the USB 3 FIFO bridge.

Every register command goes to ``opensbs.sim.capture.CaptureModel`` (the bit-exact model of the
RTL's register file) and every frame is the model's capture of a sensor image, so the bridge
behaves as the RTL does. Upstream the packets go back to back, filling each host read like a
USB 3 FIFO bridge does, so frames span reads. Each OUT transfer is read as 16-byte register
commands from its start; bytes that are not one get no reply, as the RTL discards them.

Sensor images come from two sources while CONTROL.ENABLE is set:

* ``submit_frame(pixels, timestamp_us=...)``: one triggered exposure of what the camera saw;
* free-running when CONTROL.TEST_PATTERN is set too (``frame_limit`` frames, or endless): the
  sensor triggers itself every ``frame_period_us`` and the model replaces the pixels by its
  test pattern (``expected_pixels()``).

Test hooks: ``fifo_overflow[sequence] = n`` makes that free-run frame overrun the FIFO after
``n`` pixels, ``truncate[sequence] = rows`` makes its sensor frame end after ``rows`` rows,
``lose_frames(n)`` captures n frames that never reach the host, ``replay_frames(n)`` sends
the last n frames again (a bridge repeating data).
"""

import copy
import threading
import time
from collections import deque

import numpy as np

from ...protocol.errors import ProtocolError
from ...protocol.image import (
    REGISTER_PACKET_BYTES,
    ControlBits,
    Register,
    RegisterOp,
    decode_image_frame,
    encode_register_command,
)
from ...usb.ids import CAMERA_BRIDGE_PID, OPENSBS_VID
from ..capture import CaptureModel
from .device import VirtualDevice

RECENT_FRAMES = 4  # frames kept for replay_frames


class CameraBridge(VirtualDevice):
    """The FPGA USB 3 bridge as the host sees it; see the module docstring."""

    usb_speed = 4  # SuperSpeed
    max_packet_bytes = 1024

    def __init__(self, serial_number: str = "BRIDGE-0", *, sensor_width: int = 2048,
                 sensor_height: int = 1024, bits_per_pixel: int = 12,
                 frame_period_us: int = 10_000, frame_limit: int | None = None) -> None:
        super().__init__(OPENSBS_VID, CAMERA_BRIDGE_PID, serial_number,
                         product="OpenSBS camera bridge (virtual)")
        self.sensor_width = sensor_width
        self.sensor_height = sensor_height
        self.bits_per_pixel = bits_per_pixel
        self.frame_period_us = frame_period_us
        self.frame_limit = frame_limit
        self.fifo_overflow: dict[int, int] = {}
        self.truncate: dict[int, int] = {}
        self._sensor = np.zeros((sensor_height, sensor_width), dtype=np.uint16)
        self._lock = threading.Condition()
        self.on_reset()

    # -- VirtualDevice -----------------------------------------------------------------------

    def on_reset(self) -> None:
        with self._lock:
            self.model = CaptureModel(bits_per_pixel=self.bits_per_pixel,
                                      sensor_width=self.sensor_width,
                                      sensor_height=self.sensor_height)
            self.sequence = 0  # frames captured since reset (the model's next sequence)
            self._segments: deque[memoryview] = deque()
            self._recent: deque[bytes] = deque(maxlen=RECENT_FRAMES)
            self._lock.notify_all()

    def handle_out(self, endpoint: int, data: bytes) -> None:
        with self._lock:
            for start in range(0, len(data) - REGISTER_PACKET_BYTES + 1, REGISTER_PACKET_BYTES):
                try:
                    reply = self.model.handle_register_command(
                        data[start:start + REGISTER_PACKET_BYTES])
                except ProtocolError:
                    continue
                self._segments.append(memoryview(reply))
            self._lock.notify_all()

    def next_in(self, endpoint: int, max_bytes: int, timeout_s: float) -> bytes:
        buffer = bytearray(max_bytes)
        n = self.read_into(endpoint, memoryview(buffer), timeout_s)
        return bytes(buffer[:n])

    def read_into(self, endpoint: int, buffer: memoryview, timeout_s: float) -> int:
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while not self._segments and not self._free_run():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return 0
                self._lock.wait(remaining)
            n, size = 0, len(buffer)
            while n < size and (self._segments or self._free_run()):
                segment = self._segments[0]
                k = min(len(segment), size - n)
                buffer[n:n + k] = segment[:k]
                n += k
                if k == len(segment):
                    self._segments.popleft()
                else:
                    self._segments[0] = segment[k:]
            return n

    # -- frame sources -----------------------------------------------------------------------

    def register(self, register: Register) -> int:
        """The model's current value of ``register``."""
        with self._lock:
            return self.model.read_register(register)

    def force_register(self, register: Register, value: int) -> None:
        """Write ``register`` as a command from the host would (no reply is sent)."""
        with self._lock:
            self.model.handle_register_command(
                encode_register_command(RegisterOp.WRITE, 0, register, value))
            self._lock.notify_all()

    def submit_frame(self, pixels: np.ndarray, *, timestamp_us: int = 0) -> bool:
        """One triggered exposure of ``pixels``; False when CONTROL.ENABLE is off (no frame)."""
        with self._lock:
            self.model.trigger(timestamp_us)
            return self._capture(pixels)

    def expected_pixels(self) -> np.ndarray:
        """The test pattern a whole free-run frame carries at the current ROI and binning."""
        with self._lock:
            model = copy.deepcopy(self.model)  # the same registers; its counters stay apart
        frame = model.capture(self._sensor)
        if frame is None:
            raise ValueError("the bridge is not enabled: no frame to expect")
        return decode_image_frame(frame).pixels.copy()

    def lose_frames(self, count: int) -> None:
        """Capture ``count`` free-run frames that never reach the host."""
        with self._lock:
            for _ in range(count):
                self.model.trigger(self.sequence * self.frame_period_us)
                self.model.capture(self._sensor)
                self.sequence += 1

    def replay_frames(self, count: int) -> None:
        """Send the last ``count`` frames again."""
        with self._lock:
            for frame in list(self._recent)[-count:]:
                self._segments.append(memoryview(frame))
            self._lock.notify_all()

    def _capture(self, image: np.ndarray, overflow_at: int | None = None) -> bool:
        frame = self.model.capture(image, fifo_overflow_at=overflow_at)
        if frame is None:
            return False
        self.sequence += 1
        self._recent.append(frame)
        self._segments.append(memoryview(frame))
        self._lock.notify_all()
        return True

    def _free_run(self) -> bool:
        """Queue the next free-run frame if the sensor is running; False if none."""
        control = self.model.read_register(Register.CONTROL)
        if not (control & ControlBits.ENABLE and control & ControlBits.TEST_PATTERN):
            return False
        if self.frame_limit is not None and \
                self.model.read_register(Register.FRAME_COUNT) >= self.frame_limit:
            return False
        sequence = self.sequence
        image = self._sensor[:self.truncate[sequence]] if sequence in self.truncate \
            else self._sensor
        self.model.trigger(sequence * self.frame_period_us)
        return self._capture(image, self.fifo_overflow.get(sequence))

"""A frame-generating camera bridge: a VirtualDevice speaking the image link byte for byte.

Downstream it takes 16-byte register commands (a register file per ``Register``: RO/RW/WO
access, value checks, counters) and answers each with a register reply; upstream it streams
image frames (header + u16 payload + trailer + CRC-32) back to back with the replies between frames,
filling each host read like a USB 3 FIFO bridge does, so frames span reads.

Frames come from two sources while CONTROL.ENABLE is set:

* ``submit_frame(pixels, trigger_id=...)``: what the simulated camera captured;
* free-running test pattern when CONTROL.TEST_PATTERN is set too (``frame_limit`` frames, or
  endless): ``patterns`` seeded random images of the ROI size, frame ``s`` showing pattern
  ``s % patterns`` (``expected_pixels(s)``). Their payload CRCs are computed once and each
  new header is folded in with ``crc32_combine``, so the bridge, like hardware, costs the
  host no CPU per byte beyond the copy into its read buffer.

``test_flags[sequence]`` adds FrameFlags (e.g. OVERFLOW, TRUNCATED) to a free-run frame;
OVERFLOW/TRUNCATED go into the trailer status (the pattern itself stays whole, so
``delivered_pixels`` is every pixel).
"""

import threading
import time
from collections import deque

import numpy as np

from ...protocol.crc import crc32, crc32_combine, crc32_shift_operator
from ...protocol.errors import BadCrcError, ProtocolError
from ...protocol.image import (
    HEADER_FLAGS,
    IMAGE_HEADER_BYTES,
    IMAGE_LINK_VERSION,
    REGISTER_COMMAND_MAGIC,
    REGISTER_ID_VALUE,
    REGISTER_PACKET_BYTES,
    ControlBits,
    FrameFlags,
    ImageHeader,
    ImageTrailer,
    Register,
    RegisterOp,
    RegisterStatus,
    StatusBits,
    decode_register_command,
    encode_register_reply,
)
from ..ids import CAMERA_BRIDGE_PID, OPENSBS_VID
from .device import VirtualDevice

RTL_REVISION = 1
READ_ONLY = frozenset({Register.ID, Register.VERSION, Register.FRAME_COUNT, Register.DROP_COUNT,
                       Register.OVERFLOW_COUNT, Register.TRIGGER_COUNT, Register.STATUS})
COUNTERS = (Register.FRAME_COUNT, Register.DROP_COUNT, Register.OVERFLOW_COUNT,
            Register.TRIGGER_COUNT)
FLAGGED_DROP = FrameFlags.OVERFLOW | FrameFlags.TRUNCATED


class CameraBridge(VirtualDevice):
    """The FPGA USB 3 bridge as the host sees it; see the module docstring."""

    usb_speed = 4  # SuperSpeed
    max_packet_bytes = 1024

    def __init__(self, serial_number: str = "BRIDGE-0", *, sensor_width: int = 2048,
                 sensor_height: int = 1024, bits_per_pixel: int = 12, seed: int = 0,
                 patterns: int = 4, frame_period_us: int = 10_000,
                 frame_limit: int | None = None) -> None:
        super().__init__(OPENSBS_VID, CAMERA_BRIDGE_PID, serial_number,
                         product="OpenSBS camera bridge (virtual)")
        self.sensor_width = sensor_width
        self.sensor_height = sensor_height
        self.bits_per_pixel = bits_per_pixel
        self.seed = seed
        self.patterns = patterns
        self.frame_period_us = frame_period_us
        self.frame_limit = frame_limit
        self.test_flags: dict[int, int] = {}
        self._lock = threading.Condition()
        self._pattern_cache: dict[tuple[int, int], list[tuple[np.ndarray, int]]] = {}
        self._shift_cache: dict[int, list[int]] = {}
        self.on_reset()

    # -- VirtualDevice -----------------------------------------------------------------------

    def on_reset(self) -> None:
        with self._lock:
            self.registers = {int(r): 0 for r in Register}
            self.registers[Register.ID] = REGISTER_ID_VALUE
            self.registers[Register.VERSION] = IMAGE_LINK_VERSION << 16 | RTL_REVISION
            self.registers[Register.ROI_WIDTH] = self.sensor_width
            self.registers[Register.ROI_HEIGHT] = self.sensor_height
            self.sequence = 0
            self._segments: deque[memoryview] = deque()
            self._submitted: deque[tuple[np.ndarray, int, int, int]] = deque()
            self._commands = bytearray()
            self._lock.notify_all()

    def handle_out(self, endpoint: int, data: bytes) -> None:
        with self._lock:
            self._commands += data
            self._run_commands()
            self._lock.notify_all()

    def next_in(self, endpoint: int, max_bytes: int, timeout_s: float) -> bytes:
        buffer = bytearray(max_bytes)
        n = self.read_into(endpoint, memoryview(buffer), timeout_s)
        return bytes(buffer[:n])

    def read_into(self, endpoint: int, buffer: memoryview, timeout_s: float) -> int:
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while not self._segments and not self._queue_next_frame():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return 0
                self._lock.wait(remaining)
            n, size = 0, len(buffer)
            while n < size and (self._segments or self._queue_next_frame()):
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

    @property
    def geometry(self) -> tuple[int, int]:
        """(width, height) of the frames sent now, after ROI and binning."""
        width, height = self.registers[Register.ROI_WIDTH], self.registers[Register.ROI_HEIGHT]
        if self.registers[Register.CONTROL] & ControlBits.BINNING_2X2:
            return width // 2, height // 2
        return width, height

    def submit_frame(self, pixels: np.ndarray, *, trigger_id: int, timestamp_us: int = 0,
                     flags: int = 0) -> bool:
        """Queue one captured frame; False (and counted as a drop) when not enabled."""
        with self._lock:
            self.registers[Register.TRIGGER_COUNT] += 1
            if not self.registers[Register.CONTROL] & ControlBits.ENABLE:
                self.registers[Register.DROP_COUNT] += 1
                return False
            self._submitted.append((np.ascontiguousarray(pixels, dtype="<u2"), trigger_id,
                                    timestamp_us, flags))
            self._lock.notify_all()
            return True

    def expected_pixels(self, sequence: int) -> np.ndarray:
        """The free-run test pattern that frame ``sequence`` carries at the current ROI."""
        with self._lock:
            return self._patterns()[sequence % self.patterns][0].copy()

    def _patterns(self) -> list[tuple[np.ndarray, int]]:
        width, height = self.geometry
        key = (width, height)
        if key not in self._pattern_cache:
            self._pattern_cache.clear()
            rng = np.random.default_rng(self.seed)
            images = [rng.integers(0, 1 << self.bits_per_pixel, (height, width), dtype="<u2")
                      for _ in range(self.patterns)]
            self._pattern_cache[key] = [(im, crc32(im.data)) for im in images]
        return self._pattern_cache[key]

    def _queue_next_frame(self) -> bool:
        control = self.registers[Register.CONTROL]
        if not control & ControlBits.ENABLE:
            return False
        if self._submitted:
            pixels, trigger_id, timestamp_us, flags = self._submitted.popleft()
            self._emit(pixels, crc32(pixels.data), trigger_id, timestamp_us, flags)
            return True
        if not control & ControlBits.TEST_PATTERN:
            return False
        if self.frame_limit is not None and self.registers[Register.FRAME_COUNT] >= \
                self.frame_limit:
            return False
        pixels, payload_crc = self._patterns()[self.sequence % self.patterns]
        self.registers[Register.TRIGGER_COUNT] += 1
        self._emit(pixels, payload_crc, self.sequence, self.sequence * self.frame_period_us,
                   FrameFlags.TEST_PATTERN | self.test_flags.get(self.sequence, 0))
        return True

    def _emit(self, pixels: np.ndarray, payload_crc: int, trigger_id: int, timestamp_us: int,
              flags: int) -> None:
        height, width = pixels.shape
        control = self.registers[Register.CONTROL]
        flags |= FrameFlags.BINNED if control & ControlBits.BINNING_2X2 else 0
        flags |= FrameFlags.CROPPED if control & ControlBits.CROP else 0
        header = ImageHeader.build({
            "version": IMAGE_LINK_VERSION, "header_length": IMAGE_HEADER_BYTES,
            "flags": int(flags) & HEADER_FLAGS, "sequence": self.sequence & 0xFFFFFFFF,
            "trigger_id": trigger_id & 0xFFFFFFFF, "timestamp_us": timestamp_us,
            "width": width, "height": height, "bits_per_pixel": self.bits_per_pixel,
            "channel": self.registers[Register.CHANNEL], "reserved": 0,
            "payload_length": pixels.nbytes,
        })
        shift = self._shift_cache.get(pixels.nbytes)
        if shift is None:
            shift = self._shift_cache[pixels.nbytes] = crc32_shift_operator(pixels.nbytes)
        # injected OVERFLOW/TRUNCATED go in the trailer; the test pattern itself is whole
        trailer = ImageTrailer.build({"status": int(flags & FLAGGED_DROP), "reserved": 0,
                                      "delivered_pixels": pixels.size})
        crc = crc32(trailer, crc32_combine(crc32(header), payload_crc, shift))
        self._segments.extend((memoryview(header), pixels.data.cast("B"),
                               memoryview(trailer + crc.to_bytes(4, "little"))))
        self.sequence += 1
        self.registers[Register.FRAME_COUNT] += 1
        if flags & FLAGGED_DROP:
            self.registers[Register.DROP_COUNT] += 1
        if flags & FrameFlags.OVERFLOW:
            self.registers[Register.OVERFLOW_COUNT] += 1
            self.registers[Register.STATUS] |= StatusBits.FIFO_OVERFLOW_SEEN

    # -- registers ---------------------------------------------------------------------------

    def _run_commands(self) -> None:
        buf = self._commands
        while len(buf) >= REGISTER_PACKET_BYTES:
            start = buf.find(REGISTER_COMMAND_MAGIC)
            if start < 0:
                del buf[: len(buf) - 3]
                return
            del buf[:start]
            if len(buf) < REGISTER_PACKET_BYTES:
                return
            packet = bytes(buf[:REGISTER_PACKET_BYTES])
            try:
                command = decode_register_command(packet)
            except ProtocolError as exc:
                if isinstance(exc, BadCrcError):
                    address = int.from_bytes(packet[6:8], "little")
                    self._reply(packet[5], address, 0, RegisterStatus.BAD_CRC)
                del buf[:1]
                continue
            del buf[:REGISTER_PACKET_BYTES]
            op = command.op or RegisterOp.READ  # commands always decode with an op
            value, status = self._access(op, command.address, command.value)
            self._reply(command.tag, command.address, value, status)

    def _reply(self, tag: int, address: int, value: int, status: RegisterStatus) -> None:
        self._segments.append(memoryview(encode_register_reply(tag, address, value, status)))

    def _access(self, op: RegisterOp, address: int, value: int) -> tuple[int, RegisterStatus]:
        try:
            register = Register(address)
        except ValueError:
            return 0, RegisterStatus.BAD_ADDRESS
        if op == RegisterOp.READ:
            if register == Register.STATUS:
                return self._status(), RegisterStatus.OK
            return self.registers[register], RegisterStatus.OK
        if register in READ_ONLY:
            return self.registers[register], RegisterStatus.READ_ONLY
        if not self._valid(register, value):
            return self.registers[register], RegisterStatus.BAD_VALUE
        if register == Register.COUNTER_CLEAR:
            for counter in COUNTERS:
                self.registers[counter] = 0
            self.registers[Register.STATUS] &= ~StatusBits.FIFO_OVERFLOW_SEEN
            return 0, RegisterStatus.OK
        self.registers[register] = value
        return value, RegisterStatus.OK

    def _status(self) -> int:
        status = self.registers[Register.STATUS] & StatusBits.FIFO_OVERFLOW_SEEN
        if self.registers[Register.CONTROL] & ControlBits.ENABLE:
            status |= StatusBits.RUNNING
        return int(status)

    def _valid(self, register: Register, value: int) -> bool:
        r = self.registers
        binning = (value if register == Register.CONTROL else r[Register.CONTROL]) & \
            ControlBits.BINNING_2X2
        if register == Register.CONTROL:
            return not value & ~int(sum(ControlBits)) and self._roi_ok(
                r[Register.ROI_X], r[Register.ROI_Y], r[Register.ROI_WIDTH],
                r[Register.ROI_HEIGHT], bool(binning))
        roi = {Register.ROI_X: r[Register.ROI_X], Register.ROI_Y: r[Register.ROI_Y],
               Register.ROI_WIDTH: r[Register.ROI_WIDTH],
               Register.ROI_HEIGHT: r[Register.ROI_HEIGHT]}
        if register in roi:
            roi[register] = value
            return self._roi_ok(roi[Register.ROI_X], roi[Register.ROI_Y],
                                roi[Register.ROI_WIDTH], roi[Register.ROI_HEIGHT], bool(binning))
        if register == Register.CHANNEL:
            return value <= 0xFF
        if register == Register.COUNTER_CLEAR:
            return value == 1
        return True

    def _roi_ok(self, x: int, y: int, width: int, height: int, binning: bool) -> bool:
        if width <= 0 or height <= 0 or width % (4 if binning else 2):
            return False
        if binning and height % 2:
            return False
        return x + width <= self.sensor_width and y + height <= self.sensor_height

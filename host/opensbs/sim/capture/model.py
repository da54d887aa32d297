"""Bit-exact Python reference model of the FPGA image-capture path (fpga_sim/rtl).

Public API (used by the simulated camera bridge and checked against the RTL by cocotb tests)::

    from opensbs.sim.capture import CaptureModel
    model = CaptureModel(bits_per_pixel=12, sensor_width=64, sensor_height=48)
    reply = model.handle_register_command(packet)   # 16-byte command -> 16-byte reply
    model.trigger(timestamp_us=1_000)               # one debounced exposure trigger
    frame = model.capture(image)                    # (H, W) uint16 sensor image -> frame
                                                    # bytes, or None while CONTROL.ENABLE is 0
    model.read_register(Register.FRAME_COUNT)       # current register value (no packet)

Behaviour, identical to the RTL:

* Reset state: CONTROL = 0 (disabled), ROI = whole sensor, CHANNEL = 0, counters 0.
* ``capture`` applies the CONTROL bits latched at frame start: TEST_PATTERN replaces every
  sensor pixel (x, y) by ``(x + 16 * y) mod 2**bits_per_pixel``; CROP keeps ROI_X/Y/WIDTH/
  HEIGHT (else the whole sensor); BINNING_2X2 sums each 2x2 block (no division) and the
  header then says ``bits_per_pixel + 2``.
* Frames are image-link version 2: header flags (BINNED, CROPPED, TEST_PATTERN, NO_TRIGGER)
  known at frame start, completion status (TRUNCATED) and ``delivered_pixels`` in the trailer.
* The sensor image may be smaller than the sensor (a frame that ended early or short lines):
  at the first missing ROI pixel the rest of the frame is zero padding, TRUNCATED is set and
  ``delivered_pixels`` counts the pixels before it. With
  binning, an output pixel counts as delivered once its last input pixel arrived. A larger
  image is cut to the sensor size (the RTL ignores pixels past the sensor geometry).
* Each frame carries the id (TRIGGER_COUNT value) and timestamp of the latest trigger; if no
  trigger came since the previous frame (or none ever, id 0 and timestamp 0), NO_TRIGGER is set.
* ``sequence`` counts frames since reset (never cleared); COUNTER_CLEAR zeroes FRAME_COUNT,
  DROP_COUNT, OVERFLOW_COUNT, TRIGGER_COUNT (hence trigger ids) and STATUS.FIFO_OVERFLOW_SEEN,
  and forgets the latest trigger (the next frame says NO_TRIGGER, id 0, timestamp 0).
* The bridge keeps up unless told otherwise: ``capture(image, fifo_overflow_at=n)`` models a
  host that stalled until the clock-crossing FIFO overran after ``n`` output pixels, as the
  RTL does (see docs/fpga.md): the rest is zero padding, OVERFLOW is set, DROP_COUNT and
  OVERFLOW_COUNT count it and STATUS.FIFO_OVERFLOW_SEEN latches.

Register replies: status checks in this order: CRC (BAD_CRC), op (BAD_VALUE for an op other
than WRITE/READ), address (BAD_ADDRESS), write to a read-only register (READ_ONLY), value
(BAD_VALUE, see ``_check_write``). The reply value is the register's value after the command,
0 when the address is unknown or the CRC failed; COUNTER_CLEAR reads 0.
"""

from __future__ import annotations

import numpy as np

from opensbs.protocol.crc import crc32
from opensbs.protocol.image import (
    REGISTER_COMMAND_MAGIC,
    REGISTER_ID_VALUE,
    VERSION_REGISTER_VALUE,
    ControlBits,
    FrameFlags,
    Register,
    RegisterOp,
    RegisterStatus,
    StatusBits,
    encode_image_frame,
    encode_register_reply,
    parse_register_packet,
)

SUPPORTED_BITS_PER_PIXEL = (10, 12)
TEST_PATTERN_ROW_STEP = 16
_READ_ONLY = {
    Register.ID,
    Register.VERSION,
    Register.FRAME_COUNT,
    Register.DROP_COUNT,
    Register.OVERFLOW_COUNT,
    Register.TRIGGER_COUNT,
    Register.STATUS,
}
_COUNTERS = (
    Register.FRAME_COUNT,
    Register.DROP_COUNT,
    Register.OVERFLOW_COUNT,
    Register.TRIGGER_COUNT,
)


class CaptureModel:
    """The capture path from sensor pixels to upstream image-link bytes."""

    def __init__(self, *, bits_per_pixel: int = 12, sensor_width: int = 2048,
                 sensor_height: int = 2048) -> None:
        if bits_per_pixel not in SUPPORTED_BITS_PER_PIXEL:
            raise ValueError(f"bits_per_pixel {bits_per_pixel} not in {SUPPORTED_BITS_PER_PIXEL}")
        if not (0 < sensor_width <= 8192 and sensor_width % 4 == 0):
            raise ValueError(f"sensor_width {sensor_width} must be a multiple of 4 in 4..8192")
        if not (0 < sensor_height <= 8192 and sensor_height % 2 == 0):
            raise ValueError(f"sensor_height {sensor_height} must be even in 2..8192")
        self.bits_per_pixel = bits_per_pixel
        self.sensor_width = sensor_width
        self.sensor_height = sensor_height
        self._regs: dict[Register, int] = {
            Register.CONTROL: 0,
            Register.ROI_X: 0,
            Register.ROI_Y: 0,
            Register.ROI_WIDTH: sensor_width,
            Register.ROI_HEIGHT: sensor_height,
            Register.CHANNEL: 0,
            **{c: 0 for c in _COUNTERS},
        }
        self._overflow_seen = False
        self._sequence = 0
        self._trigger_timestamp_us = 0
        self._trigger_fresh = False
        self._pattern: np.ndarray | None = None  # the test pattern of the last shape used
        # the last test-pattern frame's output: (key, pixels, delivered, payload CRC-32)
        self._pattern_frame: tuple[tuple[int, ...], np.ndarray, int, int] | None = None

    # -- registers -------------------------------------------------------------------------

    def read_register(self, address: int) -> int:
        """Current value of the register at ``address`` (as a READ command would return)."""
        reg = Register(address)
        if reg == Register.ID:
            return REGISTER_ID_VALUE
        if reg == Register.VERSION:
            return VERSION_REGISTER_VALUE
        if reg == Register.COUNTER_CLEAR:
            return 0
        if reg == Register.STATUS:
            status = StatusBits(0)
            if self._regs[Register.CONTROL] & ControlBits.ENABLE:
                status |= StatusBits.RUNNING
            if self._overflow_seen:
                status |= StatusBits.FIFO_OVERFLOW_SEEN
            return int(status)
        return self._regs[reg]

    def handle_register_command(self, packet: bytes | bytearray | memoryview) -> bytes:
        """Execute one 16-byte register command and return the 16-byte reply packet.

        Raises BadLengthError/BadSyncError for bytes that are not a register command at all
        (the RTL discards those without a reply).
        """
        f = parse_register_packet(packet, REGISTER_COMMAND_MAGIC)
        tag, address = f["tag"], f["address"]
        valid_address = address in Register._value2member_map_
        if not f["crc_ok"]:
            return encode_register_reply(tag, address, 0, RegisterStatus.BAD_CRC)
        status = self._execute(f["op"], address, f["value"])
        reply_value = self.read_register(address) if valid_address else 0
        return encode_register_reply(tag, address, reply_value, status)

    def _execute(self, op: int, address: int, value: int) -> RegisterStatus:
        if op not in (RegisterOp.WRITE, RegisterOp.READ):
            return RegisterStatus.BAD_VALUE
        if address not in Register._value2member_map_:
            return RegisterStatus.BAD_ADDRESS
        reg = Register(address)
        if op == RegisterOp.READ:
            return RegisterStatus.OK
        if reg in _READ_ONLY:
            return RegisterStatus.READ_ONLY
        if not self._check_write(reg, value):
            return RegisterStatus.BAD_VALUE
        if reg == Register.COUNTER_CLEAR:
            if value:
                self._clear_counters()
        else:
            self._regs[reg] = value
        return RegisterStatus.OK

    def _check_write(self, reg: Register, value: int) -> bool:
        """Whether ``value`` is acceptable for writable register ``reg``."""
        binning = bool(self._regs[Register.CONTROL] & ControlBits.BINNING_2X2)
        if reg == Register.CONTROL:
            if value & ~int(sum(ControlBits)):
                return False
            if value & ControlBits.BINNING_2X2:
                return (self._regs[Register.ROI_WIDTH] % 4 == 0
                        and self._regs[Register.ROI_HEIGHT] % 2 == 0)
            return True
        if reg == Register.ROI_X:
            return value < self.sensor_width
        if reg == Register.ROI_Y:
            return value < self.sensor_height
        if reg == Register.ROI_WIDTH:
            return (0 < value <= self.sensor_width and value % 2 == 0
                    and not (binning and value % 4))
        if reg == Register.ROI_HEIGHT:
            return 0 < value <= self.sensor_height and not (binning and value % 2)
        if reg == Register.CHANNEL:
            return value <= 0xFF
        return value <= 1  # COUNTER_CLEAR

    def _clear_counters(self) -> None:
        for counter in _COUNTERS:
            self._regs[counter] = 0
        self._overflow_seen = False
        self._trigger_timestamp_us = 0
        self._trigger_fresh = False

    # -- trigger and frames ----------------------------------------------------------------

    def trigger(self, timestamp_us: int) -> None:
        """One debounced exposure trigger at ``timestamp_us`` (the FPGA's microsecond clock)."""
        if not 0 <= timestamp_us < 1 << 64:
            raise ValueError(f"timestamp_us {timestamp_us} outside u64")
        self._regs[Register.TRIGGER_COUNT] = (self._regs[Register.TRIGGER_COUNT] + 1) & 0xFFFFFFFF
        self._trigger_timestamp_us = timestamp_us
        self._trigger_fresh = True

    def capture(self, image: np.ndarray, fifo_overflow_at: int | None = None) -> bytes | None:
        """Upstream bytes of the frame for one sensor image; None while disabled.
        ``fifo_overflow_at``: the FIFO overran after that many output pixels (see above)."""
        image = np.asarray(image)
        if image.ndim != 2 or not np.issubdtype(image.dtype, np.integer):
            raise ValueError(f"image must be a 2-D integer array, got {image.dtype} {image.shape}")
        control = ControlBits(self._regs[Register.CONTROL])
        pixels_used = not control & ControlBits.TEST_PATTERN  # else only its size matters
        if pixels_used and image.size and (image.min() < 0 or image.max() >> self.bits_per_pixel):
            raise ValueError(f"image values exceed {self.bits_per_pixel} bits per pixel")
        if not control & ControlBits.ENABLE:
            return None
        image = image[: self.sensor_height, : self.sensor_width]
        flags = FrameFlags(0)
        if control & ControlBits.TEST_PATTERN:
            image = self._test_pattern(image.shape)
            flags |= FrameFlags.TEST_PATTERN
        x0, y0, width, height = 0, 0, self.sensor_width, self.sensor_height
        if control & ControlBits.CROP:
            x0, y0 = self._regs[Register.ROI_X], self._regs[Register.ROI_Y]
            width, height = self._regs[Register.ROI_WIDTH], self._regs[Register.ROI_HEIGHT]
            flags |= FrameFlags.CROPPED
        binning = bool(control & ControlBits.BINNING_2X2)
        if binning:
            flags |= FrameFlags.BINNED
        key = (int(control), x0, y0, width, height, *image.shape)
        cached = self._pattern_frame
        if control & ControlBits.TEST_PATTERN and fifo_overflow_at is None and cached \
                and cached[0] == key:
            _, pixels, delivered, payload_crc = cached  # the same pattern: same pixels
            overflowed = False
        else:
            pixels, delivered = self._roi_pixels(image, x0, y0, width, height, binning)
            delivered, overflowed = self._limit_delivery(pixels, delivered, fifo_overflow_at)
            payload_crc = crc32(pixels.data)
            if control & ControlBits.TEST_PATTERN and fifo_overflow_at is None:
                self._pattern_frame = (key, pixels, delivered, payload_crc)
        if delivered < pixels.size:
            self._regs[Register.DROP_COUNT] += 1
            flags |= FrameFlags.OVERFLOW if overflowed else FrameFlags.TRUNCATED
        if not self._trigger_fresh:
            flags |= FrameFlags.NO_TRIGGER
        self._trigger_fresh = False
        frame = encode_image_frame(
            pixels,
            sequence=self._sequence,
            trigger_id=self._regs[Register.TRIGGER_COUNT],
            timestamp_us=self._trigger_timestamp_us,
            channel=self._regs[Register.CHANNEL],
            bits_per_pixel=self.bits_per_pixel + (2 if binning else 0),
            flags=flags,
            delivered_pixels=delivered,
            payload_crc=payload_crc,
        )
        self._sequence = (self._sequence + 1) & 0xFFFFFFFF
        self._regs[Register.FRAME_COUNT] = (self._regs[Register.FRAME_COUNT] + 1) & 0xFFFFFFFF
        return frame

    def _limit_delivery(self, pixels: np.ndarray, delivered: int,
                        fifo_overflow_at: int | None) -> tuple[int, bool]:
        """Apply a FIFO overrun after ``fifo_overflow_at`` pixels and zero what was not
        delivered; returns (pixels delivered, whether the FIFO overran)."""
        overflowed = fifo_overflow_at is not None and fifo_overflow_at < delivered
        if overflowed:
            delivered = max(0, fifo_overflow_at or 0)
            self._regs[Register.OVERFLOW_COUNT] += 1
            self._overflow_seen = True
        pixels.reshape(-1)[delivered:] = 0
        return delivered, overflowed

    def _test_pattern(self, shape: tuple[int, ...]) -> np.ndarray:
        if self._pattern is None or self._pattern.shape != shape:
            rows, cols = shape
            y, x = np.ogrid[:rows, :cols]
            self._pattern = ((x + TEST_PATTERN_ROW_STEP * y)
                             & ((1 << self.bits_per_pixel) - 1)).astype(np.uint16)
        return self._pattern

    @staticmethod
    def _roi_pixels(image: np.ndarray, x0: int, y0: int, width: int, height: int,
                    binning: bool) -> tuple[np.ndarray, int]:
        """Output pixels (zero where missing) and how many lead pixels were delivered."""
        got = image[y0:y0 + height, x0:x0 + width]
        rows_got, cols_got = got.shape if got.size else (0, 0)
        if (rows_got, cols_got) == (height, width):
            full = got.astype(np.uint16)  # a copy: the caller zero-pads it in place
        else:
            full = np.zeros((height, width), dtype=np.uint16)
            full[:rows_got, :cols_got] = got
        if cols_got < width and rows_got:
            delivered_in_row, rows_done = cols_got, 0  # the first ROI row is already short
        else:
            delivered_in_row, rows_done = 0, rows_got
        if not binning:
            if rows_done == height:
                return full, full.size
            return full, rows_done * width + delivered_in_row
        out = full.reshape(height // 2, 2, width // 2, 2).sum(axis=(1, 3), dtype=np.uint16)
        if rows_done == height:
            return out, out.size
        # an output pixel is emitted with its last input pixel (odd row, odd column)
        return out, (rows_done // 2) * (width // 2)

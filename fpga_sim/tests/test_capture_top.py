"""cocotb tests of the whole capture path (capture_top on its own ports) against the model.

Bus models in Python sit on the DUT's ports, bound by name prefix: ``SensorBusSource`` plays
numpy images on the ``pix_*`` sensor bus, ``Ft601Host`` is the FT601 on the ``ft_*`` pads
with random backpressure from a recorded seed, and the test drives ``trig_in`` and
``rst_async``. Upstream bytes are cut into packets and parsed with the host's construct
declarations; every frame is compared byte for byte with opensbs.sim.capture.CaptureModel and
its pixels with an independent numpy crop/bin of the input image. The geometry and FIFO
depth are read from the DUT's parameters, so one bench covers every build of the sweep.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
import numpy as np
import pytest
from cocotb.simtime import get_sim_time
from cocotb.triggers import Timer
from opensbs.protocol.crc import crc32
from opensbs.protocol.image import (
    IMAGE_HEADER_BYTES,
    IMAGE_MAGIC,
    REGISTER_PACKET_BYTES,
    REGISTER_REPLY_MAGIC,
    ControlBits,
    FrameFlags,
    ImageFrame,
    Register,
    RegisterAccess,
    RegisterOp,
    RegisterStatus,
    decode_image_frame,
    decode_image_header,
    decode_register_reply,
    encode_register_command,
)
from opensbs.sim import SimConfig, TileSimulator
from opensbs.sim.capture import CaptureModel
from sim_runner import have_simulator, rtl_sources, run_cocotb
from tb.ft601 import Ft601Bus, Ft601Host
from tb.pause import random_pauses
from tb.sensor_bus import SensorBus, SensorBusSource

GOLDEN = Path(__file__).resolve().parents[2] / "host/opensbs/protocol/golden_vectors.json"
PIX_PERIOD_PS = 13_000  # 76.9 MHz pixel clock; the FT601 clock is 100 MHz
OLD_STORE_PIXELS = 2 * 8192  # version 1 stored whole frames: 8192 words in the synthesised RTL
PacketType = ImageFrame | RegisterAccess


class CaptureTB:
    """capture_top on its ports: sensor bus source, FT601 host model, trigger and reset."""

    def __init__(self, dut, seed: int, pix_period_ps: int = PIX_PERIOD_PS) -> None:
        self.dut = dut
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.bpp = len(dut.pix_data)
        self.width = int(dut.SENSOR_WIDTH.value)
        self.height = int(dut.SENSOR_HEIGHT.value)
        self.fifo_words = 1 << int(dut.FIFO_ADDR_BITS.value)
        self.sensor = SensorBusSource(SensorBus.from_prefix(dut, "pix"), pix_period_ps)
        self.ft = Ft601Host(Ft601Bus.from_prefix(dut, "ft"), dut.rst_async)
        self.model = CaptureModel(bits_per_pixel=self.bpp, sensor_width=self.width,
                                  sensor_height=self.height)
        self.check_replies = True  # False once frames went by that the model did not see
        self.reset_done_ns = 0.0
        self._pause_seeds = 0
        dut._log.info("seed %d; %d x %d sensor, %d bpp, %d-word elastic FIFO", seed,
                      self.width, self.height, self.bpp, self.fifo_words)

    def set_ft601_busy(self, busy_fraction: float) -> None:
        """FT601 FIFO full on a random ``busy_fraction`` of write clocks (seed logged)."""
        if not busy_fraction:
            self.ft.set_pause_generator(None)
            return
        self._pause_seeds += 1
        seed = self.seed * 100 + self._pause_seeds
        self.dut._log.info("FT601 busy %.3f of write clocks, pause seed %d", busy_fraction, seed)
        self.ft.set_pause_generator(random_pauses(seed, busy_fraction))

    async def reset(self, busy_fraction: float = 0.0) -> None:
        dut = self.dut
        dut.rst_async.value = 1
        dut.trig_in.value = 0
        self.set_ft601_busy(busy_fraction)
        await Timer(200, unit="ns")
        dut.rst_async.value = 0
        self.reset_done_ns = get_sim_time(unit="ns")
        await Timer(100, unit="ns")

    # -- upstream ------------------------------------------------------------------------------

    async def _upstream_bytes(self, n_bytes: int, timeout_us: float) -> None:
        if not await self.ft.wait_upstream(n_bytes, timeout_us):
            raise TimeoutError(f"{len(self.ft.upstream)} upstream bytes after {timeout_us} us, "
                               f"expected {n_bytes}")

    async def recv_packet(self, timeout_us: float = 2000) -> PacketType:
        """The next upstream packet, decoded with the host declarations."""
        await self._upstream_bytes(4, timeout_us)
        magic = bytes(self.ft.upstream[:4])
        if magic == IMAGE_MAGIC:
            await self._upstream_bytes(IMAGE_HEADER_BYTES, timeout_us)
            size = decode_image_header(bytes(self.ft.upstream[:IMAGE_HEADER_BYTES])).frame_bytes
        elif magic == REGISTER_REPLY_MAGIC:
            size = REGISTER_PACKET_BYTES
        else:
            raise AssertionError(f"upstream word {magic.hex()} starts no packet")
        # the rest of the frame: allow 4 pixel clocks (of 13 ns) per pixel
        await self._upstream_bytes(size, max(timeout_us, size * 26 / 1000))
        packet = self.ft.take(size)
        if magic == IMAGE_MAGIC:
            return decode_image_frame(packet)
        return decode_register_reply(packet)

    async def recv_packets(self, count: int) -> list[PacketType]:
        return [await self.recv_packet() for _ in range(count)]

    # -- downstream ----------------------------------------------------------------------------

    async def commands(self, packets: list[bytes]) -> list[RegisterAccess]:
        """Send register command packets; return the decoded replies, checked against the
        model's replies byte for byte."""
        self.ft.send(b"".join(packets))
        # a packet may carry stray leading words: the decoder skips them, the model sees the rest
        expected = [self.model.handle_register_command(p[-16:]) for p in packets]
        replies = await self.recv_packets(len(expected))
        assert all(isinstance(r, RegisterAccess) for r in replies)
        if self.check_replies:
            assert replies == [decode_register_reply(e) for e in expected]
        return replies  # type: ignore[return-value]

    async def write(self, reg: Register, value: int) -> RegisterStatus:
        reply = await self.commands([encode_register_command(RegisterOp.WRITE, 0x5A, reg, value)])
        return reply[0].status

    async def read(self, reg: Register) -> int:
        reply = await self.commands([encode_register_command(RegisterOp.READ, 0xA5, reg)])
        assert reply[0].status == RegisterStatus.OK
        return reply[0].value

    # -- sensor and trigger --------------------------------------------------------------------

    async def trigger(self) -> int:
        """A bouncing trigger pulse; returns the latched microsecond timestamp."""
        dut = self.dut
        for glitch_ns in (20, 30):  # shorter than the debounce time: must not count
            dut.trig_in.value = 1
            await Timer(glitch_ns, unit="ns")
            dut.trig_in.value = 0
            await Timer(40, unit="ns")
        dut.trig_in.value = 1
        edge_ns = get_sim_time(unit="ns")
        await Timer(400, unit="ns")
        dut.trig_in.value = 0
        await Timer(400, unit="ns")
        ts = int(dut.u_trig.last_us.value)
        # two sync flops + the debounce clocks + the pulse register, at 10 ns; the counter
        # counts whole microseconds from the end of the (synchronised) reset
        latency_ns = 10 * (3 + int(dut.DEBOUNCE_CYCLES.value))
        expected_us = (edge_ns + latency_ns - self.reset_done_ns) / 1000
        assert expected_us - 1.05 <= ts <= expected_us, (ts, expected_us)
        self.model.trigger(ts)
        return ts

    async def receive(self, image: np.ndarray | list[np.ndarray]) -> ImageFrame:
        """Play one image with random line and frame blanking and receive its frame."""
        self.sensor.send(image, hblank=int(self.rng.integers(1, 24)),
                         vblank=int(self.rng.integers(4, 40)))
        frame = await self.recv_packet()
        assert isinstance(frame, ImageFrame)
        return frame

    async def capture(self, image: np.ndarray) -> ImageFrame:
        """Play one image, receive the frame, check it equals the model's frame."""
        expected = self.model.capture(image)
        assert expected is not None
        frame = await self.receive(image)
        model_frame = decode_image_frame(expected)
        assert frame.header == model_frame.header
        np.testing.assert_array_equal(frame.pixels, model_frame.pixels)
        return frame

    def random_image(self, height: int | None = None, width: int | None = None) -> np.ndarray:
        shape = (height or self.height, width or self.width)
        return self.rng.integers(0, 1 << self.bpp, shape, dtype=np.uint16)


def roi_bin(image: np.ndarray, x: int, y: int, w: int, h: int, binning: bool) -> np.ndarray:
    """Independent expectation of the payload (not the model's code path)."""
    roi = image[y:y + h, x:x + w].astype(np.int64)
    if binning:
        roi = roi[0::2, 0::2] + roi[0::2, 1::2] + roi[1::2, 0::2] + roi[1::2, 1::2]
    return roi


def _seed(name: str) -> int:
    return int(os.environ.get("TB_SEED", "1")) * 1000 + sum(name.encode())


@cocotb.test()
async def registers_and_golden_vectors(dut) -> None:
    """Golden register commands, error statuses and resync, replies equal to the model's."""
    tb = CaptureTB(dut, _seed("registers"))
    await tb.reset(busy_fraction=0.25)
    golden = json.loads(GOLDEN.read_text())["image_link"]
    packets = [bytes.fromhex(c["hex"]) for c in golden["register_commands"]]
    replies = await tb.commands(packets)
    for command, reply in zip(golden["register_commands"], replies, strict=True):
        assert reply.address == command["address"] and reply.tag == command["tag"]
    assert await tb.read(Register.ID) == 0x4F534246
    assert await tb.read(Register.VERSION) == 0x00020001
    bad_crc = bytearray(encode_register_command(RegisterOp.WRITE, 3, Register.CHANNEL, 5))
    bad_crc[13] ^= 0x40
    bad_op = bytearray(b"OSRC" + bytes((7, 4)) + (8).to_bytes(2, "little") + bytes(4))
    bad_op += crc32(bytes(bad_op)).to_bytes(4, "little")
    garbage = b"\x00\x11\x22\x33"  # one stray word: the decoder must resynchronise
    replies = await tb.commands([
        bytes(bad_crc),
        bytes(bad_op),
        garbage + encode_register_command(RegisterOp.READ, 9, 0x38),
        encode_register_command(RegisterOp.WRITE, 10, Register.FRAME_COUNT, 3),
        encode_register_command(RegisterOp.WRITE, 11, Register.ROI_WIDTH, 66),
        encode_register_command(RegisterOp.WRITE, 12, Register.ROI_WIDTH, 30),
        encode_register_command(RegisterOp.WRITE, 13, Register.CONTROL, ControlBits.BINNING_2X2),
        encode_register_command(RegisterOp.WRITE, 14, Register.CHANNEL, 256),
        encode_register_command(RegisterOp.WRITE, 15, Register.CHANNEL, 3),
    ])
    assert [r.status for r in replies] == [
        RegisterStatus.BAD_CRC, RegisterStatus.BAD_VALUE, RegisterStatus.BAD_ADDRESS,
        RegisterStatus.READ_ONLY, RegisterStatus.BAD_VALUE, RegisterStatus.OK,
        RegisterStatus.BAD_VALUE, RegisterStatus.BAD_VALUE, RegisterStatus.OK]
    assert replies[-1].value == 3 and await tb.read(Register.CHANNEL) == 3


@cocotb.test()
async def frames_match_model(dut) -> None:
    """Plain, cropped, binned, test-pattern and short frames under random backpressure."""
    tb = CaptureTB(dut, _seed("frames"))
    await tb.reset(busy_fraction=0.375)
    assert await tb.write(Register.CONTROL, ControlBits.ENABLE) == RegisterStatus.OK
    ts = await tb.trigger()
    image = tb.random_image()
    frame = await tb.capture(image)
    assert frame.header.flags == 0 and frame.header.trigger_id == 1
    assert frame.header.timestamp_us == ts and frame.header.sequence == 0
    np.testing.assert_array_equal(frame.pixels, image)

    frame = await tb.capture(tb.random_image())  # no trigger in between
    assert frame.header.flags == FrameFlags.NO_TRIGGER and frame.header.sequence == 1

    # the four channel images of one simulated sequencing cycle, as the camera would see them
    sim = TileSimulator(SimConfig(seed=tb.seed, tile_width_px=tb.width,
                                  tile_height_px=tb.height, read_length=2,
                                  adc_bits=tb.bpp), tile=1101)
    for channel, image in enumerate(sim.next_cycle()):
        assert await tb.write(Register.CHANNEL, channel) == RegisterStatus.OK
        await tb.trigger()
        frame = await tb.capture(image)
        assert frame.header.channel == channel and frame.header.flags == 0
        np.testing.assert_array_equal(frame.pixels, image)

    for step in range(4):
        x, y = 2 * int(tb.rng.integers(0, 10)) + 1, int(tb.rng.integers(0, 16))
        w, h = 4 * int(tb.rng.integers(1, 12)), 2 * int(tb.rng.integers(1, 14))
        binning = step % 2 == 1
        for reg, value in ((Register.ROI_X, x), (Register.ROI_Y, y), (Register.ROI_WIDTH, w),
                           (Register.ROI_HEIGHT, h), (Register.CHANNEL, step)):
            assert await tb.write(reg, value) == RegisterStatus.OK
        control = ControlBits.ENABLE | ControlBits.CROP
        if binning:
            control |= ControlBits.BINNING_2X2
        assert await tb.write(Register.CONTROL, control) == RegisterStatus.OK
        await tb.trigger()
        image = tb.random_image()
        frame = await tb.capture(image)
        np.testing.assert_array_equal(frame.pixels, roi_bin(image, x, y, w, h, binning))
        assert frame.header.channel == step and frame.header.trigger_id == 6 + step
        assert frame.header.bits_per_pixel == tb.bpp + (2 if binning else 0)

    control = ControlBits.ENABLE | ControlBits.BINNING_2X2 | ControlBits.TEST_PATTERN
    assert await tb.write(Register.CONTROL, control) == RegisterStatus.OK
    frame = await tb.capture(tb.random_image())
    yy, xx = np.mgrid[:tb.height, :tb.width]
    pattern = (xx + 16 * yy) & ((1 << tb.bpp) - 1)
    np.testing.assert_array_equal(frame.pixels, roi_bin(pattern, 0, 0, tb.width, tb.height, True))

    # a sensor frame that ends early, one with short lines, one larger than the sensor
    assert await tb.write(Register.CONTROL, ControlBits.ENABLE) == RegisterStatus.OK
    for shape in ((30, tb.width), (tb.height, 40), (tb.height + 2, tb.width + 6)):
        image = tb.random_image(*shape)
        frame = await tb.capture(image)
        short = shape[0] < tb.height or shape[1] < tb.width
        assert bool(frame.header.flags & FrameFlags.TRUNCATED) == short
    counts = [await tb.read(r) for r in (Register.FRAME_COUNT, Register.DROP_COUNT,
                                         Register.OVERFLOW_COUNT, Register.TRIGGER_COUNT)]
    assert counts == [tb.model.read_register(r) for r in (
        Register.FRAME_COUNT, Register.DROP_COUNT, Register.OVERFLOW_COUNT,
        Register.TRIGGER_COUNT)]
    assert counts == [14, 2, 0, 9]

    await tb.trigger()
    assert await tb.write(Register.COUNTER_CLEAR, 1) == RegisterStatus.OK
    frame = await tb.capture(tb.random_image())  # the trigger before the clear is forgotten
    assert frame.header.flags == FrameFlags.NO_TRIGGER and frame.header.sequence == 14
    assert (frame.header.trigger_id, frame.header.timestamp_us) == (0, 0)

    # one short line in the middle: rows before it, then its pixels, then zeros. The model
    # takes numpy images, which have no ragged lines, so the expectation is computed here and
    # the model is out of step.
    tb.check_replies = False
    for binning, short_row, short_len in ((False, 17, 23), (True, 9, 31), (True, 10, 31)):
        control = ControlBits.ENABLE | (ControlBits.BINNING_2X2 if binning else 0)
        assert await tb.write(Register.CONTROL, control) == RegisterStatus.OK
        image = tb.random_image()
        lines = list(image)
        lines[short_row] = image[short_row, :short_len]
        frame = await tb.receive(lines)
        expected = roi_bin(image, 0, 0, tb.width, tb.height, binning).ravel()
        out_width = tb.width // 2 if binning else tb.width
        if not binning:
            delivered = short_row * out_width + short_len
        else:  # an output pixel is complete with its odd row and odd column
            delivered = (short_row // 2) * out_width + (short_len // 2 if short_row % 2 else 0)
        flat = frame.pixels.ravel()
        np.testing.assert_array_equal(flat[:delivered], expected[:delivered])
        assert not flat[delivered:].any()
        assert frame.header.flags & FrameFlags.TRUNCATED
        assert frame.header.delivered_pixels == delivered
    assert await tb.read(Register.FRAME_COUNT) == 4
    assert await tb.read(Register.DROP_COUNT) == 3


@cocotb.test()
async def overflow_is_exact(dut) -> None:
    """Host stalled: the store fills at a known word, later frames are flagged or skipped, the
    counters match, and the link recovers with a clean frame."""
    tb = CaptureTB(dut, _seed("overflow"))
    await tb.reset()
    assert await tb.write(Register.CONTROL, ControlBits.ENABLE) == RegisterStatus.OK
    tb.check_replies = False
    image = tb.random_image()
    frame_words = tb.width * tb.height // 2
    tb.ft.stall(True)
    tb.sensor.send(image, frames=6)
    await tb.sensor.wait()
    tb.ft.stall(False)
    frames = await tb.recv_packets(4)
    # frames 0-3 took the 4 descriptors, 4 and 5 found none and were skipped
    assert [f.header.sequence for f in frames] == [0, 1, 2, 3]  # type: ignore[union-attr]
    free_words = tb.fifo_words
    for f in frames:
        assert isinstance(f, ImageFrame)
        kept_pixels = 2 * min(frame_words, free_words)
        free_words -= kept_pixels // 2
        overflow = kept_pixels < image.size
        assert f.header.flags == FrameFlags.NO_TRIGGER | (FrameFlags.OVERFLOW if overflow else 0)
        flat = f.pixels.ravel()
        np.testing.assert_array_equal(flat[:kept_pixels], image.ravel()[:kept_pixels])
        assert not flat[kept_pixels:].any()
        assert f.header.delivered_pixels == kept_pixels
    flagged = sum(bool(f.header.flags & FrameFlags.OVERFLOW) for f in frames)  # type: ignore
    assert flagged >= 1
    recovered = await tb.receive(image)  # the next frame starts clean
    assert recovered.header.sequence == 6 and recovered.header.flags == FrameFlags.NO_TRIGGER
    np.testing.assert_array_equal(recovered.pixels, image)
    assert await tb.read(Register.FRAME_COUNT) == 5
    assert await tb.read(Register.DROP_COUNT) == flagged + 2
    assert await tb.read(Register.OVERFLOW_COUNT) == flagged + 2
    assert await tb.read(Register.STATUS) & 0b11 == 0b11  # RUNNING | FIFO_OVERFLOW_SEEN
    assert await tb.write(Register.COUNTER_CLEAR, 1) == RegisterStatus.OK
    assert await tb.read(Register.DROP_COUNT) == 0
    assert await tb.read(Register.STATUS) & 0b10 == 0


@cocotb.test()
async def sustained_throughput(dut) -> None:
    """One pixel per pixel clock with no drops when the bridge keeps up; exact drop counters
    (flagged frames + sequence gaps) when it does not."""
    tb = CaptureTB(dut, _seed("throughput"))
    await tb.reset()
    assert await tb.write(Register.CONTROL, ControlBits.ENABLE) == RegisterStatus.OK
    tb.check_replies = False
    image = tb.random_image()
    n_frames = 6
    clocks0, line0 = tb.sensor.frame_clocks, tb.sensor.line_clocks
    tb.sensor.send(image, frames=n_frames, hblank=2, vblank=4)
    await Timer(100, unit="us")  # mid-stream: replies must go between frames, never inside one
    tb.ft.send(b"".join(encode_register_command(RegisterOp.READ, tag, Register.ID)
                        for tag in range(3)))
    packets = await tb.recv_packets(n_frames + 3)
    replies = [p for p in packets if isinstance(p, RegisterAccess)]
    assert [(r.tag, r.value, r.status) for r in replies] == [
        (tag, 0x4F534246, RegisterStatus.OK) for tag in range(3)]
    assert isinstance(packets[0], ImageFrame) and isinstance(packets[-1], ImageFrame)
    frames = [p for p in packets if isinstance(p, ImageFrame)]
    await tb.sensor.wait()
    sensor_cycles = tb.sensor.frame_clocks - clocks0
    line_cycles = tb.sensor.line_clocks - line0
    pixels = sum(f.pixels.size for f in frames if isinstance(f, ImageFrame))
    for f in frames:
        assert isinstance(f, ImageFrame) and f.header.flags == FrameFlags.NO_TRIGGER
        np.testing.assert_array_equal(f.pixels, image)
    assert [f.header.sequence for f in frames] == list(range(n_frames))  # type: ignore
    assert pixels == line_cycles == n_frames * image.size  # every line clock carried a pixel
    dut._log.info("THROUGHPUT keeps-up: %d pixels in %d line clocks (%.3f px/clk), %.3f px/clk "
                  "including blanking", pixels, line_cycles, pixels / line_cycles,
                  pixels / sensor_cycles)
    assert await tb.read(Register.DROP_COUNT) == 0

    # bridge too slow: with txe_n busy 7 cycles in 8 it takes 25 Mpixel/s, the sensor sends 74
    tb.set_ft601_busy(224 / 256)
    tb.sensor.send(image, frames=n_frames, hblank=2, vblank=4)
    await tb.sensor.wait()
    received: list[ImageFrame] = []
    while True:
        try:
            packet = await tb.recv_packet(timeout_us=300)
        except TimeoutError:
            break
        if isinstance(packet, ImageFrame):
            received.append(packet)
    tb.set_ft601_busy(0)
    seqs = [f.header.sequence for f in received]
    skipped = len(set(range(n_frames, 2 * n_frames)) - set(seqs))
    flagged = [f for f in received if f.header.flags & (FrameFlags.OVERFLOW | FrameFlags.TRUNCATED)]
    assert flagged, "the slow bridge should have caused overflow"
    for f in flagged:  # what arrived is a true prefix (delivered_pixels long), the rest zero
        flat, want = f.pixels.ravel(), image.ravel()
        delivered = f.header.delivered_pixels
        assert delivered is not None and delivered < image.size
        np.testing.assert_array_equal(flat[:delivered], want[:delivered])
        assert not flat[delivered:].any(), (f.header, np.flatnonzero(flat[delivered:])[:10])
    drops = await tb.read(Register.DROP_COUNT)
    overflows = await tb.read(Register.OVERFLOW_COUNT)
    assert drops == overflows == len(flagged) + skipped
    assert await tb.read(Register.FRAME_COUNT) == n_frames + len(received)
    dut._log.info("THROUGHPUT slow bridge: %d of %d frames arrived, %d flagged, %d skipped",
                  len(received), n_frames, len(flagged), skipped)


@cocotb.test()
async def pixel_clock_faster_than_bridge(dut) -> None:
    """Pixel clock 125 MHz above the 100 MHz bridge and a 4-word crossing FIFO: the sensor side
    loses pixels; the frame is flagged OVERFLOW with a true prefix, counted, and the next
    (binned, half the rate) frame crosses intact."""
    tb = CaptureTB(dut, _seed("cdc"), pix_period_ps=8000)
    tb.check_replies = False
    await tb.reset()
    assert await tb.write(Register.CONTROL, ControlBits.ENABLE) == RegisterStatus.OK
    image = tb.random_image()
    frame = await tb.receive(image)
    assert frame.header.flags == FrameFlags.NO_TRIGGER | FrameFlags.OVERFLOW
    flat = frame.pixels.ravel()
    kept = int(np.flatnonzero(flat != image.ravel())[0])
    assert 0 < kept < tb.width and not flat[kept:].any()
    assert frame.header.delivered_pixels == kept
    control = ControlBits.ENABLE | ControlBits.BINNING_2X2
    assert await tb.write(Register.CONTROL, control) == RegisterStatus.OK
    frame = await tb.receive(image)
    assert frame.header.flags == FrameFlags.NO_TRIGGER | FrameFlags.BINNED
    np.testing.assert_array_equal(frame.pixels, roi_bin(image, 0, 0, tb.width, tb.height, True))
    assert [await tb.read(r) for r in (Register.FRAME_COUNT, Register.DROP_COUNT,
                                       Register.OVERFLOW_COUNT)] == [2, 1, 1]


@cocotb.test()
async def large_frame_streams(dut) -> None:
    """A frame larger than version 1's whole-frame store (16 Ki pixels) streams through the
    small elastic FIFO under random backpressure: unflagged, every pixel, equal to the model."""
    tb = CaptureTB(dut, _seed("large"))
    assert tb.height * tb.width > OLD_STORE_PIXELS > 2 * tb.fifo_words
    await tb.reset(busy_fraction=0.25)
    assert await tb.write(Register.CONTROL, ControlBits.ENABLE) == RegisterStatus.OK
    await tb.trigger()
    image = tb.random_image()
    frame = await tb.capture(image)
    assert frame.header.flags == 0 and frame.header.delivered_pixels == image.size
    np.testing.assert_array_equal(frame.pixels, image)
    assert await tb.read(Register.DROP_COUNT) == 0
    assert await tb.read(Register.OVERFLOW_COUNT) == 0
    dut._log.info("LARGE FRAME %dx%d (%d pixels) unflagged through a %d-word elastic FIFO",
                  tb.width, tb.height, image.size, tb.fifo_words)


NOT_CDC_STRESS = "^(?!.*(pixel_clock_faster|large_frame))"
LARGE = {"SENSOR_WIDTH": 256, "SENSOR_HEIGHT": 72}
# RTL defaults (the synthesised 512-word elastic FIFO), then the other points of the sweep
BUILD_PARAMETERS = [
    pytest.param("icarus", {}, NOT_CDC_STRESS, id="icarus-bpp12-fifo512"),
    pytest.param("icarus", {"BPP": 10, "FIFO_ADDR_BITS": 11}, NOT_CDC_STRESS,
                 id="icarus-bpp10-fifo2k"),
    pytest.param("icarus", {"CDC_ADDR_BITS": 2}, "pixel_clock_faster",
                 id="icarus-cdc4-pix125mhz"),
    pytest.param("icarus", LARGE, "large_frame", id="icarus-256x72-fifo512"),
    pytest.param("verilator", {}, NOT_CDC_STRESS, id="verilator-bpp12-fifo512"),
    pytest.param("verilator", {"BPP": 10, "FIFO_ADDR_BITS": 11}, NOT_CDC_STRESS,
                 id="verilator-bpp10-fifo2k"),
    pytest.param("verilator", LARGE, "large_frame", id="verilator-256x72-fifo512"),
]


@pytest.mark.parametrize(("simulator", "parameters", "test_filter"), BUILD_PARAMETERS)
def test_capture_top(simulator: str, parameters: dict[str, int], test_filter: str) -> None:
    if not have_simulator(simulator):
        pytest.skip(f"{simulator} not installed")
    run_cocotb(simulator, "capture_top", rtl_sources(), "test_capture_top", parameters,
               {"TB_SEED": "1"}, test_filter)

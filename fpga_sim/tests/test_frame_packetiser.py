"""frame_packetiser alone: the golden image-link frames come out byte for byte.

The crossing-FIFO words of each golden frame (SOF with its flag bits, geometry, the delivered
pixels only, EOF with the overflow/truncated bits of the trailer status) are driven in, so the
RTL's zero padding and trailer must match the golden bytes; trigger id, timestamp, channel and
freshness are driven on the trigger inputs and the sequence counter is preset (white box), so
the frame header can take the golden values. Frames whose bits per pixel this RTL cannot
produce (16-bit, or not BPP / BPP + 2 when binned) are left out. The output sees random
backpressure.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
import numpy as np
import pytest
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, Timer
from opensbs.protocol.image import FrameFlags, decode_image_frame
from sim_runner import RTL_DIR, have_simulator, run_cocotb
from tb.pause import random_pauses

GOLDEN = Path(__file__).resolve().parents[2] / "host/opensbs/protocol/golden_vectors.json"
KIND_PIXEL, KIND_SOF, KIND_GEOM, KIND_EOF = 0, 1, 2, 3


def fifo_words(frame: dict) -> list[int]:
    """The sensor-side FIFO words that describe ``frame`` (golden vector entry)."""
    flags = FrameFlags(frame["header_flags"])
    status = FrameFlags(frame["trailer"]["status"])
    sof = (int(bool(flags & FrameFlags.BINNED)) | int(bool(flags & FrameFlags.CROPPED)) << 1
           | int(bool(flags & FrameFlags.TEST_PATTERN)) << 2)
    eof = int(bool(status & FrameFlags.TRUNCATED)) | int(bool(status & FrameFlags.OVERFLOW)) << 1
    delivered = frame["trailer"]["delivered_pixels"]
    pixels = np.asarray(frame["pixels"], dtype=np.uint16).ravel()[:delivered]
    return ([KIND_SOF << 16 | sof, KIND_GEOM << 16 | frame["header"]["width"],
             KIND_GEOM << 16 | frame["header"]["height"]]
            + [KIND_PIXEL << 16 | int(p) for p in pixels] + [KIND_EOF << 16 | eof])


class PacketiserTB:
    """Clock, FIFO-side driver, trigger inputs and an output monitor with random stalls."""

    def __init__(self, dut, seed: int) -> None:
        self.dut = dut
        self.stalls = random_pauses(seed, 0.3)
        self.words: list[int] = []
        dut._log.info("output stall seed %d", seed)
        cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
        cocotb.start_soon(self._output())

    async def _output(self) -> None:
        """Mid-cycle: choose tready, and take the word that the next rising edge moves."""
        while True:
            await FallingEdge(self.dut.clk)
            ready = not next(self.stalls)
            self.dut.m_tready.value = int(ready)
            if ready and int(self.dut.m_tvalid.value):
                self.words.append(int(self.dut.m_tdata.value))

    async def reset(self) -> None:
        dut = self.dut
        dut.rst.value = 1
        dut.fifo_empty.value = 1
        dut.fifo_data.value = 0
        dut.trig_count.value = 0
        dut.trig_us.value = 0
        dut.trig_fresh.value = 0
        dut.channel.value = 0
        dut.m_tready.value = 0
        await Timer(50, unit="ns")
        await FallingEdge(dut.clk)
        dut.rst.value = 0

    async def send(self, frame: dict) -> bytes:
        """Drive one golden frame through; return the bytes that came out."""
        dut, header = self.dut, frame["header"]
        await FallingEdge(dut.clk)
        dut.seq.value = header["sequence"]
        dut.trig_count.value = header["trigger_id"]
        dut.trig_us.value = header["timestamp_us"]
        dut.trig_fresh.value = int(not header["flags"] & FrameFlags.NO_TRIGGER)
        dut.channel.value = header["channel"]
        for word in fifo_words(frame):
            await FallingEdge(dut.clk)
            dut.fifo_empty.value = 0
            dut.fifo_data.value = word
        await FallingEdge(dut.clk)
        dut.fifo_empty.value = 1
        size_words = len(frame["hex"]) // 8
        for _ in range(50 * size_words):
            if len(self.words) >= size_words:
                break
            await FallingEdge(dut.clk)
        out, self.words = self.words[:size_words], self.words[size_words:]
        return b"".join(w.to_bytes(4, "little") for w in out)


def applicable(frame: dict, bpp: int) -> bool:
    binned = frame["header"]["flags"] & FrameFlags.BINNED
    return frame["header"]["bits_per_pixel"] == bpp + (2 if binned else 0)


@cocotb.test()
async def golden_frames(dut) -> None:
    bpp = int(os.environ["TB_BPP"])
    tb = PacketiserTB(dut, int(os.environ.get("TB_SEED", "3")))
    await tb.reset()
    frames = [f for f in json.loads(GOLDEN.read_text())["image_link"]["frames"]
              if applicable(f, bpp)]
    assert len(frames) >= 3
    for frame in frames:
        got = await tb.send(frame)
        assert got.hex() == frame["hex"], frame["name"]
        decoded = decode_image_frame(got)
        assert decoded.header.sequence == frame["header"]["sequence"]
        dut._log.info("golden frame %s matches", frame["name"])


@pytest.mark.parametrize("bpp", [10, 12])
def test_frame_packetiser(bpp: int) -> None:
    if not have_simulator("icarus"):
        pytest.skip("icarus not installed")
    run_cocotb("icarus", "frame_packetiser",
               [RTL_DIR / "frame_packetiser.v", RTL_DIR / "crc32_step.v"],
               "test_frame_packetiser", {"BPP": bpp, "FIFO_ADDR_BITS": 6},
               {"TB_BPP": str(bpp), "TB_SEED": "3"})

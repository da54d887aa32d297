"""An image sensor's parallel bus: pixel clock, frame-valid, line-valid, pixel data.

``SensorBusSource`` drives the pixel clock and plays queued frames: frame-valid rises,
``vblank`` clocks, then each line with line-valid high for one clock per pixel and ``hblank``
clocks between lines, ``vblank`` clocks after the last line, frame-valid falls for one
clock before the next frame. Lines may differ in length (a short line is a list entry
shorter than the others). Outputs change on the falling edge, half a clock before the
sensor-side register samples them. The clock starts low (first rising edge at half a
period), like the FT601 model's, so a 13 ns or 8 ns pixel clock never shares an edge with the
10 ns bridge clock. Blanking is waited out with timers, so only pixels cost
Python per clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import Event, FallingEdge, Timer

from tb.bus import PortBus


class SensorBus(PortBus):
    """Pixel clock, frame-valid, line-valid and pixel data of the sensor port."""

    signals = ("clk", "fv", "lv", "data")


@dataclass(frozen=True)
class SensorFrame:
    """One frame as the sensor sends it: pixel values line by line, blanking in clocks."""

    lines: tuple[tuple[int, ...], ...]
    hblank: int
    vblank: int

    @property
    def clocks(self) -> int:
        """Pixel clocks from frame-valid rise to the next possible rise."""
        return (2 * self.vblank + sum(len(line) for line in self.lines)
                + self.hblank * (len(self.lines) - 1) + 1)


class SensorBusSource:
    """Plays frames on the sensor bus and counts the clocks it drove."""

    def __init__(self, bus: SensorBus, period_ps: int) -> None:
        if period_ps % 4:
            raise ValueError(f"pixel clock period {period_ps} ps not a multiple of 4 ps")
        self.bus = bus
        self.period_ps = period_ps
        self.frames_sent = 0
        self.line_clocks = 0    # clocks with line-valid high
        self.frame_clocks = 0   # clocks spent playing frames, blanking included
        self._queue: deque[SensorFrame] = deque()
        self._queued = Event()
        self._idle = Event()
        self._idle.set()
        bus.fv.value = 0
        bus.lv.value = 0
        bus.data.value = 0
        cocotb.start_soon(Clock(bus.clk, period_ps, "ps", impl="gpi").start(start_high=False))
        cocotb.start_soon(self._run())

    def send(self, image: np.ndarray | Sequence[Sequence[int]], frames: int = 1,
             hblank: int = 8, vblank: int = 8) -> None:
        """Queue ``frames`` plays of ``image`` (2-D array, or a list of lines)."""
        if hblank < 1 or vblank < 4:
            raise ValueError(f"blanking hblank={hblank} vblank={vblank} below 1 and 4 clocks")
        lines = tuple(tuple(int(v) for v in line) for line in image)
        frame = SensorFrame(lines, hblank, vblank)
        self._queue.extend([frame] * frames)
        self._idle.clear()
        self._queued.set()

    async def wait(self) -> None:
        """Wait until every queued frame has been played."""
        await self._idle.wait()

    async def _clocks(self, n: int) -> None:
        """Wait ``n`` pixel clocks, from one falling edge to another."""
        if n > 1:
            await Timer(n * self.period_ps - self.period_ps // 4, unit="ps")
        await FallingEdge(self.bus.clk)

    async def _run(self) -> None:
        bus = self.bus
        falling = FallingEdge(bus.clk)
        while True:
            if not self._queue:
                self._idle.set()
                self._queued.clear()
                await self._queued.wait()
                await falling
            frame = self._queue.popleft()
            bus.fv.value = 1
            await self._clocks(frame.vblank)
            for index, line in enumerate(frame.lines):
                if index:
                    await self._clocks(frame.hblank)
                bus.lv.value = 1
                for value in line:
                    bus.data.value = value
                    await falling
                bus.lv.value = 0
                self.line_clocks += len(line)
            await self._clocks(frame.vblank)
            bus.fv.value = 0
            await falling
            self.frames_sent += 1
            self.frame_clocks += frame.clocks

"""The FT601 (and the USB host behind it) on the FPGA's 245 synchronous FIFO port.

``Ft601Host`` drives the 100 MHz ``clk`` and the chip's outputs (``txe_n``, ``rxf_n``,
``data_in``) and watches the FPGA's (``wr_n``, ``rd_n``, ``oe_n``, ``be``, ``data_out``,
``data_oe``). It works mid-cycle, on the falling clock edge, where every registered FPGA
output is stable: it decides ``txe_n`` for the coming rising edge from the pause generator
and records the word that edge moves (``wr_n`` and ``txe_n`` low); downstream it shows the
next queued word on ``data_in`` with ``rxf_n`` low and retires it once an edge has seen
``rd_n`` low. Bus rules are checked on every active clock (no write while ``oe_n`` is low,
``data_oe`` high and all byte enables set on a write, ``rd_n`` low only after an ``oe_n``
turnaround clock); a breach raises ``Ft601ProtocolError``.

The model runs while ``reset`` is low; a reset drops the words queued either way. While the
FPGA neither writes nor has a word to read the model sleeps until ``wr_n`` falls
or a word is queued (``txe_n`` matters only at an edge with ``wr_n`` low), so idle time
costs no Python per clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

import cocotb
from cocotb.clock import Clock
from cocotb.task import Task
from cocotb.triggers import Event, FallingEdge, First, Timer

from tb.bus import PortBus


class Ft601Bus(PortBus):
    """FT601 pads of the FPGA, bidirectional data split into data_out/data_oe/data_in."""

    signals = ("clk", "txe_n", "rxf_n", "wr_n", "rd_n", "oe_n", "be", "data_out", "data_oe",
               "data_in")


class Ft601ProtocolError(AssertionError):
    """The FPGA broke a rule of the 245 synchronous FIFO bus."""


class Ft601Host:
    """FT601 bus model: upstream bytes the FPGA wrote, downstream words it reads."""

    def __init__(self, bus: Ft601Bus, reset: Any, period_ps: int = 10_000) -> None:
        self.bus = bus
        self.period_ps = period_ps
        self.upstream = bytearray()       # written by the FPGA, not yet taken
        self.pauses: Iterator[bool] | None = None  # None: FIFO never full
        self._ready_next = False  # the pause flag of the next write clock, already drawn: False
        self._stalled = False
        self._downstream: deque[int] = deque()
        self._queued = Event()             # downstream words queued
        self._released = Event()           # stall released
        self._want_bytes = 0
        self._have_bytes = Event()
        self._tasks: list[Task[None]] = []
        bus.txe_n.value = 0
        bus.rxf_n.value = 1
        bus.data_in.value = 0
        cocotb.start_soon(Clock(bus.clk, period_ps, "ps", impl="gpi").start(start_high=False))
        cocotb.start_soon(self._follow_reset(reset))

    # -- test side -------------------------------------------------------------------------

    def set_pause_generator(self, pauses: Iterator[bool] | None) -> None:
        """Flags per write clock: True = FIFO full (``txe_n`` high) on that clock."""
        self.pauses = pauses
        self._ready_next = False

    def stall(self, stalled: bool) -> None:
        """Hold ``txe_n`` high (host not reading) until ``stall(False)``."""
        self._stalled = stalled
        if not stalled:
            self._released.set()

    def send(self, data: bytes) -> None:
        """Queue bytes (whole 32-bit words, little-endian) for the FPGA to read."""
        if len(data) % 4:
            raise ValueError(f"{len(data)} bytes is not whole 32-bit words")
        self._downstream.extend(int.from_bytes(data[i:i + 4], "little")
                                for i in range(0, len(data), 4))
        self._queued.set()

    async def wait_upstream(self, n_bytes: int, timeout_us: float) -> bool:
        """Wait until at least ``n_bytes`` upstream bytes are held; False on timeout."""
        if len(self.upstream) >= n_bytes:
            return True
        self._want_bytes = n_bytes
        self._have_bytes.clear()
        await First(self._have_bytes.wait(), Timer(timeout_us, unit="us"))
        self._want_bytes = 0
        return len(self.upstream) >= n_bytes

    def take(self, n_bytes: int) -> bytes:
        """Remove and return the first ``n_bytes`` upstream bytes."""
        data = bytes(self.upstream[:n_bytes])
        del self.upstream[:n_bytes]
        return data

    # -- bus side --------------------------------------------------------------------------

    async def _follow_reset(self, reset: Any) -> None:
        """Run the bus only while the FPGA is out of reset; a reset drops queued words."""
        while True:
            value = reset.value
            if value.is_resolvable and not int(value):
                if not self._tasks:
                    self._tasks = [cocotb.start_soon(self._run_upstream()),
                                   cocotb.start_soon(self._run_downstream())]
            else:
                for task in self._tasks:
                    task.cancel()
                self._tasks = []
                self.upstream.clear()
                self._downstream.clear()
                self.bus.rxf_n.value = 1
            await reset.value_change

    async def _run_upstream(self) -> None:
        bus = self.bus
        falling = FallingEdge(bus.clk)
        wr_n_falls = FallingEdge(bus.wr_n)
        while True:
            await falling
            if int(bus.wr_n.value):
                await wr_n_falls  # idle until the FPGA has a word for the coming edges
                continue
            busy_clocks = self._write_cycle()
            if self._stalled:  # nothing moves until released
                self._released.clear()
                await self._released.wait()
            elif busy_clocks > 1:  # txe_n stays high: skip to the clock before the next try
                await Timer(busy_clocks * self.period_ps - self.period_ps // 4, unit="ps")

    async def _run_downstream(self) -> None:
        bus = self.bus
        falling = FallingEdge(bus.clk)
        while True:
            if not self._downstream:
                bus.rxf_n.value = 1
                self._queued.clear()
                await self._queued.wait()
            oe_was_low = False  # for the turnaround rule
            moved = False
            while True:
                await falling
                if moved:  # the rising edge just gone took the word shown
                    self._downstream.popleft()
                if not self._downstream:
                    break
                moved = self._downstream_cycle(oe_was_low)
                oe_was_low = not int(bus.oe_n.value)

    def _downstream_cycle(self, turnaround_done: bool) -> bool:
        """Show the next downstream word; whether the coming rising edge moves it."""
        bus = self.bus
        bus.data_in.value = self._downstream[0]
        bus.rxf_n.value = 0
        if int(bus.rd_n.value):
            return False
        if int(bus.oe_n.value) or not turnaround_done:
            raise Ft601ProtocolError("rd_n low without oe_n low on the clock before")
        if int(bus.data_oe.value):
            raise Ft601ProtocolError("FPGA drives the data bus while reading")
        return True

    def _write_cycle(self) -> int:
        """Decide ``txe_n`` for the coming edges; record the word if it moves. Returns the
        number of clocks from now that the FIFO stays full (0 when the word moves)."""
        bus = self.bus
        full_clocks = self._full_clocks()
        bus.txe_n.value = int(full_clocks > 0)
        if full_clocks:
            return full_clocks
        if not int(bus.oe_n.value):
            raise Ft601ProtocolError("wr_n and oe_n low together")
        if not int(bus.data_oe.value) or int(bus.be.value) != 0xF:
            raise Ft601ProtocolError(f"write with data_oe={bus.data_oe.value} be={bus.be.value}")
        word = bus.data_out.value
        if not word.is_resolvable:
            raise Ft601ProtocolError(f"write of an unresolved word {word}")
        self.upstream += int(word).to_bytes(4, "little")
        if self._want_bytes and len(self.upstream) >= self._want_bytes:
            self._have_bytes.set()
        return 0

    def _full_clocks(self) -> int:
        """The run of pause flags starting at this clock (a stall counts as 1 per clock)."""
        if self._stalled:
            return 1
        if self.pauses is None:
            return 0
        if self._ready_next:
            self._ready_next = False
            return 0
        clocks = 0
        while next(self.pauses):
            clocks += 1
        self._ready_next = clocks > 0  # the flag that ended the run belongs to the next clock
        return clocks

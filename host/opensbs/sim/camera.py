"""The simulated camera behind the virtual camera-bridge USB device.

It exposes only when the simulated controller board fires an exposure trigger
(`on_trigger`, a `SimBoard` trigger listener): it renders the current cycle's image of the
current tile in the channel the host selected (the bridge's CHANNEL register), passes it
through the Python reference model of the FPGA capture path (`opensbs.sim.capture.CaptureModel`,
which also answers the host's register commands) and queues the frame bytes on bulk IN.

Which tile: the stage scans the flow cell's tiles in order; after every channel of the current
tile has been exposed in this cycle, the next exposure is of the next tile (`select_tile` moves
the stage explicitly). Which cycle: with a `ChemistryObserver`, a new cycle starts at the
first exposure after any reagent flowed, with the conditions the observer measured (so a
failed heater or fluidics step shows in the images); without one, a new cycle starts when the
scan comes back to the first tile. Every exposure is logged in ``exposures``.
"""

import threading
from collections import deque
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..protocol.errors import ProtocolError
from ..protocol.image import REGISTER_PACKET_BYTES, Register
from ..usb.ids import CAMERA_BRIDGE_PID, OPENSBS_VID
from .capture import CaptureModel
from .coupling import ChemistryObserver
from .errors import SimConfigError
from .flowcell import FlowCell
from .tile import CycleConditions
from .usb.device import VirtualDevice


class TriggerLike(Protocol):
    """What the camera needs of a trigger pulse (opensbs.sim.board.sim_board.TriggerPulse)."""

    @property
    def start_us(self) -> int: ...


@dataclass(frozen=True)
class Exposure:
    """One exposure: the cycle, tile and channel imaged, and whether a frame went out."""

    cycle: int
    tile: int
    channel: int
    timestamp_us: int
    frame_sent: bool


class SimulatedCamera(VirtualDevice):
    """Camera + FPGA capture path + USB 3 bridge, as one VirtualDevice."""

    def __init__(self, flowcell: FlowCell, *, observer: ChemistryObserver | None = None,
                 serial_number: str = "SIMCAM0001", noise: bool = True) -> None:
        super().__init__(OPENSBS_VID, CAMERA_BRIDGE_PID, serial_number,
                         product="OpenSBS simulated camera bridge")
        config = flowcell.config
        if config.adc_bits not in (10, 12):
            raise SimConfigError(f"the capture path takes 10- or 12-bit pixels, the simulated "
                                 f"camera is set to {config.adc_bits}")
        self.flowcell = flowcell
        self.observer = observer
        self.noise = noise
        self.exposures: list[Exposure] = []
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._upstream: deque[memoryview] = deque()
        self._tile_index = 0
        self._exposed: set[tuple[int, int]] = set()  # (tile, channel) imaged this cycle
        self.capture = self._new_capture_model()

    # -- triggers -------------------------------------------------------------------------
    def on_trigger(self, pulse: TriggerLike) -> None:
        """Board trigger listener: one exposure at the pulse's start."""
        self.expose(pulse.start_us)

    def expose(self, timestamp_us: int) -> Exposure:
        """Expose the current tile in the CHANNEL register's channel and send the frame."""
        with self._lock:
            channel = self.capture.read_register(Register.CHANNEL)
            self._start_cycle_if_due(channel)
            tile = self.flowcell.tile_numbers[self._tile_index]
            if 0 <= channel < self.flowcell.config.n_channels:
                image = self.flowcell.image(tile, channel, self.noise)
            else:  # no such filter: the sensor sees only its dark level
                image = self._dark_frame()
            self._exposed.add((tile, channel))
            self.capture.trigger(timestamp_us)
            frame = self.capture.capture(image)
            if frame is not None:
                self._upstream.append(memoryview(frame))
                self._ready.notify_all()
            exposure = Exposure(self.flowcell.cycle, tile, channel, timestamp_us,
                                frame is not None)
            self.exposures.append(exposure)
            return exposure

    def select_tile(self, tile: int) -> None:
        """Move the stage to ``tile`` for the next exposures."""
        with self._lock:
            self.flowcell.tile(tile)  # a typed error for a tile not on the flow cell
            self._tile_index = self.flowcell.tile_numbers.index(tile)

    def prepare_retake(self, tile: int, channel: int) -> None:
        """The host will expose ``channel`` of ``tile`` again (its frame was lost on the link):
        the stage stays on (or goes back to) ``tile``, in the same cycle."""
        self.select_tile(tile)
        with self._lock:
            self._exposed.discard((tile, channel))

    def _start_cycle_if_due(self, channel: int) -> None:
        tiles = self.flowcell.tile_numbers
        conditions: CycleConditions | None = None
        if self.observer is not None:
            conditions = self.observer.take_cycle_conditions()
            if conditions is None and self.flowcell.cycle == 0:
                conditions = CycleConditions(reagent_fraction=0.0)  # imaged before chemistry
        elif self.flowcell.cycle == 0:
            conditions = CycleConditions()
        if (tiles[self._tile_index], channel) in self._exposed:  # this tile is done: next one
            self._tile_index += 1
            if self._tile_index == len(tiles):
                self._tile_index = 0
                if self.observer is None:
                    conditions = CycleConditions()
        if conditions is not None:
            self.flowcell.advance(conditions)
            self._tile_index = 0
            self._exposed.clear()

    def _dark_frame(self) -> np.ndarray:
        config = self.flowcell.config
        level = min(int(round(config.offset_adu)), config.adc_max)
        return np.full((config.tile_height_px, config.tile_width_px), level, dtype=np.uint16)

    def _new_capture_model(self) -> CaptureModel:
        config = self.flowcell.config
        return CaptureModel(bits_per_pixel=config.adc_bits, sensor_width=config.tile_width_px,
                            sensor_height=config.tile_height_px)

    # -- USB ------------------------------------------------------------------------------
    def handle_out(self, endpoint: int, data: bytes) -> None:
        """Register commands (16 bytes each); bytes that are not one are dropped, as the RTL
        does, and answered by nothing."""
        with self._lock:
            for start in range(0, len(data) - REGISTER_PACKET_BYTES + 1, REGISTER_PACKET_BYTES):
                try:
                    reply = self.capture.handle_register_command(
                        data[start:start + REGISTER_PACKET_BYTES])
                except ProtocolError:
                    continue
                self._upstream.append(memoryview(reply))
            self._ready.notify_all()

    def next_in(self, endpoint: int, max_bytes: int, timeout_s: float) -> bytes:
        buffer = bytearray(max_bytes)
        n = self.read_into(endpoint, memoryview(buffer), timeout_s)
        return bytes(buffer[:n])

    def read_into(self, endpoint: int, buffer: memoryview, timeout_s: float) -> int:
        """Fill ``buffer`` from the upstream stream (packets span reads, as on the FIFO bridge);
        waits up to ``timeout_s`` for the first byte."""
        with self._ready:
            if not self._ready.wait_for(lambda: bool(self._upstream), timeout=timeout_s):
                return 0
            filled = 0
            while self._upstream and filled < len(buffer):
                head = self._upstream[0]
                n = min(len(head), len(buffer) - filled)
                buffer[filled:filled + n] = head[:n]
                filled += n
                if n == len(head):
                    self._upstream.popleft()
                else:
                    self._upstream[0] = head[n:]
            return filled

    def on_reset(self) -> None:
        """USB reset: the bridge comes back in its reset state with nothing queued."""
        with self._lock:
            self._upstream.clear()
            self.capture = self._new_capture_model()

    @property
    def pending_bytes(self) -> int:
        """Bytes queued for the host."""
        with self._lock:
            return sum(len(view) for view in self._upstream)

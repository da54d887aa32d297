"""Imaging one tile: the controller board fires the camera trigger, the bridge streams frames.

Per channel: select the channel on the bridge (CHANNEL register, stamped into the frame
header), program one exposure pulse with that channel's laser on the controller's trigger
output, arm and fire it, and receive the frame over the image link. Frames are checked
(channel, geometry, OVERFLOW/TRUNCATED flags). The stage scans the tiles in order, so tiles
are imaged in the recipe's tile order.

A frame lost or damaged on the link is taken again (the channel re-exposed, at most
`MAX_RETAKES` times) as soon as the loss is certain: the bridge's FRAME_COUNT register says it
sent the frame, and its reply travels behind the frame on the same ordered stream, so a frame
not received by then never will be. Without a reply (hardware still exposing), the wait is
bounded by `frame_timeout_s`. Every link event of the receiver (CRC error, sequence gap,
skipped bytes, ...) and every retake is reported through `on_event("link_fault", ...)`.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable

import numpy as np

from ..protocol.image import ControlBits, FrameFlags, ImageFrame, Register
from ..recipe import Recipe
from ..runfolder.events import Command, Imaged, LinkFault, OnEvent
from ..usb.control_client import ControlClient
from ..usb.image_receiver import ImageReceiver, LinkEvent
from .stop import StopRequest

TRIGGER_OUTPUT = 0
TRIGGER_GAP_US = 1000
BAD_FLAGS = FrameFlags.OVERFLOW | FrameFlags.TRUNCATED | FrameFlags.NO_TRIGGER
MAX_RETAKES = 3  # re-exposures of one channel before the step fails
FRAME_POLL_S = 0.05  # wall time between looks at the frame queue
PROBE_PERIOD_S = 0.5  # at most one FRAME_COUNT read per this while a frame is awaited


class ImagingError(RuntimeError):
    """No good frame of a channel after every retake, or the image link failed."""


class TriggeredImager:
    """Takes each tile's channel images through the trigger output and the image link."""

    def __init__(self, client: ControlClient, receiver: ImageReceiver, recipe: Recipe,
                 on_event: OnEvent, frame_timeout_s: float = 30.0,
                 advance: Callable[[], None] | None = None,
                 before_retake: Callable[[int, int], None] | None = None,
                 stop: StopRequest | None = None) -> None:
        """`advance` moves a lockstep virtual clock on after each trigger (None: hardware);
        `before_retake(tile, channel)` readies the camera to expose that again
        (the simulated camera counts exposures to know its tile: there is no stage command)."""
        self.client = client
        self.advance = advance
        self.before_retake = before_retake
        self.receiver = receiver
        self.recipe = recipe
        self.on_event = on_event
        self.frame_timeout_s = frame_timeout_s
        self.stop_request = stop or StopRequest()
        self.frames_received = 0
        self.frames_rejected = 0
        self.bytes_received = 0
        self.retakes = 0
        self.reader_error: Exception | None = None
        self._triggered = 0  # exposures fired since the bridge's counters were cleared
        self._register_retries = 0

    @property
    def frames_dropped(self) -> int:
        """Frames lost on the link (sequence gaps, damaged packets) or rejected here."""
        stats = self.receiver.stats
        return self.frames_rejected + stats.frames_lost + stats.damaged_packets

    def start(self) -> None:
        """Start the receiver and enable the capture path."""
        self.receiver.subscribe(self._on_link_event)
        self.receiver.start()
        self.receiver.write_register(Register.COUNTER_CLEAR, 1)
        self.receiver.write_register(Register.CONTROL, int(ControlBits.ENABLE))
        self._triggered = 0

    def stop(self) -> None:
        self.receiver.stop()

    def _on_link_event(self, event: LinkEvent) -> None:
        """Receiver-thread callback: never raises (that would stop the image-link reader)."""
        try:
            self.on_event(LinkFault("image", event.kind.value, event.count,
                                    sequence=event.sequence, detail=event.detail))
        except Exception as exc:  # noqa: BLE001 - handed to the run's thread
            if self.reader_error is None:
                self.reader_error = exc

    def _check_running(self) -> None:
        self._record_register_retries()
        self.stop_request.check()
        if self.reader_error is not None:
            raise self.reader_error

    def _record_register_retries(self) -> None:
        retries = self.receiver.stats.register_retries
        if retries != self._register_retries:
            self.on_event(LinkFault("image", "register_retry", retries - self._register_retries))
            self._register_retries = retries

    def _trigger(self, cycle: int, tile: int, channel: int, exposure_us: int) -> None:
        program = {"exposure_us": exposure_us, "period_us": exposure_us + TRIGGER_GAP_US,
                   "pulse_count": 1, "laser_mask": 1 << channel}
        self.on_event(Command("trigger_program", extra={
            "output": TRIGGER_OUTPUT, "cycle": cycle, "tile": tile, "channel": channel,
            **program}))
        self.client.trigger_program(TRIGGER_OUTPUT, **program)
        self.client.trigger_arm(TRIGGER_OUTPUT)
        self.client.trigger_fire(TRIGGER_OUTPUT)
        self._triggered += 1
        if self.advance is not None:
            self.advance()

    def _next_frame(self, timeout_s: float) -> ImageFrame | None:
        try:
            return self.receiver.get_frame(timeout_s=timeout_s)
        except queue.Empty:
            return None
        except Exception as exc:  # the receiver's typed errors (vanished device, ...)
            raise ImagingError(f"image link: {exc}") from exc

    def _problems(self, frame: ImageFrame) -> list[str]:
        fc, h = self.recipe.flowcell, frame.header
        problems = []
        if h.flags & BAD_FLAGS:
            problems.append(f"flags {FrameFlags(h.flags & BAD_FLAGS)!r}")
        if (h.height, h.width) != (fc.height_px, fc.width_px):
            problems.append(f"{h.width}x{h.height} px, expected {fc.width_px}x{fc.height_px}")
        return problems

    def _await_frame(self, where: str, channel: int) -> np.ndarray | None:
        """The frame of the exposure just fired; None once it is certainly lost or damaged."""
        start = time.monotonic()
        probe_at = start
        sent = False
        while True:
            self._check_running()
            frame = self._next_frame(0.0 if sent else FRAME_POLL_S)
            if frame is not None:
                h = frame.header
                if h.channel != channel:  # a late frame of an earlier exposure
                    self.frames_rejected += 1
                    self.on_event(LinkFault("image", "stale_frame", sequence=h.sequence,
                                            detail=f"{where}: channel {h.channel}"))
                    continue
                problems = self._problems(frame)
                if problems:
                    self.frames_rejected += 1
                    self.on_event(LinkFault("image", "bad_frame", sequence=h.sequence,
                                            detail=f"{where}: {'; '.join(problems)}"))
                    return None
                self.frames_received += 1
                self.bytes_received += h.payload_length
                return np.array(frame.pixels, dtype=np.uint16)  # copy out of the buffer
            if sent:  # sent, and the register reply behind it came: lost on the link
                self.on_event(LinkFault("image", "frame_lost", detail=where))
                return None
            now = time.monotonic()
            if now - start > self.frame_timeout_s:
                self.frames_rejected += 1
                self.on_event(LinkFault(
                    "image", "frame_timeout",
                    detail=f"{where}: no frame within {self.frame_timeout_s:.0f} s"))
                return None
            if now >= probe_at:
                probe_at = now + PROBE_PERIOD_S
                sent = self.receiver.read_register(Register.FRAME_COUNT) >= self._triggered

    def _take(self, cycle: int, tile: int, channel: int, exposure_us: int) -> np.ndarray:
        where = f"cycle {cycle} tile {tile} channel {channel}"
        for attempt in range(MAX_RETAKES + 1):
            if attempt:
                self.retakes += 1
                self.on_event(LinkFault("image", "retake", detail=where, attempt=attempt))
                if self.before_retake is not None:
                    self.before_retake(tile, channel)
            self._trigger(cycle, tile, channel, exposure_us)
            image = self._await_frame(where, channel)
            if image is not None:
                return image
        raise ImagingError(f"{where}: no good frame after {MAX_RETAKES} re-exposures")

    def image_tile(self, cycle: int, tile: int) -> np.ndarray:
        """(channels, H, W) uint16 images of `tile` at `cycle`."""
        images = []
        for index, channel in enumerate(self.recipe.imaging.channels):
            self.receiver.write_register(Register.CHANNEL, index)
            images.append(self._take(cycle, tile, index, channel.exposure_us))
        self._record_register_retries()
        self.on_event(Imaged(cycle, tile, len(images)))
        return np.stack(images)

"""Imaging one tile: the controller board fires the camera trigger, the bridge streams frames.

Per channel: select the channel on the bridge (CHANNEL register, stamped into the frame
header), program one exposure pulse with that channel's laser on the controller's trigger
output, arm and fire it, and receive the frame over the image link. Frames are checked
(channel, geometry, OVERFLOW/TRUNCATED flags); a frame that is missing or damaged fails the
step with a typed error rather than feeding a bad image to the base caller. The stage scans
the tiles in order, so tiles are imaged in the recipe's tile order.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import Any

import numpy as np

from ..protocol.image import ControlBits, FrameFlags, Register
from ..recipe import Recipe
from ..usb.control_client import ControlClient
from ..usb.image_receiver import ImageReceiver

TRIGGER_OUTPUT = 0
TRIGGER_GAP_US = 1000
BAD_FLAGS = FrameFlags.OVERFLOW | FrameFlags.TRUNCATED | FrameFlags.NO_TRIGGER


class ImagingError(RuntimeError):
    """A frame did not arrive, or arrived damaged or not matching the request."""


class TriggeredImager:
    """Takes each tile's channel images through the trigger output and the image link."""

    def __init__(self, client: ControlClient, receiver: ImageReceiver, recipe: Recipe,
                 on_event: Callable[..., Any], frame_timeout_s: float = 30.0,
                 advance: Callable[[], None] | None = None) -> None:
        """`advance` moves a lockstep virtual clock on after each trigger (None: hardware)."""
        self.client = client
        self.advance = advance
        self.receiver = receiver
        self.recipe = recipe
        self.on_event = on_event
        self.frame_timeout_s = frame_timeout_s
        self.frames_received = 0
        self.frames_rejected = 0
        self.bytes_received = 0

    @property
    def frames_dropped(self) -> int:
        """Frames lost on the link (sequence gaps, damaged packets) or rejected here."""
        stats = self.receiver.stats
        return self.frames_rejected + stats.frames_lost + stats.damaged_packets

    def start(self) -> None:
        """Start the receiver and enable the capture path."""
        self.receiver.start()
        self.receiver.write_register(Register.COUNTER_CLEAR, 1)
        self.receiver.write_register(Register.CONTROL, int(ControlBits.ENABLE))

    def stop(self) -> None:
        self.receiver.stop()

    def _frame(self, cycle: int, tile: int, channel: int) -> np.ndarray:
        fc = self.recipe.flowcell
        try:
            frame = self.receiver.get_frame(timeout_s=self.frame_timeout_s)
        except queue.Empty:
            frame = None
        except Exception as exc:  # the receiver's typed errors (vanished device, ...)
            raise ImagingError(f"cycle {cycle} tile {tile} channel {channel}: {exc}") from exc
        if frame is None:
            self.frames_rejected += 1
            raise ImagingError(f"cycle {cycle} tile {tile} channel {channel}: no frame within "
                               f"{self.frame_timeout_s:.0f} s")
        h = frame.header
        problems = []
        if h.flags & BAD_FLAGS:
            problems.append(f"flags {FrameFlags(h.flags & BAD_FLAGS)!r}")
        if h.channel != channel:
            problems.append(f"channel {h.channel}, expected {channel}")
        if (h.height, h.width) != (fc.height_px, fc.width_px):
            problems.append(f"{h.width}x{h.height} px, expected {fc.width_px}x{fc.height_px}")
        if problems:
            self.frames_rejected += 1
            raise ImagingError(f"cycle {cycle} tile {tile} channel {channel}: bad frame "
                               f"{h.sequence}: " + "; ".join(problems))
        self.frames_received += 1
        self.bytes_received += h.payload_length
        return np.array(frame.pixels, dtype=np.uint16)  # copy out of the receive buffer

    def image_tile(self, cycle: int, tile: int) -> np.ndarray:
        """(channels, H, W) uint16 images of `tile` at `cycle`."""
        images = []
        for index, channel in enumerate(self.recipe.imaging.channels):
            self.receiver.write_register(Register.CHANNEL, index)
            exposure = channel.exposure_us
            program = {"exposure_us": exposure, "period_us": exposure + TRIGGER_GAP_US,
                       "pulse_count": 1, "laser_mask": 1 << index}
            self.on_event("command", name="trigger_program", output=TRIGGER_OUTPUT,
                          cycle=cycle, tile=tile, channel=index, **program)
            self.client.trigger_program(TRIGGER_OUTPUT, **program)
            self.client.trigger_arm(TRIGGER_OUTPUT)
            self.client.trigger_fire(TRIGGER_OUTPUT)
            if self.advance is not None:
                self.advance()
            images.append(self._frame(cycle, tile, index))
        self.on_event("imaged", cycle=cycle, tile=tile, frames=len(images))
        return np.stack(images)

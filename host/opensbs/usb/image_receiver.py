"""Image-link receiver: frames and register replies out of large bulk reads.

    receiver = open_camera(backend=None)              # or ImageReceiver(pyusb_device)
    receiver.start()                                  # reader thread
    receiver.write_register(Register.CONTROL, ControlBits.ENABLE)
    receiver.read_register(Register.FRAME_COUNT) -> int
    frame = receiver.get_frame(timeout_s=1.0)         # ImageFrame: header + pixels view
    receiver.subscribe(callback)                      # LinkEvent per gap, flag, error
    receiver.stats                                    # ReceiverStats counters
    receiver.stop()

The reader thread reads ``read_bytes`` (MiBs) per ``dev.read`` into a preallocated
``array('B')`` (a small pool, each reused once no frame views it); ``ImageStreamParser`` finds
the packets in it and decodes every frame that lies wholly inside the read in place, so its
``pixels`` are a read-only ``numpy.frombuffer`` view of the read buffer (no copy); only a
frame spanning two reads is copied once into its own buffer. Every frame's CRC is checked;
``SequenceTracker`` checks sequence continuity. Every gap (with the number of frames lost),
out-of-order or repeated frame (rejected), OVERFLOW and TRUNCATED flag, damaged packet and
skipped byte run is counted in ``stats`` and sent to subscribers as a LinkEvent. The reader
never blocks on the consumer (the link must keep draining so that register replies get
through): a good frame that finds ``queue_frames`` frames still waiting is discarded and
reported (QUEUE_FULL, ``stats.queue_full_drops``). A vanished device stops the reader;
``get_frame`` then raises DeviceVanishedError.
"""

import queue
import re
import sys
import threading
from array import array
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from enum import Enum

import usb.core

from ..protocol.errors import BadLengthError, BadSyncError, ProtocolError
from ..protocol.image import (
    IMAGE_CRC_BYTES,
    IMAGE_HEADER_BYTES,
    IMAGE_MAGIC,
    IMAGE_TRAILER_BYTES,
    MAX_PAYLOAD_BYTES,
    REGISTER_PACKET_BYTES,
    REGISTER_REPLY_MAGIC,
    FrameFlags,
    ImageFrame,
    ImageFrameHeader,
    RegisterAccess,
    RegisterOp,
    RegisterStatus,
    decode_image_frame,
    decode_image_header,
    decode_register_reply,
    encode_register_command,
)
from .errors import DeviceVanishedError, RegisterAccessError, TransportError
from .transport import usb_error, vendor_bulk_endpoints

MAX_FRAME_BYTES = IMAGE_HEADER_BYTES + MAX_PAYLOAD_BYTES + IMAGE_TRAILER_BYTES + IMAGE_CRC_BYTES
MAGICS = (IMAGE_MAGIC, REGISTER_REPLY_MAGIC)
MAGIC_SEARCH = re.compile(re.escape(IMAGE_MAGIC) + b"|" + re.escape(REGISTER_REPLY_MAGIC))
SEQUENCE_MODULUS = 1 << 32
RESTART_WINDOW = 1 << 16  # a sequence this far behind means the bridge restarted

Packet = ImageFrame | RegisterAccess


class SkippedBytes(BadSyncError):
    """A run of ``count`` bytes outside any packet was discarded."""

    def __init__(self, count: int) -> None:
        super().__init__(f"{count} bytes outside any packet skipped")
        self.count = count


def _is_magic_prefix(data: bytes) -> bool:
    return any(magic.startswith(data) for magic in MAGICS)


class ImageStreamParser:
    """Cuts the bridge's upstream byte stream into ImageFrames and register replies.

    ``feed(chunk)`` yields, in stream order, an ImageFrame or RegisterAccess for every good
    packet and a ProtocolError for every damaged one or run of bytes outside any packet; after
    damage it searches again from one byte past the bad magic, so a corrupt length never
    swallows the packets behind it. Frames claiming more than ``max_frame_bytes`` are damage.
    """

    def __init__(self, max_frame_bytes: int = MAX_FRAME_BYTES) -> None:
        self.max_frame_bytes = max_frame_bytes
        self._carry = bytearray()
        self._header: ImageFrameHeader | None = None

    @property
    def pending_bytes(self) -> int:
        return len(self._carry)

    def _length(self, head: bytes | bytearray | memoryview) -> int | None:
        """Total bytes of the packet starting ``head``; None until its header is complete.
        Keeps the decoded image header for ``_decode``."""
        magic = bytes(head[:4])
        self._header = None
        if magic == REGISTER_REPLY_MAGIC:
            return REGISTER_PACKET_BYTES
        if magic != IMAGE_MAGIC:
            raise BadSyncError(f"bad packet magic {magic.hex()}")
        if len(head) < IMAGE_HEADER_BYTES:
            return None
        header = decode_image_header(head[:IMAGE_HEADER_BYTES])
        if header.frame_bytes > self.max_frame_bytes:
            raise BadLengthError(f"frame of {header.frame_bytes} bytes exceeds "
                                 f"{self.max_frame_bytes}")
        self._header = header
        return header.frame_bytes

    def _decode(self, packet: bytes | bytearray | memoryview) -> Packet:
        """The packet whose length ``_length`` just gave."""
        if self._header is None:
            return decode_register_reply(packet)
        return decode_image_frame(packet, self._header)

    def feed(self, chunk: bytes | bytearray | memoryview) -> Iterator[Packet | ProtocolError]:
        view = memoryview(chunk).cast("B")
        if self._carry:
            view = yield from self._complete_carry(view)
            if self._carry:  # still incomplete: the whole chunk went into it
                return
        yield from self._scan(view)

    def _complete_carry(
        self, view: memoryview
    ) -> Generator[Packet | ProtocolError, None, memoryview]:
        """Finish the packet begun in an earlier chunk; returns the rest of ``view``."""
        carry, pos = self._carry, 0
        while True:
            try:
                total = self._length(carry) if len(carry) >= 4 else None
            except ProtocolError as exc:
                yield exc
                self._carry = bytearray()
                return memoryview(bytes(carry[1:]) + bytes(view[pos:]))
            want = total if total is not None else (4 if len(carry) < 4 else IMAGE_HEADER_BYTES)
            take = min(want - len(carry), len(view) - pos)
            carry += view[pos:pos + take]
            pos += take
            if len(carry) < want:
                return view[len(view):]
            if total is None:
                continue
            self._carry = bytearray()
            try:
                packet = self._decode(carry)
            except ProtocolError as exc:
                yield exc
                return memoryview(bytes(carry[1:]) + bytes(view[pos:]))
            yield packet
            return view[pos:]

    def _scan(self, view: memoryview) -> Iterator[Packet | ProtocolError]:
        pos, end = 0, len(view)
        while pos < end:
            if bytes(view[pos:pos + 4]) not in MAGICS:
                if end - pos < 4 and _is_magic_prefix(bytes(view[pos:])):
                    break
                found = MAGIC_SEARCH.search(view, pos + 1)
                start = found.start() if found else end
                if not found:  # keep a tail that may begin a magic
                    start = next(i for i in range(max(pos + 1, end - 3), end + 1)
                                 if _is_magic_prefix(bytes(view[i:])))
                yield SkippedBytes(start - pos)
                pos = start
                continue
            try:
                total = self._length(view[pos:])
            except ProtocolError as exc:
                yield exc
                pos += 1
                continue
            if total is None or pos + total > end:
                break
            try:
                packet = self._decode(view[pos:pos + total])
            except ProtocolError as exc:
                yield exc
                pos += 1
                continue
            yield packet
            pos += total
        self._carry = bytearray(view[pos:])


class LinkEventKind(Enum):
    GAP = "gap"  # frames missing before this one; count = how many
    OUT_OF_ORDER = "out_of_order"  # repeated or backwards sequence: frame rejected
    RESTART = "restart"  # sequence jumped far back: the bridge restarted
    OVERFLOW = "overflow"  # frame flagged OVERFLOW (FIFO overrun, pixels lost)
    TRUNCATED = "truncated"  # frame flagged TRUNCATED (sensor frame ended early)
    DAMAGED = "damaged"  # a packet failed its checks (CRC, header): detail says which
    SKIPPED = "skipped"  # bytes outside any packet were discarded
    VANISHED = "vanished"  # the device disappeared; the reader stopped
    QUEUE_FULL = "queue_full"  # the host consumer fell behind: a good frame was discarded


@dataclass(frozen=True)
class LinkEvent:
    kind: LinkEventKind
    sequence: int | None = None
    count: int = 1
    detail: str = ""


@dataclass
class ReceiverStats:
    frames: int = 0  # good frames handed to the consumer
    frame_bytes: int = 0
    gaps: int = 0
    frames_lost: int = 0
    out_of_order: int = 0
    restarts: int = 0
    overflow_frames: int = 0
    truncated_frames: int = 0
    damaged_packets: int = 0
    skipped_bytes: int = 0
    register_replies: int = 0
    register_retries: int = 0  # register commands sent again (no reply, or a damaged one)
    reads: int = 0
    queue_full_drops: int = 0


class SequenceTracker:
    """Frame-sequence continuity (u32, wrapping): accept, count gaps, reject repeats."""

    def __init__(self) -> None:
        self.expected: int | None = None

    def check(self, sequence: int) -> LinkEvent | None:
        """None: in order. GAP/RESTART: accept with that event. OUT_OF_ORDER: reject."""
        expected = self.expected
        ahead = 0 if expected is None else (sequence - expected) % SEQUENCE_MODULUS
        if ahead >= SEQUENCE_MODULUS // 2 and SEQUENCE_MODULUS - ahead <= RESTART_WINDOW:
            return LinkEvent(LinkEventKind.OUT_OF_ORDER, sequence,
                             detail=f"sequence {sequence}, expected {expected}")
        self.expected = (sequence + 1) % SEQUENCE_MODULUS
        if ahead == 0:
            return None
        if ahead < SEQUENCE_MODULUS // 2:
            return LinkEvent(LinkEventKind.GAP, expected, ahead,
                             f"frames {expected}..{sequence - 1} lost")
        return LinkEvent(LinkEventKind.RESTART, sequence, detail=f"expected {expected}")


class ReadBuffers:
    """Preallocated read buffers, each reused once no delivered frame views it any more."""

    POOL_REFS = 3  # the pool's list, the loop variable, getrefcount's own argument

    def __init__(self, size: int, keep: int = 4) -> None:
        self.size = size
        self.keep = keep
        self._pool: list[array[int]] = []

    def get(self) -> "array[int]":
        for buffer in self._pool:
            if sys.getrefcount(buffer) <= self.POOL_REFS:
                return buffer
        buffer = array("B", [0]) * self.size
        if len(self._pool) < self.keep:
            self._pool.append(buffer)
        return buffer


class ImageReceiver:
    """A reader thread on the camera bridge's bulk IN endpoint; see the module docstring."""

    def __init__(self, device: usb.core.Device, *, read_bytes: int = 8 << 20,
                 read_timeout_ms: int = 100, queue_frames: int = 32,
                 max_frame_bytes: int = MAX_FRAME_BYTES, register_timeout_s: float = 0.25,
                 register_retries: int = 4, in_endpoint: int | None = None,
                 out_endpoint: int | None = None) -> None:
        self.device = device
        self.read_bytes = read_bytes
        self.read_timeout_ms = read_timeout_ms
        self.register_timeout_s = register_timeout_s
        self.register_retries = register_retries
        found_out, found_in = vendor_bulk_endpoints(device)
        self.in_endpoint = found_in if in_endpoint is None else in_endpoint
        self.out_endpoint = found_out if out_endpoint is None else out_endpoint
        self.stats = ReceiverStats()
        self.frames: queue.Queue[ImageFrame] = queue.Queue(queue_frames)
        self.parser = ImageStreamParser(max_frame_bytes)
        self.sequence = SequenceTracker()
        self.error: TransportError | None = None
        self._subscribers: list[Callable[[LinkEvent], None]] = []
        self._replies: dict[int, RegisterAccess] = {}
        self._reply_ready = threading.Condition()
        self._register_lock = threading.Lock()
        self._tag = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> "ImageReceiver":
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._read_loop, name="image-link-reader",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None

    def __enter__(self) -> "ImageReceiver":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def subscribe(self, callback: Callable[[LinkEvent], None]) -> None:
        """Call ``callback(event)`` (on the reader thread) for every LinkEvent."""
        self._subscribers.append(callback)

    def get_frame(self, timeout_s: float | None = None) -> ImageFrame:
        """The next good frame; queue.Empty after ``timeout_s``; the reader's fatal error."""
        try:
            return self.frames.get(timeout=timeout_s)
        except queue.Empty:
            if self.error is not None:
                raise self.error from None
            raise

    # -- registers ---------------------------------------------------------------------------

    def write_register(self, address: int, value: int) -> int:
        """Write a register; returns the value the bridge reports."""
        return self._register(RegisterOp.WRITE, address, value)

    def read_register(self, address: int) -> int:
        return self._register(RegisterOp.READ, address, 0)

    def _register(self, op: RegisterOp, address: int, value: int) -> int:
        with self._register_lock:
            timeout_s = self.register_timeout_s
            for attempt in range(self.register_retries + 1):
                self.stats.register_retries += attempt > 0
                self._tag = (self._tag + 1) & 0xFF
                tag = self._tag
                try:
                    self.device.write(self.out_endpoint,
                                      encode_register_command(op, tag, int(address), int(value)),
                                      round(timeout_s * 1000))
                except usb.core.USBTimeoutError:
                    continue
                except usb.core.USBError as exc:
                    raise usb_error(exc, "register write") from exc
                reply = self._wait_reply(tag, timeout_s)
                timeout_s *= 2
                if reply is None or reply.status == RegisterStatus.BAD_CRC:
                    continue
                if reply.address != address:
                    continue
                if reply.status != RegisterStatus.OK:
                    raise RegisterAccessError(
                        f"bridge refused {op.name} of register 0x{address:02x}: "
                        f"{reply.status.name}")
                return reply.value
        if self.error is not None:
            raise self.error
        raise RegisterAccessError(f"no reply to {op.name} of register 0x{address:02x} after "
                                  f"{self.register_retries} retries: is the reader started?")

    def _wait_reply(self, tag: int, timeout_s: float) -> RegisterAccess | None:
        with self._reply_ready:
            self._reply_ready.wait_for(lambda: tag in self._replies or self.error is not None,
                                       timeout_s)
            return self._replies.pop(tag, None)

    # -- reader ------------------------------------------------------------------------------

    def _read_loop(self) -> None:
        buffers = ReadBuffers(self.read_bytes)
        buffer = buffers.get()
        while not self._stop.is_set():
            try:
                n = self.device.read(self.in_endpoint, buffer, self.read_timeout_ms)
            except usb.core.USBTimeoutError:
                continue
            except usb.core.USBError as exc:
                self._fail(usb_error(exc, "image read"))
                return
            self.stats.reads += 1
            if self._handle(memoryview(buffer)[:n]):
                buffer = buffers.get()  # delivered frames may still view the old one

    def _fail(self, error: TransportError) -> None:
        self.error = error
        with self._reply_ready:
            self._reply_ready.notify_all()
        if isinstance(error, DeviceVanishedError):
            self._emit(LinkEvent(LinkEventKind.VANISHED, detail=str(error)))

    def _handle(self, data: memoryview) -> bool:
        """Process one read; True if frames were delivered (they may view ``data``)."""
        delivered = False
        for item in self.parser.feed(data):
            if isinstance(item, ImageFrame):
                delivered = self._on_frame(item) or delivered
            elif isinstance(item, RegisterAccess):
                self.stats.register_replies += 1
                with self._reply_ready:
                    self._replies[item.tag] = item
                    self._reply_ready.notify_all()
            elif isinstance(item, SkippedBytes):
                self.stats.skipped_bytes += item.count
                self._emit(LinkEvent(LinkEventKind.SKIPPED, detail=str(item)))
            else:
                self.stats.damaged_packets += 1
                self._emit(LinkEvent(LinkEventKind.DAMAGED, detail=f"{type(item).__name__}: "
                                                                    f"{item}"))
        return delivered

    def _on_frame(self, frame: ImageFrame) -> bool:
        header = frame.header
        event = self.sequence.check(header.sequence)
        if event is not None:
            if event.kind is LinkEventKind.OUT_OF_ORDER:
                self.stats.out_of_order += 1
                self._emit(event)
                return False
            if event.kind is LinkEventKind.GAP:
                self.stats.gaps += 1
                self.stats.frames_lost += event.count
            else:
                self.stats.restarts += 1
            self._emit(event)
        if header.flags & FrameFlags.OVERFLOW:
            self.stats.overflow_frames += 1
            self._emit(LinkEvent(LinkEventKind.OVERFLOW, header.sequence))
        if header.flags & FrameFlags.TRUNCATED:
            self.stats.truncated_frames += 1
            self._emit(LinkEvent(LinkEventKind.TRUNCATED, header.sequence))
        try:
            self.frames.put_nowait(frame)
        except queue.Full:
            self.stats.queue_full_drops += 1
            self._emit(LinkEvent(LinkEventKind.QUEUE_FULL, header.sequence,
                                 detail=f"{self.frames.maxsize} frames waiting: frame dropped"))
            return False
        self.stats.frames += 1
        self.stats.frame_bytes += header.frame_bytes
        return True

    def _emit(self, event: LinkEvent) -> None:
        for callback in list(self._subscribers):
            callback(event)


"""Link measurements shared by `benchmarks/link.py`, `opensbs bench link` and the tests.

* ``parse_throughput``: parse + CRC of image frames already in memory (ImageStreamParser).
* ``receive_throughput``: frames/s and bytes/s through an ImageReceiver (the full pyusb path)
  with the bridge free-running its test pattern; works on hardware and on the virtual bus.
* ``control_soak`` / ``image_soak``: traffic through the virtual backend under seeded fault
  injection, checked end to end: every command ran exactly once or was reported failed, no
  damaged or out-of-order data was accepted, every lost frame was reported. The devices are
  the real ones: the firmware core on the simulated board (running in real time) and the
  capture model behind the camera bridge.
"""

import queue
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...protocol.control import ErrorCode, MsgType
from ...protocol.image import (
    IMAGE_CRC_BYTES,
    IMAGE_HEADER_BYTES,
    IMAGE_TRAILER_BYTES,
    ControlBits,
    ImageFrame,
    Register,
    encode_image_frame,
)
from ...usb.control_client import ControlClient
from ...usb.discovery import open_camera, open_controller
from ...usb.errors import CommandNakError, TransportError
from ...usb.image_receiver import ImageReceiver, ImageStreamParser, LinkEvent, LinkEventKind
from . import CameraBridge, FaultInjector, FaultRates, VirtualUsbBus

MIB = 1 << 20
FRAME_4MIB = (1024, 2048)  # (height, width): 4 MiB of u16 pixels
TEST_PATTERN_CONTROL = ControlBits.ENABLE | ControlBits.CROP | ControlBits.TEST_PATTERN


def frame_stream(frames: int, shape: tuple[int, int] = FRAME_4MIB, seed: int = 0) -> bytes:
    """``frames`` encoded image frames back to back (random 12-bit pixels)."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 4096, shape, dtype=np.uint16)
    return b"".join(encode_image_frame(pixels, sequence=i, trigger_id=i, timestamp_us=i,
                                       channel=0) for i in range(frames))


def parse_throughput(stream: bytes, read_bytes: int = 16 * MIB, passes: int = 4) -> float:
    """GB/s of ImageStreamParser over ``stream`` fed in ``read_bytes`` chunks (one core)."""
    view = memoryview(stream)
    best = 0.0
    for _ in range(passes):
        parser = ImageStreamParser()
        frames = 0
        t0 = time.perf_counter()
        for start in range(0, len(view), read_bytes):
            for item in parser.feed(view[start:start + read_bytes]):
                if not isinstance(item, ImageFrame):
                    raise RuntimeError(f"clean stream failed to parse: {item}")
                frames += 1
        elapsed = time.perf_counter() - t0
        best = max(best, len(stream) / elapsed / 1e9)
    return best


def receive_throughput(receiver: ImageReceiver, frames: int, warmup: int = 4,
                       timeout_s: float = 5.0) -> float:
    """GB/s of frames taken from a started ``receiver`` whose bridge is streaming."""
    for _ in range(warmup):
        receiver.get_frame(timeout_s)
    received = 0
    t0 = time.perf_counter()
    for _ in range(frames):
        received += receiver.get_frame(timeout_s).header.frame_bytes
    return received / (time.perf_counter() - t0) / 1e9


def start_test_pattern(receiver: ImageReceiver, width: int, height: int) -> None:
    """Set the ROI to ``width`` x ``height`` and free-run the bridge's test pattern."""
    receiver.write_register(Register.CONTROL, 0)
    receiver.write_register(Register.ROI_X, 0)
    receiver.write_register(Register.ROI_Y, 0)
    receiver.write_register(Register.ROI_WIDTH, width)
    receiver.write_register(Register.ROI_HEIGHT, height)
    receiver.write_register(Register.CONTROL, TEST_PATTERN_CONTROL)


def bandwidth_self_test(frames: int = 100, backend: Any = None, serial: str | None = None,
                        shape: tuple[int, int] = FRAME_4MIB,
                        read_bytes: int = 16 * MIB) -> tuple[float, ImageReceiver]:
    """Free-run the bridge's test pattern and measure receive GB/s; with ``backend=None``
    this is the camera bridge on real USB."""
    height, width = shape
    receiver = open_camera(serial, backend, read_bytes=read_bytes).start()
    try:
        start_test_pattern(receiver, width, height)
        gbps = receive_throughput(receiver, frames)
        receiver.write_register(Register.CONTROL, 0)
    finally:
        receiver.stop()
    return gbps, receiver


def virtual_bus_with_camera(shape: tuple[int, int] = FRAME_4MIB,
                            faults: FaultInjector | None = None
                            ) -> tuple[VirtualUsbBus, CameraBridge]:
    height, width = shape
    bus = VirtualUsbBus()
    camera = CameraBridge("BENCH-CAMERA", sensor_width=width, sensor_height=height)
    bus.attach(camera, faults=faults)
    return bus, camera


@dataclass
class ControlSoakResult:
    commands: int = 0
    succeeded: int = 0
    reported_failed: int = 0
    expected_naks: int = 0
    wrong_outcomes: int = 0  # a refused command not NAKed, or NAKed with another code
    executed_twice: int = 0
    succeeded_not_executed: int = 0
    unexpected_executions: int = 0
    corrupted_accepted: int = 0
    telemetry_frames: int = 0
    faults: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.wrong_outcomes or self.executed_twice or self.succeeded_not_executed
                    or self.unexpected_executions or self.corrupted_accepted)


def _soak_command(i: int) -> tuple[MsgType, dict[str, Any], ErrorCode | None]:
    """Command ``i`` of the soak: unique fields, every 50th one out of range. Each pump move
    (a small aspiration) is stopped two commands later, so none finds the pump busy."""
    kind = i % 4
    if i % 50 == 48:  # in place of a PING or a HEATER_SET, never of a stop
        return MsgType.VALVE_SELECT, {"valve": 0, "port": 200 + i % 50}, ErrorCode.OUT_OF_RANGE
    if kind == 0:
        return MsgType.PING, {"token": i}, None
    if kind == 1:
        return MsgType.PUMP_MOVE, {"pump": 0, "volume_nl": -(1 + i % 50),
                                   "rate_nl_per_s": 100_000 + i}, None
    if kind == 2:
        return MsgType.HEATER_SET, {"zone": i % 2, "enable": 1, "setpoint_mc": 20000 + i,
                                    "ramp_mc_per_s": 0}, None
    return MsgType.PUMP_STOP, {"pump": 0}, None


def control_soak(commands: int, rates: FaultRates, seed: int = 0,
                 reply_timeout_s: float = 0.02,
                 progress: Callable[[int], None] | None = None) -> ControlSoakResult:
    """``commands`` requests to the firmware on a simulated board (real time) under faults on
    both directions, then its execution log is checked against what the client saw."""
    from ..board.device import SimBoardDevice  # noqa: PLC0415 - the board imports sim.usb
    from ..board.sim_board import SimBoard  # noqa: PLC0415

    bus = VirtualUsbBus()
    board = SimBoard("pico", record_requests=True)
    injector = FaultInjector(out=rates, in_=rates, seed=seed, delay_s=0.001)
    bus.attach(SimBoardDevice(board, "SOAK-CONTROLLER"), faults=injector)
    result = ControlSoakResult()
    board.start_realtime(speed=1.0)
    sent: list[tuple[MsgType, dict[str, Any], bool]] = []
    try:
        client = _connect(bus, reply_timeout_s)
        client.subscribe(lambda _: _count(result), {MsgType.TELEMETRY})
        for i in range(commands):
            msg_type, fields, expected_nak = _soak_command(i)
            succeeded = _run_soak_command(client, msg_type, fields, expected_nak, result)
            if expected_nak is None:
                sent.append((msg_type, fields, succeeded))
            if progress is not None and i % 1000 == 999:
                progress(i + 1)
        client.close()
    finally:
        board.stop_realtime()
    result.commands = commands
    assert board.executed is not None
    _check_execution_log(board.executed, sent, result)
    result.faults = {f"{d}:{k.value}": n for (d, k), n in sorted(
        injector.counts.items(), key=lambda item: (item[0][0], item[0][1].value))}
    return result


def _count(result: ControlSoakResult) -> None:
    result.telemetry_frames += 1


def _connect(bus: VirtualUsbBus, reply_timeout_s: float) -> ControlClient:
    for _ in range(10):
        try:
            return open_controller(backend=bus.backend, reply_timeout_s=reply_timeout_s,
                                   max_retries=8, backoff=1.5)
        except TransportError:
            continue
    raise TransportError("could not connect to the soak controller")


def _run_soak_command(client: ControlClient, msg_type: MsgType, fields: dict[str, Any],
                      expected_nak: ErrorCode | None, result: ControlSoakResult) -> bool:
    try:
        reply = client.request(msg_type, fields)
    except CommandNakError as exc:
        if expected_nak is not None and exc.error == expected_nak:
            result.expected_naks += 1
        else:
            result.wrong_outcomes += 1
        return False
    except TransportError:
        result.reported_failed += 1
        return False
    if expected_nak is not None:
        result.wrong_outcomes += 1
    if msg_type == MsgType.PING and reply.fields["token"] != fields["token"]:
        result.corrupted_accepted += 1
    result.succeeded += 1
    return True


def _check_execution_log(log: list[tuple[int, dict[str, Any]]],
                         sent: list[tuple[MsgType, dict[str, Any], bool]],
                         result: ControlSoakResult) -> None:
    executed = [(t, f) for t, f in log if t != MsgType.IDENTIFY]
    j = 0
    for msg_type, fields, succeeded in sent:
        runs = 0
        while j < len(executed) and executed[j] == (msg_type, fields):
            runs += 1
            j += 1
        if runs > 1:
            result.executed_twice += 1
        if succeeded and runs == 0:
            result.succeeded_not_executed += 1
    result.unexpected_executions = len(executed) - j
    result.corrupted_accepted += result.unexpected_executions


@dataclass
class ImageSoakResult:
    frames_sent: int = 0
    frames_accepted: int = 0
    frames_reported_lost: int = 0
    lost_unreported: int = 0
    corrupted_accepted: int = 0
    out_of_order_accepted: int = 0
    out_of_order_rejected: int = 0
    damaged_packets: int = 0
    flagged_sent: int = 0
    flagged_accepted: int = 0
    flagged_reported: int = 0  # OVERFLOW/TRUNCATED events for accepted flagged frames
    register_failures: int = 0
    faults: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.lost_unreported or self.corrupted_accepted or
                    self.out_of_order_accepted or self.flagged_reported != self.flagged_accepted)


def image_soak(frames: int, rates: FaultRates, seed: int = 0,
               shape: tuple[int, int] = (64, 128), read_bytes: int | None = None,
               timeout_s: float = 30.0) -> ImageSoakResult:
    """``frames`` test-pattern frames (plus one clean sentinel that reveals trailing losses)
    through the virtual bridge under faults; every accepted frame is checked pixel by pixel.
    ``read_bytes`` defaults to one frame's size, so each fault hits one or two frames."""
    injector = FaultInjector(out=rates, in_=rates, seed=seed, delay_s=0.001)
    bus, camera = virtual_bus_with_camera(shape, injector)
    camera.frame_limit = frames
    flagged = list(range(5, frames, 97))  # odd: the FIFO overruns; even: the frame is short
    for s in flagged:
        if s % 2:
            camera.fifo_overflow[s] = shape[0] * shape[1] // 3
        else:
            camera.truncate[s] = shape[0] // 2
    result = ImageSoakResult(frames_sent=frames + 1, flagged_sent=len(flagged))
    events: list[LinkEvent] = []
    if read_bytes is None:
        read_bytes = (IMAGE_HEADER_BYTES + 2 * shape[0] * shape[1] + IMAGE_TRAILER_BYTES
                      + IMAGE_CRC_BYTES)
    receiver = open_camera(backend=bus.backend, read_bytes=read_bytes, read_timeout_ms=20,
                           register_timeout_s=0.02, register_retries=10,
                           queue_frames=frames + 1)
    receiver.subscribe(events.append)
    accepted: list[ImageFrame] = []
    with receiver:
        try:
            start_test_pattern(receiver, shape[1], shape[0])
        except TransportError:
            result.register_failures += 1
            for register, value in ((Register.ROI_WIDTH, shape[1]),
                                    (Register.ROI_HEIGHT, shape[0]),
                                    (Register.CONTROL, TEST_PATTERN_CONTROL)):
                camera.force_register(register, value)
        deadline = time.monotonic() + timeout_s
        while camera.register(Register.FRAME_COUNT) < frames and time.monotonic() < deadline:
            _drain(receiver, accepted)
        injector.enabled = False
        camera.frame_limit = frames + 1  # the sentinel: reveals losses at the end
        while time.monotonic() < deadline:
            _drain(receiver, accepted)
            if accepted and accepted[-1].header.sequence == frames:
                break
    _check_frames(camera, accepted, result)
    result.flagged_accepted = sum(f.header.sequence in flagged for f in accepted)
    result.frames_reported_lost = receiver.stats.frames_lost + receiver.stats.queue_full_drops
    result.lost_unreported = result.frames_sent - result.frames_accepted - \
        result.frames_reported_lost
    result.out_of_order_rejected = receiver.stats.out_of_order
    result.damaged_packets = receiver.stats.damaged_packets
    result.flagged_reported = sum(e.kind in (LinkEventKind.OVERFLOW, LinkEventKind.TRUNCATED)
                                  and e.sequence in flagged for e in events)
    result.faults = {f"{d}:{k.value}": n for (d, k), n in sorted(
        injector.counts.items(), key=lambda item: (item[0][0], item[0][1].value))}
    return result


def _drain(receiver: ImageReceiver, accepted: list[ImageFrame]) -> None:
    try:
        accepted.append(receiver.get_frame(0.05))
    except queue.Empty:
        pass


def _check_frames(camera: CameraBridge, accepted: list[ImageFrame],
                  result: ImageSoakResult) -> None:
    previous = -1
    pattern = camera.expected_pixels().reshape(-1)
    for frame in accepted:
        sequence = frame.header.sequence
        if sequence <= previous:
            result.out_of_order_accepted += 1
        previous = sequence
        pixels = frame.pixels.reshape(-1)
        delivered = frame.header.delivered_pixels
        if not np.array_equal(pixels[:delivered], pattern[:delivered]) or \
                pixels[delivered:].any() or frame.header.trigger_id != sequence + 1:
            result.corrupted_accepted += 1
    result.frames_accepted = len(accepted)

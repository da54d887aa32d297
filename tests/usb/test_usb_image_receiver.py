"""Image-link receiver and camera bridge: frames, registers, gaps, flags, damage, vanishing."""

import queue
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opensbs.protocol.errors import BadCrcError
from opensbs.protocol.image import (
    REGISTER_ID_VALUE,
    VERSION_REGISTER_VALUE,
    ControlBits,
    FrameFlags,
    ImageFrame,
    Register,
    RegisterAccess,
    RegisterStatus,
    StatusBits,
    encode_image_frame,
    encode_register_reply,
)
from opensbs.sim.usb import CameraBridge, FaultInjector, FaultRates, VirtualUsbBus
from opensbs.sim.usb.linkbench import image_soak
from opensbs.usb import (
    DeviceVanishedError,
    ImageReceiver,
    ImageStreamParser,
    LinkEvent,
    LinkEventKind,
    RegisterAccessError,
    open_camera,
)
from opensbs.usb.image_receiver import SequenceTracker, SkippedBytes

SHAPE = (6, 16)  # (height, width)


FREE_RUN = ControlBits.ENABLE | ControlBits.TEST_PATTERN


def camera_link(read_bytes: int = 4096, faults: FaultInjector | None = None,
                **bridge: int) -> tuple[VirtualUsbBus, CameraBridge, ImageReceiver]:
    """The capture model behind the virtual bridge, a 64x32 sensor by default."""
    bus = VirtualUsbBus()
    camera = CameraBridge("CAM-1", sensor_width=bridge.pop("sensor_width", 64),
                          sensor_height=bridge.pop("sensor_height", 32), **bridge)
    bus.attach(camera, faults=faults)
    receiver = open_camera(backend=bus.backend, read_bytes=read_bytes, read_timeout_ms=10,
                           register_timeout_s=0.05)
    return bus, camera, receiver


def test_register_file_access_and_errors() -> None:
    _, camera, receiver = camera_link()
    with receiver:
        assert receiver.read_register(Register.ID) == REGISTER_ID_VALUE
        assert receiver.read_register(Register.VERSION) == VERSION_REGISTER_VALUE
        assert receiver.write_register(Register.CHANNEL, 3) == 3
        assert camera.register(Register.CHANNEL) == 3
        for address, value, status in [
            (Register.FRAME_COUNT, 1, RegisterStatus.READ_ONLY),
            (0x40, 0, RegisterStatus.BAD_ADDRESS),
            (Register.ROI_WIDTH, 63, RegisterStatus.BAD_VALUE),  # odd
            (Register.ROI_WIDTH, 128, RegisterStatus.BAD_VALUE),  # wider than the sensor
            (Register.CONTROL, 1 << 7, RegisterStatus.BAD_VALUE),
            (Register.COUNTER_CLEAR, 2, RegisterStatus.BAD_VALUE),
            (Register.ROI_X, 64, RegisterStatus.BAD_VALUE),  # past the sensor
        ]:
            with pytest.raises(RegisterAccessError, match=status.name):
                receiver.write_register(address, value)
        # the RTL's rules, which the old stand-in bridge refused: both are OK
        assert receiver.write_register(Register.ROI_X, 16) == 16
        assert receiver.write_register(Register.COUNTER_CLEAR, 0) == 0
        assert receiver.stats.register_replies == 12


def test_submitted_frames_arrive_intact_as_read_only_views() -> None:
    _, camera, receiver = camera_link(read_bytes=1000)  # frames span several reads
    rng = np.random.default_rng(5)
    images = [rng.integers(0, 4096, (32, 64), dtype=np.uint16) for _ in range(5)]
    with receiver:
        assert not camera.submit_frame(images[0], timestamp_us=1)  # not enabled: no frame
        receiver.write_register(Register.CHANNEL, 2)
        receiver.write_register(Register.CONTROL, ControlBits.ENABLE)
        for i, image in enumerate(images):
            assert camera.submit_frame(image, timestamp_us=7 * i)
        frames = [receiver.get_frame(2.0) for _ in images]
        assert receiver.read_register(Register.FRAME_COUNT) == 5
        assert receiver.read_register(Register.DROP_COUNT) == 0  # disabled is not a drop
        assert receiver.read_register(Register.TRIGGER_COUNT) == 6
    for i, (frame, image) in enumerate(zip(frames, images, strict=True)):
        h = frame.header
        assert (h.sequence, h.trigger_id, h.timestamp_us, h.channel, h.width, h.height) == \
            (i, 2 + i, 7 * i, 2, 64, 32)
        np.testing.assert_array_equal(frame.pixels, image)
        assert not frame.pixels.flags.writeable and not frame.pixels.flags.owndata
    assert receiver.stats.frames == 5 and receiver.stats.frames_lost == 0


def test_frames_inside_one_read_are_views_of_the_read_buffer() -> None:
    _, camera, receiver = camera_link(read_bytes=1 << 20)
    with receiver:
        receiver.write_register(Register.CONTROL, FREE_RUN)
        frame = receiver.get_frame(2.0)
        expected = camera.expected_pixels()
    owner = frame.pixels.base
    while not isinstance(owner, memoryview):
        owner = owner.base
    assert type(owner.obj).__name__ == "array"  # the pyusb read buffer, no copy
    np.testing.assert_array_equal(frame.pixels, expected)
    y, x = np.ogrid[:32, :64]
    np.testing.assert_array_equal(expected, (x + 16 * y) % 4096)  # the RTL's test pattern


def test_roi_binning_and_test_pattern_geometry() -> None:
    _, camera, receiver = camera_link()
    with receiver:
        receiver.write_register(Register.ROI_WIDTH, 32)
        receiver.write_register(Register.ROI_HEIGHT, 16)
        receiver.write_register(Register.CONTROL, FREE_RUN | ControlBits.CROP
                                | ControlBits.BINNING_2X2)
        frame = receiver.get_frame(2.0)
    assert frame.pixels.shape == (8, 16)
    assert frame.header.flags & FrameFlags.BINNED and frame.header.flags & FrameFlags.TEST_PATTERN
    assert frame.header.flags & FrameFlags.CROPPED and frame.header.bits_per_pixel == 14


def test_gaps_flags_and_repeats_are_reported() -> None:
    _, camera, receiver = camera_link(frame_limit=4)
    events: list[LinkEvent] = []
    receiver.subscribe(events.append)
    camera.fifo_overflow[2] = 100  # the FIFO overruns after 100 pixels
    camera.truncate[3] = 20  # the sensor frame ends after 20 of 32 rows

    def next_frames(count: int, limit: int) -> list[int]:
        with camera._lock:
            camera.frame_limit = limit
            camera._lock.notify_all()
        return [receiver.get_frame(2.0).header.sequence for _ in range(count)]

    with receiver:
        receiver.write_register(Register.CONTROL, FREE_RUN)
        got = next_frames(4, 4)  # 0..3
        camera.lose_frames(3)  # 4, 5, 6 never reach the host
        got += next_frames(2, 9)  # 7, 8
        camera.replay_frames(2)  # 7, 8 again (rejected), then 9, 10
        got += next_frames(2, 11)
        assert receiver.read_register(Register.OVERFLOW_COUNT) == 1
        assert receiver.read_register(Register.DROP_COUNT) == 2
        assert receiver.read_register(Register.FRAME_COUNT) == 11
        assert receiver.read_register(Register.STATUS) & StatusBits.FIFO_OVERFLOW_SEEN
    assert got == [0, 1, 2, 3, 7, 8, 9, 10]
    kinds = [(e.kind, e.sequence, e.count) for e in events]
    assert (LinkEventKind.OVERFLOW, 2, 1) in kinds and (LinkEventKind.TRUNCATED, 3, 1) in kinds
    assert (LinkEventKind.GAP, 4, 3) in kinds
    assert [k for k in kinds if k[0] is LinkEventKind.OUT_OF_ORDER] == [
        (LinkEventKind.OUT_OF_ORDER, 7, 1), (LinkEventKind.OUT_OF_ORDER, 8, 1)]
    s = receiver.stats
    assert (s.gaps, s.frames_lost, s.out_of_order, s.overflow_frames, s.truncated_frames) == \
        (1, 3, 2, 1, 1)


def test_a_stalled_consumer_costs_reported_frames_not_register_access() -> None:
    _, camera, receiver = camera_link(read_bytes=1 << 20)
    receiver.frames = queue.Queue(2)
    events: list[LinkEvent] = []
    receiver.subscribe(events.append)
    with receiver:
        receiver.write_register(Register.CONTROL, FREE_RUN)
        time.sleep(0.05)  # nobody takes frames
        assert receiver.read_register(Register.ID) == REGISTER_ID_VALUE
        receiver.write_register(Register.CONTROL, 0)
    assert receiver.stats.queue_full_drops > 0
    assert any(e.kind is LinkEventKind.QUEUE_FULL for e in events)


def test_sequence_tracker_wraps_and_detects_restart() -> None:
    tracker = SequenceTracker()
    assert tracker.check(2**32 - 2) is None
    assert tracker.check(2**32 - 1) is None
    assert tracker.check(0) is None  # wrap
    gap = tracker.check(5)
    assert gap is not None and (gap.kind, gap.sequence, gap.count) == (LinkEventKind.GAP, 1, 4)
    repeat = tracker.check(5)
    assert repeat is not None and repeat.kind is LinkEventKind.OUT_OF_ORDER
    tracker.check(1_000_000)
    restart = tracker.check(0)
    assert restart is not None and restart.kind is LinkEventKind.RESTART


def stream_of_packets() -> tuple[bytes, list[bytes]]:
    rng = np.random.default_rng(1)
    packets = []
    for i in range(4):
        packets.append(encode_image_frame(rng.integers(0, 4096, SHAPE, dtype=np.uint16),
                                          sequence=i, trigger_id=i, timestamp_us=i, channel=0))
        packets.append(encode_register_reply(i, 8, i))
    return b"".join(packets), packets


def packet_bytes(item: ImageFrame | RegisterAccess) -> bytes:
    if isinstance(item, RegisterAccess):
        return encode_register_reply(item.tag, item.address, item.value, item.status)
    h = item.header
    return encode_image_frame(item.pixels, sequence=h.sequence, trigger_id=h.trigger_id,
                              timestamp_us=h.timestamp_us, channel=h.channel,
                              bits_per_pixel=h.bits_per_pixel, flags=h.flags,
                              delivered_pixels=h.delivered_pixels)


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_parser_reassembles_any_split(data: st.DataObject) -> None:
    stream, packets = stream_of_packets()
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    parser = ImageStreamParser()
    out = []
    for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        out += list(parser.feed(stream[a:b]))
    assert [packet_bytes(p) for p in out] == packets  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_parser_never_accepts_damaged_packets(data: st.DataObject) -> None:
    """Random damage: only byte-exact original packets come out, in order."""
    stream, packets = stream_of_packets()
    damaged = bytearray(stream)
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(stream) - 1))
        damaged[i] ^= data.draw(st.integers(1, 255))
    if data.draw(st.booleans()):
        a = data.draw(st.integers(0, len(damaged)))
        del damaged[a:a + data.draw(st.integers(0, 300))]
    parser = ImageStreamParser(max_frame_bytes=4096)
    out = []
    step = data.draw(st.integers(1, 500))
    for a in range(0, len(damaged), step):
        for item in parser.feed(bytes(damaged[a:a + step])):
            if isinstance(item, ImageFrame | RegisterAccess):
                out.append(packet_bytes(item))
    positions = [packets.index(p) for p in out]
    assert positions == sorted(set(positions))


def test_parser_reports_damage_and_recovers_the_next_frame() -> None:
    stream, packets = stream_of_packets()
    damaged = bytearray(stream)
    damaged[60] ^= 0x01  # inside frame 0's pixels
    items = list(ImageStreamParser().feed(b"xyz" + bytes(damaged)))
    assert isinstance(items[0], SkippedBytes) and items[0].count == 3
    assert isinstance(items[1], BadCrcError)
    good = [packet_bytes(i) for i in items if isinstance(i, ImageFrame | RegisterAccess)]
    assert good == packets[1:]


def test_vanished_bridge_stops_the_reader_with_a_typed_error() -> None:
    bus, camera, receiver = camera_link()
    events: list[LinkEvent] = []
    receiver.subscribe(events.append)
    with receiver:
        receiver.write_register(Register.CONTROL, FREE_RUN)
        receiver.get_frame(2.0)
        bus.detach(camera)
        deadline = time.monotonic() + 2
        with pytest.raises(DeviceVanishedError):
            while time.monotonic() < deadline:
                receiver.get_frame(0.05)
        with pytest.raises(DeviceVanishedError):
            receiver.read_register(Register.ID)
    assert events[-1].kind is LinkEventKind.VANISHED


def test_register_access_survives_lost_commands_and_replies() -> None:
    faults = FaultInjector(out=FaultRates(drop=0.3), in_=FaultRates(drop=0.3), seed=2)
    _, camera, receiver = camera_link(faults=faults)
    receiver.register_retries = 12
    with receiver:
        for channel in range(10):
            assert receiver.write_register(Register.CHANNEL, channel) == channel
    assert faults.total() > 3


def test_image_soak_small() -> None:
    """300 frames, 2% drops, corruption, duplicates and truncation on both directions."""
    rates = FaultRates(drop=0.02, corrupt=0.02, duplicate=0.02, truncate=0.02)
    result = image_soak(300, rates, seed=4)
    assert result.ok, result
    assert result.frames_accepted + result.frames_reported_lost == result.frames_sent == 301
    assert result.frames_reported_lost > 0 and result.corrupted_accepted == 0
    assert result.flagged_reported == result.flagged_accepted > 0


def test_image_soak_duplicates_are_rejected_when_reads_hold_whole_frames() -> None:
    result = image_soak(200, FaultRates(duplicate=0.05), seed=1, read_bytes=64 * 1024)
    assert result.ok, result
    assert result.out_of_order_rejected > 0 and result.frames_reported_lost == 0


def test_get_frame_times_out_with_queue_empty() -> None:
    _, _, receiver = camera_link()
    with receiver, pytest.raises(queue.Empty):
        receiver.get_frame(0.02)

"""Property tests: every message round-trips; bad bytes raise ProtocolError, nothing else."""

from typing import Any

import numpy as np
import pytest
from construct import FocusedSeq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opensbs.protocol import control as c
from opensbs.protocol import image as im
from opensbs.protocol.crc import crc16_ccitt, crc32, crc32_combine, crc32_shift_operator
from opensbs.protocol.errors import BadCrcError, BadLengthError, ProtocolError

U8 = st.integers(0, 0xFF)
U16 = st.integers(0, 0xFFFF)
U32 = st.integers(0, 0xFFFFFFFF)
S32 = st.integers(-(2**31), 2**31 - 1)
TEXT = st.text(max_size=40).filter(lambda s: len(s.encode()) <= c.MAX_TEXT_BYTES)
BOARD_ID = st.text(max_size=10).filter(lambda s: len(s.encode()) <= c.MAX_BOARD_ID_BYTES)


INTS = {"<B": U8, "<H": U16, "<L": U32, "<l": S32}


def struct_strategy(struct: Any) -> st.SearchStrategy[dict[str, Any]]:
    """Fields of a construct Struct drawn over each field's full wire range."""
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for sub in struct.subcons:
        inner = sub.subcon
        if sub.name == "text":
            fields[sub.name] = TEXT
        elif sub.name == "board_id":
            fields[sub.name] = BOARD_ID
        elif isinstance(inner, FocusedSeq):  # PrefixedArray(Int8ul, Struct)
            fields[sub.name] = st.lists(struct_strategy(inner.subcons[1].subcon.subcon),
                                        max_size=4)
        else:
            fields[sub.name] = INTS[inner.fmtstr]
    return st.fixed_dictionaries(fields)


def message_strategy(msg_type: c.MsgType) -> st.SearchStrategy[dict[str, Any]]:
    return struct_strategy(c.MESSAGES[msg_type])


@pytest.mark.parametrize("msg_type", list(c.MsgType), ids=lambda t: t.name)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), seq=U8, ack=U8)
def test_every_message_round_trips(msg_type: c.MsgType, data: st.DataObject, seq: int,
                                   ack: int) -> None:
    fields = data.draw(message_strategy(msg_type))
    frame_bytes = c.encode_frame(msg_type, fields, seq=seq, ack=ack)
    frame = c.decode_frame(frame_bytes)
    assert (frame.msg_type, frame.seq, frame.ack) == (msg_type, seq, ack)
    assert frame.fields == fields
    assert c.encode_frame(frame.msg_type, frame.fields, seq, ack) == frame_bytes


@pytest.mark.parametrize("msg_type", list(c.MsgType), ids=lambda t: t.name)
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_every_message_survives_the_splitter_in_pieces(msg_type: c.MsgType,
                                                       data: st.DataObject) -> None:
    frames = [c.encode_frame(msg_type, data.draw(message_strategy(msg_type)), seq=i)
              for i in range(3)]
    stream = b"".join(frames)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    splitter = c.FrameSplitter()
    out = []
    for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        out += list(splitter.feed(stream[a:b]))
    assert [c.encode_frame(f.msg_type, f.fields, f.seq, f.ack) for f in out] == frames


def _accepts_only_valid_control(data: bytes) -> None:
    try:
        frame = c.decode_frame(data)
    except ProtocolError:
        return
    assert c.encode_frame(frame.msg_type, frame.fields, frame.seq, frame.ack,
                          boot_id=frame.boot_id) == data


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_into_decode_frame(data: bytes) -> None:
    _accepts_only_valid_control(data)


@settings(max_examples=150, deadline=None)
@given(msg_type=st.sampled_from(list(c.MsgType)), payload=st.binary(max_size=80))
def test_random_payloads_in_valid_frames(msg_type: c.MsgType, payload: bytes) -> None:
    """A correct frame (sync, length, CRC) around a random payload: decoded only if valid."""
    body = c.FrameHeader.build({"version": c.PROTOCOL_VERSION, "msg_type": msg_type, "seq": 1,
                                "ack": 2, "boot_id": 3, "length": len(payload)})[2:]
    body += payload
    _accepts_only_valid_control(c.SYNC + body + crc16_ccitt(body).to_bytes(2, "little"))


GOLDEN_FRAMES = [c.encode_frame(t, f, seq=3, ack=4, boot_id=9) for t, f in [
    (c.MsgType.PING, {"token": 7}),
    (c.MsgType.LOG, {"level": 20, "text": "hello"}),
    (c.MsgType.IDENTIFY_REPLY, {"protocol_version": 2, "fw_major": 0, "fw_minor": 1,
                                "fw_patch": 0, "protocol_hash": 0x12345678, "board_id": "pico",
                                "board_config_crc": 5, "boot_id": 9,
                                "heartbeat_timeout_ms": 3000, "control_period_ms": 100,
                                "telemetry_period_ms": 1000, "frame_silence_ms": 20,
                                "heaters": [{"min_setpoint_mc": 4000, "max_setpoint_mc": 98000,
                                             "max_ramp_mc_per_s": 5000}],
                                "pumps": [], "valves": [{"ports": 24}], "triggers": []}),
]]


@settings(max_examples=150, deadline=None)
@given(frame=st.sampled_from(GOLDEN_FRAMES), data=st.data())
def test_mutated_control_frames_are_rejected(frame: bytes, data: st.DataObject) -> None:
    """Any damage within two adjacent bytes (a burst CRC16 always catches), a cut or an
    extension is rejected."""
    mutated = bytearray(frame)
    kind = data.draw(st.sampled_from(["flip", "cut", "extend"]))
    if kind == "flip":
        i = data.draw(st.integers(0, len(frame) - 2))
        mutated[i] ^= data.draw(st.integers(1, 255))
        mutated[i + 1] ^= data.draw(st.integers(0, 255))
    elif kind == "cut":
        mutated = mutated[: data.draw(st.integers(0, len(frame) - 1))]
    else:
        mutated += data.draw(st.binary(min_size=1, max_size=8))
    with pytest.raises(ProtocolError):
        c.decode_frame(bytes(mutated))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=8))
def test_splitter_on_random_chunks_yields_only_typed_results(chunks: list[bytes]) -> None:
    splitter = c.FrameSplitter(stale_after_s=0.01)
    for i, chunk in enumerate(chunks):
        for item in splitter.feed(chunk, now_s=i * 0.02):
            if isinstance(item, c.ControlFrame):
                raw = c.encode_frame(item.msg_type, item.fields, item.seq, item.ack)
                assert raw in b"".join(chunks)
            else:
                assert isinstance(item, ProtocolError)


def test_splitter_recovers_frames_after_garbage_and_damage() -> None:
    good = [c.encode_frame(c.MsgType.PING, {"token": i}, seq=i) for i in range(4)]
    damaged = bytearray(good[1])
    damaged[9] ^= 0x40
    stream = b"\x00\xa5junk" + good[0] + bytes(damaged) + good[2] + b"\xa5" + good[3]
    items = list(c.FrameSplitter().feed(stream))
    frames = [i for i in items if isinstance(i, c.ControlFrame)]
    assert [f.fields["token"] for f in frames] == [0, 2, 3]
    crc_errors = [i for i in items if isinstance(i, BadCrcError)]
    assert len(crc_errors) == 1 and crc_errors[0].frame == bytes(damaged)


def test_splitter_abandons_a_frame_left_incomplete_across_a_silence() -> None:
    """A length field damaged upwards must not swallow the retransmission behind it."""
    request = c.encode_frame(c.MsgType.PING, {"token": 1}, seq=5)
    inflated = bytearray(request)
    inflated[c.HEADER_BYTES - 2] = 200  # the length field (last in the header): 200 bytes
    splitter = c.FrameSplitter(stale_after_s=0.005)
    assert not [i for i in splitter.feed(bytes(inflated), now_s=1.0)
                if isinstance(i, c.ControlFrame)]
    items = list(splitter.feed(request, now_s=1.1))  # the retransmission, 100 ms later
    frames = [i for i in items if isinstance(i, c.ControlFrame)]
    assert [f.fields["token"] for f in frames] == [1]
    assert any(isinstance(i, BadLengthError) and "silence" in str(i) for i in items)
    # without the silence the same bytes wait for the claimed length
    splitter = c.FrameSplitter(stale_after_s=0.005)
    list(splitter.feed(bytes(inflated), now_s=1.0))
    assert not [i for i in splitter.feed(request, now_s=1.001)
                if isinstance(i, c.ControlFrame)]


@settings(max_examples=50, deadline=None)
@given(a=st.binary(max_size=100), b=st.binary(max_size=3000))
def test_crc32_combine_matches_crc_of_concatenation(a: bytes, b: bytes) -> None:
    assert crc32_combine(crc32(a), crc32(b), crc32_shift_operator(len(b))) == crc32(a + b)


def test_crc_check_values() -> None:
    assert crc16_ccitt(b"123456789") == 0x29B1
    assert crc32(b"123456789") == 0xCBF43926


# -- image link -------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(width=st.integers(1, 16).map(lambda w: 2 * w), height=st.integers(1, 8),
       seed=st.integers(0, 2**32 - 1), sequence=U32, trigger_id=U32,
       timestamp_us=st.integers(0, 2**64 - 1), channel=U8, bpp=st.integers(8, 16),
       flags=st.integers(0, im.ALL_FRAME_FLAGS), delivered_fraction=st.floats(0, 1))
def test_image_frames_round_trip(width: int, height: int, seed: int, sequence: int,
                                 trigger_id: int, timestamp_us: int, channel: int, bpp: int,
                                 flags: int, delivered_fraction: float) -> None:
    pixels = np.random.default_rng(seed).integers(0, 1 << bpp, (height, width), dtype=np.uint16)
    delivered = int(delivered_fraction * pixels.size) if flags & im.STATUS_FLAGS else pixels.size
    data = im.encode_image_frame(pixels, sequence=sequence, trigger_id=trigger_id,
                                 timestamp_us=timestamp_us, channel=channel,
                                 bits_per_pixel=bpp, flags=flags, delivered_pixels=delivered)
    assert int.from_bytes(data[6:8], "little") == flags & im.HEADER_FLAGS
    assert len(data) == 36 + pixels.nbytes + 8 + 4
    frame = im.decode_image_frame(data)
    h = frame.header
    assert (h.sequence, h.trigger_id, h.timestamp_us, h.channel, h.bits_per_pixel, int(h.flags),
            h.delivered_pixels) \
        == (sequence, trigger_id, timestamp_us, channel, bpp, flags, delivered)
    np.testing.assert_array_equal(frame.pixels, pixels)
    assert not frame.pixels.flags.writeable


@settings(max_examples=60, deadline=None)
@given(op=st.sampled_from(list(im.RegisterOp)), tag=U8, address=U16, value=U32,
       status=st.sampled_from(list(im.RegisterStatus)))
def test_register_packets_round_trip(op: im.RegisterOp, tag: int, address: int, value: int,
                                     status: im.RegisterStatus) -> None:
    command = im.decode_register_command(im.encode_register_command(op, tag, address, value))
    assert (command.op, command.tag, command.address, command.value) == (op, tag, address, value)
    reply = im.decode_register_reply(im.encode_register_reply(tag, address, value, status))
    assert (reply.tag, reply.address, reply.value, reply.status) == (tag, address, value, status)


IMAGE_GOOD = im.encode_image_frame(np.arange(24, dtype=np.uint16).reshape(3, 8), sequence=4,
                                   trigger_id=5, timestamp_us=6, channel=1)
REGISTER_GOOD = [im.encode_register_command(im.RegisterOp.WRITE, 1, 8, 1),
                 im.encode_register_reply(1, 8, 1)]


def _image_decoders() -> list[Any]:
    return [im.decode_image_header, im.decode_image_frame, im.decode_register_command,
            im.decode_register_reply]


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=120))
def test_random_bytes_into_image_decoders(data: bytes) -> None:
    for decode in _image_decoders():
        try:
            decode(data)
        except ProtocolError:
            pass


@settings(max_examples=150, deadline=None)
@given(packet=st.sampled_from([IMAGE_GOOD, *REGISTER_GOOD]), data=st.data())
def test_mutated_image_packets_are_rejected(packet: bytes, data: st.DataObject) -> None:
    mutated = bytearray(packet)
    i = data.draw(st.integers(0, len(packet) - 1))
    mutated[i] ^= data.draw(st.integers(1, 255))
    decode = {b"OSIF": im.decode_image_frame, b"OSRC": im.decode_register_command,
              b"OSRR": im.decode_register_reply}[packet[:4]]
    with pytest.raises(ProtocolError):
        decode(bytes(mutated))
    with pytest.raises(ProtocolError):
        decode(packet[: data.draw(st.integers(0, len(packet) - 1))])

"""The firmware's struct codec and table CRC against the protocol golden vectors (CPython)."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opensbs.board.firmware import import_firmware
from opensbs.protocol.control import MsgType, encode_frame
from opensbs.protocol.golden import GOLDEN_PATH

codec = import_firmware("codec")
crc16 = import_firmware("crc16")
GOLDEN = json.loads(GOLDEN_PATH.read_text())["control_link"]


def test_crc16_check_value_and_crc32_matches_zlib() -> None:
    import zlib

    check = GOLDEN["crc16_check"]
    assert crc16.crc16_ccitt(bytes.fromhex(check["data"])) == check["crc"] == 0x29B1
    data = bytes(range(256)) * 3
    assert crc16.crc32(data) == zlib.crc32(data)


def test_constants_match_the_declarations() -> None:
    for name, value in GOLDEN["msg_types"].items():
        assert getattr(codec, name) == value
    for name, value in GOLDEN["error_codes"].items():
        assert getattr(codec, name) == value
    for name, value in GOLDEN["faults"].items():
        assert getattr(codec, name if name != "EMERGENCY_STOP" else "EMERGENCY_STOP_FAULT") == value
    assert codec.SCHEMAS.keys() == {MsgType[n].value for n in GOLDEN["msg_types"]}


@pytest.mark.parametrize("vector", GOLDEN["frames"], ids=lambda v: v["name"])
def test_golden_frame_decodes_and_reencodes(vector: dict) -> None:
    raw = bytes.fromhex(vector["hex"])
    msg_type = GOLDEN["msg_types"][vector["msg_type"]]
    assert codec.decode_frame(raw) == (msg_type, vector["seq"], vector["ack"], vector["boot_id"],
                                       vector["fields"])
    assert codec.encode_frame(msg_type, vector["fields"], vector["seq"], vector["ack"],
                              vector["boot_id"]) == raw


@pytest.mark.parametrize("vector", GOLDEN["invalid"], ids=lambda v: v["name"])
def test_invalid_frame_gets_the_golden_nak_code(vector: dict) -> None:
    with pytest.raises(codec.FrameError) as info:
        codec.decode_frame(bytes.fromhex(vector["hex"]))
    expected = GOLDEN["error_codes"][vector["nak"]] if vector["nak"] else 0
    assert info.value.nak == expected


def test_reader_resyncs_after_damage_and_reassembles_split_frames() -> None:
    a = encode_frame(MsgType.PING, {"token": 7}, seq=1)
    b = encode_frame(MsgType.HEATER_SET, {"zone": 1, "enable": 1, "setpoint_mc": 60000,
                                          "ramp_mc_per_s": 0}, seq=2)
    damaged = bytearray(a)
    damaged[9] ^= 0xFF
    stream = b"\x00\x11" + bytes(damaged) + b + a
    reader = codec.FrameReader()
    items = []
    for i in range(0, len(stream), 5):  # 5-byte chunks: frames split across packets
        items += reader.feed(stream[i:i + 5])
    frames = [x for x in items if isinstance(x, bytes)]
    errors = [x for x in items if isinstance(x, codec.FrameError)]
    assert frames == [b, a]
    assert [e.nak for e in errors if e.nak] == [codec.BAD_CRC]


def test_encode_rejects_oversized_text() -> None:
    with pytest.raises(ValueError, match="text"):
        codec.encode_payload(codec.LOG, {"level": 20, "text": "x" * 201})


def _cut_then_two_frames() -> tuple[bytes, bytes, bytes]:
    """A request cut to 5 bytes whose bogus length (read across the next frame) is 256."""
    cut = encode_frame(MsgType.PUMP_STOP, {"pump": 0}, seq=1)[:5]
    b = encode_frame(MsgType.PING, {"token": 7}, seq=2, ack=0, boot_id=1)
    c = encode_frame(MsgType.PING, {"token": 8}, seq=3, ack=0, boot_id=1)
    return cut, b, c


def test_reader_drops_a_cut_frame_after_the_silence() -> None:
    cut, b, c = _cut_then_two_frames()
    reader = codec.FrameReader(silence_ms=20)
    assert reader.feed(cut, now_ms=1000) == []
    items = reader.feed(b + c, now_ms=1100)  # the host writes again 100 ms later
    assert [x for x in items if isinstance(x, bytes)] == [b, c]
    assert any(isinstance(x, codec.FrameError) and "silence" in str(x) for x in items)


def test_without_a_silence_a_cut_frame_swallows_the_next_ones() -> None:
    """What the silence rule prevents: the bogus length holds both frames back."""
    cut, b, c = _cut_then_two_frames()
    reader = codec.FrameReader(silence_ms=20)
    reader.feed(cut, now_ms=1000)
    assert [x for x in reader.feed(b + c, now_ms=1010) if isinstance(x, bytes)] == []


def test_length_over_the_maximum_is_refused_before_waiting() -> None:
    reader = codec.FrameReader(silence_ms=20)
    header = bytearray(encode_frame(MsgType.PING, {"token": 1}, seq=1)[:codec.HEADER_BYTES])
    header[codec.HEADER_BYTES - 2:] = (codec.MAX_PAYLOAD_BYTES + 1).to_bytes(2, "little")
    items = reader.feed(bytes(header), now_ms=0)
    assert any(isinstance(x, codec.FrameError) and "maximum" in str(x) for x in items)
    good = encode_frame(MsgType.PING, {"token": 2}, seq=2)
    assert [x for x in reader.feed(good, now_ms=1) if isinstance(x, bytes)] == [good]


def test_board_answers_the_frames_after_a_cut_transfer() -> None:
    from opensbs.protocol.control import decode_frame
    from opensbs.sim.board.sim_board import SimBoard

    board = SimBoard("pico")
    board.receive()
    cut, b, c = _cut_then_two_frames()
    board.send(cut)
    board.advance_ms(board.controller.frame_silence_ms + 1)
    board.send(b)
    board.send(c)
    pongs = [decode_frame(f) for f in board.receive()]
    assert [f.fields["token"] for f in pongs if f.msg_type == MsgType.PONG] == [7, 8]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 40).filter(lambda g: g != 20),
                          st.booleans()), min_size=1, max_size=8))
def test_firmware_reader_and_host_splitter_apply_the_same_silence_rule(
        writes: list[tuple[int, int, bool]]) -> None:
    """Transfers cut short (or not) with gaps around the 20 ms silence: the firmware's reader
    and the host's splitter deliver the same frames. A gap of exactly the silence is left out:
    the firmware counts integer ms, the host float seconds, so equality is rounding noise."""
    from opensbs.protocol.control import ControlFrame, FrameSplitter

    frames = [encode_frame(MsgType.PING, {"token": i}, seq=i, boot_id=1 + i) for i in range(4)]
    reader = codec.FrameReader(silence_ms=20)
    splitter = FrameSplitter(stale_after_s=0.020)
    now_ms, fw_tokens, host_tokens = 1000, [], []
    for n, (index, gap_ms, cut) in enumerate(writes):
        now_ms += gap_ms
        data = frames[index][:5 + n] if cut else frames[index]
        fw_tokens += [codec.decode_frame(x)[4]["token"] for x in reader.feed(data, now_ms)
                      if isinstance(x, bytes)]
        host_tokens += [x.fields["token"] for x in splitter.feed(data, now_s=now_ms / 1000)
                        if isinstance(x, ControlFrame)]
    assert fw_tokens == host_tokens

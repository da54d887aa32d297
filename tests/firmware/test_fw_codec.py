"""The firmware's struct codec and table CRC against the protocol golden vectors (CPython)."""

import json

import pytest
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
    assert codec.decode_frame(raw) == (msg_type, vector["seq"], vector["ack"], vector["fields"])
    assert codec.encode_frame(msg_type, vector["fields"], vector["seq"], vector["ack"]) == raw


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

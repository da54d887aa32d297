"""The committed golden vectors match the construct declarations, both ways."""

import json

import numpy as np
import pytest
from opensbs.protocol import control, errors, golden, image

VECTORS = json.loads(golden.GOLDEN_PATH.read_text())


def test_committed_file_is_current() -> None:
    assert golden.GOLDEN_PATH.read_text() == golden.render()


@pytest.mark.parametrize("vec", VECTORS["control_link"]["frames"], ids=lambda v: v["name"])
def test_control_frame_decodes_and_reencodes(vec: dict) -> None:
    data = bytes.fromhex(vec["hex"])
    frame = control.decode_frame(data)
    assert frame.msg_type.name == vec["msg_type"]
    assert (frame.seq, frame.ack) == (vec["seq"], vec["ack"])
    assert frame.fields == vec["fields"]
    assert control.encode_frame(frame.msg_type, vec["fields"], vec["seq"], vec["ack"]) == data


@pytest.mark.parametrize("vec", VECTORS["control_link"]["invalid"], ids=lambda v: v["name"])
def test_invalid_control_frame_raises_named_error(vec: dict) -> None:
    with pytest.raises(errors.ProtocolError) as info:
        control.decode_frame(bytes.fromhex(vec["hex"]))
    assert type(info.value).__name__ == vec["error"]


@pytest.mark.parametrize("vec", VECTORS["image_link"]["frames"], ids=lambda v: v["name"])
def test_image_frame_decodes(vec: dict) -> None:
    frame = image.decode_image_frame(bytes.fromhex(vec["hex"]))
    header = vec["header"]
    assert frame.header.sequence == header["sequence"]
    assert frame.header.trigger_id == header["trigger_id"]
    assert frame.header.timestamp_us == header["timestamp_us"]
    assert int(frame.header.flags) == header["flags"]
    assert (frame.header.width, frame.header.height) == (header["width"], header["height"])
    assert frame.header.delivered_pixels == vec["trailer"]["delivered_pixels"]
    assert int(frame.header.flags) == vec["header_flags"] | vec["trailer"]["status"]
    assert not vec["header_flags"] & image.STATUS_FLAGS
    assert not vec["trailer"]["status"] & image.HEADER_FLAGS
    np.testing.assert_array_equal(frame.pixels, np.array(vec["pixels"], dtype=np.uint16))
    assert not frame.pixels.reshape(-1)[vec["trailer"]["delivered_pixels"]:].any()


def test_image_frame_layout() -> None:
    vec = next(v for v in VECTORS["image_link"]["frames"] if v["name"] == "flag_overflow")
    data = bytes.fromhex(vec["hex"])
    assert len(data) == 36 + 2 * 4 * 2 + 8 + 4 == image.decode_image_frame(data).header.frame_bytes
    assert data[52:60] == bytes([1, 0, 0, 0, 2, 0, 0, 0])  # OVERFLOW, reserved 0, 2 delivered
    assert int.from_bytes(data[60:], "little") == image.crc32(data[:60])


def test_version_1_frame_is_rejected_naming_both_versions() -> None:
    vec = next(v for v in VECTORS["image_link"]["invalid"] if v["name"] == "version_1")
    with pytest.raises(errors.BadVersionError, match=r"version 1\b.*version 2"):
        image.decode_image_frame(bytes.fromhex(vec["hex"]))


@pytest.mark.parametrize("vec", VECTORS["image_link"]["invalid"], ids=lambda v: v["name"])
def test_invalid_image_frame_raises_named_error(vec: dict) -> None:
    with pytest.raises(errors.ProtocolError) as info:
        image.decode_image_frame(bytes.fromhex(vec["hex"]))
    assert type(info.value).__name__ == vec["error"]


def test_crc_check_values() -> None:
    assert VECTORS["control_link"]["crc16_check"]["crc"] == 0x29B1
    assert VECTORS["image_link"]["crc32_check"]["crc"] == 0xCBF43926

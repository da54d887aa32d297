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
    np.testing.assert_array_equal(frame.pixels, np.array(vec["pixels"], dtype=np.uint16))


@pytest.mark.parametrize("vec", VECTORS["image_link"]["invalid"], ids=lambda v: v["name"])
def test_invalid_image_frame_raises_named_error(vec: dict) -> None:
    with pytest.raises(errors.ProtocolError) as info:
        image.decode_image_frame(bytes.fromhex(vec["hex"]))
    assert type(info.value).__name__ == vec["error"]


def test_crc_check_values() -> None:
    assert VECTORS["control_link"]["crc16_check"]["crc"] == 0x29B1
    assert VECTORS["image_link"]["crc32_check"]["crc"] == 0xCBF43926

"""The reference model alone: frames decode with the host's declarations, registers behave."""

import numpy as np
import pytest
from opensbs.protocol.errors import BadSyncError
from opensbs.protocol.image import (
    ControlBits,
    FrameFlags,
    Register,
    RegisterOp,
    RegisterStatus,
    decode_image_frame,
    decode_register_reply,
    encode_register_command,
)
from opensbs.sim.capture import CaptureModel


def _write(model: CaptureModel, reg: Register, value: int) -> RegisterStatus:
    reply = decode_register_reply(
        model.handle_register_command(encode_register_command(RegisterOp.WRITE, 7, reg, value)))
    assert reply.tag == 7 and reply.address == reg
    return reply.status


def test_plain_frame_roundtrip() -> None:
    model = CaptureModel(bits_per_pixel=12, sensor_width=64, sensor_height=48)
    image = np.random.default_rng(1).integers(0, 4096, (48, 64), dtype=np.uint16)
    assert model.capture(image) is None  # disabled after reset
    assert _write(model, Register.CONTROL, ControlBits.ENABLE) == RegisterStatus.OK
    model.trigger(1234)
    frame = decode_image_frame(model.capture(image))  # type: ignore[arg-type]
    assert frame.header.trigger_id == 1 and frame.header.timestamp_us == 1234
    assert frame.header.flags == 0 and frame.header.bits_per_pixel == 12
    np.testing.assert_array_equal(frame.pixels, image)
    second = decode_image_frame(model.capture(image))  # type: ignore[arg-type]
    assert second.header.sequence == 1 and second.header.flags == FrameFlags.NO_TRIGGER
    assert model.read_register(Register.FRAME_COUNT) == 2


def test_crop_binning_and_truncation() -> None:
    model = CaptureModel(bits_per_pixel=10, sensor_width=64, sensor_height=48)
    image = np.random.default_rng(2).integers(0, 1024, (48, 64), dtype=np.uint16)
    for reg, value in ((Register.ROI_X, 6), (Register.ROI_Y, 5), (Register.ROI_WIDTH, 20),
                       (Register.ROI_HEIGHT, 10)):
        assert _write(model, reg, value) == RegisterStatus.OK
    control = ControlBits.ENABLE | ControlBits.CROP | ControlBits.BINNING_2X2
    assert _write(model, Register.CONTROL, control) == RegisterStatus.OK
    frame = decode_image_frame(model.capture(image))  # type: ignore[arg-type]
    roi = image[5:15, 6:26].astype(np.uint32)
    expected = roi[0::2, 0::2] + roi[0::2, 1::2] + roi[1::2, 0::2] + roi[1::2, 1::2]
    np.testing.assert_array_equal(frame.pixels, expected)
    assert frame.header.bits_per_pixel == 12
    data = model.capture(image[:10])
    assert data is not None
    short = decode_image_frame(data)
    assert short.header.flags & FrameFlags.TRUNCATED
    # rows 5..9 of the sensor arrived: 2 binned ROI rows of 10 pixels, the rest is padding;
    # TRUNCATED is in the trailer (u16 status, u16 0, u32 delivered), not in the header
    assert short.header.delivered_pixels == 20
    assert not int.from_bytes(data[6:8], "little") & FrameFlags.TRUNCATED
    assert data[-12:-4] == bytes([FrameFlags.TRUNCATED, 0, 0, 0, 20, 0, 0, 0])
    np.testing.assert_array_equal(short.pixels[:2], expected[:2])
    assert frame.header.delivered_pixels == frame.pixels.size
    assert not short.pixels[2:].any()
    assert model.read_register(Register.DROP_COUNT) == 1


def test_register_errors() -> None:
    model = CaptureModel(sensor_width=64, sensor_height=48)
    assert _write(model, Register.ROI_WIDTH, 7) == RegisterStatus.BAD_VALUE
    assert _write(model, Register.FRAME_COUNT, 1) == RegisterStatus.READ_ONLY
    assert _write(model, 0x38, 1) == RegisterStatus.BAD_ADDRESS  # type: ignore[arg-type]
    bad = bytearray(encode_register_command(RegisterOp.READ, 1, Register.ID))
    bad[12] ^= 1
    assert decode_register_reply(model.handle_register_command(bad)).status == \
        RegisterStatus.BAD_CRC
    with pytest.raises(BadSyncError):
        model.handle_register_command(b"XXXX" + bytes(12))
    with pytest.raises(ValueError, match="exceed"):
        model.capture(np.full((48, 64), 4096, dtype=np.uint16))

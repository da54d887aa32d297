"""The committed golden vectors match the construct declarations, both ways."""

import json
from pathlib import Path

import numpy as np
import pytest
from construct import Int16ul, Struct
from opensbs.protocol import codegen, control, errors, golden, image, tables

VECTORS = json.loads(golden.GOLDEN_PATH.read_text())


def test_committed_file_is_current() -> None:
    assert golden.GOLDEN_PATH.read_text() == golden.render()


@pytest.mark.parametrize("vec", VECTORS["control_link"]["frames"], ids=lambda v: v["name"])
def test_control_frame_decodes_and_reencodes(vec: dict) -> None:
    data = bytes.fromhex(vec["hex"])
    frame = control.decode_frame(data)
    assert frame.msg_type.name == vec["msg_type"]
    assert (frame.seq, frame.ack, frame.boot_id) == (vec["seq"], vec["ack"], vec["boot_id"])
    assert frame.fields == vec["fields"]
    assert control.encode_frame(frame.msg_type, vec["fields"], vec["seq"], vec["ack"],
                                boot_id=vec["boot_id"]) == data


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


def test_generated_firmware_tables_and_verilog_include_are_current() -> None:
    """Regenerating from the declarations would change nothing (else: run the codegen)."""
    root = golden.GOLDEN_PATH.parents[3]
    assert codegen.stale_files(root) == []
    assert codegen.main(["--root", str(root), "--check"]) == 0


def test_codegen_check_names_a_stale_file(tmp_path: Path) -> None:
    for path in codegen.GENERATED:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
    assert codegen.write_all(tmp_path) == list(codegen.GENERATED)
    assert codegen.stale_files(tmp_path) == []
    (tmp_path / codegen.VERILOG_INCLUDE).write_text("// edited by hand\n")
    assert codegen.stale_files(tmp_path) == [codegen.VERILOG_INCLUDE]
    assert codegen.main(["--root", str(tmp_path), "--check"]) == 1


def test_declaration_hash_covers_the_message_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    before = tables.declaration_hash()
    assert VECTORS["control_link"]["protocol_hash"] == before
    widened = dict(control.MESSAGES)
    widened[control.MsgType.PING] = Struct("token" / Int16ul)
    monkeypatch.setattr(control, "MESSAGES", widened)
    assert tables.declaration_hash() != before

"""Golden vectors: bytes and their decoded values for both links.

The committed ``golden_vectors.json`` is generated from the construct declarations by
``python -m opensbs.protocol.golden --write``; the host tests check that it still matches the
declarations, the firmware tests (under real MicroPython) and the cocotb testbenches check
their own encoders and decoders against the same file.
"""

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from . import control as c
from . import image as im
from . import tables

GOLDEN_PATH = Path(__file__).with_name("golden_vectors.json")

_HEATERS = [{"min_setpoint_mc": 4000, "max_setpoint_mc": 98000, "max_ramp_mc_per_s": 5000},
            {"min_setpoint_mc": -10000, "max_setpoint_mc": 105000, "max_ramp_mc_per_s": 0}]
_PUMPS = [{"max_rate_nl_per_s": 2_000_000, "capacity_nl": 1_000_000}]
_VALVES = [{"ports": 24}]
_TRIGGERS = [{"lasers": 4, "min_exposure_us": 10, "max_exposure_us": 10_000_000}]
_LINK_TIMING = {"heartbeat_timeout_ms": 3000, "control_period_ms": 100,
                "telemetry_period_ms": 1000, "frame_silence_ms": 20}


def _control_messages() -> list[tuple[str, c.MsgType, dict[str, Any]]]:
    T = c.MsgType
    telemetry = {
        "uptime_ms": 123456,
        "state": c.DeviceState.ACTIVE,
        "faults": 0,
        "heaters": [
            {"temperature_mc": 64980, "setpoint_mc": 65000, "duty_permille": 412, "enabled": 1},
            {"temperature_mc": -5000, "setpoint_mc": 0, "duty_permille": 0, "enabled": 0},
        ],
        "pumps": [{"position_nl": -250000, "flow_nl_per_s": -50000, "moving": 1}],
        "valves": [{"port": 7, "moving": 0}],
        "triggers": [{"state": c.TriggerState.FIRING, "pulses_done": 3}],
    }
    msgs: list[tuple[str, c.MsgType, dict[str, Any]]] = [
        ("identify", T.IDENTIFY, {}),
        ("ping", T.PING, {"token": 0xDEADBEEF}),
        ("heartbeat", T.HEARTBEAT, {"host_time_ms": 4_000_000_000}),
        ("get_status", T.GET_STATUS, {}),
        ("heater_set", T.HEATER_SET,
         {"zone": 0, "enable": 1, "setpoint_mc": 65000, "ramp_mc_per_s": 2000}),
        ("heater_set_negative", T.HEATER_SET,
         {"zone": 1, "enable": 0, "setpoint_mc": -2147483648, "ramp_mc_per_s": 0}),
        ("pump_move_dispense", T.PUMP_MOVE,
         {"pump": 0, "volume_nl": 150_000, "rate_nl_per_s": 250_000}),
        ("pump_move_aspirate", T.PUMP_MOVE,
         {"pump": 0, "volume_nl": -2147483648, "rate_nl_per_s": 0xFFFFFFFF}),
        ("pump_stop", T.PUMP_STOP, {"pump": 0}),
        ("valve_select", T.VALVE_SELECT, {"valve": 0, "port": 23}),
        ("trigger_program", T.TRIGGER_PROGRAM,
         {"output": 0, "exposure_us": 20_000, "period_us": 50_000, "pulse_count": 4,
          "laser_mask": 0b1010}),
        ("trigger_program_max", T.TRIGGER_PROGRAM,
         {"output": 255, "exposure_us": 0xFFFFFFFF, "period_us": 0xFFFFFFFF,
          "pulse_count": 0xFFFF, "laser_mask": 0xFF}),
        ("trigger_arm", T.TRIGGER_ARM, {"output": 0}),
        ("trigger_fire", T.TRIGGER_FIRE, {"output": 0}),
        ("fault_clear", T.FAULT_CLEAR, {"faults": int(c.Fault.OVER_TEMPERATURE)}),
        ("fault_clear_all", T.FAULT_CLEAR, {"faults": 0xFFFFFFFF}),
        ("emergency_stop", T.EMERGENCY_STOP, {}),
        ("identify_reply", T.IDENTIFY_REPLY,
         {"protocol_version": c.PROTOCOL_VERSION, "fw_major": 0, "fw_minor": 1, "fw_patch": 0,
          "protocol_hash": tables.declaration_hash(), "board_id": "pico",
          "board_config_crc": 0x1234ABCD, "boot_id": 7, **_LINK_TIMING,
          "heaters": _HEATERS, "pumps": _PUMPS, "valves": _VALVES, "triggers": _TRIGGERS}),
        ("identify_reply_empty_lists_max_board_id", T.IDENTIFY_REPLY,
         {"protocol_version": c.PROTOCOL_VERSION, "fw_major": 255, "fw_minor": 255,
          "fw_patch": 255, "protocol_hash": 0xFFFFFFFF, "board_id": "B" * c.MAX_BOARD_ID_BYTES,
          "board_config_crc": 0, "boot_id": 0xFFFFFFFF, "heartbeat_timeout_ms": 0xFFFFFFFF,
          "control_period_ms": 0xFFFF, "telemetry_period_ms": 0, "frame_silence_ms": 1,
          "heaters": [], "pumps": [], "valves": [], "triggers": []}),
        ("pong", T.PONG, {"token": 0}),
        ("status_reply", T.STATUS_REPLY,
         {"state": c.DeviceState.IDLE, "faults": 0, "uptime_ms": 1000, "heartbeat_age_ms": 250,
          "boot_id": 7, "armed_mask": 1, "pumps_busy_mask": 0, "valves_busy_mask": 0}),
        ("telemetry", T.TELEMETRY, telemetry),
        ("telemetry_empty", T.TELEMETRY,
         {"uptime_ms": 0, "state": c.DeviceState.SAFE, "faults": int(c.Fault.BOARD_CONFIG),
          "heaters": [], "pumps": [], "valves": [], "triggers": []}),
        ("log", T.LOG, {"level": c.LogLevel.INFO, "text": "heater 0 at 65.00 C"}),
        ("log_empty", T.LOG, {"level": c.LogLevel.DEBUG, "text": ""}),
        ("log_max", T.LOG, {"level": c.LogLevel.ERROR, "text": "x" * c.MAX_TEXT_BYTES}),
        ("boot", T.BOOT,
         {"boot_id": 8, "reset_cause": c.ResetCause.WATCHDOG,
          "faults": int(c.Fault.WATCHDOG_RESET)}),
        ("trigger_done", T.TRIGGER_DONE, {"output": 0, "pulses": 4}),
        ("ack", T.ACK, {"msg_type": T.HEATER_SET}),
    ]
    for code in c.ErrorCode:
        msgs.append((f"nak_{code.name.lower()}", T.NAK,
                     {"msg_type": T.PUMP_MOVE, "error": int(code)}))
    for bit, fault in enumerate(c.Fault):
        msgs.append((f"fault_event_{str(fault.name).lower()}", T.FAULT_EVENT,
                     {"fault": bit, "source": 0 if bit < 4 else c.NO_SOURCE,
                      "value": 120000 if fault == c.Fault.OVER_TEMPERATURE else 0,
                      "faults": int(fault)}))
    return msgs


def _invalid_control_frames() -> list[dict[str, Any]]:
    good = c.encode_frame(c.MsgType.PING, {"token": 1}, seq=5, ack=4, boot_id=3)
    bad_crc = good[:-1] + bytes([good[-1] ^ 0x01])
    flipped_payload = bytearray(good)
    flipped_payload[c.HEADER_BYTES] ^= 0x80

    def header(version: int, msg_type: int, length: int) -> bytes:
        return c.FrameHeader.build({"version": version, "msg_type": msg_type, "seq": 9,
                                    "ack": 0, "boot_id": 3, "length": length})

    def reframe(version: int, msg_type: int, payload: bytes) -> bytes:
        body = header(version, msg_type, len(payload))[len(c.SYNC):] + payload
        return c.SYNC + body + c.Crc.build(c.crc16_ccitt(body))

    E = c.ErrorCode
    return [
        {"name": "bad_sync", "hex": (b"\xa5\x5b" + good[2:]).hex(), "error": "BadSyncError",
         "nak": None},
        {"name": "bad_crc", "hex": bad_crc.hex(), "error": "BadCrcError", "nak": E.BAD_CRC.name},
        {"name": "corrupt_payload", "hex": bytes(flipped_payload).hex(), "error": "BadCrcError",
         "nak": E.BAD_CRC.name},
        {"name": "version_1", "hex": reframe(1, c.MsgType.PING, b"\0\0\0\0").hex(),
         "error": "BadVersionError", "nak": E.BAD_VERSION.name},
        {"name": "bad_version", "hex": reframe(3, c.MsgType.PING, b"\0\0\0\0").hex(),
         "error": "BadVersionError", "nak": E.BAD_VERSION.name},
        {"name": "unknown_message", "hex": reframe(c.PROTOCOL_VERSION, 0x7E, b"").hex(),
         "error": "UnknownMessageError", "nak": E.UNKNOWN_MESSAGE.name},
        {"name": "short_payload",
         "hex": reframe(c.PROTOCOL_VERSION, c.MsgType.PING, b"\0\0").hex(),
         "error": "MalformedPayloadError", "nak": E.BAD_LENGTH.name},
        {"name": "trailing_payload",
         "hex": reframe(c.PROTOCOL_VERSION, c.MsgType.IDENTIFY, b"\0").hex(),
         "error": "BadLengthError", "nak": E.BAD_LENGTH.name},
        {"name": "length_over_maximum",
         "hex": header(c.PROTOCOL_VERSION, c.MsgType.LOG, c.MAX_PAYLOAD_BYTES + 1).hex(),
         "error": "BadLengthError", "nak": None},
        {"name": "truncated", "hex": good[:-3].hex(), "error": "BadLengthError", "nak": None},
    ]


def _header_dict(h: im.ImageFrameHeader) -> dict[str, Any]:
    return {
        "version": h.version, "sequence": h.sequence, "trigger_id": h.trigger_id,
        "timestamp_us": h.timestamp_us, "width": h.width, "height": h.height,
        "bits_per_pixel": h.bits_per_pixel, "channel": h.channel, "flags": int(h.flags),
        "payload_length": h.payload_length, "delivered_pixels": h.delivered_pixels,
    }


def _image_frames() -> list[dict[str, Any]]:
    rng = np.random.default_rng(20261122)
    cases: list[tuple[str, np.ndarray, dict[str, Any]]] = [
        ("smallest_2x1", np.array([[0, 4095]], dtype=np.uint16), {"bits_per_pixel": 12}),
        ("ramp_8x4_10bit", (np.arange(32, dtype=np.uint16) * 33 % 1024).reshape(4, 8),
         {"bits_per_pixel": 10}),
        ("random_16x6_16bit", rng.integers(0, 65536, (6, 16), dtype=np.uint16),
         {"bits_per_pixel": 16}),
        ("max_counters", rng.integers(0, 4096, (2, 4), dtype=np.uint16),
         {"sequence": 0xFFFFFFFF, "trigger_id": 0xFFFFFFFF, "timestamp_us": 2**64 - 1,
          "channel": 255}),
    ]
    for flag in im.FrameFlags:
        px = np.zeros((2, 4), dtype=np.uint16)
        px[0, :2] = [1, 2]
        extra = {"flags": int(flag)}
        if flag & im.STATUS_FLAGS:  # a frame the FPGA could not complete: 2 pixels delivered
            extra["delivered_pixels"] = 2
        cases.append((f"flag_{str(flag.name).lower()}", px, extra))
    cases.append(("all_flags", np.array([[7, 7], [0, 0]], dtype=np.uint16),
                  {"flags": im.ALL_FRAME_FLAGS, "delivered_pixels": 2}))
    cases.append(("overflow_nothing_delivered", np.zeros((2, 4), dtype=np.uint16),
                  {"flags": int(im.FrameFlags.OVERFLOW), "delivered_pixels": 0}))
    out = []
    for i, (name, px, extra) in enumerate(cases):
        kw: dict[str, Any] = {"sequence": i, "trigger_id": 100 + i, "timestamp_us": 1_000_000 * i,
                              "channel": i % 4, "bits_per_pixel": 12, "flags": 0}
        kw.update(extra)
        data = im.encode_image_frame(px, **kw)
        frame = im.decode_image_frame(data)
        trailer = im.ImageTrailer.parse(data[-im.IMAGE_CRC_BYTES - im.IMAGE_TRAILER_BYTES:])
        out.append({"name": name, "hex": data.hex(), "header": _header_dict(frame.header),
                    "header_flags": im.ImageHeader.parse(data).flags,
                    "trailer": {"status": trailer.status, "reserved": trailer.reserved,
                                "delivered_pixels": trailer.delivered_pixels},
                    "pixels": px.tolist(), "crc32": im.ImageCrc.parse(data[-4:])})
    return out


def _invalid_image_frames() -> list[dict[str, Any]]:
    good = im.encode_image_frame(np.arange(8, dtype=np.uint16).reshape(2, 4), sequence=1,
                                 trigger_id=1, timestamp_us=0, channel=0)
    trailer = len(good) - im.IMAGE_CRC_BYTES - im.IMAGE_TRAILER_BYTES  # byte offset

    def patch(offset: int, new: bytes, fix_crc: bool = True) -> bytes:
        data = bytearray(good)
        data[offset:offset + len(new)] = new
        if fix_crc:
            data[-4:] = im.crc32(bytes(data[:-4])).to_bytes(4, "little")
        return bytes(data)

    return [
        {"name": "bad_magic", "hex": patch(0, b"OSIX").hex(), "error": "BadSyncError"},
        {"name": "version_1", "hex": patch(4, b"\x01").hex(), "error": "BadVersionError"},
        {"name": "bad_version", "hex": patch(4, b"\x03").hex(), "error": "BadVersionError"},
        {"name": "bad_crc", "hex": patch(40, b"\xff", fix_crc=False).hex(),
         "error": "BadCrcError"},
        {"name": "payload_length_mismatch", "hex": patch(32, (18).to_bytes(4, "little")).hex(),
         "error": "BadLengthError"},
        {"name": "odd_width", "hex": patch(24, (3).to_bytes(2, "little")).hex(),
         "error": "MalformedPayloadError"},
        {"name": "undefined_flag", "hex": patch(6, (1 << 15).to_bytes(2, "little")).hex(),
         "error": "MalformedPayloadError"},
        {"name": "status_flag_in_header", "hex": patch(6, b"\x01\x00").hex(),
         "error": "MalformedPayloadError"},
        {"name": "undefined_trailer_status", "hex": patch(trailer, b"\x04\x00").hex(),
         "error": "MalformedPayloadError"},
        {"name": "trailer_reserved_nonzero", "hex": patch(trailer + 2, b"\x01\x00").hex(),
         "error": "MalformedPayloadError"},
        {"name": "delivered_exceeds_pixels",
         "hex": patch(trailer + 4, (9).to_bytes(4, "little")).hex(),
         "error": "MalformedPayloadError"},
        {"name": "short_delivery_without_status",
         "hex": patch(trailer + 4, (7).to_bytes(4, "little")).hex(),
         "error": "MalformedPayloadError"},
        {"name": "truncated", "hex": good[:-5].hex(), "error": "BadLengthError"},
    ]


def _register_packets() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    commands, replies = [], []
    for tag, reg in enumerate(im.Register):
        value = 0x000000FF * (tag + 1) & 0xFFFFFFFF
        for op in im.RegisterOp:
            v = value if op == im.RegisterOp.WRITE else 0
            commands.append({"name": f"{op.name.lower()}_{reg.name.lower()}",
                             "hex": im.encode_register_command(op, tag, reg, v).hex(),
                             "op": op.name, "tag": tag, "address": int(reg), "value": v})
    for status in im.RegisterStatus:
        replies.append({"name": f"reply_{status.name.lower()}",
                        "hex": im.encode_register_reply(0xAB, im.Register.CONTROL, 0xFFFFFFFF,
                                                        status).hex(),
                        "tag": 0xAB, "address": int(im.Register.CONTROL), "value": 0xFFFFFFFF,
                        "status": status.name})
    return commands, replies


def _enum_table(enum: Any) -> dict[str, int]:
    return {m.name: int(m) for m in enum}


def build_golden_vectors() -> dict[str, Any]:
    """All vectors, as the JSON document written to GOLDEN_PATH."""
    control = []
    for seq, (name, msg_type, fields) in enumerate(_control_messages()):
        boot_id = 0 if seq % 4 == 0 else (seq * 0x01000193) & 0xFFFFFFFF  # 0: any boot
        data = c.encode_frame(msg_type, fields, seq=seq, ack=(seq * 7) & 0xFF, boot_id=boot_id)
        decoded = c.decode_frame(data)
        control.append({"name": name, "msg_type": msg_type.name, "seq": decoded.seq,
                        "ack": decoded.ack, "boot_id": decoded.boot_id,
                        "fields": decoded.fields, "hex": data.hex()})
    commands, replies = _register_packets()
    return {
        "control_link": {
            "protocol_version": c.PROTOCOL_VERSION,
            "protocol_hash": tables.declaration_hash(),
            "sync": c.SYNC.hex(),
            "header_bytes": c.HEADER_BYTES,
            "max_payload_bytes": c.MAX_PAYLOAD_BYTES,
            "msg_types": _enum_table(c.MsgType),
            "error_codes": _enum_table(c.ErrorCode),
            "faults": _enum_table(c.Fault),
            "crc16_check": {"data": b"123456789".hex(), "crc": c.crc16_ccitt(b"123456789")},
            "frames": control,
            "invalid": _invalid_control_frames(),
        },
        "image_link": {
            "version": im.IMAGE_LINK_VERSION,
            "header_bytes": im.IMAGE_HEADER_BYTES,
            "trailer_bytes": im.IMAGE_TRAILER_BYTES,
            "header_flags": im.HEADER_FLAGS,
            "status_flags": im.STATUS_FLAGS,
            "flags": _enum_table(im.FrameFlags),
            "registers": _enum_table(im.Register),
            "register_id_value": im.REGISTER_ID_VALUE,
            "crc32_check": {"data": b"123456789".hex(), "crc": im.crc32(b"123456789")},
            "frames": _image_frames(),
            "invalid": _invalid_image_frames(),
            "register_commands": commands,
            "register_replies": replies,
        },
    }


def render() -> str:
    return json.dumps(build_golden_vectors(), indent=1) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help=f"rewrite {GOLDEN_PATH.name}")
    args = parser.parse_args()
    if args.write:
        GOLDEN_PATH.write_text(render())
    else:
        print(render(), end="")


if __name__ == "__main__":
    main()

"""Command dispatch on the simulated board: replies, NAK codes, no state change on error,
duplicate requests, boot message, safe state on a broken board file."""

import json

import pytest
from fw_link import HostLink
from opensbs.board.firmware import BOARDS_DIR, firmware_version
from opensbs.protocol.control import (
    DeviceState,
    ErrorCode,
    Fault,
    MsgType,
    ResetCause,
    decode_frame,
    encode_frame,
)
from opensbs.protocol.tables import declaration_hash
from opensbs.sim.board.sim_board import SimBoard

E = ErrorCode
T = MsgType


def nak_code(link: HostLink, msg_type: MsgType, fields: dict) -> ErrorCode:
    reply = link.request(msg_type, fields)
    assert reply.msg_type == T.NAK and reply.fields["msg_type"] == msg_type
    return ErrorCode(reply.fields["error"])


def test_boot_message_then_identify_reports_board_and_version(link: HostLink) -> None:
    boot = link.of_type(T.BOOT)
    assert [f.fields for f in boot] == [{"boot_id": 1, "reset_cause": ResetCause.POWER_ON,
                                        "faults": 0}]
    ident = link.ok(T.IDENTIFY).fields
    assert (ident["fw_major"], ident["fw_minor"], ident["fw_patch"]) == firmware_version()
    assert ident["board_id"] == "pico"
    assert ident["heaters"] == [{"min_setpoint_mc": 4000, "max_setpoint_mc": 98000,
                                 "max_ramp_mc_per_s": 5000}] * 2
    assert ident["pumps"] == [{"max_rate_nl_per_s": 2_000_000, "capacity_nl": 1_000_000}]
    assert ident["valves"] == [{"ports": 24}]
    assert ident["triggers"] == [{"lasers": 4, "min_exposure_us": 10,
                                  "max_exposure_us": 10_000_000}]
    assert (ident["heartbeat_timeout_ms"], ident["control_period_ms"],
            ident["telemetry_period_ms"], ident["frame_silence_ms"]) == (3000, 100, 1000, 20)
    assert ident["protocol_hash"] == declaration_hash()
    import zlib

    assert ident["board_config_crc"] == zlib.crc32((BOARDS_DIR / "pico.json").read_bytes())
    assert link.ok(T.PING, {"token": 0xCAFEF00D}).fields == {"token": 0xCAFEF00D}


@pytest.mark.parametrize("msg_type, fields, code", [
    (T.HEATER_SET, {"zone": 2, "enable": 1, "setpoint_mc": 50000, "ramp_mc_per_s": 0},
     E.UNKNOWN_TARGET),
    (T.HEATER_SET, {"zone": 0, "enable": 1, "setpoint_mc": 98001, "ramp_mc_per_s": 0},
     E.OUT_OF_RANGE),
    (T.HEATER_SET, {"zone": 0, "enable": 1, "setpoint_mc": 3999, "ramp_mc_per_s": 0},
     E.OUT_OF_RANGE),
    (T.HEATER_SET, {"zone": 0, "enable": 1, "setpoint_mc": 60000, "ramp_mc_per_s": 5001},
     E.OUT_OF_RANGE),
    (T.HEATER_SET, {"zone": 0, "enable": 2, "setpoint_mc": 60000, "ramp_mc_per_s": 0},
     E.OUT_OF_RANGE),
    (T.PUMP_MOVE, {"pump": 1, "volume_nl": -1000, "rate_nl_per_s": 1000}, E.UNKNOWN_TARGET),
    (T.PUMP_MOVE, {"pump": 0, "volume_nl": 1000, "rate_nl_per_s": 1000}, E.OUT_OF_RANGE),
    (T.PUMP_MOVE, {"pump": 0, "volume_nl": -1_000_001, "rate_nl_per_s": 1000}, E.OUT_OF_RANGE),
    (T.PUMP_MOVE, {"pump": 0, "volume_nl": -1000, "rate_nl_per_s": 2_000_001}, E.OUT_OF_RANGE),
    (T.PUMP_MOVE, {"pump": 0, "volume_nl": -1000, "rate_nl_per_s": 0}, E.OUT_OF_RANGE),
    (T.PUMP_MOVE, {"pump": 0, "volume_nl": 0, "rate_nl_per_s": 1000}, E.OUT_OF_RANGE),
    (T.PUMP_STOP, {"pump": 3}, E.UNKNOWN_TARGET),
    (T.VALVE_SELECT, {"valve": 1, "port": 0}, E.UNKNOWN_TARGET),
    (T.VALVE_SELECT, {"valve": 0, "port": 24}, E.OUT_OF_RANGE),
    (T.TRIGGER_PROGRAM, {"output": 1, "exposure_us": 1000, "period_us": 5000, "pulse_count": 1,
                         "laser_mask": 1}, E.UNKNOWN_TARGET),
    (T.TRIGGER_PROGRAM, {"output": 0, "exposure_us": 9, "period_us": 5000, "pulse_count": 1,
                         "laser_mask": 1}, E.OUT_OF_RANGE),
    (T.TRIGGER_PROGRAM, {"output": 0, "exposure_us": 1000, "period_us": 1099, "pulse_count": 1,
                         "laser_mask": 1}, E.OUT_OF_RANGE),
    (T.TRIGGER_PROGRAM, {"output": 0, "exposure_us": 1000, "period_us": 5000, "pulse_count": 0,
                         "laser_mask": 1}, E.OUT_OF_RANGE),
    (T.TRIGGER_PROGRAM, {"output": 0, "exposure_us": 1000, "period_us": 5000, "pulse_count": 1,
                         "laser_mask": 0x10}, E.OUT_OF_RANGE),
    (T.TRIGGER_ARM, {"output": 0}, E.NOT_CONFIGURED),
    (T.TRIGGER_FIRE, {"output": 0}, E.NOT_ARMED),
    (T.TRIGGER_FIRE, {"output": 9}, E.UNKNOWN_TARGET),
])
def test_bad_request_is_naked_with_its_code_and_changes_nothing(
        link: HostLink, board: SimBoard, msg_type: MsgType, fields: dict, code: ErrorCode) -> None:
    before = board.controller.telemetry(0)
    assert nak_code(link, msg_type, fields) == code
    assert board.controller.telemetry(0) == before
    assert link.ok(T.GET_STATUS).fields["state"] == DeviceState.IDLE


def test_device_to_host_type_sent_to_the_device_is_unknown(link: HostLink) -> None:
    assert nak_code(link, T.PONG, {"token": 1}) == E.UNKNOWN_MESSAGE


def test_malformed_frames_get_naks_and_the_board_keeps_running(link: HostLink,
                                                                board: SimBoard) -> None:
    good = bytearray(encode_frame(T.PING, {"token": 5}, seq=40))
    bad_crc = bytes(good[:-1]) + bytes([good[-1] ^ 1])
    from opensbs.protocol.control import PROTOCOL_VERSION, FrameHeader
    from opensbs.protocol.crc import crc16_ccitt

    def reframe(msg_type: int, seq: int, payload: bytes) -> bytes:
        body = FrameHeader.build({"version": PROTOCOL_VERSION, "msg_type": msg_type,
                                  "seq": seq, "ack": 0, "boot_id": 0,
                                  "length": len(payload)})[2:] + payload
        return b"\xa5\x5a" + body + crc16_ccitt(body).to_bytes(2, "little")

    unknown = reframe(0x7E, 41, b"")
    short_frame = reframe(T.PING, 42, b"\0\0")
    board.send(b"\x00garbage" + bad_crc + unknown + short_frame)
    naks = [(f.ack, f.fields["error"]) for f in link.pump() if f.msg_type == T.NAK]
    assert naks == [(40, E.BAD_CRC), (41, E.UNKNOWN_MESSAGE), (42, E.BAD_LENGTH)]
    assert link.ok(T.PING, {"token": 9}).fields["token"] == 9


def test_retransmitted_request_gets_the_cached_reply_and_runs_once(link: HostLink,
                                                                   board: SimBoard) -> None:
    link.ok(T.VALVE_SELECT, {"valve": 0, "port": 5})
    board.advance_ms(2000)
    frame = encode_frame(T.PUMP_MOVE, {"pump": 0, "volume_nl": -10_000,
                                       "rate_nl_per_s": 100_000}, seq=77)
    board.send(frame)
    first = board.receive()
    board.advance_ms(50)
    board.send(frame)  # the host did not see the ACK and retransmits
    again = board.receive()
    assert [f for f in again if decode_frame(f).msg_type == T.ACK] == [
        f for f in first if decode_frame(f).msg_type == T.ACK]
    board.advance_ms(3000)
    assert board.pump_volume_nl(0) == pytest.approx(10_000, abs=1e-6)
    assert link.ok(T.GET_STATUS).fields["pumps_busy_mask"] == 0


def test_busy_pump_and_valve_are_naked(link: HostLink) -> None:
    link.ok(T.PUMP_MOVE, {"pump": 0, "volume_nl": -500_000, "rate_nl_per_s": 100_000})
    assert nak_code(link, T.PUMP_MOVE, {"pump": 0, "volume_nl": -1000,
                                        "rate_nl_per_s": 1000}) == E.BUSY
    link.ok(T.VALVE_SELECT, {"valve": 0, "port": 12})
    assert nak_code(link, T.VALVE_SELECT, {"valve": 0, "port": 3}) == E.BUSY
    status = link.ok(T.GET_STATUS).fields
    assert (status["pumps_busy_mask"], status["valves_busy_mask"]) == (1, 1)
    assert status["state"] == DeviceState.ACTIVE


@pytest.mark.parametrize("content", [None, b"{not json", b'{"schema": 1}'])
def test_broken_board_file_means_safe_state_reported(content: bytes | None) -> None:
    raw = content if content is not None else b""
    board = SimBoard(board_file_bytes=raw)
    link = HostLink(board)
    frames = link.pump()
    assert frames[0].msg_type == T.BOOT and frames[0].fields["faults"] == Fault.BOARD_CONFIG
    assert frames[1].msg_type == T.FAULT_EVENT and frames[1].fields["fault"] == 6
    assert frames[2].msg_type == T.LOG and "board file" in frames[2].fields["text"]
    if content == b'{"schema": 1}':
        assert "board_id: missing" in frames[2].fields["text"]
    status = link.ok(T.GET_STATUS).fields
    assert status["state"] == DeviceState.SAFE and status["faults"] == Fault.BOARD_CONFIG
    assert link.ok(T.IDENTIFY).fields["heaters"] == []
    assert nak_code(link, T.HEATER_SET, {"zone": 0, "enable": 1, "setpoint_mc": 30000,
                                         "ramp_mc_per_s": 0}) == E.NOT_CONFIGURED
    link.ok(T.FAULT_CLEAR, {"faults": 0xFFFFFFFF})
    assert link.ok(T.GET_STATUS).fields["faults"] == Fault.BOARD_CONFIG
    board.advance_ms(10_000)
    assert link.ok(T.PING, {"token": 1}).fields["token"] == 1


def test_board_file_with_a_bad_field_is_rejected_by_name() -> None:
    cfg = json.loads((BOARDS_DIR / "pico.json").read_text())
    cfg["heaters"][1]["thermistor"]["beta"] = -1
    board = SimBoard(board_file_bytes=json.dumps(cfg).encode())
    assert board.cfg_error.startswith("heaters[1].thermistor.beta:")


def test_watchdog_reboot_reports_cause_and_latches_until_cleared(board: SimBoard) -> None:
    board.reboot(ResetCause.WATCHDOG)
    link = HostLink(board)
    boot = [f for f in link.pump() if f.msg_type == T.BOOT][-1].fields
    assert boot == {"boot_id": 2, "reset_cause": ResetCause.WATCHDOG,
                    "faults": Fault.WATCHDOG_RESET}
    link.ok(T.FAULT_CLEAR, {"faults": Fault.WATCHDOG_RESET})
    assert link.ok(T.GET_STATUS).fields["faults"] == 0

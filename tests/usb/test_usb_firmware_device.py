"""The firmware, through pyusb, answers raw frames exactly as docs/usb.md says a device must."""

import time

import pytest
import usb.core
from opensbs.protocol.control import (
    PROTOCOL_VERSION,
    SYNC,
    ControlFrame,
    Crc,
    DeviceState,
    ErrorCode,
    Fault,
    FrameHeader,
    FrameSplitter,
    MsgType,
    ResetCause,
    crc16_ccitt,
    encode_frame,
)
from opensbs.sim.usb import VirtualUsbBus
from opensbs.usb.ids import OPENSBS_VID
from usb_devices import executed, sim_controller


class RawLink:
    """Raw frames to and from the firmware on a simulated pico through pyusb."""

    def __init__(self, boot_id: int = 1) -> None:
        self.bus = VirtualUsbBus()
        self.board, self.device = sim_controller("RAW", boot_id=boot_id)
        self.bus.attach(self.device)
        self.dev = usb.core.find(backend=self.bus.backend, idVendor=OPENSBS_VID)
        self.splitter = FrameSplitter()
        self.frames()  # the BOOT message

    def send(self, data: bytes) -> None:
        self.dev.write(0x01, data, 100)

    def frames(self, timeout_ms: int = 50, max_s: float = 1.0) -> list[ControlFrame]:
        """Frames until the device stays silent for ``timeout_ms`` (at most ``max_s``)."""
        out: list[ControlFrame] = []
        deadline = time.monotonic() + max_s
        while time.monotonic() < deadline:
            try:
                data = bytes(self.dev.read(0x81, 4096, timeout_ms))
            except usb.core.USBTimeoutError:
                return out
            out += [f for f in self.splitter.feed(data) if isinstance(f, ControlFrame)]
        return out

    def request(self, msg_type: MsgType, fields: dict | None = None, seq: int = 1,
                boot_id: int = 0) -> ControlFrame:
        self.send(encode_frame(msg_type, fields, seq=seq, boot_id=boot_id))
        replies = [f for f in self.frames() if f.msg_type not in (MsgType.TELEMETRY,
                                                                  MsgType.FAULT_EVENT,
                                                                  MsgType.TRIGGER_DONE)]
        assert len(replies) == 1, replies
        assert replies[0].ack == seq
        return replies[0]


def nak_code(reply: ControlFrame) -> ErrorCode:
    assert reply.msg_type == MsgType.NAK
    return ErrorCode(reply.fields["error"])


def test_identify_ping_status() -> None:
    link = RawLink(boot_id=41)
    ident = link.request(MsgType.IDENTIFY, seq=1)
    assert ident.msg_type == MsgType.IDENTIFY_REPLY and ident.boot_id == 41
    assert ident.fields["protocol_version"] == PROTOCOL_VERSION
    assert ident.fields["boot_id"] == 41 and ident.fields["board_id"] == "pico"
    assert len(ident.fields["heaters"]) == 2 and ident.fields["valves"] == [{"ports": 24}]
    assert link.request(MsgType.PING, {"token": 0xCAFE}, seq=2).fields == {"token": 0xCAFE}
    status = link.request(MsgType.GET_STATUS, seq=3)
    assert status.msg_type == MsgType.STATUS_REPLY
    assert status.fields["state"] == DeviceState.IDLE and status.fields["boot_id"] == 41


def test_duplicate_seq_gets_the_cached_reply_without_running_again() -> None:
    link = RawLink()
    move = encode_frame(MsgType.PUMP_MOVE, {"pump": 0, "volume_nl": -500,
                                            "rate_nl_per_s": 1000}, seq=9, boot_id=1)
    link.send(move)
    first = link.frames()
    link.send(move)
    second = link.frames()
    assert [f.msg_type for f in first] == [MsgType.ACK]
    assert (second[0].msg_type, second[0].seq, second[0].ack) == \
        (first[0].msg_type, first[0].seq, first[0].ack)  # the very same frame
    link.board.advance_ms(1000)
    assert round(link.board.controller.pumps[0].position_nl) == 500
    assert executed(link.board) == [MsgType.PUMP_MOVE]


def test_request_for_an_earlier_boot_is_refused_and_not_run() -> None:
    link = RawLink(boot_id=7)
    stale = link.request(MsgType.PUMP_STOP, {"pump": 0}, seq=3, boot_id=6)
    assert nak_code(stale) == ErrorCode.STALE_BOOT and stale.boot_id == 7
    assert link.request(MsgType.PUMP_STOP, {"pump": 0}, seq=4, boot_id=7).msg_type == \
        MsgType.ACK
    assert executed(link.board) == [MsgType.PUMP_STOP]


def reframe(version: int, msg_type: int, payload: bytes, seq: int = 4) -> bytes:
    body = FrameHeader.build({"version": version, "msg_type": msg_type, "seq": seq, "ack": 0,
                              "boot_id": 0, "length": len(payload)})[len(SYNC):] + payload
    return SYNC + body + Crc.build(crc16_ccitt(body))


@pytest.mark.parametrize(("data", "code"), [
    (reframe(PROTOCOL_VERSION, 0x7E, b""), ErrorCode.UNKNOWN_MESSAGE),
    (reframe(PROTOCOL_VERSION, MsgType.ACK, bytes([1])), ErrorCode.UNKNOWN_MESSAGE),
    (reframe(PROTOCOL_VERSION + 1, MsgType.PING, bytes(4)), ErrorCode.BAD_VERSION),
    (reframe(PROTOCOL_VERSION, MsgType.PING, bytes(2)), ErrorCode.BAD_LENGTH),
    (reframe(PROTOCOL_VERSION, MsgType.PING, bytes(4))[:-1] + b"\x00", ErrorCode.BAD_CRC),
], ids=["unknown", "reply_type_as_request", "version", "length", "crc"])
def test_damaged_frames_are_naked_and_not_run(data: bytes, code: ErrorCode) -> None:
    link = RawLink()
    link.send(data)
    replies = link.frames()
    assert [nak_code(r) for r in replies] == [code]
    assert replies[0].ack == 4 and replies[0].fields["msg_type"] == FrameHeader.parse(data).msg_type
    assert executed(link.board) == []


def test_every_refusal_carries_its_error_code() -> None:
    link = RawLink()
    seq = iter(range(1, 100))

    def code(msg_type: MsgType, fields: dict) -> ErrorCode:
        return nak_code(link.request(msg_type, fields, seq=next(seq)))

    heater = {"zone": 0, "enable": 1, "setpoint_mc": 65000, "ramp_mc_per_s": 0}
    assert code(MsgType.HEATER_SET, {**heater, "zone": 5}) == ErrorCode.UNKNOWN_TARGET
    assert code(MsgType.HEATER_SET, {**heater, "setpoint_mc": 99000}) == ErrorCode.OUT_OF_RANGE
    assert code(MsgType.PUMP_MOVE, {"pump": 0, "volume_nl": 10, "rate_nl_per_s": 0}) == \
        ErrorCode.OUT_OF_RANGE
    assert code(MsgType.PUMP_MOVE, {"pump": 0, "volume_nl": 2_000_000,
                                    "rate_nl_per_s": 10}) == ErrorCode.OUT_OF_RANGE
    assert code(MsgType.VALVE_SELECT, {"valve": 0, "port": 24}) == ErrorCode.OUT_OF_RANGE
    assert code(MsgType.TRIGGER_ARM, {"output": 0}) == ErrorCode.NOT_CONFIGURED
    program = {"output": 0, "exposure_us": 20_000, "period_us": 50_000, "pulse_count": 4,
               "laser_mask": 0b0011}
    assert code(MsgType.TRIGGER_PROGRAM, {**program, "exposure_us": 60_000}) == \
        ErrorCode.OUT_OF_RANGE
    assert code(MsgType.TRIGGER_PROGRAM, {**program, "laser_mask": 0x10}) == \
        ErrorCode.OUT_OF_RANGE
    assert link.request(MsgType.TRIGGER_PROGRAM, program, seq=next(seq)).msg_type == MsgType.ACK
    assert code(MsgType.TRIGGER_FIRE, {"output": 0}) == ErrorCode.NOT_ARMED
    link.board.plant.zones[0].sensor_fault = "short"  # a real safety trip
    link.board.advance_ms(200)
    assert code(MsgType.HEATER_SET, heater) == ErrorCode.FAULT_LATCHED
    link.board.plant.zones[0].sensor_fault = None
    link.request(MsgType.FAULT_CLEAR, {"faults": int(Fault.THERMISTOR_SHORT)}, seq=next(seq))
    assert link.request(MsgType.EMERGENCY_STOP, seq=next(seq)).msg_type == MsgType.ACK
    assert code(MsgType.PUMP_MOVE, {"pump": 0, "volume_nl": -1, "rate_nl_per_s": 1}) == \
        ErrorCode.ESTOP_ACTIVE
    assert link.board.controller.state() == DeviceState.ESTOP


def test_trigger_fire_sends_trigger_done_and_estop_sends_fault_event() -> None:
    link = RawLink()
    link.request(MsgType.TRIGGER_PROGRAM, {"output": 0, "exposure_us": 100, "period_us": 200,
                                           "pulse_count": 3, "laser_mask": 1}, seq=1)
    link.request(MsgType.TRIGGER_ARM, {"output": 0}, seq=2)
    link.send(encode_frame(MsgType.TRIGGER_FIRE, {"output": 0}, seq=3))
    link.board.advance_ms(100)
    frames = [f for f in link.frames() if f.msg_type != MsgType.TELEMETRY]
    assert [f.msg_type for f in frames] == [MsgType.ACK, MsgType.TRIGGER_DONE]
    assert frames[1].fields == {"output": 0, "pulses": 3}
    link.send(encode_frame(MsgType.EMERGENCY_STOP, seq=4))
    frames = [f for f in link.frames() if f.msg_type != MsgType.TELEMETRY]
    assert [f.msg_type for f in frames] == [MsgType.FAULT_EVENT, MsgType.ACK]
    assert frames[0].fields["fault"] == 7 and frames[0].fields["faults"] == Fault.EMERGENCY_STOP


def test_periodic_telemetry() -> None:
    link = RawLink()
    link.request(MsgType.HEATER_SET, {"zone": 1, "enable": 1, "setpoint_mc": 65000,
                                      "ramp_mc_per_s": 0})
    link.board.advance_ms(2000)  # the pico sends TELEMETRY every second
    telemetry = [f for f in link.frames(max_s=0.1) if f.msg_type == MsgType.TELEMETRY]
    assert len(telemetry) >= 2
    assert telemetry[-1].fields["heaters"][1]["setpoint_mc"] == 65000
    assert telemetry[-1].fields["heaters"][1]["enabled"] == 1


def test_reset_sends_boot_with_new_boot_id_and_forgets_the_duplicate_cache() -> None:
    link = RawLink(boot_id=5)
    ping = encode_frame(MsgType.PING, {"token": 1}, seq=7)
    link.send(ping)
    link.frames()
    link.board.reboot(ResetCause.SOFT)
    boot = link.frames()
    assert [f.msg_type for f in boot] == [MsgType.BOOT]
    assert boot[0].fields == {"boot_id": 6, "reset_cause": ResetCause.SOFT, "faults": 0}
    link.send(ping)  # same seq, but a new boot: executed again
    assert [f.msg_type for f in link.frames()] == [MsgType.PONG]
    assert len(executed(link.board)) == 2

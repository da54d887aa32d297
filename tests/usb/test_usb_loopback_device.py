"""The loopback controller answers raw frames exactly as the protocol says a device must."""

import time

import pytest
import usb.core
from opensbs.protocol.control import (
    PROTOCOL_VERSION,
    SYNC,
    ControlFrame,
    DeviceState,
    ErrorCode,
    Fault,
    FrameSplitter,
    MsgType,
    ResetCause,
    crc16_ccitt,
    encode_frame,
)
from opensbs.usb.ids import OPENSBS_VID
from opensbs.usb.virtual import LoopbackController, VirtualUsbBus


class RawLink:
    """Raw frames to and from a loopback controller through pyusb."""

    def __init__(self, **options: object) -> None:
        self.bus = VirtualUsbBus()
        self.device = LoopbackController("RAW", **options)  # type: ignore[arg-type]
        self.bus.attach(self.device)
        self.dev = usb.core.find(backend=self.bus.backend, idVendor=OPENSBS_VID)
        self.splitter = FrameSplitter()

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

    def request(self, msg_type: MsgType, fields: dict | None = None, seq: int = 1
                ) -> ControlFrame:
        self.send(encode_frame(msg_type, fields, seq=seq))
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
    assert ident.msg_type == MsgType.IDENTIFY_REPLY
    assert ident.fields["protocol_version"] == PROTOCOL_VERSION
    assert ident.fields["boot_id"] == 41 and ident.fields["board_id"] == "loopback"
    assert len(ident.fields["heaters"]) == 2 and ident.fields["valves"] == [{"ports": 24}]
    assert link.request(MsgType.PING, {"token": 0xCAFE}, seq=2).fields == {"token": 0xCAFE}
    status = link.request(MsgType.GET_STATUS, seq=3)
    assert status.msg_type == MsgType.STATUS_REPLY
    assert status.fields["state"] == DeviceState.IDLE and status.fields["boot_id"] == 41


def test_duplicate_seq_gets_the_cached_reply_without_running_again() -> None:
    link = RawLink()
    move = encode_frame(MsgType.PUMP_MOVE, {"pump": 0, "volume_nl": 500,
                                            "rate_nl_per_s": 1000}, seq=9)
    link.send(move)
    first = link.frames()
    link.send(move)
    second = link.frames()
    assert [f.msg_type for f in first] == [MsgType.ACK]
    assert (second[0].msg_type, second[0].seq, second[0].ack) == \
        (first[0].msg_type, first[0].seq, first[0].ack)  # the very same frame
    assert link.device.pumps[0]["position_nl"] == 500
    assert link.device.duplicates == 1
    assert [t for t, _ in link.device.executed] == [MsgType.PUMP_MOVE]


def reframe(version: int, msg_type: int, payload: bytes, seq: int = 4) -> bytes:
    body = bytes((version, msg_type, seq, 0)) + len(payload).to_bytes(2, "little") + payload
    return SYNC + body + crc16_ccitt(body).to_bytes(2, "little")


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
    assert replies[0].ack == 4 and replies[0].fields["msg_type"] == data[3]
    assert link.device.executed == []


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
    link.device.inject_fault(Fault.OVER_TEMPERATURE, source=0, value=120_000)
    assert code(MsgType.HEATER_SET, heater) == ErrorCode.FAULT_LATCHED
    link.request(MsgType.FAULT_CLEAR, {"faults": int(Fault.OVER_TEMPERATURE)}, seq=next(seq))
    assert link.request(MsgType.EMERGENCY_STOP, seq=next(seq)).msg_type == MsgType.ACK
    assert code(MsgType.PUMP_MOVE, {"pump": 0, "volume_nl": 1, "rate_nl_per_s": 1}) == \
        ErrorCode.ESTOP_ACTIVE
    assert link.device.state == DeviceState.ESTOP


def test_trigger_fire_sends_trigger_done_and_estop_sends_fault_event() -> None:
    link = RawLink()
    link.request(MsgType.TRIGGER_PROGRAM, {"output": 0, "exposure_us": 100, "period_us": 200,
                                           "pulse_count": 3, "laser_mask": 1}, seq=1)
    link.request(MsgType.TRIGGER_ARM, {"output": 0}, seq=2)
    link.send(encode_frame(MsgType.TRIGGER_FIRE, {"output": 0}, seq=3))
    frames = link.frames()
    assert [f.msg_type for f in frames] == [MsgType.ACK, MsgType.TRIGGER_DONE]
    assert frames[1].fields == {"output": 0, "pulses": 3}
    link.send(encode_frame(MsgType.EMERGENCY_STOP, seq=4))
    frames = link.frames()
    assert [f.msg_type for f in frames] == [MsgType.FAULT_EVENT, MsgType.ACK]
    assert frames[0].fields["fault"] == 7 and frames[0].fields["faults"] == Fault.EMERGENCY_STOP


def test_periodic_telemetry() -> None:
    link = RawLink(telemetry_period_s=0.01)
    link.request(MsgType.HEATER_SET, {"zone": 1, "enable": 1, "setpoint_mc": 65000,
                                      "ramp_mc_per_s": 0})
    telemetry = [f for f in link.frames(max_s=0.1) if f.msg_type == MsgType.TELEMETRY]
    assert len(telemetry) >= 2
    assert telemetry[-1].fields["heaters"][1]["setpoint_mc"] == 65000
    assert telemetry[-1].fields["heaters"][1]["enabled"] == 1


def test_reset_sends_boot_with_new_boot_id_and_forgets_the_duplicate_cache() -> None:
    link = RawLink(boot_id=5)
    ping = encode_frame(MsgType.PING, {"token": 1}, seq=7)
    link.send(ping)
    link.frames()
    link.dev.reset()
    boot = link.frames()
    assert [f.msg_type for f in boot] == [MsgType.BOOT]
    assert boot[0].fields == {"boot_id": 6, "reset_cause": ResetCause.SOFT, "faults": 0}
    link.send(ping)  # same seq, but a new boot: executed again
    assert [f.msg_type for f in link.frames()] == [MsgType.PONG]
    assert len(link.device.executed) == 2

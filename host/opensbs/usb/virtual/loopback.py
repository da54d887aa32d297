"""A loopback controller: a VirtualDevice that answers the control link by the protocol's rules.

Not a board simulation (that is the firmware helper's simulated board): actuators reach their
targets at once. It implements the device side of the link exactly:

* every request gets one reply (IDENTIFY_REPLY, PONG, STATUS_REPLY, ACK, or NAK with the
  ErrorCode the check found: UNKNOWN_TARGET, OUT_OF_RANGE, ESTOP_ACTIVE, FAULT_LATCHED,
  NOT_CONFIGURED, NOT_ARMED, UNKNOWN_MESSAGE);
* a damaged frame is NAKed with BAD_CRC / BAD_VERSION / BAD_LENGTH / UNKNOWN_MESSAGE and
  nothing runs; the duplicate cache is left alone;
* a request whose seq equals the last executed one is answered with the cached reply and
  not executed again (``duplicates`` counts them);
* TELEMETRY every ``telemetry_period_s`` and/or after every ``telemetry_every_requests``-th
  executed request (deterministic, for soaks); TRIGGER_DONE after TRIGGER_FIRE; FAULT_EVENT on
  emergency stop or ``inject_fault``; after a reset, BOOT with a new boot_id.

``executed`` lists every request that ran, ``(MsgType, fields)``, in order.
"""

import threading
import time
from typing import Any

from ...protocol.control import (
    NO_SOURCE,
    PROTOCOL_VERSION,
    ControlFrame,
    DeviceState,
    ErrorCode,
    Fault,
    FrameSplitter,
    MsgType,
    ResetCause,
    TriggerState,
    encode_frame,
)
from ...protocol.errors import (
    BadCrcError,
    BadSyncError,
    BadVersionError,
    ProtocolError,
    UnknownMessageError,
)
from ..ids import CONTROLLER_PID, OPENSBS_VID
from .device import VirtualDevice

HEATERS = [{"max_setpoint_mc": 98000}, {"max_setpoint_mc": 105000}]
PUMPS = [{"max_rate_nl_per_s": 2_000_000, "capacity_nl": 1_000_000}]
VALVES = [{"ports": 24}]
TRIGGERS = [{"lasers": 4}]
AMBIENT_MC = 25_000
MIN_SETPOINT_MC = 0
FRAME_SILENCE_S = 0.005  # a frame left incomplete this long is abandoned
ACTUATING = frozenset({MsgType.HEATER_SET, MsgType.PUMP_MOVE, MsgType.VALVE_SELECT,
                       MsgType.TRIGGER_PROGRAM, MsgType.TRIGGER_ARM, MsgType.TRIGGER_FIRE})


class Rejected(Exception):
    """A request failed a check: the device NAKs it with ``code``."""

    def __init__(self, code: ErrorCode) -> None:
        super().__init__(code.name)
        self.code = code


def _nak_code(exc: ProtocolError) -> ErrorCode:
    if isinstance(exc, BadCrcError):
        return ErrorCode.BAD_CRC
    if isinstance(exc, BadVersionError):
        return ErrorCode.BAD_VERSION
    if isinstance(exc, UnknownMessageError):
        return ErrorCode.UNKNOWN_MESSAGE
    return ErrorCode.BAD_LENGTH


class LoopbackController(VirtualDevice):
    """Answers control-link requests in-process; see the module docstring."""

    usb_speed = 2  # full speed, like an RP2040

    def __init__(self, serial_number: str = "LOOPBACK-0", *, boot_id: int = 1,
                 telemetry_period_s: float | None = None,
                 telemetry_every_requests: int | None = None,
                 protocol_version: int = PROTOCOL_VERSION,
                 board_id: str = "loopback") -> None:
        super().__init__(OPENSBS_VID, CONTROLLER_PID, serial_number,
                         product="OpenSBS loopback controller")
        self.boot_id = boot_id
        self.telemetry_period_s = telemetry_period_s
        self.telemetry_every_requests = telemetry_every_requests
        self.protocol_version = protocol_version
        self.board_id = board_id
        self.executed: list[tuple[MsgType, dict[str, Any]]] = []
        self.duplicates = 0
        self.bad_frames = 0
        self._lock = threading.Condition()
        self._out = bytearray()
        self._reset_state(ResetCause.POWER_ON, announce=False)

    # -- VirtualDevice -----------------------------------------------------------------------

    def handle_out(self, endpoint: int, data: bytes) -> None:
        with self._lock:
            for item in self._splitter.feed(data):
                if isinstance(item, ProtocolError):
                    self._on_damaged(item)
                else:
                    self._on_request(item)
            self._lock.notify_all()

    def next_in(self, endpoint: int, max_bytes: int, timeout_s: float) -> bytes:
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while True:
                self._telemetry_due()
                if self._out:
                    data = bytes(self._out[:max_bytes])
                    del self._out[:max_bytes]
                    return data
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return b""
                if self.telemetry_period_s is not None:
                    remaining = min(remaining, max(0.0, self._next_telemetry - time.monotonic()))
                self._lock.wait(remaining)

    def on_reset(self) -> None:
        self.reboot(ResetCause.SOFT)

    # -- test hooks --------------------------------------------------------------------------

    def reboot(self, cause: ResetCause = ResetCause.SOFT) -> None:
        """Reset now: new boot_id, state cleared, BOOT queued."""
        with self._lock:
            self.boot_id = (self.boot_id + 1) & 0xFFFFFFFF
            self._reset_state(cause, announce=True)
            self._lock.notify_all()

    def inject_fault(self, fault: Fault, source: int = NO_SOURCE, value: int = 0) -> None:
        """Latch ``fault`` and send its FAULT_EVENT, as a real safety trip would."""
        with self._lock:
            self._latch(fault, source, value)
            self._lock.notify_all()

    # -- internals ---------------------------------------------------------------------------

    def _reset_state(self, cause: ResetCause, announce: bool) -> None:
        self._splitter = FrameSplitter(stale_after_s=FRAME_SILENCE_S)
        self._out.clear()
        self._tx_seq = 0
        self._last_rx_seq = 0
        self._last_request: int | None = None
        self._last_reply = b""
        self._started = time.monotonic()
        self._next_telemetry = self._started + (self.telemetry_period_s or 0.0)
        self._heartbeat_at = self._started
        self.state = DeviceState.IDLE
        self.faults = 0
        self.heaters = [{"temperature_mc": AMBIENT_MC, "setpoint_mc": 0, "duty_permille": 0,
                         "enabled": 0} for _ in HEATERS]
        self.pumps = [{"position_nl": 0, "flow_nl_per_s": 0, "moving": 0} for _ in PUMPS]
        self.valves = [{"port": 0, "moving": 0} for _ in VALVES]
        self.triggers: list[dict[str, Any]] = [
            {"state": TriggerState.IDLE, "pulses_done": 0, "program": None} for _ in TRIGGERS
        ]
        if announce:
            self._send(MsgType.BOOT, {"boot_id": self.boot_id, "reset_cause": int(cause),
                                      "faults": 0})

    def _uptime_ms(self) -> int:
        return round((time.monotonic() - self._started) * 1000) & 0xFFFFFFFF

    def _send(self, msg_type: MsgType, fields: dict[str, Any], ack: int | None = None) -> bytes:
        frame = encode_frame(msg_type, fields, seq=self._tx_seq,
                             ack=self._last_rx_seq if ack is None else ack,
                             version=self.protocol_version)
        self._tx_seq = (self._tx_seq + 1) & 0xFF
        self._out += frame
        return frame

    def _telemetry_due(self) -> None:
        if self.telemetry_period_s is None or time.monotonic() < self._next_telemetry:
            return
        self._next_telemetry = time.monotonic() + self.telemetry_period_s
        self._send_telemetry()

    def _send_telemetry(self) -> None:
        self._send(MsgType.TELEMETRY, {
            "uptime_ms": self._uptime_ms(), "state": int(self.state), "faults": self.faults,
            "heaters": self.heaters, "pumps": self.pumps, "valves": self.valves,
            "triggers": [{"state": int(t["state"]), "pulses_done": t["pulses_done"]}
                         for t in self.triggers],
        })

    def _on_damaged(self, exc: ProtocolError) -> None:
        self.bad_frames += 1
        if isinstance(exc, BadSyncError) or exc.frame is None:
            return
        frame = exc.frame
        self._send(MsgType.NAK, {"msg_type": frame[3], "error": int(_nak_code(exc))},
                   ack=frame[4])

    def _on_request(self, frame: ControlFrame) -> None:
        self._last_rx_seq = frame.seq
        if frame.seq == self._last_request:
            self.duplicates += 1
            self._out += self._last_reply
            return
        if frame.msg_type >= 0x80:
            reply_type, fields = MsgType.NAK, {"msg_type": int(frame.msg_type),
                                               "error": int(ErrorCode.UNKNOWN_MESSAGE)}
        else:
            try:
                reply_type, fields = self._execute(frame.msg_type, frame.fields)
                self.executed.append((frame.msg_type, frame.fields))
            except Rejected as exc:
                reply_type, fields = MsgType.NAK, {"msg_type": int(frame.msg_type),
                                                   "error": int(exc.code)}
        self._last_request = frame.seq
        self._last_reply = self._send(reply_type, fields, ack=frame.seq)
        if frame.msg_type == MsgType.TRIGGER_FIRE and reply_type == MsgType.ACK:
            self._fire(frame.fields["output"])
        every = self.telemetry_every_requests
        if every and len(self.executed) % every == 0:
            self._send_telemetry()

    def _execute(self, msg_type: MsgType, f: dict[str, Any]) -> tuple[MsgType, dict[str, Any]]:
        switching_off = msg_type == MsgType.HEATER_SET and f["enable"] == 0
        if msg_type in ACTUATING and not switching_off:
            if self.state == DeviceState.ESTOP:
                raise Rejected(ErrorCode.ESTOP_ACTIVE)
            if self.faults:
                raise Rejected(ErrorCode.FAULT_LATCHED)
        handler = getattr(self, "_do_" + msg_type.name.lower())
        result: tuple[MsgType, dict[str, Any]] | None = handler(f)
        return result or (MsgType.ACK, {"msg_type": int(msg_type)})

    @staticmethod
    def _index(items: list[Any], i: int) -> Any:
        if i >= len(items):
            raise Rejected(ErrorCode.UNKNOWN_TARGET)
        return items[i]

    @staticmethod
    def _check(ok: bool) -> None:
        if not ok:
            raise Rejected(ErrorCode.OUT_OF_RANGE)

    def _do_identify(self, f: dict[str, Any]) -> tuple[MsgType, dict[str, Any]]:
        return MsgType.IDENTIFY_REPLY, {
            "protocol_version": self.protocol_version, "fw_major": 0, "fw_minor": 1,
            "fw_patch": 0, "board_id": self.board_id, "board_config_crc": 0,
            "boot_id": self.boot_id, "heaters": HEATERS, "pumps": PUMPS, "valves": VALVES,
            "triggers": TRIGGERS,
        }

    def _do_ping(self, f: dict[str, Any]) -> tuple[MsgType, dict[str, Any]]:
        return MsgType.PONG, {"token": f["token"]}

    def _do_heartbeat(self, f: dict[str, Any]) -> None:
        self._heartbeat_at = time.monotonic()

    def _do_get_status(self, f: dict[str, Any]) -> tuple[MsgType, dict[str, Any]]:
        armed = sum(1 << i for i, t in enumerate(self.triggers)
                    if t["state"] == TriggerState.ARMED)
        return MsgType.STATUS_REPLY, {
            "state": int(self.state), "faults": self.faults, "uptime_ms": self._uptime_ms(),
            "heartbeat_age_ms": round((time.monotonic() - self._heartbeat_at) * 1000),
            "boot_id": self.boot_id, "armed_mask": armed, "pumps_busy_mask": 0,
            "valves_busy_mask": 0,
        }

    def _do_heater_set(self, f: dict[str, Any]) -> None:
        zone = self._index(self.heaters, f["zone"])
        limit = HEATERS[f["zone"]]["max_setpoint_mc"]
        self._check(f["enable"] in (0, 1) and MIN_SETPOINT_MC <= f["setpoint_mc"] <= limit)
        zone.update(setpoint_mc=f["setpoint_mc"], enabled=f["enable"])
        zone["temperature_mc"] = f["setpoint_mc"] if f["enable"] else AMBIENT_MC
        self.state = DeviceState.ACTIVE if f["enable"] else self.state

    def _do_pump_move(self, f: dict[str, Any]) -> None:
        pump = self._index(self.pumps, f["pump"])
        cap = PUMPS[f["pump"]]
        self._check(0 < f["rate_nl_per_s"] <= cap["max_rate_nl_per_s"])
        self._check(abs(pump["position_nl"] + f["volume_nl"]) <= cap["capacity_nl"])
        pump["position_nl"] += f["volume_nl"]

    def _do_pump_stop(self, f: dict[str, Any]) -> None:
        self._index(self.pumps, f["pump"])["moving"] = 0

    def _do_valve_select(self, f: dict[str, Any]) -> None:
        valve = self._index(self.valves, f["valve"])
        self._check(f["port"] < VALVES[f["valve"]]["ports"])
        valve["port"] = f["port"]

    def _do_trigger_program(self, f: dict[str, Any]) -> None:
        trigger = self._index(self.triggers, f["output"])
        lasers = TRIGGERS[f["output"]]["lasers"]
        self._check(0 < f["exposure_us"] <= f["period_us"] and f["pulse_count"] > 0)
        self._check(0 < f["laser_mask"] < (1 << lasers))
        trigger.update(state=TriggerState.PROGRAMMED, program=dict(f), pulses_done=0)

    def _do_trigger_arm(self, f: dict[str, Any]) -> None:
        trigger = self._index(self.triggers, f["output"])
        if trigger["program"] is None:
            raise Rejected(ErrorCode.NOT_CONFIGURED)
        trigger["state"] = TriggerState.ARMED

    def _do_trigger_fire(self, f: dict[str, Any]) -> None:
        if self._index(self.triggers, f["output"])["state"] != TriggerState.ARMED:
            raise Rejected(ErrorCode.NOT_ARMED)

    def _fire(self, output: int) -> None:
        trigger = self.triggers[output]
        pulses = trigger["program"]["pulse_count"]
        trigger.update(state=TriggerState.PROGRAMMED, pulses_done=pulses)
        self._send(MsgType.TRIGGER_DONE, {"output": output, "pulses": pulses})

    def _do_fault_clear(self, f: dict[str, Any]) -> None:
        self.faults &= ~f["faults"]
        if not self.faults:
            self.state = DeviceState.IDLE

    def _do_emergency_stop(self, f: dict[str, Any]) -> None:
        for zone in self.heaters:
            zone.update(enabled=0, duty_permille=0)
        for trigger in self.triggers:
            if trigger["state"] == TriggerState.ARMED:
                trigger["state"] = TriggerState.PROGRAMMED
        self._latch(Fault.EMERGENCY_STOP, NO_SOURCE, 0)
        self.state = DeviceState.ESTOP

    def _latch(self, fault: Fault, source: int, value: int) -> None:
        self.faults |= int(fault)
        self.state = DeviceState.ESTOP if fault == Fault.EMERGENCY_STOP else DeviceState.FAULT
        self._send(MsgType.FAULT_EVENT, {"fault": int(fault).bit_length() - 1,
                                         "source": source, "value": value,
                                         "faults": self.faults})

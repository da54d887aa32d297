"""The controller core: board state, safety latches and command dispatch.

Synchronous and clock-free: the board's asyncio tasks and the simulator both call
``handle_bytes(data, now_ms)`` with what the host sent and ``step(now_ms)`` once per control
period; every frame to send (replies and unsolicited messages) lands in ``outbox``.

The hardware layer ``hal`` is any object with::

    heater_duty(zone, duty_permille)      read_thermistor_u16(zone) -> int
    pump_rate(pump, nl_per_s)             (signed, > 0 fills the syringe; 0 = stop)
    valve_select(valve, port)             valve_ready(valve) -> bool
    trigger_start(output, exposure_us, period_us, pulse_count, laser_mask)
    trigger_stop(output)                  trigger_pulses_done(output) -> int
    status_led(on)                        all_off()
"""

from . import FW_VERSION
from . import codec as c
from .heater import HeaterZone
from .pump import Pump
from .trigger import Trigger
from .valve import Valve

_ACTUATING = (c.HEATER_SET, c.PUMP_MOVE, c.VALVE_SELECT, c.TRIGGER_PROGRAM, c.TRIGGER_ARM,
              c.TRIGGER_FIRE)
_SAFE_ALLOWED = (c.IDENTIFY, c.PING, c.HEARTBEAT, c.GET_STATUS, c.FAULT_CLEAR,
                 c.EMERGENCY_STOP)
SAFE_FRAME_SILENCE_MS = 5  # the frame reader's silence rule without a board file


class Controller:
    """Everything the board does, stepped with an explicit millisecond clock.

    ``cfg`` is the validated board dict, or None with ``cfg_error`` set when the board file
    is missing or broken: the controller then stays in DeviceState.SAFE with
    Fault.BOARD_CONFIG latched and every output off.
    """

    def __init__(self, hal, cfg, cfg_crc: int, boot_id: int, reset_cause: int, now_ms: int,
                 cfg_error: str = "") -> None:
        self.hal = hal
        self.cfg = cfg
        self.cfg_crc = cfg_crc
        self.boot_id = boot_id
        self.outbox: list = []
        self.faults = 0
        self.boot_ms = now_ms
        self.now_ms = now_ms
        self._seq = 0
        self._peer_seq = 0
        self._last_request = None  # type: tuple | None
        self._last_reply = b""
        self.frame_silence_ms = cfg["frame_silence_ms"] if cfg else SAFE_FRAME_SILENCE_MS
        self._reader = c.FrameReader(self.frame_silence_ms)
        self._host_ms = now_ms
        self._host_seen = False
        self._next_telemetry_ms = now_ms
        self._led = False
        self.period_ms = cfg["control_period_ms"] if cfg else 100
        self.heaters = [HeaterZone(h) for h in cfg["heaters"]] if cfg else []
        self.pumps = [Pump(p) for p in cfg["pumps"]] if cfg else []
        self.valves = [Valve(v) for v in cfg["valves"]] if cfg else []
        self.triggers = [Trigger(t) for t in cfg["triggers"]] if cfg else []
        hal.all_off()
        if reset_cause == c.RESET_WATCHDOG:
            self.faults |= c.WATCHDOG_RESET
        if cfg is None:
            self.faults |= c.BOARD_CONFIG
        self._send(c.BOOT, {"boot_id": boot_id, "reset_cause": reset_cause,
                            "faults": self.faults})
        if cfg is None:
            self._send(c.FAULT_EVENT, {"fault": 6, "source": c.NO_SOURCE, "value": 0,
                                       "faults": self.faults})
            self.log(40, "board file: " + cfg_error)

    # ---- state -------------------------------------------------------------------------
    def state(self) -> int:
        """DeviceState now."""
        if self.cfg is None:
            return c.STATE_SAFE
        if self.faults & c.EMERGENCY_STOP_FAULT:
            return c.STATE_ESTOP
        if self.faults & ~c.WATCHDOG_RESET:
            return c.STATE_FAULT
        busy = (any(h.enabled for h in self.heaters) or any(p.moving for p in self.pumps)
                or any(v.moving for v in self.valves)
                or any(t.state >= c.TRIG_ARMED for t in self.triggers))
        return c.STATE_ACTIVE if busy else c.STATE_IDLE

    def latch(self, flag: int, source: int, value: int) -> None:
        """Latch a fault: heaters and pumps off, trigger trains stopped, FAULT_EVENT sent."""
        self.outputs_off()
        if self.faults & flag:
            return
        self.faults |= flag
        bit = 0
        while (1 << bit) != flag:
            bit += 1
        self._send(c.FAULT_EVENT, {"fault": bit, "source": source, "value": value,
                                   "faults": self.faults})

    def outputs_off(self) -> None:
        """Heaters and pumps off, trigger trains stopped (lasers dark)."""
        for i, zone in enumerate(self.heaters):
            zone.off()
            self.hal.heater_duty(i, 0)
        for i, pump in enumerate(self.pumps):
            pump.stop(self.now_ms)
            self.hal.pump_rate(i, 0)
        for i, trig in enumerate(self.triggers):
            if trig.state == c.TRIG_FIRING:
                self.hal.trigger_stop(i)
            trig.abort()

    def log(self, level: int, text: str) -> None:
        raw = text.encode("utf-8")[:c.MAX_TEXT_BYTES]
        self._send(c.LOG, {"level": level, "text": str(raw, "utf-8", "ignore")})

    # ---- control loop ------------------------------------------------------------------
    def step(self, now_ms: int) -> None:
        """One control period: sensors, safety, PID, pumps, valves, triggers, telemetry."""
        self.now_ms = now_ms
        if self.cfg is None:
            return
        hal = self.hal
        dt_ms = self.period_ms
        for i, zone in enumerate(self.heaters):
            fault = zone.step(hal.read_thermistor_u16(i), now_ms, dt_ms)
            if fault:
                self.latch(fault, i, zone.fault_value)
        for i, zone in enumerate(self.heaters):
            hal.heater_duty(i, zone.duty_permille if zone.enabled else 0)
        for i, pump in enumerate(self.pumps):
            hal.pump_rate(i, pump.step(now_ms, dt_ms))
        for i, valve in enumerate(self.valves):
            if valve.step(hal.valve_ready(i), now_ms):
                self.latch(c.VALVE_TIMEOUT, i, valve.target)
        for i, trig in enumerate(self.triggers):
            if trig.step(hal.trigger_pulses_done(i)):
                self._send(c.TRIGGER_DONE, {"output": i, "pulses": trig.pulses_done})
        if self._host_seen and now_ms - self._host_ms > self.cfg["heartbeat_timeout_ms"]:
            self._host_seen = False
            self.latch(c.HEARTBEAT_LOST, c.NO_SOURCE, now_ms - self._host_ms)
        if now_ms >= self._next_telemetry_ms:
            self._next_telemetry_ms = now_ms + self.cfg["telemetry_period_ms"]
            self._send(c.TELEMETRY, self.telemetry(now_ms))
            self._led = not self._led
            hal.status_led(self._led)

    def telemetry(self, now_ms: int) -> dict:
        return {"uptime_ms": (now_ms - self.boot_ms) & 0xFFFFFFFF, "state": self.state(),
                "faults": self.faults,
                "heaters": [h.telemetry() for h in self.heaters],
                "pumps": [p.telemetry() for p in self.pumps],
                "valves": [v.telemetry() for v in self.valves],
                "triggers": [t.telemetry() for t in self.triggers]}

    # ---- link --------------------------------------------------------------------------
    def _send(self, msg_type: int, fields: dict, ack: int = -1) -> bytes:
        frame = c.encode_frame(msg_type, fields, self._seq, self._peer_seq if ack < 0 else ack,
                               self.boot_id)
        self._seq = (self._seq + 1) & 0xFF
        self.outbox.append(frame)
        return frame

    def reset_link(self) -> None:
        """Drop a partly received frame (the USB link was reset)."""
        self._reader = c.FrameReader(self.frame_silence_ms)

    def handle_bytes(self, data, now_ms: int) -> None:
        """Feed bytes from the host; replies land in ``outbox``."""
        for item in self._reader.feed(data, now_ms):
            if isinstance(item, c.FrameError):
                if item.nak:
                    self._send(c.NAK, {"msg_type": item.msg_type, "error": item.nak}, item.seq)
            else:
                self.handle_frame(item, now_ms)

    def handle_frame(self, raw: bytes, now_ms: int) -> None:
        """Answer one whole frame (a retransmitted request gets its cached reply again; one
        meant for an earlier boot is refused with STALE_BOOT and not executed)."""
        try:
            msg_type, seq, _ack, boot_id, fields = c.decode_frame(raw)
        except c.FrameError as exc:
            if exc.nak:
                self._send(c.NAK, {"msg_type": exc.msg_type, "error": exc.nak}, exc.seq)
            return
        self.now_ms = now_ms
        self._host_ms = now_ms
        self._host_seen = True
        if boot_id not in (c.ANY_BOOT, self.boot_id):
            self._send(c.NAK, {"msg_type": msg_type, "error": c.STALE_BOOT}, seq)
            return
        key = (seq, raw[-2], raw[-1], len(raw))
        if key == self._last_request:
            self.outbox.append(self._last_reply)
            return
        self._peer_seq = seq
        try:
            reply_type, reply = self._dispatch(msg_type, fields, now_ms)
        except Exception as exc:  # noqa: BLE001 - the link must answer and keep running
            self.log(40, "internal error: " + repr(exc))
            reply_type, reply = c.NAK, {"msg_type": msg_type, "error": c.INTERNAL}
        self._last_request = key
        self._last_reply = self._send(reply_type, reply, seq)

    def _nak(self, msg_type: int, code: int) -> tuple:
        return c.NAK, {"msg_type": msg_type, "error": code}

    def _dispatch(self, t: int, f: dict, now_ms: int) -> tuple:
        if t >= 0x80:
            return self._nak(t, c.UNKNOWN_MESSAGE)
        if t == c.IDENTIFY:
            return c.IDENTIFY_REPLY, self._identify()
        if t == c.PING:
            return c.PONG, {"token": f["token"]}
        if t == c.GET_STATUS:
            return c.STATUS_REPLY, self._status(now_ms)
        if self.cfg is None and t not in _SAFE_ALLOWED:
            return self._nak(t, c.NOT_CONFIGURED)
        handler = _HANDLERS.get(t)
        if handler is None:
            return self._nak(t, c.UNKNOWN_MESSAGE)
        code = handler(self, f, now_ms)
        if code:
            return self._nak(t, code)
        return c.ACK, {"msg_type": t}

    def _blocked(self, t: int) -> int:
        """ESTOP_ACTIVE / FAULT_LATCHED for actuating commands while a fault is latched."""
        if t not in _ACTUATING:
            return 0
        if self.faults & c.EMERGENCY_STOP_FAULT:
            return c.ESTOP_ACTIVE
        if self.faults & ~c.WATCHDOG_RESET:
            return c.FAULT_LATCHED
        return 0

    def _identify(self) -> dict:
        cfg = self.cfg or {"board_id": "unconfigured", "heartbeat_timeout_ms": 0,
                           "telemetry_period_ms": 0}
        return {"protocol_version": c.PROTOCOL_VERSION, "fw_major": FW_VERSION[0],
                "fw_minor": FW_VERSION[1], "fw_patch": FW_VERSION[2],
                "protocol_hash": c.PROTOCOL_HASH,
                "board_id": cfg["board_id"], "board_config_crc": self.cfg_crc,
                "boot_id": self.boot_id,
                "heartbeat_timeout_ms": cfg["heartbeat_timeout_ms"],
                "control_period_ms": self.period_ms,
                "telemetry_period_ms": cfg["telemetry_period_ms"],
                "frame_silence_ms": self.frame_silence_ms,
                "heaters": [{"min_setpoint_mc": h.cfg["min_setpoint_mc"],
                             "max_setpoint_mc": h.cfg["max_setpoint_mc"],
                             "max_ramp_mc_per_s": h.cfg["max_ramp_mc_per_s"]}
                            for h in self.heaters],
                "pumps": [{"max_rate_nl_per_s": p.cfg["max_rate_nl_per_s"],
                           "capacity_nl": p.cfg["capacity_nl"]} for p in self.pumps],
                "valves": [{"ports": v.cfg["ports"]} for v in self.valves],
                "triggers": [{"lasers": len(t.cfg["laser_pins"]),
                              "min_exposure_us": t.cfg["min_exposure_us"],
                              "max_exposure_us": t.cfg["max_exposure_us"]}
                             for t in self.triggers]}

    def _status(self, now_ms: int) -> dict:
        armed = pumps = valves = 0
        for i, t in enumerate(self.triggers):
            if t.state == c.TRIG_ARMED:
                armed |= 1 << i
        for i, p in enumerate(self.pumps):
            if p.moving:
                pumps |= 1 << i
        for i, v in enumerate(self.valves):
            if v.moving:
                valves |= 1 << i
        return {"state": self.state(), "faults": self.faults,
                "uptime_ms": (now_ms - self.boot_ms) & 0xFFFFFFFF,
                "heartbeat_age_ms": (now_ms - self._host_ms) & 0xFFFFFFFF,
                "boot_id": self.boot_id, "armed_mask": armed, "pumps_busy_mask": pumps,
                "valves_busy_mask": valves}

    # ---- command handlers: return 0 (ACK) or an ErrorCode; no state change on error ----
    def _heater_set(self, f: dict, now_ms: int) -> int:
        if f["zone"] >= len(self.heaters):
            return c.UNKNOWN_TARGET
        zone = self.heaters[f["zone"]]
        if not f["enable"]:
            zone.set(False, zone.target_mc, 0)
            self.hal.heater_duty(f["zone"], 0)
            return 0
        if f["enable"] != 1 or not zone.check_setpoint(f["setpoint_mc"], f["ramp_mc_per_s"]):
            return c.OUT_OF_RANGE
        code = self._blocked(c.HEATER_SET)
        if code:
            return code
        zone.set(True, f["setpoint_mc"], f["ramp_mc_per_s"])
        return 0

    def _pump_move(self, f: dict, now_ms: int) -> int:
        if f["pump"] >= len(self.pumps):
            return c.UNKNOWN_TARGET
        pump = self.pumps[f["pump"]]
        if not pump.check_move(f["volume_nl"], f["rate_nl_per_s"]):
            return c.OUT_OF_RANGE
        code = self._blocked(c.PUMP_MOVE)
        if code:
            return code
        if pump.moving:
            return c.BUSY
        pump.start(f["volume_nl"], f["rate_nl_per_s"], now_ms)
        return 0

    def _pump_stop(self, f: dict, now_ms: int) -> int:
        if f["pump"] >= len(self.pumps):
            return c.UNKNOWN_TARGET
        self.pumps[f["pump"]].stop(now_ms)
        self.hal.pump_rate(f["pump"], 0)
        return 0

    def _valve_select(self, f: dict, now_ms: int) -> int:
        if f["valve"] >= len(self.valves):
            return c.UNKNOWN_TARGET
        valve = self.valves[f["valve"]]
        if not valve.check_port(f["port"]):
            return c.OUT_OF_RANGE
        code = self._blocked(c.VALVE_SELECT)
        if code:
            return code
        if valve.moving:
            return c.BUSY
        valve.start(f["port"], now_ms)
        self.hal.valve_select(f["valve"], f["port"])
        return 0

    def _trigger_program(self, f: dict, now_ms: int) -> int:
        if f["output"] >= len(self.triggers):
            return c.UNKNOWN_TARGET
        trig = self.triggers[f["output"]]
        if not trig.check_program(f["exposure_us"], f["period_us"], f["pulse_count"],
                                  f["laser_mask"]):
            return c.OUT_OF_RANGE
        code = self._blocked(c.TRIGGER_PROGRAM)
        if code:
            return code
        if trig.state == c.TRIG_FIRING:
            return c.BUSY
        trig.program(f["exposure_us"], f["period_us"], f["pulse_count"], f["laser_mask"])
        return 0

    def _idle_trigger_check(self, output: int, msg_type: int) -> int:
        """Error code for arming/firing ``output``: unknown, blocked by a fault, or busy; 0 ok."""
        if output >= len(self.triggers):
            return c.UNKNOWN_TARGET
        code = self._blocked(msg_type)
        if code:
            return code
        if self.triggers[output].state == c.TRIG_FIRING:
            return c.BUSY
        return 0

    def _trigger_arm(self, f: dict, now_ms: int) -> int:
        code = self._idle_trigger_check(f["output"], c.TRIGGER_ARM)
        if code:
            return code
        trig = self.triggers[f["output"]]
        if trig.state == c.TRIG_IDLE:
            return c.NOT_CONFIGURED
        trig.arm()
        return 0

    def _trigger_fire(self, f: dict, now_ms: int) -> int:
        code = self._idle_trigger_check(f["output"], c.TRIGGER_FIRE)
        if code:
            return code
        trig = self.triggers[f["output"]]
        if trig.state != c.TRIG_ARMED:
            return c.NOT_ARMED
        trig.fire()
        self.hal.trigger_start(f["output"], trig.exposure_us, trig.period_us, trig.pulse_count,
                               trig.laser_mask)
        return 0

    def _fault_clear(self, f: dict, now_ms: int) -> int:
        """Clear the requested latched faults (BOARD_CONFIG stays while the file is bad);
        a condition still present latches again at the next control period."""
        keep = c.BOARD_CONFIG if self.cfg is None else 0
        self.faults &= ~(f["faults"] & ~keep)
        return 0

    def _emergency_stop(self, f: dict, now_ms: int) -> int:
        self.latch(c.EMERGENCY_STOP_FAULT, c.NO_SOURCE, 0)
        return 0

    def _heartbeat(self, f: dict, now_ms: int) -> int:
        return 0


_HANDLERS = {
    c.HEARTBEAT: Controller._heartbeat,
    c.HEATER_SET: Controller._heater_set,
    c.PUMP_MOVE: Controller._pump_move,
    c.PUMP_STOP: Controller._pump_stop,
    c.VALVE_SELECT: Controller._valve_select,
    c.TRIGGER_PROGRAM: Controller._trigger_program,
    c.TRIGGER_ARM: Controller._trigger_arm,
    c.TRIGGER_FIRE: Controller._trigger_fire,
    c.FAULT_CLEAR: Controller._fault_clear,
    c.EMERGENCY_STOP: Controller._emergency_stop,
}

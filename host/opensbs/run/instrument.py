"""The instrument as the run controller drives it: the controller board over the control link.

`BoardDriver` executes the recipe's fluidics, thermal and wait steps with control-link requests
and times them on the *instrument's* clock, the `uptime_ms` of the board's telemetry. The same
code drives real hardware and the virtual instrument; only the pacer differs:

* `WallPacer` (hardware): instrument time runs by itself; waiting is waiting for telemetry,
  and a heartbeat thread keeps the board's host watchdog fed.
* `LockstepPacer` (`--sim`): the host advances the virtual instrument's clock in steps of 2 s
  (within the board's 3 s heartbeat timeout) and sends a heartbeat after each step; the
  heartbeat's ACK comes after the telemetry of that step, so every command reaches the board
  at a virtual time that depends on nothing but the recipe and the seed: a simulated run is
  reproducible bit for bit.

Fluidics model: a syringe pump (position 0 = empty) behind a rotary valve. A fluidics step
selects the reagent port and aspirates the volume through the flow cell at the step's flow
rate, then selects the waste port (the valve's last port) and empties the syringe; volumes
larger than the syringe are done in several strokes. Ports are numbered as the board's valve
numbers them (0 .. ports - 1), in the recipe as on the wire.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..protocol.control import ControlFrame, Fault, MsgType
from ..recipe import FluidicsStep, Recipe, ThermalStep, WaitStep
from ..runfolder.events import Command, FaultEvent, Identify, LinkFault, OnEvent, TelemetrySample
from ..usb.control_client import ControlClient
from .board_fit import (
    HEATER_ZONE,
    PUMP,
    VALVE,
    BoardLimits,
    BoardMismatchError,
    describe,
    recipe_board_problems,
)
from .link_faults import ControlLinkFaults
from .stop import StopRequest

WASTE_DISPENSE_NL_PER_S = 50_000
TELEMETRY_STALL_S = 10.0  # wall seconds without telemetry before the run is stopped


class InstrumentError(RuntimeError):
    """The instrument could not do a step (fault latched, timeout, bad recipe for this board)."""


class Pacer(Protocol):
    """How instrument time moves on while the host waits."""

    def start(self, client: ControlClient) -> None:
        """Called once connected (start heartbeats, ...)."""
        ...

    def step(self, changed: threading.Condition, samples: Callable[[], int]) -> None:
        """Return once instrument time has moved on and its telemetry is in (`changed` is
        notified on every telemetry or fault; `samples()` counts telemetry received)."""
        ...


class VirtualClock(Protocol):
    """What the lockstep pacer needs of a virtual instrument."""

    def advance_ms(self, ms: int) -> None: ...


class WallPacer:
    """Real hardware: wait for the next telemetry sample; heartbeat from a thread."""

    def __init__(self, heartbeat_period_s: float | None = None) -> None:
        self.heartbeat_period_s = heartbeat_period_s  # None: from the board's IDENTIFY

    def start(self, client: ControlClient) -> None:
        client.start_heartbeat(self.heartbeat_period_s)

    def step(self, changed: threading.Condition, samples: Callable[[], int]) -> None:
        before = samples()
        with changed:
            changed.wait(TELEMETRY_STALL_S)
        if samples() == before:
            raise InstrumentError(f"no telemetry for {TELEMETRY_STALL_S:.0f} s: controller "
                                  "board not responding")


class LockstepPacer:
    """Virtual instrument: advance its clock by `step_ms`, then heartbeat (see module doc).

    With `speed`, instrument time runs at most `speed` times faster than wall time."""

    def __init__(self, instrument: VirtualClock, step_ms: int = 2000,
                 speed: float | None = None) -> None:
        self.instrument = instrument
        self.step_ms = step_ms
        self.speed = speed
        self.client: ControlClient | None = None
        self.virtual_ms = 0
        self._wall_start = time.monotonic()

    def start(self, client: ControlClient) -> None:
        self.client = client
        if client.timing is not None:  # each step must end well inside the board's timeout
            limit_ms = int(client.timing.heartbeat_timeout_s * 1000) * 2 // 3
            self.step_ms = min(self.step_ms, limit_ms)
        self._wall_start = time.monotonic()
        self.virtual_ms = 0

    def step(self, changed: threading.Condition | None = None,
             samples: Callable[[], int] | None = None) -> None:
        if self.client is None:
            raise InstrumentError("pacer not started")
        self.instrument.advance_ms(self.step_ms)
        self.virtual_ms += self.step_ms
        self.client.heartbeat(self.virtual_ms & 0xFFFFFFFF)
        if self.speed is not None:
            ahead = self._wall_start + self.virtual_ms / 1000 / self.speed - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)


@dataclass
class Telemetry:
    """The latest telemetry sample of the board."""

    uptime_ms: int = 0
    faults: int = 0
    temperature_mc: int | None = None
    setpoint_mc: int | None = None
    heater_enabled: bool = False
    pump_position_nl: int = 0
    pump_moving: bool = False
    valve_port: int = 0
    valve_moving: bool = False
    samples: int = 0


@dataclass
class StepRecord:
    """Start and end of one executed step on the instrument clock."""

    step: str
    start_ms: int
    end_ms: int
    details: dict[str, Any] = field(default_factory=dict)


class BoardDriver:
    """Runs recipe steps on one controller board; `on_event(event)` gets every command,
    telemetry sample (at most one per `telemetry_log_ms` of instrument time) and fault."""

    def __init__(self, client: ControlClient, on_event: OnEvent,
                 pacer: Pacer | None = None, telemetry_log_ms: int = 1000,
                 stop: StopRequest | None = None) -> None:
        self.client = client
        self.pacer: Pacer = pacer or WallPacer()
        self.on_event = on_event
        self.telemetry_log_ms = telemetry_log_ms
        self.stop = stop or StopRequest()
        self.telemetry = Telemetry()
        self.limits: BoardLimits | None = None
        self.reader_error: Exception | None = None  # first failure handling a board message
        self.link_faults = ControlLinkFaults(client.stats, on_event)
        self._telemetry_period_ms: int | None = None
        self._changed = threading.Condition()
        self._last_logged_ms = -telemetry_log_ms
        self._unsubscribe: Callable[[], None] | None = None

    # -- connection ----------------------------------------------------------------------------

    def connect(self) -> dict[str, Any]:
        """IDENTIFY the board, learn its limits, subscribe to telemetry and faults."""
        identity = self.client.identity or self.client.connect()
        try:
            self.limits = BoardLimits.from_identity(identity)
        except BoardMismatchError as exc:
            raise InstrumentError(f"{exc}") from None
        self._clear_heartbeat_loss()
        self._unsubscribe = self.client.subscribe(
            self._on_frame, {MsgType.TELEMETRY, MsgType.FAULT_EVENT, MsgType.BOOT})
        self.pacer.start(self.client)
        self.on_event(Identify({k: v for k, v in identity.items() if k != "_io"}))
        return identity

    def _clear_heartbeat_loss(self) -> None:
        """A board that lost its host (crashed or killed) latched HEARTBEAT_LOST and switched
        its outputs off; clear that one fault so the run can resume. Any other latched fault
        needs a person: refuse, naming it."""
        faults = Fault(int(self.client.status()["faults"]))
        if not faults:
            return
        if faults != Fault.HEARTBEAT_LOST:
            raise InstrumentError(f"the board has latched faults {faults.name}: check the "
                                  "instrument, then clear them (`opensbs board` tools)")
        self.on_event(Command("fault_clear", extra={"faults": faults.name}))
        self.client.fault_clear(int(faults))

    def check_recipe(self, recipe: Recipe) -> None:
        """Refuse, before any chemistry, a recipe this board cannot run (every problem named)."""
        problems = recipe_board_problems(recipe, self._limits())
        if problems:
            raise InstrumentError("the recipe does not fit this board: "
                                  + "; ".join(describe(p, recipe) for p in problems))

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.client.close()

    def _on_frame(self, frame: ControlFrame) -> None:
        """Reader-thread callback: never raises (that would stop the control-link reader); a
        failure (the run log on a full disk, ...) is kept and stops the run at its next wait."""
        try:
            self._handle_frame(frame)
        except Exception as exc:  # noqa: BLE001 - handed to the run's thread
            if self.reader_error is None:
                self.reader_error = exc
        with self._changed:
            self._changed.notify_all()

    def check_running(self) -> None:
        """Record new control-link faults; raise if a stop was requested or handling a board
        message failed."""
        self.link_faults.poll()
        self.stop.check()
        if self.reader_error is not None:
            raise self.reader_error

    def _check_telemetry_gap(self, last_ms: int | None, now_ms: int) -> None:
        """Record telemetry samples lost on the link (the board sends one every period; the
        shortest interval seen is taken as the period)."""
        if last_ms is None or now_ms <= last_ms:
            return
        interval = now_ms - last_ms
        period = self._telemetry_period_ms = min(self._telemetry_period_ms or interval, interval)
        lost = round(interval / period) - 1
        if lost > 0:
            self.on_event(LinkFault("control", "telemetry_lost", lost, t_s=now_ms / 1000))

    def _handle_frame(self, frame: ControlFrame) -> None:
        f = frame.fields
        if frame.msg_type == MsgType.TELEMETRY:
            t = self.telemetry
            self._check_telemetry_gap(t.uptime_ms if t.samples else None, int(f["uptime_ms"]))
            t.uptime_ms, t.faults = int(f["uptime_ms"]), int(f["faults"])
            if f["heaters"]:
                h = f["heaters"][HEATER_ZONE]
                t.temperature_mc, t.setpoint_mc = int(h["temperature_mc"]), int(h["setpoint_mc"])
                t.heater_enabled = bool(h["enabled"])
            if f["pumps"]:
                t.pump_position_nl = int(f["pumps"][PUMP]["position_nl"])
                t.pump_moving = bool(f["pumps"][PUMP]["moving"])
            if f["valves"]:
                t.valve_port = int(f["valves"][VALVE]["port"])
                t.valve_moving = bool(f["valves"][VALVE]["moving"])
            t.samples += 1
            if t.uptime_ms - self._last_logged_ms >= self.telemetry_log_ms:
                self._last_logged_ms = t.uptime_ms
                self.on_event(TelemetrySample(t.uptime_ms / 1000, t.temperature_mc, t.setpoint_mc,
                                              t.pump_position_nl, t.valve_port, t.faults))
        elif frame.msg_type == MsgType.FAULT_EVENT:
            names = Fault(int(f["faults"])).name if f["faults"] else "none"
            try:
                fault = Fault(1 << int(f["fault"])).name
            except ValueError:
                fault = f"bit {f['fault']}"
            message = f"{fault} (source {f['source']}, value {f['value']}); latched: {names}"
            self.on_event(FaultEvent(message, t_s=self.telemetry.uptime_ms / 1000))
        elif frame.msg_type == MsgType.BOOT:
            self.on_event(FaultEvent(f"controller board rebooted (cause {f['reset_cause']})",
                                     t_s=self.telemetry.uptime_ms / 1000))

    # -- waiting on the instrument clock -------------------------------------------------------

    def now_ms(self) -> int:
        """Instrument time: the board's uptime in its latest telemetry."""
        return self.telemetry.uptime_ms

    def _wait_for(self, what: str, done: Callable[[Telemetry], bool], timeout_ms: int) -> None:
        """Block until `done(telemetry)`; fail on a latched fault, an instrument-clock timeout
        or telemetry that stops coming."""
        start_ms = self.telemetry.uptime_ms
        while True:
            self.check_running()
            t = self.telemetry
            if t.faults:
                raise InstrumentError(f"fault during {what}: {Fault(t.faults).name}")
            if done(t):
                return
            if t.uptime_ms - start_ms > timeout_ms:
                raise InstrumentError(f"{what} not done after {timeout_ms} ms "
                                      "(instrument clock)")
            try:
                self.pacer.step(self._changed, lambda: self.telemetry.samples)
            except InstrumentError as exc:
                raise InstrumentError(f"{exc} (during {what})") from None

    def _command(self, name: str, call: Callable[..., None], **fields: Any) -> None:
        self.on_event(Command(name, t_s=self.now_ms() / 1000, extra=fields))
        call(**fields)

    # -- steps ---------------------------------------------------------------------------------

    def _limits(self) -> BoardLimits:
        if self.limits is None:
            raise InstrumentError("board not connected")
        return self.limits

    def select_port(self, port: int) -> None:
        limits = self._limits()
        if not 0 <= port < limits.valve_ports:
            raise InstrumentError(f"valve port {port} outside 0..{limits.valve_ports - 1}")
        self._command("valve_select", self.client.valve_select, valve=VALVE, port=port)
        self._wait_for(f"valve to port {port}",
                       lambda t: not t.valve_moving and t.valve_port == port, 60_000)

    def _pump(self, volume_nl: int, rate_nl_per_s: int) -> None:
        start = self.telemetry.pump_position_nl
        self._command("pump_move", self.client.pump_move, pump=PUMP, volume_nl=volume_nl,
                      rate_nl_per_s=rate_nl_per_s)
        timeout_ms = 5_000 + 3 * 1000 * abs(volume_nl) // max(rate_nl_per_s, 1)
        self._wait_for(f"pump move of {volume_nl} nL",
                       lambda t: not t.pump_moving
                       and abs(abs(t.pump_position_nl - start) - abs(volume_nl)) <= 1,
                       timeout_ms)

    def fluidics(self, step: FluidicsStep) -> StepRecord:
        """Pull `volume_nl` of reagent from `port` through the flow cell, syringe to waste."""
        limits = self._limits()
        waste = limits.valve_ports - 1
        if step.port == waste:
            raise InstrumentError(f"port {step.port} is this board's waste port")
        if step.flow_nl_per_s > limits.pump_max_rate_nl_per_s:
            raise InstrumentError(f"flow {step.flow_nl_per_s} nL/s above the pump's "
                                  f"{limits.pump_max_rate_nl_per_s} nL/s")
        start = self.now_ms()
        left = step.volume_nl
        while left > 0:
            stroke = min(left, limits.pump_capacity_nl)
            self.select_port(step.port)
            self._pump(-stroke, step.flow_nl_per_s)
            self.select_port(waste)
            self._pump(stroke, min(WASTE_DISPENSE_NL_PER_S, limits.pump_max_rate_nl_per_s))
            left -= stroke
        return StepRecord("fluidics", start, self.now_ms(),
                          {"port": step.port, "volume_nl": step.volume_nl})

    def thermal(self, step: ThermalStep) -> StepRecord:
        """Set the flow-cell set-point, wait until within tolerance, hold for `hold_ms`."""
        limits = self._limits()
        if step.setpoint_mc > limits.max_setpoint_mc:
            raise InstrumentError(f"set-point {step.setpoint_mc} mC above the board's "
                                  f"{limits.max_setpoint_mc} mC")
        start = self.now_ms()
        self._command("heater_set", self.client.heater_set, zone=HEATER_ZONE,
                      setpoint_mc=step.setpoint_mc)
        self._wait_for(
            f"flow cell to reach {step.setpoint_mc / 1000:.1f} °C",
            lambda t: t.temperature_mc is not None
            and abs(t.temperature_mc - step.setpoint_mc) <= step.tolerance_mc, step.timeout_ms)
        reached = self.now_ms()
        self._hold(step.hold_ms, f"hold at {step.setpoint_mc / 1000:.1f} °C")
        return StepRecord("thermal", start, self.now_ms(),
                          {"setpoint_mc": step.setpoint_mc, "ramp_ms": reached - start})

    def _hold(self, duration_ms: int, what: str) -> None:
        end = self.now_ms() + duration_ms
        self._wait_for(what, lambda t: t.uptime_ms >= end, duration_ms + 60_000)

    def wait(self, step: WaitStep) -> StepRecord:
        start = self.now_ms()
        self._hold(step.duration_ms, f"wait {step.duration_ms} ms")
        return StepRecord("wait", start, self.now_ms())

    def safe_stop(self) -> list[tuple[str, str | None]]:
        """Heater off, then pump stopped, each tried even if the other fails. Logs nothing
        (logging can fail: the caller logs afterwards); returns (command, error or None)."""
        results: list[tuple[str, str | None]] = []
        for name, call in (
                ("heater_off", lambda: self.client.heater_set(HEATER_ZONE, 0, enable=False)),
                ("pump_stop", lambda: self.client.pump_stop(PUMP))):
            try:
                call()
            except Exception as exc:  # noqa: BLE001 - keep stopping the rest
                results.append((name, f"{exc}"))
            else:
                results.append((name, None))
        return results

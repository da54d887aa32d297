"""The simulated controller board: the real firmware core on a simulated hardware layer.

Public API (used by the simulated camera, the run controller and ``opensbs run --sim``)::

    board = SimBoard("pico", seed=0)        # board name in boards/, or a Path; or
    SimBoard(board_file_bytes=b"...")       # any bytes (a broken file => SAFE state)
    board.advance_ms(600_000)               # explicit stepping on the virtual clock
    board.clock.now_us                      # virtual time in microseconds
    board.start_realtime(speed=20.0)        # or a thread running N x real time ...
    board.stop_realtime()                   # ... stopped again
    board.add_trigger_listener(fn)          # fn(TriggerPulse) at each exposure pulse:
                                            #   output, laser_mask, index, start_us,
                                            #   exposure_us
    board.temperature_c(zone)               # flow-cell (block) temperature, C
    board.sensor_c(zone)                    # what the thermistor node sees, C
    board.pump_volume_nl(pump)              # plunger volume; .dispensed_nl(pump) net out
    board.valve_port(valve)                 # port the valve sits at now
    board.plant                             # the plant models (fault injection)
    board.controller                        # the firmware Controller itself
    board.send(frame_bytes) / board.receive() -> list[bytes]  # raw control-link frames
    board.reboot(reset_cause)               # firmware restart (boot_id + 1)
    SimBoard(record_requests=True).executed # [(msg_type, fields)] of every request the
                                            #   firmware executed (not NAKed), in order

``opensbs.sim.board.device.SimBoardDevice(board)`` serves it to the virtual pyusb backend with
VID/PID from the board file. Everything is guarded by one lock, so the device adapter, the
real-time thread and test code may call in from different threads.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...board.firmware import BOARDS_DIR, import_firmware
from .plant import FlowCellParams, HeaterZoneModel, SyringeModel, ValveModel

SUBSTEP_US = 10_000
_codec = import_firmware("codec")
_boardcfg = import_firmware("boardcfg")
_controller = import_firmware("controller")


@dataclass(frozen=True)
class TriggerPulse:
    """One exposure pulse on a trigger output, in virtual time."""

    output: int
    laser_mask: int
    index: int
    start_us: int
    exposure_us: int


class VirtualClock:
    """Monotonic virtual time in integer microseconds."""

    def __init__(self) -> None:
        self.now_us = 0

    @property
    def now_ms(self) -> int:
        return self.now_us // 1000


@dataclass
class _Train:
    exposure_us: int
    period_us: int
    count: int
    laser_mask: int
    start_us: int
    announced: int = 0


class Plant:
    """All plant models of one board, sized from its board file."""

    def __init__(self, cfg: dict[str, Any] | None, params: FlowCellParams, seed: int) -> None:
        rng = np.random.default_rng(seed)
        cfg = cfg or {"heaters": [], "pumps": [], "valves": [], "triggers": []}
        self.zones = [HeaterZoneModel(params, rng) for _ in cfg["heaters"]]
        self.syringes = [SyringeModel(p["capacity_nl"]) for p in cfg["pumps"]]
        self.valves = [ValveModel(v["ports"]) for v in cfg["valves"]]


class SimHal:
    """The firmware's hardware layer, backed by the plant models and the virtual clock."""

    def __init__(self, cfg: dict[str, Any] | None, plant: Plant, clock: VirtualClock) -> None:
        self.cfg = cfg
        self.plant = plant
        self.clock = clock
        self.adc_bits = cfg["adc_bits"] if cfg else 12
        self.trains: dict[int, _Train] = {}
        self.led = False

    def heater_duty(self, zone: int, duty_permille: int) -> None:
        self.plant.zones[zone].duty = duty_permille / 1000.0

    def read_thermistor_u16(self, zone: int) -> int:
        assert self.cfg is not None
        model = self.plant.zones[zone]
        if model.sensor_fault == "open":
            return 65535
        if model.sensor_fault == "short":
            return 0
        therm = self.cfg["heaters"][zone]["thermistor"]
        return adc_u16(model.measured_c(), therm, self.adc_bits)

    def pump_rate(self, pump: int, nl_per_s: float) -> None:
        self.plant.syringes[pump].rate_nl_per_s = nl_per_s

    def valve_select(self, valve: int, port: int) -> None:
        self.plant.valves[valve].select(port)

    def valve_ready(self, valve: int) -> bool:
        return self.plant.valves[valve].ready

    def trigger_start(self, output: int, exposure_us: int, period_us: int, pulse_count: int,
                      laser_mask: int) -> None:
        self.trains[output] = _Train(exposure_us, period_us, pulse_count, laser_mask,
                                     self.clock.now_us)

    def trigger_stop(self, output: int) -> None:
        train = self.trains.get(output)
        if train is not None:  # pulses not yet started are cancelled
            train.count = train.announced

    def trigger_pulses_done(self, output: int) -> int:
        train = self.trains.get(output)
        if train is None:
            return 0
        done = (self.clock.now_us - train.start_us - train.exposure_us) // train.period_us + 1
        return max(0, min(train.count, done))

    def status_led(self, on: bool) -> None:
        self.led = on

    def all_off(self) -> None:
        for zone in self.plant.zones:
            zone.duty = 0.0
        for syringe in self.plant.syringes:
            syringe.rate_nl_per_s = 0.0
        self.trains.clear()


def adc_u16(temperature_c: float, therm: dict[str, Any], adc_bits: int) -> int:
    """The 16-bit ADC reading a beta thermistor divider gives at ``temperature_c``
    (quantised to ``adc_bits`` and scaled up the way MicroPython's read_u16 does)."""
    inv_t = 1.0 / (temperature_c + 273.15)
    r = therm["r25_ohm"] * np.exp(therm["beta"] * (inv_t - 1.0 / 298.15))
    x = r / (r + therm["series_ohm"])
    top = (1 << adc_bits) - 1
    code = int(round(x * top))
    code = min(max(code, 0), top)
    return (code << (16 - adc_bits)) | (code >> (2 * adc_bits - 16)) if adc_bits < 16 else code


def _board_bytes(board: str | Path) -> bytes:
    path = Path(board) if isinstance(board, Path) else BOARDS_DIR / f"{board}.json"
    return path.read_bytes()


class SimBoard:
    """The firmware Controller on SimHal, advanced on a VirtualClock (see module doc)."""

    def __init__(self, board: str | Path = "pico", seed: int = 0,
                 params: FlowCellParams | None = None, board_file_bytes: bytes | None = None,
                 boot_id: int = 1, record_requests: bool = False) -> None:
        raw = _board_bytes(board) if board_file_bytes is None else board_file_bytes
        self.cfg: dict[str, Any] | None
        self.cfg_error = ""
        try:
            self.cfg, self.cfg_crc = _boardcfg.parse(raw)
        except _boardcfg.BoardConfigError as exc:
            self.cfg, self.cfg_crc, self.cfg_error = None, 0, str(exc)
        self.clock = VirtualClock()
        self.plant = Plant(self.cfg, params or FlowCellParams(), seed)
        self.hal = SimHal(self.cfg, self.plant, self.clock)
        self.lock = threading.RLock()
        self._listeners: list[Callable[[TriggerPulse], None]] = []
        self._out_listeners: list[Callable[[], None]] = []
        self._received: list[bytes] = []
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.executed: list[tuple[int, dict[str, Any]]] | None = [] if record_requests else None
        self.boot_id = boot_id - 1
        self.reboot(_codec.RESET_POWER_ON)

    # ---- firmware ----------------------------------------------------------------------
    def reboot(self, reset_cause: int) -> None:
        """Restart the firmware (outputs off, a new boot_id, a BOOT message)."""
        with self.lock:
            self.boot_id += 1
            self.hal.all_off()
            self.controller = _controller.Controller(
                self.hal, self.cfg, self.cfg_crc, self.boot_id, reset_cause,
                self.clock.now_ms, self.cfg_error)
            if self.executed is not None:
                self._record_requests(self.controller, self.executed)
            self._next_step_ms = self.clock.now_ms
            self._drain()

    @staticmethod
    def _record_requests(controller: Any, log: list[tuple[int, dict[str, Any]]]) -> None:
        """Append ``(msg_type, fields)`` to ``log`` for each request ``controller`` executes."""
        dispatch = controller._dispatch

        def recorded(msg_type: int, fields: dict[str, Any], now_ms: int) -> tuple[int, Any]:
            reply = dispatch(msg_type, fields, now_ms)
            if reply[0] != _codec.NAK:
                log.append((msg_type, fields))
            return reply  # type: ignore[no-any-return]

        controller._dispatch = recorded

    @property
    def period_ms(self) -> int:
        return int(self.controller.period_ms)

    def send(self, data: bytes) -> None:
        """Bytes from the host, handled at the current virtual time."""
        with self.lock:
            self.controller.handle_bytes(data, self.clock.now_ms)
            self._drain()

    def receive(self) -> list[bytes]:
        """Frames the firmware sent since the last call (replies and unsolicited)."""
        with self.lock:
            frames, self._received = self._received, []
            return frames

    def on_output(self, fn: Callable[[], None]) -> None:
        """Call ``fn`` (under the lock) whenever the firmware queued frames to send."""
        self._out_listeners.append(fn)

    def _drain(self) -> None:
        if self.controller.outbox:
            self._received.extend(self.controller.outbox)
            self.controller.outbox.clear()
            for fn in self._out_listeners:
                fn()

    # ---- virtual time ------------------------------------------------------------------
    def advance_ms(self, ms: int) -> None:
        """Run the firmware and the plant for ``ms`` of virtual time."""
        with self.lock:
            end_us = self.clock.now_us + ms * 1000
            self._step_if_due()
            while self.clock.now_us < end_us:
                next_us = min(end_us, self._next_step_ms * 1000,
                              self.clock.now_us + SUBSTEP_US)
                self._advance_plant(next_us)
                self._step_if_due()

    def _step_if_due(self) -> None:
        """Run the control period that starts now (outputs then hold until the next one)."""
        if self.clock.now_ms >= self._next_step_ms:
            self.controller.step(self.clock.now_ms)
            self._drain()
            self._next_step_ms += self.period_ms

    def _advance_plant(self, to_us: int) -> None:
        dt_s = (to_us - self.clock.now_us) / 1e6
        for zone in self.plant.zones:
            zone.advance(dt_s)
        for syringe in self.plant.syringes:
            syringe.advance(dt_s)
        for valve in self.plant.valves:
            valve.advance(dt_s)
        self._announce_pulses(to_us)
        self.clock.now_us = to_us

    def _announce_pulses(self, to_us: int) -> None:
        for output, train in sorted(self.hal.trains.items()):
            while train.announced < train.count:
                start = train.start_us + train.announced * train.period_us
                if start >= to_us:
                    break
                pulse = TriggerPulse(output, train.laser_mask, train.announced, start,
                                     train.exposure_us)
                train.announced += 1
                for fn in self._listeners:
                    fn(pulse)

    def start_realtime(self, speed: float = 1.0) -> None:
        """Advance virtual time at ``speed`` x real time in a background thread."""
        if self._thread is not None:
            raise RuntimeError("real-time mode already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run_realtime, args=(speed,), daemon=True,
                                        name="sim-board")
        self._thread.start()

    def stop_realtime(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None

    def _run_realtime(self, speed: float) -> None:
        start_wall = time.monotonic()
        start_us = self.clock.now_us
        period = self.period_ms
        while not self._stop.is_set():
            self.advance_ms(period)
            due = start_wall + (self.clock.now_us - start_us) / 1e6 / speed
            delay = due - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)

    # ---- hooks -------------------------------------------------------------------------
    def add_trigger_listener(self, fn: Callable[[TriggerPulse], None]) -> None:
        """Call ``fn(TriggerPulse)`` at the start of every exposure pulse."""
        self._listeners.append(fn)

    def remove_trigger_listener(self, fn: Callable[[TriggerPulse], None]) -> None:
        self._listeners.remove(fn)

    def temperature_c(self, zone: int) -> float:
        return self.plant.zones[zone].block_c

    def sensor_c(self, zone: int) -> float:
        return self.plant.zones[zone].sensor_c

    def heater_duty(self, zone: int) -> float:
        """Duty fraction the firmware applies to ``zone`` right now."""
        return self.plant.zones[zone].duty

    def pump_volume_nl(self, pump: int) -> float:
        return self.plant.syringes[pump].volume_nl

    def dispensed_nl(self, pump: int) -> float:
        """Net volume pushed out of the syringe since power-on (dispensed - aspirated)."""
        syringe = self.plant.syringes[pump]
        return syringe.dispensed_nl - syringe.aspirated_nl

    def pump_rate_nl_per_s(self, pump: int) -> float:
        return self.plant.syringes[pump].rate_nl_per_s

    def valve_port(self, valve: int) -> int:
        return self.plant.valves[valve].port

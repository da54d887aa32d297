"""One heater zone: filtered thermistor reading, set-point ramp, PID, and its own safety
checks (thermistor open/short, over-temperature, thermal runaway)."""

from . import codec, thermistor
from .pid import Pid


class HeaterZone:
    """Stepped once per control period with the raw ADC reading; returns a fault bit or 0.

    ``duty_permille`` is the output to apply until the next step; it is 0 whenever the zone
    is disabled or a fault was just detected.
    """

    def __init__(self, cfg: dict) -> None:
        self.cfg = cfg
        gains = cfg["pid"]
        self.pid = Pid(gains["kp"], gains["ki"], gains["kd"], 0.0,
                       cfg["max_duty_permille"] / 1000.0, gains["integral_band_mc"] / 1000.0)
        self.enabled = False
        self.target_mc = 0
        self.ramp_mc_per_s = 0
        self.setpoint_mc = 0.0
        self.temperature_c = None  # type: float | None
        self.duty_permille = 0
        self.fault_value = 0
        self._runaway_start_ms = -1
        self._runaway_start_c = 0.0

    def check_setpoint(self, setpoint_mc: int, ramp_mc_per_s: int) -> bool:
        """Whether a HEATER_SET request is inside this zone's limits."""
        cfg = self.cfg
        return (cfg["min_setpoint_mc"] <= setpoint_mc <= cfg["max_setpoint_mc"]
                and ramp_mc_per_s <= cfg["max_ramp_mc_per_s"])

    def set(self, enable: bool, setpoint_mc: int, ramp_mc_per_s: int) -> None:
        """Apply a validated HEATER_SET; a ramp starts from the current temperature."""
        if enable and not self.enabled:
            self.pid.reset()
            self._runaway_start_ms = -1
            start = self.temperature_c
            self.setpoint_mc = setpoint_mc if start is None else start * 1000.0
        self.enabled = enable
        self.target_mc = setpoint_mc
        self.ramp_mc_per_s = ramp_mc_per_s
        if not ramp_mc_per_s:
            self.setpoint_mc = setpoint_mc
        if not enable:
            self.off()

    def off(self) -> None:
        """Disable the zone and zero its output."""
        self.enabled = False
        self.duty_permille = 0
        self.pid.reset()
        self._runaway_start_ms = -1

    def step(self, raw_u16: int, now_ms: int, dt_ms: int) -> int:
        """One control period; returns the fault flag detected (0 if none)."""
        cfg = self.cfg
        therm = cfg["thermistor"]
        kind = thermistor.classify(raw_u16, therm)
        if kind != thermistor.OK:
            self.off()
            self.fault_value = raw_u16
            return codec.THERMISTOR_OPEN if kind == thermistor.OPEN else codec.THERMISTOR_SHORT
        reading_c = thermistor.temperature_c(raw_u16, therm)
        if reading_c * 1000.0 >= cfg["over_temperature_mc"]:
            self.off()
            self.fault_value = int(reading_c * 1000.0)
            return codec.OVER_TEMPERATURE
        tau_ms = cfg["filter_tau_ms"]
        last = self.temperature_c
        if last is None or tau_ms == 0:
            self.temperature_c = reading_c
        else:
            self.temperature_c = last + (reading_c - last) * dt_ms / (tau_ms + dt_ms)
        if not self.enabled:
            return 0
        self._advance_setpoint(dt_ms)
        duty = self.pid.update(self.setpoint_mc / 1000.0, self.temperature_c, dt_ms / 1000.0)
        self.duty_permille = int(duty * 1000.0 + 0.5)
        if self._runaway(now_ms):
            self.off()
            self.fault_value = int(self.temperature_c * 1000.0)
            return codec.THERMAL_RUNAWAY
        return 0

    def _advance_setpoint(self, dt_ms: int) -> None:
        target = self.target_mc
        rate = self.ramp_mc_per_s
        if not rate:
            self.setpoint_mc = target
            return
        step = rate * dt_ms / 1000.0
        sp = self.setpoint_mc
        self.setpoint_mc = min(sp + step, target) if sp < target else max(sp - step, target)

    def _runaway(self, now_ms: int) -> bool:
        """Full power for ``window_ms`` without ``min_rise_mc`` of rise: a runaway."""
        r = self.cfg["runaway"]
        temp_c = self.temperature_c or 0.0
        if self.duty_permille < r["duty_permille"]:
            self._runaway_start_ms = -1
            return False
        if self._runaway_start_ms < 0 or (temp_c - self._runaway_start_c) * 1000.0 >= r[
                "min_rise_mc"]:
            self._runaway_start_ms = now_ms
            self._runaway_start_c = temp_c
            return False
        return now_ms - self._runaway_start_ms >= r["window_ms"]

    def telemetry(self) -> dict:
        """This zone's TELEMETRY entry."""
        temp = self.temperature_c
        return {"temperature_mc": 0 if temp is None else int(round(temp * 1000.0)),
                "setpoint_mc": int(round(self.setpoint_mc)) if self.enabled else 0,
                "duty_permille": self.duty_permille, "enabled": 1 if self.enabled else 0}

"""Syringe pump moves with a trapezoidal velocity profile (triangular when too short).

The profile is analytic in time; each control period the pump asks the hardware layer for
the constant step rate that lands exactly on the profile at the end of the period.
"""

import math


class Trapezoid:
    """Position (nL, unsigned distance) versus time for one move of ``distance_nl``."""

    def __init__(self, distance_nl: float, rate_nl_per_s: float, accel_nl_per_s2: float) -> None:
        self.distance_nl = distance_nl
        self.accel = accel_nl_per_s2
        ramp_s = rate_nl_per_s / accel_nl_per_s2
        if accel_nl_per_s2 * ramp_s * ramp_s >= distance_nl:  # never reaches the rate
            ramp_s = math.sqrt(distance_nl / accel_nl_per_s2)
            self.cruise_s = 0.0
        else:
            self.cruise_s = (distance_nl - accel_nl_per_s2 * ramp_s * ramp_s) / (
                accel_nl_per_s2 * ramp_s)
        self.ramp_s = ramp_s
        self.peak_nl_per_s = accel_nl_per_s2 * ramp_s
        self.duration_s = 2.0 * ramp_s + self.cruise_s

    def position_nl(self, t_s: float) -> float:
        """Distance covered after ``t_s`` seconds."""
        a, ramp, cruise, peak = self.accel, self.ramp_s, self.cruise_s, self.peak_nl_per_s
        if t_s <= 0.0:
            return 0.0
        if t_s >= self.duration_s:
            return self.distance_nl
        if t_s < ramp:
            return 0.5 * a * t_s * t_s
        if t_s < ramp + cruise:
            return 0.5 * peak * ramp + peak * (t_s - ramp)
        left = self.duration_s - t_s
        return self.distance_nl - 0.5 * a * left * left


class Pump:
    """One syringe pump: position in nL (0 = empty, capacity = full), one move at a time.

    ``position_nl`` is what the hardware was told to do (the integral of the commanded
    rates, as a step count is); each period's rate aims at the profile's position at the
    end of that period, so a move started mid-period catches up within one period.
    """

    def __init__(self, cfg: dict) -> None:
        self.cfg = cfg
        self.position_nl = 0.0
        self.flow_nl_per_s = 0.0
        self._move = None  # type: Trapezoid | None
        self._direction = 1
        self._start_nl = 0.0
        self._start_ms = 0
        self._last_ms = 0

    @property
    def moving(self) -> bool:
        return self._move is not None

    def check_move(self, volume_nl: int, rate_nl_per_s: int) -> bool:
        """Whether a PUMP_MOVE is possible: non-zero volume, rate within limits, the syringe
        neither emptied below 0 nor filled above capacity (dispense > 0 empties it)."""
        end_nl = self.position_nl - volume_nl
        return (volume_nl != 0 and 0 < rate_nl_per_s <= self.cfg["max_rate_nl_per_s"]
                and 0 <= end_nl <= self.cfg["capacity_nl"])

    def start(self, volume_nl: int, rate_nl_per_s: int, now_ms: int) -> None:
        """Begin a validated move (dispense when volume_nl > 0)."""
        self._move = Trapezoid(abs(volume_nl), rate_nl_per_s, self.cfg["accel_nl_per_s2"])
        self._direction = -1 if volume_nl > 0 else 1
        self._start_nl = self.position_nl
        self._start_ms = now_ms
        self._last_ms = now_ms
        self.flow_nl_per_s = 0.0

    def _account(self, now_ms: int) -> None:
        self.position_nl += self.flow_nl_per_s * (now_ms - self._last_ms) / 1000.0
        self._last_ms = now_ms

    def stop(self, now_ms: int) -> None:
        """Stop at once where it is."""
        if self._move is not None:
            self._account(now_ms)
        self._move = None
        self.flow_nl_per_s = 0.0

    def step(self, now_ms: int, dt_ms: int) -> float:
        """Advance to ``now_ms``; returns the plunger rate for the next period (nL/s, > 0
        fills the syringe)."""
        move = self._move
        if move is None:
            return 0.0
        self._account(now_ms)
        t_s = (now_ms - self._start_ms) / 1000.0
        goal = self._start_nl + self._direction * move.position_nl(t_s + dt_ms / 1000.0)
        if t_s >= move.duration_s and abs(goal - self.position_nl) < 1e-6:
            self.position_nl = goal
            self.stop(now_ms)
            return 0.0
        self.flow_nl_per_s = (goal - self.position_nl) * 1000.0 / dt_ms
        return self.flow_nl_per_s

    def telemetry(self) -> dict:
        """This pump's TELEMETRY entry, in the PUMP_MOVE sign convention: position is the
        net volume dispensed since power-on (aspirating makes it negative), flow > 0 while
        dispensing."""
        return {"position_nl": int(round(-self.position_nl)),
                "flow_nl_per_s": int(round(-self.flow_nl_per_s)),
                "moving": 1 if self.moving else 0}

"""PID with derivative on measurement, conditional-integration anti-windup, output limits."""


class Pid:
    """One loop in engineering units: error in C, output as a duty fraction.

    The integral only accumulates within ``integral_band`` of the set-point and while the
    output is not saturated in the direction the error pushes (anti-windup); the integral
    term itself is kept inside the output limits.
    """

    def __init__(self, kp: float, ki: float, kd: float, out_min: float, out_max: float,
                 integral_band: float) -> None:
        self.kp = kp
        self.ki = ki
        self.kd = kd
        self.out_min = out_min
        self.out_max = out_max
        self.integral_band = integral_band
        self.integral = 0.0
        self._last_measurement = None  # type: float | None

    def reset(self) -> None:
        """Forget the integral and derivative history (heater disabled or faulted)."""
        self.integral = 0.0
        self._last_measurement = None

    def update(self, setpoint: float, measurement: float, dt_s: float) -> float:
        """Output for this period, within [out_min, out_max]."""
        error = setpoint - measurement
        last = self._last_measurement
        derivative = 0.0 if last is None else (measurement - last) / dt_s
        self._last_measurement = measurement
        unclamped = self.kp * error + self.integral - self.kd * derivative
        saturated_high = unclamped >= self.out_max and error > 0
        saturated_low = unclamped <= self.out_min and error < 0
        if abs(error) <= self.integral_band and not (saturated_high or saturated_low):
            self.integral += self.ki * error * dt_s
            self.integral = min(max(self.integral, self.out_min), self.out_max)
        output = self.kp * error + self.integral - self.kd * derivative
        return min(max(output, self.out_min), self.out_max)

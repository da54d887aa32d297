"""Camera/laser trigger programs: exposure, period, pulse count, laser mask.

The pulses themselves are timed by hardware (PIO on RP2040, a timer on STM32, the virtual
clock in the simulator); this module validates programs and tracks the state machine
IDLE -> PROGRAMMED -> ARMED -> FIRING -> PROGRAMMED.
"""

from . import codec


class Trigger:
    def __init__(self, cfg: dict) -> None:
        self.cfg = cfg
        self.state = codec.TRIG_IDLE
        self.exposure_us = 0
        self.period_us = 0
        self.pulse_count = 0
        self.laser_mask = 0
        self.pulses_done = 0

    def check_program(self, exposure_us: int, period_us: int, pulse_count: int,
                      laser_mask: int) -> bool:
        """Whether a program fits the board: exposure limits, a gap between pulses,
        at least one pulse, lasers that exist."""
        cfg = self.cfg
        return (cfg["min_exposure_us"] <= exposure_us <= cfg["max_exposure_us"]
                and period_us >= exposure_us + cfg["min_gap_us"] and period_us > exposure_us
                and pulse_count >= 1 and laser_mask >> len(cfg["laser_pins"]) == 0)

    def program(self, exposure_us: int, period_us: int, pulse_count: int,
                laser_mask: int) -> None:
        self.exposure_us = exposure_us
        self.period_us = period_us
        self.pulse_count = pulse_count
        self.laser_mask = laser_mask
        self.pulses_done = 0
        self.state = codec.TRIG_PROGRAMMED

    def arm(self) -> None:
        self.state = codec.TRIG_ARMED

    def fire(self) -> None:
        self.pulses_done = 0
        self.state = codec.TRIG_FIRING

    def step(self, pulses_done: int) -> bool:
        """Track the hardware's pulse count; True once when the train completes."""
        if self.state != codec.TRIG_FIRING:
            return False
        self.pulses_done = pulses_done
        if pulses_done >= self.pulse_count:
            self.state = codec.TRIG_PROGRAMMED
            return True
        return False

    def abort(self) -> None:
        """Stop (safety): the program is kept, the arm is dropped."""
        if self.state in (codec.TRIG_ARMED, codec.TRIG_FIRING):
            self.state = codec.TRIG_PROGRAMMED

    def telemetry(self) -> dict:
        return {"state": self.state, "pulses_done": self.pulses_done}

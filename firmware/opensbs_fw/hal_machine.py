"""Hardware layer on ``machine`` Pin/PWM/ADC, common to RP2040 and STM32.

The port module supplies the exposure pulse-train driver (``hal_rp2.PioPulseTrain`` or
``hal_stm32.TimerPulseTrain``): ``start(exposure_us, period_us, count)``, ``stop()``,
``pulses_done()``. Laser enable lines are held on for the whole train.
"""

from machine import ADC, PWM, Pin

MIN_STEP_HZ = 8  # below this the RP2040 PWM cannot divide down: treated as stopped


class MachineHal:
    def __init__(self, cfg: dict, make_pulse_train) -> None:
        self.cfg = cfg
        self.heaters = [PWM(Pin(h["pwm_pin"]), freq=h["pwm_freq_hz"], duty_u16=0)
                        for h in cfg["heaters"]]
        self.adcs = [ADC(Pin(h["adc_pin"])) for h in cfg["heaters"]]
        self.steps = [PWM(Pin(p["step_pin"]), freq=1000, duty_u16=0) for p in cfg["pumps"]]
        self.dirs = [Pin(p["dir_pin"], Pin.OUT, value=0) for p in cfg["pumps"]]
        self.enables = [Pin(p["enable_pin"], Pin.OUT, value=1) for p in cfg["pumps"]]
        self.valve_pins = [[Pin(n, Pin.OUT, value=0) for n in v["select_pins"]]
                           for v in cfg["valves"]]
        self.valve_ready_pins = [Pin(v["ready_pin"], Pin.IN, Pin.PULL_DOWN)
                                 for v in cfg["valves"]]
        self.lasers = [[Pin(n, Pin.OUT, value=0) for n in t["laser_pins"]]
                       for t in cfg["triggers"]]
        self.trains = [make_pulse_train(i, t) for i, t in enumerate(cfg["triggers"])]
        self.led = Pin(cfg["status_led_pin"], Pin.OUT, value=0)

    def heater_duty(self, zone: int, duty_permille: int) -> None:
        self.heaters[zone].duty_u16(duty_permille * 65535 // 1000)

    def read_thermistor_u16(self, zone: int) -> int:
        return self.adcs[zone].read_u16()

    def pump_rate(self, pump: int, nl_per_s: float) -> None:
        """Step rate for the next period; the driver's enable is active-low."""
        hz = int(abs(nl_per_s) * self.cfg["pumps"][pump]["steps_per_ul"] / 1000.0)
        step = self.steps[pump]
        if hz < MIN_STEP_HZ:
            step.duty_u16(0)
            self.enables[pump].value(1)
            return
        self.dirs[pump].value(1 if nl_per_s > 0 else 0)
        self.enables[pump].value(0)
        step.freq(hz)
        step.duty_u16(32768)

    def valve_select(self, valve: int, port: int) -> None:
        for bit, pin in enumerate(self.valve_pins[valve]):
            pin.value((port >> bit) & 1)

    def valve_ready(self, valve: int) -> bool:
        return self.valve_ready_pins[valve].value() == 1

    def trigger_start(self, output: int, exposure_us: int, period_us: int, pulse_count: int,
                      laser_mask: int) -> None:
        for bit, pin in enumerate(self.lasers[output]):
            pin.value((laser_mask >> bit) & 1)
        self.trains[output].start(exposure_us, period_us, pulse_count)

    def trigger_stop(self, output: int) -> None:
        self.trains[output].stop()
        for pin in self.lasers[output]:
            pin.value(0)

    def trigger_pulses_done(self, output: int) -> int:
        done = self.trains[output].pulses_done()
        if not self.trains[output].running():
            for pin in self.lasers[output]:
                pin.value(0)
        return done

    def status_led(self, on: bool) -> None:
        self.led.value(1 if on else 0)

    def all_off(self) -> None:
        for pwm in self.heaters:
            pwm.duty_u16(0)
        for i in range(len(self.steps)):
            self.pump_rate(i, 0)
        for i in range(len(self.trains)):
            self.trigger_stop(i)

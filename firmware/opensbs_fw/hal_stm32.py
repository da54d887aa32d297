"""STM32: exposure pulse trains from a hardware timer in PWM mode at 1 MHz.

The board file names the timer and channel of each trigger pin. The compare value is
preloaded, so setting it to 0 during pulse N-1's update event ends the train after pulse N.
"""

import pyb

TICK_HZ = 1_000_000


class TimerPulseTrain:
    def __init__(self, index: int, cfg: dict) -> None:
        self.timer_id = cfg["timer"]["id"]
        self.channel_id = cfg["timer"]["channel"]
        self.pin = pyb.Pin(cfg["pin"])
        self.timer = None  # type: pyb.Timer | None
        self._done = [0]
        self._count = 0

    def _on_update(self, _timer) -> None:
        done = self._done[0] + 1
        self._done[0] = done
        if done == self._count - 1:
            self.channel.pulse_width(0)
        elif done >= self._count:
            _timer.callback(None)
            _timer.deinit()

    def start(self, exposure_us: int, period_us: int, count: int) -> None:
        self.stop()
        self._done[0] = 0
        self._count = count
        timer = pyb.Timer(self.timer_id)
        prescaler = timer.source_freq() // TICK_HZ - 1
        timer.init(prescaler=prescaler, period=period_us - 1)
        self.channel = timer.channel(self.channel_id, pyb.Timer.PWM, pin=self.pin,
                                     pulse_width=exposure_us)
        if count == 1:
            self.channel.pulse_width(0)
        timer.callback(self._on_update)
        self.timer = timer

    def stop(self) -> None:
        if self.timer is not None:
            self.timer.callback(None)
            self.timer.deinit()
            self.timer = None
        self.pin.init(pyb.Pin.OUT_PP)
        self.pin.value(0)

    def running(self) -> bool:
        return self._done[0] < self._count

    def pulses_done(self) -> int:
        return min(self._done[0], self._count)


def make_pulse_train(index: int, cfg: dict) -> TimerPulseTrain:
    return TimerPulseTrain(index, cfg)

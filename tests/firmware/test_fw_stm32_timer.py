"""The STM32 exposure pulse train against a model of a timer in PWM mode 1 with a preloaded
compare register (what HAL_TIM_PWM_ConfigChannel sets up): the pulse count, exposure and
period that hal_stm32.TimerPulseTrain produces must match the program exactly."""

import importlib
import sys
import types

import pytest
from opensbs.board.firmware import FIRMWARE_DIR


class _Channel:
    def __init__(self, timer: "_Timer", pulse_width: int) -> None:
        self.timer = timer
        timer.active_ccr = timer.preload_ccr = pulse_width  # written before OCxPE is set

    def pulse_width(self, width: int) -> None:
        self.timer.preload_ccr = width  # takes effect at the next update event


class _Timer:
    PWM = 1

    def __init__(self, timer_id: int) -> None:
        self.callback_fn = None
        self.running = False

    def source_freq(self) -> int:
        return 100_000_000

    def init(self, prescaler: int, period: int) -> None:
        assert self.source_freq() // (prescaler + 1) == 1_000_000
        self.period_ticks = period + 1
        self.running = True

    def channel(self, channel_id: int, mode: int, pin: object, pulse_width: int) -> _Channel:
        return _Channel(self, pulse_width)

    def callback(self, fn) -> None:
        self.callback_fn = fn

    def deinit(self) -> None:
        self.running = False

    def run(self, max_periods: int) -> list[tuple[int, int]]:
        """(start_us, width_us) of every pulse until the timer is stopped."""
        pulses = []
        for k in range(max_periods):
            if not self.running:
                break
            if self.active_ccr:
                pulses.append((k * self.period_ticks, min(self.active_ccr, self.period_ticks)))
            self.active_ccr = self.preload_ccr  # update event: shadow <- preload ...
            if self.callback_fn is not None:
                self.callback_fn(self)  # ... then the interrupt
        return pulses


@pytest.fixture
def hal_stm32(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    pyb = types.ModuleType("pyb")
    timers: list[_Timer] = []

    def make_timer(timer_id: int) -> _Timer:
        timers.append(_Timer(timer_id))
        return timers[-1]

    class Pin:
        OUT_PP = 1

        def __init__(self, name: str) -> None:
            pass

        def init(self, mode: int) -> None:
            pass

        def value(self, v: int) -> None:
            pass

    make_timer.PWM = _Timer.PWM  # type: ignore[attr-defined]
    pyb.Timer, pyb.Pin = make_timer, Pin  # type: ignore[attr-defined]
    pyb.timers = timers  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pyb", pyb)
    monkeypatch.syspath_prepend(str(FIRMWARE_DIR))
    monkeypatch.delitem(sys.modules, "opensbs_fw.hal_stm32", raising=False)
    return importlib.import_module("opensbs_fw.hal_stm32")


@pytest.mark.parametrize("exposure_us, period_us, count", [(20_000, 50_000, 4), (10, 110, 7),
                                                           (250_000, 1_000_000, 1)])
def test_timer_pulse_train_is_exact(hal_stm32: types.ModuleType, exposure_us: int,
                                    period_us: int, count: int) -> None:
    train = hal_stm32.TimerPulseTrain(0, {"pin": "PA15", "timer": {"id": 2, "channel": 1}})
    train.start(exposure_us, period_us, count)
    timer = sys.modules["pyb"].timers[-1]
    pulses = timer.run(count + 10)
    assert pulses == [(i * period_us, exposure_us) for i in range(count)]
    assert train.pulses_done() == count and not train.running() and not timer.running

"""RP2040: exposure pulse trains timed by a PIO state machine at 1 MHz (1 cycle = 1 us).

Per train the CPU pushes count-1, the low time and the high time; the state machine then
runs every pulse on its own and raises an IRQ at the end of each one, counted without
allocation in a hard handler.
"""

import rp2
from machine import Pin

PIO_FREQ_HZ = 1_000_000
WATCHDOG_CTRL_CLEAR = 0x40058000 + 0x3000  # WATCHDOG CTRL, atomic bit-clear alias
WATCHDOG_CTRL_ENABLE = 1 << 30
WATCHDOG_SCRATCH4 = 0x40058000 + 0x1C
WDT_ENABLE_MAGIC = 0x6AB73121  # pico-sdk's watchdog_enable() (machine.WDT) leaves it in scratch4
HIGH_OVERHEAD = 3  # set, mov and the loop's extra pass in the high phase
LOW_OVERHEAD = 5  # set, irq, mov, loop exit and jmp y_dec in the low phase


@rp2.asm_pio(set_init=rp2.PIO.OUT_LOW)
def _pulse_train():
    pull(block)  # noqa: F821 - PIO assembler names
    mov(y, osr)  # noqa: F821
    pull(block)  # noqa: F821
    mov(isr, osr)  # noqa: F821
    pull(block)  # noqa: F821
    label("pulse")  # noqa: F821
    set(pins, 1)  # noqa: F821
    mov(x, osr)  # noqa: F821
    label("high")  # noqa: F821
    jmp(x_dec, "high")  # noqa: F821
    set(pins, 0)  # noqa: F821
    irq(rel(0))  # noqa: F821
    mov(x, isr)  # noqa: F821
    label("low")  # noqa: F821
    jmp(x_dec, "low")  # noqa: F821
    jmp(y_dec, "pulse")  # noqa: F821


class PioPulseTrain:
    def __init__(self, index: int, cfg: dict) -> None:
        self.pin = Pin(cfg["pin"], Pin.OUT, value=0)
        self.sm = rp2.StateMachine(index, _pulse_train, freq=PIO_FREQ_HZ, set_base=self.pin)
        self._done = [0]
        self._count = 0
        self.sm.irq(self._on_pulse, hard=True)

    def _on_pulse(self, _sm) -> None:
        self._done[0] += 1

    def start(self, exposure_us: int, period_us: int, count: int) -> None:
        self.stop()
        self._done[0] = 0
        self._count = count
        self.sm.restart()
        self.sm.put(count - 1)
        self.sm.put(period_us - exposure_us - LOW_OVERHEAD)
        self.sm.put(exposure_us - HIGH_OVERHEAD)
        self.sm.active(1)

    def stop(self) -> None:
        self.sm.active(0)
        self.pin.value(0)

    def running(self) -> bool:
        return self._done[0] < self._count

    def pulses_done(self) -> int:
        return min(self._done[0], self._count)


def make_pulse_train(index: int, cfg: dict) -> PioPulseTrain:
    return PioPulseTrain(index, cfg)


def stop_watchdog() -> None:
    """Disable the chip's watchdog (CTRL.ENABLE), which MicroPython's WDT cannot stop."""
    from machine import mem32  # noqa: PLC0415

    mem32[WATCHDOG_CTRL_CLEAR] = WATCHDOG_CTRL_ENABLE


def watchdog_timed_out() -> bool:
    """Whether a WDT_RESET was machine.WDT timing out, not machine.reset() (a watchdog
    reboot too, which clears scratch4)."""
    from machine import mem32  # noqa: PLC0415

    return mem32[WATCHDOG_SCRATCH4] == WDT_ENABLE_MAGIC

# The virtual board's `machine` module: inert peripherals (outputs go nowhere, every ADC
# reads mid-scale, i.e. 25 C on a 10k/10k NTC divider); reset() reboots the virtual board.
import js_board

PWRON_RESET, HARD_RESET, WDT_RESET, DEEPSLEEP_RESET, SOFT_RESET = 1, 2, 3, 4, 5
_cause = [PWRON_RESET]


class Pin:
    IN, OUT, OPEN_DRAIN = 0, 1, 2
    PULL_UP, PULL_DOWN = 1, 2

    def __init__(self, pin_id, mode=-1, pull=-1, value=None):
        self.id = pin_id
        self._value = value or 0

    def init(self, *args, **kwargs):
        pass

    def value(self, v=None):
        if v is None:
            return self._value
        self._value = 1 if v else 0


class PWM:
    def __init__(self, pin, freq=1000, duty_u16=0):
        self._freq, self._duty = freq, duty_u16

    def freq(self, f=None):
        if f is None:
            return self._freq
        self._freq = f

    def duty_u16(self, d=None):
        if d is None:
            return self._duty
        self._duty = d


class ADC:
    def __init__(self, pin):
        pass

    def read_u16(self):
        return 32768


class WDT:
    def __init__(self, id=0, timeout=5000):
        pass

    def feed(self):
        pass


mem32 = {}  # register writes (the firmware stops the RP2040 watchdog through CTRL)


def reset_cause():
    return _cause[0]


def reset():
    js_board.reset()


def unique_id():
    return b"\x0e\x5b\x50\x00\x00\x00\x00\x01"

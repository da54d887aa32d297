"""NTC thermistor on a divider: ADC counts -> milli-degrees C, open/short detection.

Divider: series resistor from the ADC reference to the input, thermistor from the input to
ground, so the reading rises towards full scale as the thermistor opens.
"""

import math

KELVIN_0C = 273.15
T25_K = 298.15
FULL_SCALE = 65535

OK = 0
OPEN = 1
SHORT = 2


def classify(raw_u16: int, therm: dict) -> int:
    """OK, OPEN or SHORT for one 16-bit reading against the board file's thresholds."""
    if raw_u16 >= therm["open_above_u16"]:
        return OPEN
    if raw_u16 <= therm["short_below_u16"]:
        return SHORT
    return OK


def resistance_ohm(raw_u16: int, series_ohm: float) -> float:
    """Thermistor resistance from a 16-bit reading (0 < raw < full scale)."""
    return series_ohm * raw_u16 / (FULL_SCALE - raw_u16)


def temperature_c(raw_u16: int, therm: dict) -> float:
    """Temperature in C from a 16-bit reading, by the beta equation."""
    r = resistance_ohm(raw_u16, therm["series_ohm"])
    inv_t = 1.0 / T25_K + math.log(r / therm["r25_ohm"]) / therm["beta"]
    return 1.0 / inv_t - KELVIN_0C

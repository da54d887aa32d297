"""Thermistor conversion: the firmware's beta equation inverts the simulator's ADC model to
within one 12-bit count, and open/short readings are classified by the board thresholds."""

import numpy as np
import pytest
from opensbs.board.firmware import import_firmware
from opensbs.board.schema import load_board
from opensbs.sim.board.sim_board import adc_u16

thermistor = import_firmware("thermistor")
THERM = load_board("pico").config["heaters"][0]["thermistor"]


def test_25c_is_mid_scale_on_a_matched_divider() -> None:
    assert adc_u16(25.0, THERM, 16) == pytest.approx(32768, abs=1)
    assert thermistor.temperature_c(32767, THERM) == pytest.approx(25.0, abs=0.01)


@pytest.mark.parametrize("temperature_c", np.linspace(4.0, 110.0, 23))
def test_round_trip_within_one_adc_count(temperature_c: float) -> None:
    raw = adc_u16(temperature_c, THERM, 12)
    back = thermistor.temperature_c(raw, THERM)
    one_count_c = abs(thermistor.temperature_c(raw + 16, THERM) - back)
    assert abs(back - temperature_c) <= one_count_c
    assert thermistor.classify(raw, THERM) == thermistor.OK


def test_open_and_short_are_classified() -> None:
    assert thermistor.classify(65535, THERM) == thermistor.OPEN
    assert thermistor.classify(0, THERM) == thermistor.SHORT
    assert thermistor.classify(THERM["open_above_u16"] - 1, THERM) == thermistor.OK

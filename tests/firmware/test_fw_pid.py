"""PID and heater zone behaviour: derivative on measurement, anti-windup, limits, ramps,
and the closed-loop step response on the default flow-cell model."""

import numpy as np
import pytest
from fw_link import HostLink
from opensbs.board.firmware import import_firmware
from opensbs.protocol.control import MsgType
from opensbs.sim.board.sim_board import SimBoard

Pid = import_firmware("pid").Pid


def test_setpoint_change_gives_no_derivative_kick() -> None:
    pid = Pid(kp=0.1, ki=0.0, kd=5.0, out_min=0.0, out_max=1.0, integral_band=1.0)
    pid.update(30.0, 30.0, 0.1)
    assert pid.update(31.0, 30.0, 0.1) == pytest.approx(0.1)  # only the P term


def test_derivative_acts_on_measurement_and_output_is_limited() -> None:
    pid = Pid(kp=0.1, ki=0.0, kd=0.2, out_min=0.0, out_max=1.0, integral_band=1.0)
    pid.update(40.0, 35.0, 0.1)
    out = pid.update(40.0, 35.1, 0.1)  # rising 1 C/s: D term -0.2
    assert out == pytest.approx(0.1 * 4.9 - 0.2)
    assert pid.update(40.0, 0.0, 0.1) == 1.0
    assert pid.update(0.0, 60.0, 0.1) == 0.0


def test_integral_does_not_wind_up_while_saturated_or_far() -> None:
    pid = Pid(kp=0.05, ki=0.1, kd=0.0, out_min=0.0, out_max=1.0, integral_band=2.0)
    for _ in range(1000):
        pid.update(65.0, 25.0, 0.1)  # far away and saturated
    assert pid.integral == 0.0
    for _ in range(10_000):
        pid.update(65.0, 64.0, 0.1)  # inside the band, never reaching: clamped at out_max
    assert pid.integral <= 1.0


def test_setpoint_ramp_moves_at_the_requested_rate(link: HostLink, board: SimBoard) -> None:
    link.run_ms(500)
    start_c = board.controller.heaters[0].temperature_c
    link.ok(MsgType.HEATER_SET, {"zone": 0, "enable": 1, "setpoint_mc": 45000,
                                 "ramp_mc_per_s": 1000})
    link.run_ms(5000)
    sp = board.controller.heaters[0].setpoint_mc
    assert sp == pytest.approx(start_c * 1000 + 5000, abs=150)
    link.run_ms(30_000)
    assert link.of_type(MsgType.TELEMETRY)[-1].fields["heaters"][0]["setpoint_mc"] == 45000


def test_step_response_25_to_65_meets_the_figures(link: HostLink, board: SimBoard) -> None:
    link.run_ms(1000)
    link.ok(MsgType.HEATER_SET, {"zone": 0, "enable": 1, "setpoint_mc": 65000,
                                 "ramp_mc_per_s": 0})
    temps = []
    for _ in range(180):
        link.run_ms(1000)
        temps.append(board.temperature_c(0))
    t = np.array(temps)
    assert t.max() - 65.0 <= 1.0
    outside = np.nonzero(np.abs(t - 65.0) > 0.5)[0]
    assert outside[-1] + 1 <= 60  # inside +-0.5 C from 60 s on
    assert abs(t[120:].mean() - 65.0) <= 0.1
    reported = link.of_type(MsgType.TELEMETRY)[-1].fields["heaters"][0]
    assert reported["temperature_mc"] == pytest.approx(65000, abs=300)
    assert board.temperature_c(1) == pytest.approx(25.0, abs=0.01)  # zone 1 untouched

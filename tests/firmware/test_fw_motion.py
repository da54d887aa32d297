"""Pump trapezoids, valve moves and timeouts, trigger pulse timing on the simulated board."""

import numpy as np
import pytest
from fw_link import HostLink
from opensbs.board.firmware import import_firmware
from opensbs.protocol.control import DeviceState, Fault, MsgType, TriggerState
from opensbs.sim.board.sim_board import SimBoard, TriggerPulse

T = MsgType
pump_mod = import_firmware("pump")


@pytest.mark.parametrize("distance, rate, accel", [(150_000, 250_000, 4_000_000),
                                                   (1_000, 250_000, 4_000_000),
                                                   (500_000, 2_000_000, 1_000_000)])
def test_trapezoid_respects_rate_and_acceleration(distance: int, rate: int, accel: int) -> None:
    move = pump_mod.Trapezoid(distance, rate, accel)
    t = np.linspace(0, move.duration_s, 4001)
    x = np.array([move.position_nl(v) for v in t])
    v = np.diff(x) / np.diff(t)
    a = np.diff(v) / np.diff(t[:-1])
    assert x[0] == 0 and x[-1] == pytest.approx(distance)
    assert np.all(np.diff(x) >= 0)
    assert v.max() <= rate * 1.0001
    assert np.abs(a).max() <= accel * 1.01
    if distance >= rate * rate / accel:  # long enough to cruise
        assert move.cruise_s == pytest.approx((distance - rate * rate / accel) / rate)
        assert v.max() == pytest.approx(rate, rel=1e-3)
    else:
        assert move.peak_nl_per_s == pytest.approx(np.sqrt(distance * accel))


def test_pump_follows_the_profile_exactly_and_reports_it(link: HostLink,
                                                         board: SimBoard) -> None:
    board.advance_ms(30)  # start mid-period
    link.ok(T.PUMP_MOVE, {"pump": 0, "volume_nl": -300_000, "rate_nl_per_s": 250_000})
    move = pump_mod.Trapezoid(300_000, 250_000, 4_000_000)
    start_ms = board.clock.now_ms
    board.advance_ms(70)  # to the next period boundary: the catch-up period starts here
    for _ in range(12):
        board.advance_ms(100)
        t_s = (board.clock.now_ms - start_ms) / 1000.0
        assert board.pump_volume_nl(0) == pytest.approx(move.position_nl(t_s), abs=1e-3)
        assert board.pump_rate_nl_per_s(0) <= 250_000 * 1.0001
    link.run_ms(1000)
    assert board.pump_volume_nl(0) == pytest.approx(300_000, abs=1e-6)
    tel = link.of_type(T.TELEMETRY)[-1].fields["pumps"][0]
    assert tel == {"position_nl": -300_000, "flow_nl_per_s": 0, "moving": 0}
    link.ok(T.PUMP_MOVE, {"pump": 0, "volume_nl": 120_000, "rate_nl_per_s": 100_000})
    link.run_ms(3000)
    assert board.dispensed_nl(0) == pytest.approx(-180_000, abs=1e-6)


def test_pump_stop_halts_where_it_is(link: HostLink, board: SimBoard) -> None:
    link.ok(T.PUMP_MOVE, {"pump": 0, "volume_nl": -500_000, "rate_nl_per_s": 100_000})
    board.advance_ms(1000)
    link.ok(T.PUMP_STOP, {"pump": 0})
    volume = board.pump_volume_nl(0)
    board.advance_ms(1000)
    assert board.pump_volume_nl(0) == volume and 50_000 < volume < 110_000
    assert board.controller.pumps[0].position_nl == pytest.approx(volume)


def test_valve_selects_a_port_and_times_out_when_stalled(link: HostLink,
                                                         board: SimBoard) -> None:
    link.ok(T.VALVE_SELECT, {"valve": 0, "port": 20})  # 4 ports backwards round the rotor
    link.run_ms(300)
    assert board.valve_port(0) == 20
    link.run_ms(1000)  # a telemetry period
    assert link.of_type(T.TELEMETRY)[-1].fields["valves"][0] == {"port": 20, "moving": 0}
    board.plant.valves[0].stalled = True
    link.ok(T.VALVE_SELECT, {"valve": 0, "port": 3})
    link.run_ms(2900)
    assert link.ok(T.GET_STATUS).fields["valves_busy_mask"] == 1
    link.run_ms(200)
    events = link.of_type(T.FAULT_EVENT)
    assert [(e.fields["fault"], e.fields["source"], e.fields["value"]) for e in events] == [
        (Fault.VALVE_TIMEOUT.bit_length() - 1, 0, 3)]
    status = link.ok(T.GET_STATUS).fields
    assert status["state"] == DeviceState.FAULT and status["valves_busy_mask"] == 0


@pytest.mark.parametrize("exposure_us, period_us, count, mask", [(20_000, 50_000, 4, 0b1010),
                                                                 (10, 110, 1000, 0b1),
                                                                 (250_000, 1_000_000, 3, 0)])
def test_trigger_pulses_match_the_program_exactly(link: HostLink, board: SimBoard,
                                                  exposure_us: int, period_us: int, count: int,
                                                  mask: int) -> None:
    pulses: list[TriggerPulse] = []
    board.add_trigger_listener(pulses.append)
    link.ok(T.TRIGGER_PROGRAM, {"output": 0, "exposure_us": exposure_us,
                                "period_us": period_us, "pulse_count": count,
                                "laser_mask": mask})
    link.ok(T.TRIGGER_ARM, {"output": 0})
    assert link.ok(T.GET_STATUS).fields["armed_mask"] == 1
    board.advance_ms(7)
    fire_us = board.clock.now_us
    link.ok(T.TRIGGER_FIRE, {"output": 0})
    link.run_ms((count * period_us) // 1000 + 1100)
    assert len(pulses) == count
    assert [p.start_us for p in pulses] == [fire_us + i * period_us for i in range(count)]
    assert {(p.output, p.laser_mask, p.exposure_us) for p in pulses} == {(0, mask, exposure_us)}
    assert [p.index for p in pulses] == list(range(count))
    done = link.of_type(T.TRIGGER_DONE)
    assert [d.fields for d in done] == [{"output": 0, "pulses": count}]
    tel = link.of_type(T.TELEMETRY)[-1].fields["triggers"][0]
    assert tel == {"state": TriggerState.PROGRAMMED, "pulses_done": count}
    nak = link.request(T.TRIGGER_FIRE, {"output": 0})  # needs a new arm
    assert nak.msg_type == T.NAK

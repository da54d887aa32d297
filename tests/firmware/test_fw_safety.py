"""Safety without the host: every trip turns the heaters off within one control period,
latches, is reported, and is cleared only by FAULT_CLEAR."""

import pytest
from fw_link import HostLink
from opensbs.protocol.control import DeviceState, ErrorCode, Fault, MsgType
from opensbs.sim.board.sim_board import SimBoard

T = MsgType
HEAT = {"zone": 0, "enable": 1, "setpoint_mc": 65000, "ramp_mc_per_s": 0}
PERIOD_MS = 100


def heating(link: HostLink, board: SimBoard) -> None:
    link.ok(T.HEATER_SET, HEAT)
    link.ok(T.PUMP_MOVE, {"pump": 0, "volume_nl": -900_000, "rate_nl_per_s": 10_000})
    link.run_ms(5000)
    assert board.heater_duty(0) > 0.5 and board.pump_rate_nl_per_s(0) > 0


def first_off_after(board: SimBoard, start_ms: int, limit_ms: int) -> int:
    """Virtual ms from ``start_ms`` until heater 0 and the pump are both off."""
    while board.clock.now_ms - start_ms <= limit_ms:
        if board.heater_duty(0) == 0 and board.pump_rate_nl_per_s(0) == 0:
            return board.clock.now_ms - start_ms
        board.advance_ms(10)
    raise AssertionError("outputs still on")


def assert_latched(link: HostLink, fault: Fault, source: int) -> None:
    events = [f.fields for f in link.pump() + link.frames if f.msg_type == T.FAULT_EVENT]
    assert any(e["fault"] == fault.bit_length() - 1 and e["source"] == source for e in events)
    status = link.ok(T.GET_STATUS).fields
    assert status["state"] == DeviceState.FAULT and status["faults"] & fault
    nak = link.request(T.HEATER_SET, HEAT)
    assert nak.msg_type == T.NAK and nak.fields["error"] == ErrorCode.FAULT_LATCHED


@pytest.mark.parametrize("kind, fault", [("open", Fault.THERMISTOR_OPEN),
                                         ("short", Fault.THERMISTOR_SHORT)])
def test_thermistor_fault_trips_within_one_period(link: HostLink, board: SimBoard, kind: str,
                                                  fault: Fault) -> None:
    heating(link, board)
    start = board.clock.now_ms
    board.plant.zones[0].sensor_fault = kind
    assert first_off_after(board, start, PERIOD_MS) <= PERIOD_MS
    assert_latched(link, fault, 0)
    board.plant.zones[0].sensor_fault = None
    link.run_ms(1000)
    assert link.ok(T.GET_STATUS).fields["faults"] & fault  # still latched: not self-clearing
    link.ok(T.FAULT_CLEAR, {"faults": int(fault)})
    assert link.ok(T.GET_STATUS).fields["state"] == DeviceState.IDLE
    link.ok(T.HEATER_SET, HEAT)


def test_fault_clear_does_not_hide_a_condition_still_present(link: HostLink,
                                                             board: SimBoard) -> None:
    board.plant.zones[1].sensor_fault = "open"
    link.run_ms(300)
    link.ok(T.FAULT_CLEAR, {"faults": int(Fault.THERMISTOR_OPEN)})
    link.run_ms(300)
    assert link.ok(T.GET_STATUS).fields["faults"] == Fault.THERMISTOR_OPEN


def test_over_temperature_trips_within_one_period(link: HostLink, board: SimBoard) -> None:
    heating(link, board)
    board.plant.zones[0].block_c = board.plant.zones[0].sensor_c = 111.0  # > 110 C cut-off
    start = board.clock.now_ms
    assert first_off_after(board, start, PERIOD_MS) <= PERIOD_MS
    assert_latched(link, Fault.OVER_TEMPERATURE, 0)
    value = [f.fields["value"] for f in link.frames if f.msg_type == T.FAULT_EVENT][0]
    assert 110_000 <= value < 112_000


def test_thermal_runaway_full_power_without_rise(link: HostLink, board: SimBoard) -> None:
    board.plant.zones[0].heater_connected = False  # heater fell off the flow cell
    link.ok(T.HEATER_SET, HEAT)
    link.run_ms(19_000)
    assert board.heater_duty(0) == pytest.approx(1.0)
    assert not link.ok(T.GET_STATUS).fields["faults"]
    link.run_ms(2000)
    assert board.heater_duty(0) == 0
    assert_latched(link, Fault.THERMAL_RUNAWAY, 0)


def test_normal_heat_up_is_not_a_runaway(link: HostLink, board: SimBoard) -> None:
    link.ok(T.HEATER_SET, {"zone": 0, "enable": 1, "setpoint_mc": 95000, "ramp_mc_per_s": 0})
    link.run_ms(120_000)
    assert link.ok(T.GET_STATUS).fields["faults"] == 0
    assert board.temperature_c(0) == pytest.approx(95.0, abs=0.5)


def test_host_silence_turns_heaters_and_pumps_off(link: HostLink, board: SimBoard) -> None:
    heating(link, board)
    link.ok(T.TRIGGER_PROGRAM, {"output": 0, "exposure_us": 1000, "period_us": 100_000,
                                "pulse_count": 500, "laser_mask": 1})
    link.ok(T.TRIGGER_ARM, {"output": 0})
    link.ok(T.TRIGGER_FIRE, {"output": 0})
    last_host_ms = board.clock.now_ms
    board.advance_ms(3000)  # the configured 3 s of silence: still running
    assert board.heater_duty(0) > 0 and board.pump_rate_nl_per_s(0) > 0
    off_ms = first_off_after(board, last_host_ms, 3000 + PERIOD_MS)
    assert 3000 < off_ms <= 3000 + PERIOD_MS
    pulses: list[int] = []
    board.add_trigger_listener(lambda p: pulses.append(p.index))
    board.advance_ms(1000)
    assert pulses == []  # the trigger train stopped too
    assert_latched(link, Fault.HEARTBEAT_LOST, 0xFF)


def test_emergency_stop_latches_until_cleared(link: HostLink, board: SimBoard) -> None:
    heating(link, board)
    link.ok(T.EMERGENCY_STOP)
    assert board.heater_duty(0) == 0 and board.pump_rate_nl_per_s(0) == 0
    assert link.ok(T.GET_STATUS).fields["state"] == DeviceState.ESTOP
    nak = link.request(T.PUMP_MOVE, {"pump": 0, "volume_nl": 1000, "rate_nl_per_s": 1000})
    assert nak.fields["error"] == ErrorCode.ESTOP_ACTIVE
    link.ok(T.HEATER_SET, {"zone": 0, "enable": 0, "setpoint_mc": 0, "ramp_mc_per_s": 0})
    link.ok(T.FAULT_CLEAR, {"faults": int(Fault.EMERGENCY_STOP)})
    assert link.ok(T.GET_STATUS).fields["state"] == DeviceState.IDLE

"""BoardDriver against the simulated board (real firmware core) on the virtual USB bus."""

from collections.abc import Iterator

import pytest
from opensbs.protocol.control import Fault
from opensbs.recipe import FluidicsStep, ThermalStep, WaitStep
from opensbs.run import BoardDriver, InstrumentError, LockstepPacer
from opensbs.sim.board import SimBoard, SimBoardDevice
from opensbs.sim.usb.backend import VirtualUsbBus
from opensbs.usb.discovery import open_controller


@pytest.fixture
def rig() -> Iterator[tuple[BoardDriver, SimBoard, list]]:
    board = SimBoard("pico", seed=0)
    bus = VirtualUsbBus()
    bus.attach(SimBoardDevice(board, serial_number="T-0"))
    events: list[tuple[str, dict]] = []
    driver = BoardDriver(open_controller(backend=bus.backend),
                         lambda kind, **f: events.append((kind, f)), LockstepPacer(board))
    driver.connect()
    yield driver, board, events
    driver.close()


def _commands(events: list) -> list[tuple]:
    return [(f["name"], f.get("port"), f.get("volume_nl")) for k, f in events
            if k == "command"]


def test_fluidics_larger_than_the_syringe_takes_several_strokes(rig):
    driver, board, events = rig
    capacity = driver.limits.pump_capacity_nl
    record = driver.fluidics(FluidicsStep(step="fluidics", port=3, volume_nl=2 * capacity + 500_000,
                                          flow_nl_per_s=100_000))
    waste = driver.limits.valve_ports - 1
    strokes = [capacity, capacity, 500_000]
    expected = []
    for stroke in strokes:
        expected += [("valve_select", 3, None), ("pump_move", None, -stroke),
                     ("valve_select", waste, None), ("pump_move", None, stroke)]
    assert _commands(events) == expected
    assert board.pump_volume_nl(0) == pytest.approx(0, abs=1)  # syringe emptied to waste
    # 2.5 mL drawn at 0.1 mL/s: at least 25 s on the instrument clock
    assert record.end_ms - record.start_ms >= 25_000


def test_thermal_step_reaches_and_holds_the_setpoint(rig):
    driver, board, _ = rig
    record = driver.thermal(ThermalStep(step="thermal", setpoint_mc=55_000, hold_ms=10_000,
                                        tolerance_mc=500))
    assert abs(board.temperature_c(0) - 55.0) < 1.0
    assert record.details["ramp_ms"] > 0
    assert record.end_ms - record.start_ms >= record.details["ramp_ms"] + 10_000
    start = driver.now_ms()
    driver.wait(WaitStep(step="wait", duration_ms=4_000))
    assert driver.now_ms() - start >= 4_000


def test_a_latched_fault_stops_the_step_with_its_name(rig):
    driver, board, events = rig
    board.plant.zones[0].sensor_fault = "open"
    with pytest.raises(InstrumentError, match="THERMISTOR_OPEN"):
        driver.thermal(ThermalStep(step="thermal", setpoint_mc=50_000, hold_ms=1_000))
    assert any(k == "fault" and "THERMISTOR_OPEN" in f["message"] for k, f in events)


def test_waste_port_and_board_limits_are_refused(rig):
    driver, _, _ = rig
    waste = driver.limits.valve_ports - 1
    with pytest.raises(InstrumentError, match="waste port"):
        driver.fluidics(FluidicsStep(step="fluidics", port=waste, volume_nl=1000,
                                     flow_nl_per_s=1000))
    too_hot = ThermalStep(step="thermal", setpoint_mc=60_000, hold_ms=0).model_copy(
        update={"setpoint_mc": driver.limits.max_setpoint_mc + 1})  # a board below the recipe's
    with pytest.raises(InstrumentError, match="above the board's"):
        driver.thermal(too_hot)


def test_a_recipe_that_does_not_fit_the_board_is_refused_before_any_step(rig):
    from opensbs.recipe import default_recipe_text, parse_recipe

    driver, _, events = rig
    waste = driver.limits.valve_ports - 1
    recipe = parse_recipe(default_recipe_text().replace("port = 2", f"port = {waste}"))
    with pytest.raises(InstrumentError, match=rf"cycle\[2\].port = {waste}: the valve has "
                                              rf"reagent ports 0..{waste - 1}"):
        driver.check_recipe(recipe)
    assert not [e for e in events if e[0] == "command"]
    driver.check_recipe(parse_recipe(default_recipe_text()))  # the default recipe fits


def test_heartbeat_loss_left_by_a_dead_host_is_cleared_on_reconnect():
    board = SimBoard("pico", seed=0)
    bus = VirtualUsbBus()
    bus.attach(SimBoardDevice(board, serial_number="T-1"))
    first = open_controller(backend=bus.backend)
    first.close()  # the host dies: no more heartbeats
    board.advance_ms(10_000)
    events: list[tuple[str, dict]] = []
    driver = BoardDriver(open_controller(backend=bus.backend),
                         lambda kind, **f: events.append((kind, f)), LockstepPacer(board))
    assert driver.client.status()["faults"] == int(Fault.HEARTBEAT_LOST)
    driver.connect()
    try:
        assert driver.client.status()["faults"] == 0
        assert ("command", {"name": "fault_clear", "faults": "HEARTBEAT_LOST"}) in events
        driver.wait(WaitStep(step="wait", duration_ms=2_000))  # it runs steps again
    finally:
        driver.close()


def test_other_latched_faults_refuse_the_connection():
    board = SimBoard("pico", seed=0)
    bus = VirtualUsbBus()
    bus.attach(SimBoardDevice(board, serial_number="T-2"))
    board.plant.zones[0].sensor_fault = "short"
    board.advance_ms(1_000)
    driver = BoardDriver(open_controller(backend=bus.backend), lambda kind, **f: None,
                         LockstepPacer(board))
    try:
        with pytest.raises(InstrumentError, match="THERMISTOR_SHORT"):
            driver.connect()
    finally:
        driver.close()

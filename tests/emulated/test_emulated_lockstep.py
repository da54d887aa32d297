"""The flashed firmware on the emulated Pico in lockstep with the plant models, measured at
the pins in emulated time: PIO trigger pulse trains against their program, heater safety
trips from the fault to the heater pin going low, the thermistor ADC chain."""

import pytest
from opensbs.board.schema import load_board
from opensbs.protocol.control import Fault, MsgType, ResetCause
from opensbs.sim.board.emulated import EmulatedLink, EmulatedPico, gpio_number

CFG = load_board("pico").config
PERIOD_NS = CFG["control_period_ms"] * 1_000_000
STEP_COMPUTE_NS = 20_000_000  # bound on one control step's own run time (ADC read -> pin)

Booted = tuple[EmulatedPico, EmulatedLink]


def _fresh(pico: EmulatedPico, link: EmulatedLink) -> None:
    """Every heater off, faults cleared, plant sensors healthy, heartbeats on."""
    link.heartbeat_ns = 1_000_000_000
    for zone in pico.plant.zones:
        zone.sensor_fault = None
    for i in range(len(CFG["heaters"])):
        link.request(MsgType.HEATER_SET, {"zone": i, "enable": 0, "setpoint_mc": 25000,
                                          "ramp_mc_per_s": 0})
    link.request(MsgType.FAULT_CLEAR, {"faults": 0xFFFFFFFF})


def _heat_full(pico: EmulatedPico, link: EmulatedLink) -> None:
    """Zone 0 on with a set-point far above it: the PID saturates, the pin stays high."""
    link.request(MsgType.HEATER_SET, {"zone": 0, "enable": 1, "setpoint_mc": 95000,
                                      "ramp_mc_per_s": 0})
    link.advance_ms(2 * CFG["control_period_ms"])
    assert pico.plant.zones[0].duty > 0.95


def test_trigger_pulse_train_from_pio_matches_the_program(booted: Booted) -> None:
    pico, link = booted
    _fresh(pico, link)
    trig = CFG["triggers"][0]
    pin, lasers = gpio_number(trig["pin"]), [gpio_number(n) for n in trig["laser_pins"]]
    link.request(MsgType.TRIGGER_PROGRAM, {"output": 0, "exposure_us": 500, "period_us": 1500,
                                           "pulse_count": 20, "laser_mask": 0b0101})
    link.request(MsgType.TRIGGER_ARM, {"output": 0})
    first, start = len(pico.edges), len(link.frames)
    link.request(MsgType.TRIGGER_FIRE, {"output": 0})
    assert link.wait_for(lambda: any(f.msg_type == MsgType.TRIGGER_DONE
                                     for _, f in link.frames[start:]), max_ms=1000)
    done = [f for _, f in link.frames if f.msg_type == MsgType.TRIGGER_DONE][-1]
    assert done.fields == {"output": 0, "pulses": 20}
    edges = pico.edges[first:]
    train = [(level, t) for p, level, t in edges if p == pin]
    assert [level for level, _ in train] == [1, 0] * 20
    rises = [t for level, t in train if level]
    falls = [t for level, t in train if not level]
    width_err_us = max(abs((f - r) / 1000 - 500) for r, f in zip(rises, falls, strict=True))
    period_err_us = max(abs((b - a) / 1000 - 1500)
                        for a, b in zip(rises[:-1], rises[1:], strict=True))
    assert width_err_us <= 1.0 and period_err_us <= 1.0  # the PIO runs at 1 MHz
    # lasers 0 and 2 enabled around the whole train, then released
    for bit, laser in enumerate(lasers):
        levels = [(level, t) for p, level, t in edges if p == laser]
        if bit in (0, 2):
            assert levels[0][0] == 1 and levels[0][1] <= rises[0]
            assert levels[-1][0] == 0 and levels[-1][1] >= falls[-1]
        else:
            assert levels == []
        assert pico.level(trig["laser_pins"][bit]) == 0


@pytest.mark.parametrize("fault", ["open", "short", "over_temperature"])
def test_heater_pin_goes_low_within_one_control_period(booted: Booted, fault: str) -> None:
    pico, link = booted
    _fresh(pico, link)
    _heat_full(pico, link)
    zone = pico.plant.zones[0]
    saved = (zone.block_c, zone.sensor_c)
    start = len(link.frames)
    fault_ns = pico.now_ns
    zone_c = CFG["heaters"][0]["over_temperature_mc"] / 1000 + 3.0
    if fault == "over_temperature":
        zone.block_c = zone.sensor_c = zone_c
    else:
        zone.sensor_fault = fault
    try:
        assert link.wait_for(lambda: any(f.msg_type == MsgType.FAULT_EVENT
                                         for _, f in link.frames[start:]), max_ms=1000)
        link.advance_ms(CFG["control_period_ms"])
    finally:
        zone.sensor_fault = None
        zone.block_c, zone.sensor_c = saved
    event = next(f for _, f in link.frames[start:] if f.msg_type == MsgType.FAULT_EVENT)
    expected = {"open": Fault.THERMISTOR_OPEN, "short": Fault.THERMISTOR_SHORT,
                "over_temperature": Fault.OVER_TEMPERATURE}[fault]
    assert event.fields["faults"] & expected and event.fields["source"] == 0
    if fault == "over_temperature":  # the raw reading that tripped it, through GP26's ADC
        assert event.fields["value"] / 1000 == pytest.approx(zone_c, abs=1.0)
    assert pico.level(CFG["heaters"][0]["pwm_pin"]) == 0 and zone.duty == 0.0
    trip_ns = pico.heater_fall_ns[0] - fault_ns
    assert 0 < trip_ns <= PERIOD_NS + STEP_COMPUTE_NS


def test_host_silence_switches_the_heater_off(booted: Booted) -> None:
    pico, link = booted
    _fresh(pico, link)
    _heat_full(pico, link)
    link.request(MsgType.HEARTBEAT, {"host_time_ms": 0})
    silent_from_ns = pico.now_ns
    link.heartbeat_ns = None
    timeout_ns = CFG["heartbeat_timeout_ms"] * 1_000_000
    assert link.wait_for(lambda: pico.plant.zones[0].duty == 0.0,
                         max_ms=2 * CFG["heartbeat_timeout_ms"])
    status = link.request(MsgType.GET_STATUS).fields
    assert status["faults"] & Fault.HEARTBEAT_LOST
    trip_ns = pico.heater_fall_ns[0] - (silent_from_ns + timeout_ns)
    assert 0 < trip_ns <= PERIOD_NS + STEP_COMPUTE_NS


def test_thermistor_adc_chain_reads_the_plant(booted: Booted) -> None:
    pico, link = booted
    _fresh(pico, link)
    zone = pico.plant.zones[1]  # never heated here: block and sensor settled at ambient
    assert zone.sensor_c == pytest.approx(zone.block_c, abs=0.01)
    start = len(link.frames)
    assert link.wait_for(lambda: any(f.msg_type == MsgType.TELEMETRY
                                     for _, f in link.frames[start:]), max_ms=2000)
    telemetry = next(f for _, f in link.frames[start:] if f.msg_type == MsgType.TELEMETRY)
    # divider -> GP27 -> 12-bit ADC -> read_u16 -> beta equation -> filter, on the chip
    reading_c = telemetry.fields["heaters"][1]["temperature_mc"] / 1000
    assert reading_c == pytest.approx(zone.sensor_c, abs=0.2)


def test_watchdog_timeout_reboots_into_the_firmware(booted: Booted) -> None:
    pico, link = booted
    _fresh(pico, link)
    _heat_full(pico, link)
    link.heartbeat_ns = None
    pico.write(b"\r\x03")  # the host takes the REPL back (as mpremote does): outputs off
    assert pico.run_until(lambda: b"\r\n>>> " in pico.output, max_ms=2000)
    assert pico.plant.zones[0].duty == 0.0
    resets, start = len(pico.resets), len(link.frames)
    pico.read()
    pico.write(b"import machine, time; w = machine.WDT(timeout=300); time.sleep(5)\r")
    assert link.wait_for(lambda: any(f.msg_type == MsgType.BOOT for _, f in link.frames[start:]),
                         max_ms=5000)
    assert [why for _, why in pico.resets[resets:]] == ["watchdog"]
    boot_ns, boot = next((t, f) for t, f in link.frames[start:] if f.msg_type == MsgType.BOOT)
    assert boot.fields["reset_cause"] == ResetCause.WATCHDOG
    assert boot.fields["faults"] & Fault.WATCHDOG_RESET
    assert boot_ns - pico.resets[resets][0] < 2_000_000_000  # back up and talking
    link.heartbeat_ns = 1_000_000_000
    assert link.request(MsgType.IDENTIFY).fields["board_id"] == "pico"

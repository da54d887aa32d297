"""The simulated board as a USB device on the virtual pyusb bus, through the host's
control-link client; real-time mode; trigger listeners; link reset."""

import time

import pytest
from opensbs.protocol.control import DeviceState, ErrorCode, MsgType, encode_frame
from opensbs.sim.board import SimBoard, SimBoardDevice, TriggerPulse
from opensbs.sim.usb import VirtualUsbBus
from opensbs.usb import CommandNakError, open_controller


@pytest.fixture
def sim() -> SimBoard:
    return SimBoard("nucleo_f411re", seed=3)


def test_served_over_virtual_usb_to_the_control_client(sim: SimBoard) -> None:
    bus = VirtualUsbBus()
    device = SimBoardDevice(sim, serial_number="SIM-7")
    assert (device.vendor_id, device.product_id) == (0x1209, 0x05B0)
    bus.attach(device)
    pulses: list[TriggerPulse] = []
    sim.add_trigger_listener(pulses.append)
    sim.start_realtime(speed=10.0)
    client = open_controller(serial="SIM-7", backend=bus.backend)
    try:
        client.start_heartbeat(0.01)
        assert client.identify()["board_id"] == "nucleo_f411re"
        client.heater_set(1, 45_000)
        with pytest.raises(CommandNakError) as info:
            client.heater_set(0, 99_000)
        assert info.value.error == ErrorCode.OUT_OF_RANGE
        client.trigger_program(0, exposure_us=1000, period_us=20_000, pulse_count=5,
                               laser_mask=0b11)
        client.trigger_arm(0)
        done = client.subscribe_queue({MsgType.TRIGGER_DONE})
        client.trigger_fire(0)
        assert done.get(timeout=10).fields == {"output": 0, "pulses": 5}
        start = sim.clock.now_ms
        deadline = time.monotonic() + 30.0
        while sim.clock.now_ms - start < 5000 and time.monotonic() < deadline:
            time.sleep(0.05)  # the real-time thread keeps virtual time moving
        assert sim.clock.now_ms - start >= 5000
        assert client.status()["state"] == DeviceState.ACTIVE
        assert sim.temperature_c(1) > 26.0
    finally:
        client.close()
        sim.stop_realtime()
    assert [p.laser_mask for p in pulses] == [0b11] * 5
    assert [b - a for a, b in zip((p.start_us for p in pulses),
                                  (p.start_us for p in pulses[1:]), strict=False)] == [20_000] * 4


def test_usb_reset_drops_a_partial_frame_only(sim: SimBoard) -> None:
    device = SimBoardDevice(sim)
    device.next_in(0x81, 4096, 0.01)  # BOOT
    frame = encode_frame(MsgType.PING, {"token": 3}, seq=1)
    device.handle_out(0x01, frame[:5])
    device.on_reset()
    device.handle_out(0x01, frame[5:])  # the tail alone is garbage
    assert device.next_in(0x81, 4096, 0.01) == b""
    device.handle_out(0x01, frame)
    assert device.next_in(0x81, 4096, 0.5)[3] == MsgType.PONG
    assert sim.controller.boot_id == 1  # the MCU kept running


def test_in_stream_is_cut_to_the_hosts_read_size(sim: SimBoard) -> None:
    device = SimBoardDevice(sim)
    boot = device.next_in(0x81, 4, 0.01)
    rest = device.next_in(0x81, 4096, 0.01)
    assert boot == b"\xa5\x5a\x02\x93" and len(boot + rest) == 14 + 9

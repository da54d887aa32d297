"""The control-link client over pyusb (virtual backend) and over serial ports."""

import os
import queue
import threading
import time
from typing import Any

import pytest
import serial
from opensbs.board.firmware import import_firmware
from opensbs.protocol.control import (
    DeviceState,
    ErrorCode,
    Fault,
    MsgType,
    ResetCause,
    encode_frame,
)
from opensbs.sim.board.device import SimBoardDevice
from opensbs.sim.usb import FaultInjector, FaultKind, FaultRates, VirtualUsbBus
from opensbs.usb import (
    CommandNakError,
    CommandTimeoutError,
    ControlClient,
    DeviceKind,
    DeviceResetError,
    DeviceVanishedError,
    ProtocolVersionMismatchError,
    SerialTransport,
    UsbBulkTransport,
    find_device,
    open_controller,
)
from usb_devices import connect, executed, msg_type_of, sim_board, sim_controller

codec = import_firmware("codec")


def test_convenience_methods_reach_the_device() -> None:
    _, board, client = connect()
    with client:
        assert client.identity is not None and client.identity["board_id"] == "pico"
        assert client.boot_id == 1
        assert client.ping(0xBEEF) == 0xBEEF
        client.heater_set(0, 65_000, ramp_mc_per_s=2000)
        client.pump_move(0, -1500, 250_000)
        client.valve_select(0, 7)
        client.trigger_program(0, exposure_us=10_000, period_us=20_000, pulse_count=2,
                               laser_mask=0b101)
        client.trigger_arm(0)
        done = client.subscribe_queue({MsgType.TRIGGER_DONE})
        client.trigger_fire(0)
        board.advance_ms(400)  # the pulses, the pump move and the valve's 7 ports
        assert done.get(timeout=1).fields == {"output": 0, "pulses": 2}
        client.pump_stop(0)
        client.heartbeat(1234)
        status = client.status()
        assert status["state"] == DeviceState.ACTIVE and status["boot_id"] == 1
        assert board.controller.heaters[0].target_mc == 65_000
        client.emergency_stop()
        client.fault_clear(int(Fault.EMERGENCY_STOP))
    assert round(board.controller.pumps[0].position_nl) == 1500  # aspirated into the syringe
    assert board.valve_port(0) == 7
    assert executed(board) == [
        MsgType.IDENTIFY, MsgType.PING, MsgType.HEATER_SET, MsgType.PUMP_MOVE,
        MsgType.VALVE_SELECT, MsgType.TRIGGER_PROGRAM, MsgType.TRIGGER_ARM,
        MsgType.TRIGGER_FIRE, MsgType.PUMP_STOP, MsgType.HEARTBEAT, MsgType.GET_STATUS,
        MsgType.EMERGENCY_STOP, MsgType.FAULT_CLEAR]


def test_nak_raises_with_error_code() -> None:
    _, _, client = connect()
    with client:
        with pytest.raises(CommandNakError) as info:
            client.valve_select(0, 99)
        assert info.value.error == ErrorCode.OUT_OF_RANGE
        assert info.value.request == MsgType.VALVE_SELECT
        with pytest.raises(CommandNakError) as info:
            client.heater_set(3, 1000)
        assert info.value.error == ErrorCode.UNKNOWN_TARGET


def wait_for(condition: Any, timeout_s: float = 2.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)


def test_unsolicited_frames_go_to_subscribers() -> None:
    _, board, client = connect()
    with client:
        telemetry = client.subscribe_queue({MsgType.TELEMETRY})
        faults: list[Any] = []
        unsubscribe = client.subscribe(faults.append, {MsgType.FAULT_EVENT})
        board.advance_ms(1000)
        sample = telemetry.get(timeout=1).fields["heaters"][0]["temperature_mc"]
        assert abs(sample - board.sensor_c(0) * 1000) < 500
        board.plant.zones[1].sensor_fault = "open"  # a real safety trip of zone 1
        board.advance_ms(200)
        wait_for(lambda: bool(faults))
        assert faults[0].fields["fault"] == 0 and faults[0].fields["source"] == 1
        assert faults[0].fields["faults"] == int(Fault.THERMISTOR_OPEN)
        unsubscribe()
        board.plant.zones[0].sensor_fault = "short"
        board.advance_ms(200)
        assert client.status()["faults"] == int(Fault.THERMISTOR_OPEN | Fault.THERMISTOR_SHORT)
        assert len(faults) == 1


def test_lost_request_and_lost_reply_are_retransmitted_and_run_once() -> None:
    for direction in ("out", "in"):
        faults = FaultInjector(seed=3)
        _, board, client = connect(faults=faults)
        with client:
            rates = FaultRates(drop=1.0)
            if direction == "out":
                faults.out = rates
            else:
                faults.in_ = rates
            timer = threading.Timer(0.03, lambda f=faults: setattr(f, "enabled", False))
            timer.start()
            client.pump_move(0, -100, 1000)
            timer.join()
            assert client.stats.retransmissions >= 1
        assert board.executed is not None
        moves = [f for t, f in board.executed if t == MsgType.PUMP_MOVE]
        assert moves == [{"pump": 0, "volume_nl": -100, "rate_nl_per_s": 1000}], direction
        board.advance_ms(500)
        assert round(board.controller.pumps[0].position_nl) == 100


def test_corrupt_request_is_naked_bad_crc_and_resent_at_once() -> None:
    class CorruptFirstWrite(UsbBulkTransport):
        writes = 0

        def write(self, data: bytes) -> None:
            self.writes += 1
            super().write(data[:-1] + bytes([data[-1] ^ 0xFF]) if self.writes == 1 else data)

    bus = VirtualUsbBus()
    board, device = sim_controller("CRC")
    bus.attach(device)
    dev = find_device(DeviceKind.CONTROLLER, backend=bus.backend)
    with ControlClient(CorruptFirstWrite(dev), reply_timeout_s=5.0) as client:
        t0 = time.monotonic()
        client.valve_select(0, 3)
        assert time.monotonic() - t0 < 1.0  # well before the 5 s reply timeout
        assert client.stats.retransmissions == 1 and client.stats.replies == 2
    assert board.executed == [(MsgType.VALVE_SELECT, {"valve": 0, "port": 3})]


def test_no_reply_raises_timeout_after_bounded_retries_with_backoff() -> None:
    class Mute(SimBoardDevice):
        answering = True

        def handle_out(self, endpoint: int, data: bytes) -> None:
            if self.answering:
                super().handle_out(endpoint, data)

    device = Mute(sim_board(), "MUTE")
    _, _, client = connect(device, reply_timeout_s=0.04, max_retries=3, backoff=2.0)
    with client:
        assert client.reply_timeout_s == 0.04  # above twice the board's 20 ms frame silence
        device.answering = False
        t0 = time.monotonic()
        with pytest.raises(CommandTimeoutError, match="PING"):
            client.ping(1)
        elapsed = time.monotonic() - t0
        assert client.stats.retransmissions == 3
        assert 0.04 * (1 + 2 + 4 + 8) <= elapsed < 2.0


def test_device_reset_resyncs_and_reidentifies() -> None:
    _, board, client = connect()
    with client:
        boots = client.subscribe_queue({MsgType.BOOT})
        board.reboot(ResetCause.SOFT)
        assert boots.get(timeout=1).fields["boot_id"] == 2
        assert client.boot_id == 2 and client.resets == 1
        assert client.ping(5) == 5  # first re-runs IDENTIFY, then the ping
        assert executed(board) == [MsgType.IDENTIFY, MsgType.IDENTIFY, MsgType.PING]
        assert client.identity is not None and client.identity["boot_id"] == 2


def test_reset_detected_from_boot_id_when_boot_message_is_lost() -> None:
    faults = FaultInjector(seed=0)
    _, board, client = connect(faults=faults)
    with client:
        faults.in_ = FaultRates(drop=1.0)
        board.reboot(ResetCause.SOFT)  # the BOOT frame is dropped on its way
        time.sleep(0.1)
        faults.in_ = FaultRates()
        assert client.resets == 0
        status = client.status()  # meant for boot 1: refused as stale, IDENTIFY, sent again
        assert status["boot_id"] == 2 and client.boot_id == 2 and client.resets == 1
        assert client.stats.naks == 1
    assert executed(board) == [MsgType.IDENTIFY, MsgType.IDENTIFY, MsgType.GET_STATUS]


class DiesAfterMoving(SimBoardDevice):
    """Runs the first PUMP_MOVE, then reboots before its ACK leaves (``boot_lost``: and the
    BOOT message is lost too)."""

    boot_lost = False
    died = False

    def handle_out(self, endpoint: int, data: bytes) -> None:
        if self.died or msg_type_of(data) != MsgType.PUMP_MOVE:
            super().handle_out(endpoint, data)
            return
        self.died = True
        with self._ready:
            self.board.send(data)
            self._in.clear()  # the ACK never leaves
            self.board.reboot(ResetCause.WATCHDOG)
            if self.boot_lost:
                self._in.clear()


def test_request_outstanding_across_a_reset_is_reported_not_repeated() -> None:
    _, board, client = connect(DiesAfterMoving(sim_board(), "DIES"))
    with client:
        with pytest.raises(DeviceResetError, match="may or may not have run"):
            client.pump_move(0, -10, 100)
        assert client.stats.retransmissions == 0
        assert client.ping(1) == 1
    assert executed(board) == [MsgType.IDENTIFY, MsgType.PUMP_MOVE, MsgType.IDENTIFY,
                               MsgType.PING]


def test_reply_and_boot_both_lost_the_retransmission_is_not_run_again() -> None:
    """Exactly once across a reboot: the retransmission names the old boot_id, so the new
    boot refuses it (STALE_BOOT) instead of running the move a second time."""
    device = DiesAfterMoving(sim_board(), "DIES")
    device.boot_lost = True
    _, board, client = connect(device)
    with client:
        with pytest.raises(DeviceResetError, match="may or may not have run"):
            client.pump_move(0, -10, 100)
        assert client.stats.retransmissions == 1 and client.resets == 1
        assert client.boot_id == 2
        assert client.ping(1) == 1
    assert executed(board) == [MsgType.IDENTIFY, MsgType.PUMP_MOVE, MsgType.IDENTIFY,
                               MsgType.PING]


def test_protocol_version_mismatch_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(codec, "PROTOCOL_VERSION", 3)  # firmware of another protocol version
        with pytest.raises(ProtocolVersionMismatchError, match="version 3.*board flash"):
            connect()

    def says(**changed: int) -> SimBoardDevice:
        board, device = sim_controller()
        identify = board.controller._identify
        board.controller._identify = lambda: {**identify(), **changed}
        return device

    with pytest.raises(ProtocolVersionMismatchError) as info:
        connect(says(protocol_version=3))
    assert (info.value.device_version, info.value.host_version) == (3, 2)
    with pytest.raises(ProtocolVersionMismatchError,
                       match=r"other protocol declarations \(hash 0x12345678.*board flash"):
        connect(says(protocol_hash=0x12345678))


def test_link_timing_comes_from_the_board() -> None:
    _, _, client = connect()
    with client:
        assert client.timing is not None
        assert client.timing.heartbeat_timeout_s == 3.0  # boards/pico.json
        assert client.timing.heartbeat_period_s == 1.0
        assert (client.timing.control_period_s, client.timing.frame_silence_s) == (0.1, 0.02)


def test_device_vanishing_mid_session() -> None:
    _, device = sim_controller()
    bus, _, client = connect(device)
    with client:
        bus.detach(device)
        with pytest.raises(DeviceVanishedError, match="vanished"):
            for _ in range(20):
                client.ping(1)
                time.sleep(0.01)


def test_disconnect_fault_then_rediscover_by_serial() -> None:
    faults = FaultInjector(seed=0, reconnect_after_s=0.02)
    board, device = sim_controller()
    bus, _, client = connect(device, faults=faults)
    faults.out = FaultRates(disconnect=1.0)
    with pytest.raises(DeviceVanishedError):
        client.ping(1)
    client.close()
    faults.out = FaultRates()
    deadline = time.monotonic() + 2
    while bus.attachment(device) is None and time.monotonic() < deadline:
        time.sleep(0.005)
    with open_controller("CTRL-1", backend=bus.backend) as again:
        assert again.boot_id == 1  # a USB reset leaves the MCU running (same boot)
        assert again.ping(2) == 2


def test_heartbeat_thread_keeps_the_device_fed() -> None:
    _, board, client = connect()
    with client:
        client.start_heartbeat(period_s=0.01)
        time.sleep(0.1)
        client.stop_heartbeat()
    assert board.executed is not None
    beats = [f for t, f in board.executed if t == MsgType.HEARTBEAT]
    assert len(beats) >= 3
    assert beats == sorted(beats, key=lambda f: f["host_time_ms"])


def test_heartbeat_is_due_only_after_a_period_without_any_request() -> None:
    _, _, client = connect()
    with client:
        client.ping(1)
        sent_s = client._last_write_s
        assert client.heartbeat_due_in(1.0, sent_s + 0.25) == pytest.approx(0.75)
        assert client.heartbeat_due_in(1.0, sent_s + 1.0) <= 0
        client.status()  # any request restarts the period
        assert client._last_write_s > sent_s
        assert client.heartbeat_due_in(1.0, client._last_write_s + 0.5) == pytest.approx(0.5)


def test_serial_transport_on_loop_url() -> None:
    """loop:// echoes what is written: device frames injected there reach subscribers."""
    port = serial.serial_for_url("loop://", timeout=0.01)
    transport = SerialTransport(port)
    assert transport.read(16, 0.01) == b""
    transport.write(b"abc")
    assert transport.read(16, 0.05) == b"abc"
    client = ControlClient(transport, reply_timeout_s=0.02, max_retries=1)
    with client:
        logs = client.subscribe_queue({MsgType.LOG})
        client.start()
        port.write(encode_frame(MsgType.LOG, {"level": 20, "text": "hello"}, seq=1))
        assert logs.get(timeout=1).fields == {"level": 20, "text": "hello"}
        with pytest.raises(CommandTimeoutError):  # its own echo is not a reply
            client.ping(3)


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_serial_transport_against_a_device_on_a_pty() -> None:
    """A real termios serial port; the firmware on the simulated board serves the other end."""
    master, slave = os.openpty()
    board, device = sim_controller("PTY")
    stop = threading.Event()

    def serve() -> None:
        os.set_blocking(master, False)
        while not stop.is_set():
            try:
                data = os.read(master, 4096)
            except BlockingIOError:
                data = b""
            if data:
                device.handle_out(1, data)
            out = device.next_in(0x81, 4096, 0.002)
            if out:
                os.write(master, out)

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    port = serial.Serial(os.ttyname(slave), timeout=0.01)
    try:
        import tty

        tty.setraw(port.fileno())
        with ControlClient(SerialTransport(port), reply_timeout_s=0.1) as client:
            assert client.connect()["board_id"] == "pico"
            assert client.ping(77) == 77
            client.pump_move(0, -42, 100)
    finally:
        stop.set()
        server.join(timeout=1)
        os.close(master)
        os.close(slave)
    board.advance_ms(1000)
    assert round(board.controller.pumps[0].position_nl) == 42


def test_fault_soak_small() -> None:
    """A few hundred commands with every fault kind except disconnect, 2% each way."""
    from opensbs.sim.usb.linkbench import control_soak

    rates = FaultRates(drop=0.02, corrupt=0.02, duplicate=0.02, delay=0.02, truncate=0.02)
    result = control_soak(400, rates, seed=11)
    assert result.ok, result
    assert result.executed_twice == 0 and result.succeeded_not_executed == 0
    assert result.succeeded + result.reported_failed + result.expected_naks == 400
    assert result.expected_naks == 8
    assert sum(result.faults.values()) > 20
    assert {k.split(":")[1] for k in result.faults} >= {k.value for k in FaultKind
                                                         if k is not FaultKind.DISCONNECT}


def test_queue_subscription_type_filter() -> None:
    _, board, client = connect()
    with client:
        only_logs = client.subscribe_queue({MsgType.LOG})
        everything = client.subscribe_queue()
        board.advance_ms(1000)
        assert only_logs.empty()
        assert everything.get(timeout=1).msg_type == MsgType.TELEMETRY
        with pytest.raises(queue.Empty):
            only_logs.get_nowait()

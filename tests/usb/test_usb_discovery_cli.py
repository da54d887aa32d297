"""Discovery by VID/PID/serial, its typed errors, and the `opensbs devices` / `bench link` CLI."""

import json
from pathlib import Path

import pytest
import usb.core
from opensbs.cli import app
from opensbs.cli import devices as devices_cli
from opensbs.sim.board.device import SimBoardDevice
from opensbs.sim.board.sim_board import SimBoard
from opensbs.sim.usb import CameraBridge, VirtualUsbBus
from opensbs.usb import (
    DeviceKind,
    DeviceNotFoundError,
    DevicePermissionError,
    NoUsbBackendError,
    find_device,
    list_devices,
    open_camera,
    open_controller,
)
from typer.testing import CliRunner

runner = CliRunner()


def instrument() -> VirtualUsbBus:
    bus = VirtualUsbBus(bus_number=2)
    bus.attach(SimBoardDevice(SimBoard(), "CTRL-A"))
    bus.attach(SimBoardDevice(SimBoard(), "CTRL-B"))
    bus.attach(CameraBridge("CAM-A", sensor_width=16, sensor_height=4))
    return bus


def test_list_devices_reports_kind_ids_serial_and_address() -> None:
    found = list_devices(instrument().backend)
    assert [(d.kind, d.vid_pid, d.serial_number, d.bus, d.address, d.accessible)
            for d in found] == [
        (DeviceKind.CONTROLLER, "1209:05b0", "CTRL-A", 2, 1, True),
        (DeviceKind.CONTROLLER, "1209:05b0", "CTRL-B", 2, 2, True),
        (DeviceKind.CAMERA_BRIDGE, "1209:05b1", "CAM-A", 2, 3, True),
    ]


def test_find_by_serial_and_open_by_serial() -> None:
    bus = instrument()
    assert find_device(DeviceKind.CONTROLLER, "CTRL-B", bus.backend).serial_number == "CTRL-B"
    assert find_device(DeviceKind.CONTROLLER, None, bus.backend).serial_number == "CTRL-A"
    with open_controller("CTRL-B", backend=bus.backend) as client:
        assert client.ping(9) == 9
    receiver = open_camera("CAM-A", backend=bus.backend)
    assert receiver.device.serial_number == "CAM-A"


def test_no_device_error_names_what_was_looked_for() -> None:
    bus = instrument()
    with pytest.raises(DeviceNotFoundError, match=r"serial 'NOPE'.*1209:05b0.*CTRL-A"):
        find_device(DeviceKind.CONTROLLER, "NOPE", bus.backend)
    with pytest.raises(DeviceNotFoundError, match="opensbs devices"):
        find_device(DeviceKind.CAMERA_BRIDGE, None, VirtualUsbBus().backend)


def test_permission_denied_points_to_the_udev_rules() -> None:
    bus = VirtualUsbBus()
    bus.attach(SimBoardDevice(SimBoard(), "LOCKED"), permission_denied=True)
    [info] = list_devices(bus.backend)
    assert info.serial_number is None and not info.accessible
    with pytest.raises(DevicePermissionError, match="udev") as err:
        find_device(DeviceKind.CONTROLLER, None, bus.backend)
    assert "docs/usb.md" in str(err.value)


def test_missing_libusb_is_a_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_backend(**_: object) -> None:
        raise usb.core.NoBackendError("No backend available")

    monkeypatch.setattr(usb.core, "find", no_backend)
    with pytest.raises(NoUsbBackendError, match="libusb"):
        list_devices()


def test_cli_devices_sim_lists_the_virtual_instrument() -> None:
    result = runner.invoke(app, ["devices", "--sim"])
    assert result.exit_code == 0, result.output
    assert "SIM-CONTROLLER-0" in result.output and "SIM-BRIDGE-0" in result.output
    assert "1209:05b0" in result.output and "1209:05b1" in result.output
    result = runner.invoke(app, ["devices", "--sim", "--json"])
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [(r["kind"], r["serial"], r["bus"], r["address"]) for r in rows] == [
        ("controller", "SIM-CONTROLLER-0", 1, 1), ("camera-bridge", "SIM-BRIDGE-0", 1, 2)]


def test_cli_devices_errors_and_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(backend: object = None) -> list[object]:
        raise NoUsbBackendError("pyusb found no libusb: install it")

    monkeypatch.setattr(devices_cli, "list_devices", broken)
    result = runner.invoke(app, ["devices"])
    assert result.exit_code == 2 and "libusb" in result.output
    monkeypatch.setattr(devices_cli, "list_devices", lambda backend=None: [])
    result = runner.invoke(app, ["devices"])
    assert result.exit_code == 0 and "no OpenSBS devices attached" in result.output


def test_cli_udev_rules_file_is_shipped_and_matches_the_ids() -> None:
    result = runner.invoke(app, ["devices", "--udev-rules"])
    assert result.exit_code == 0 and "udevadm control --reload-rules" in result.output
    rules = Path(devices_cli.UDEV_RULES).read_text()
    assert 'ATTR{idVendor}=="1209", ATTR{idProduct}=="05b0"' in rules
    assert 'ATTR{idVendor}=="1209", ATTR{idProduct}=="05b1"' in rules


def test_cli_bench_link_sim_prints_figures_as_json() -> None:
    result = runner.invoke(app, ["bench", "link", "--sim", "--frames", "3", "--read-mib", "8"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["device"] == "virtual" and figures["frames_lost"] == 0
    assert figures["parse_gbps"] > 0 and figures["pyusb_gbps"] > 0


@pytest.mark.parametrize("args", [["--help"], ["devices", "--help"], ["bench", "--help"],
                                  ["bench", "link", "--help"]])
def test_help(args: list[str]) -> None:
    assert runner.invoke(app, args).exit_code == 0

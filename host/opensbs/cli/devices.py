"""`opensbs devices`: list attached OpenSBS USB devices (or print the udev rules to install)."""

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ..sim.usb import CameraBridge, VirtualUsbBus
from ..usb import DeviceInfo, TransportError, list_devices
from ._app import app

UDEV_RULES = Path(__file__).resolve().parent.parent / "usb" / "99-opensbs.rules"


def simulated_instrument_bus() -> VirtualUsbBus:
    """A virtual bus with what the simulated instrument presents: a controller and a bridge."""
    from ..sim.board.device import SimBoardDevice  # noqa: PLC0415 - the simulator only
    from ..sim.board.sim_board import SimBoard  # noqa: PLC0415

    bus = VirtualUsbBus()
    bus.attach(SimBoardDevice(SimBoard("pico"), "SIM-CONTROLLER-0"))
    bus.attach(CameraBridge("SIM-BRIDGE-0"))
    return bus


def udev_instructions() -> str:
    return (f"# udev rules: {UDEV_RULES}\n"
            f"sudo cp {UDEV_RULES} /etc/udev/rules.d/99-opensbs.rules\n"
            "sudo udevadm control --reload-rules && sudo udevadm trigger\n"
            "# then unplug and replug the devices")


def _row(info: DeviceInfo) -> dict[str, Any]:
    return {"kind": info.kind.value, "vid_pid": info.vid_pid,
            "serial": info.serial_number, "bus": info.bus, "address": info.address,
            "product": info.product, "accessible": info.accessible}


@app.command()
def devices(
    sim: Annotated[bool, typer.Option(
        "--sim", help="List the virtual instrument's devices instead of real USB.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per device.")] = False,
    udev_rules: Annotated[bool, typer.Option(
        "--udev-rules", help="Print the udev rules file and how to install it.")] = False,
) -> None:
    """List attached controller boards and camera bridges (kind, VID:PID, serial, bus/address)."""
    if udev_rules:
        typer.echo(udev_instructions())
        return
    backend = simulated_instrument_bus().backend if sim else None
    try:
        found = list_devices(backend)
    except TransportError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        for info in found:
            typer.echo(json.dumps(_row(info)))
        return
    if not found:
        typer.echo("no OpenSBS devices attached (USB 1209:05b0 controller, 1209:05b1 camera "
                   "bridge): check cables and power")
        return
    table = Table("kind", "VID:PID", "serial", "bus/address", "product")
    for info in found:
        serial = info.serial_number or "[red]no permission[/red]"
        table.add_row(info.kind.value, info.vid_pid, serial, f"{info.bus}/{info.address}",
                      info.product or "")
    Console().print(table)
    if not all(info.accessible for info in found):
        typer.echo("some devices may not be opened by this user: run "
                   "`opensbs devices --udev-rules` (see docs/usb.md, 'USB permissions')")

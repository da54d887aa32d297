"""`opensbs board flash | status | heat | pump | valve | trigger`: flash and drive a board.

Connection: ``--port`` (the board's CDC serial port), ``--serial`` (USB vendor bulk, by
serial number; the first controller when omitted), or ``--sim`` (the simulated board,
running the real firmware core, in-process at ``--speed`` x real time).
"""

import contextlib
import time
from collections.abc import Iterator
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ..board.flash import FlashError, flash_board
from ..board.schema import BoardFileError
from ..protocol.control import DeviceState, Fault, MsgType, TriggerState
from ..usb import CommandNakError, ControlClient, TransportError
from ._app import app

board_app = typer.Typer(help="Flash a controller board and drive it by hand.",
                        no_args_is_help=True)
app.add_typer(board_app, name="board")
console = Console()

BoardOpt = Annotated[str, typer.Option("--board", "-b", help="board name in boards/ or a path")]
PortOpt = Annotated[str | None, typer.Option(help="serial port of a CDC board")]
SerialOpt = Annotated[str | None, typer.Option("--serial", help="USB serial number")]
SimOpt = Annotated[bool, typer.Option("--sim", help="use the simulated board")]
SpeedOpt = Annotated[float, typer.Option(help="--sim: virtual time per real second")]


@contextlib.contextmanager
def _connect(port: str | None, serial_number: str | None, sim: bool, board: str,
             speed: float) -> Iterator[ControlClient]:
    """A connected ControlClient (heartbeat running) to the chosen board."""
    sim_board = None
    try:
        if sim:
            from ..sim.board import SimBoard, SimBoardDevice
            from ..sim.usb import VirtualUsbBus
            from ..usb import open_controller

            sim_board = SimBoard(board, seed=0)
            bus = VirtualUsbBus()
            bus.attach(SimBoardDevice(sim_board, serial_number="SIM-BOARD-0"))
            sim_board.start_realtime(speed=speed)
            client = open_controller(backend=bus.backend)
        elif port:
            import serial

            from ..usb import SerialTransport

            client = ControlClient(SerialTransport(serial.Serial(port, 115200)))
            client.connect()
        else:
            from ..usb import open_controller

            client = open_controller(serial=serial_number)
    except (TransportError, OSError) as exc:
        console.print(f"[red]cannot reach the board: {exc}")
        raise typer.Exit(1) from exc
    client.start_heartbeat(min(0.5, 0.5 / speed) if sim else 0.5)
    try:
        yield client
    except CommandNakError as exc:
        console.print(f"[red]{exc}")
        raise typer.Exit(1) from exc
    finally:
        client.close()
        if sim_board is not None:
            sim_board.stop_realtime()


def _faults(mask: int) -> str:
    return ", ".join(str(f.name) for f in Fault if mask & f) or "none"


def _telemetry(client: ControlClient, timeout_s: float = 3.0) -> dict[str, Any] | None:
    q = client.subscribe_queue({MsgType.TELEMETRY})
    try:
        frame = q.get(timeout=timeout_s)
    except Exception:  # noqa: BLE001 - queue.Empty: no telemetry in time
        return None
    fields: dict[str, Any] = frame.fields
    return fields


@board_app.command()
def flash(board: BoardOpt, port: Annotated[str, typer.Option(help="the board's serial port")],
          reset: Annotated[str, typer.Option(help="hard (machine.reset) or soft")] = "hard",
          identify: Annotated[str, typer.Option(
              help="link: over the board's control link; serial: over --port; "
                   "repl: the flashed IDENTIFY handler run through the raw REPL")] = "link",
          ) -> None:
    """Compile the firmware with mpy-cross for the board, copy it and the board file with
    mpremote, reset, and confirm the running firmware version with IDENTIFY."""
    if reset not in ("hard", "soft") or identify not in ("link", "serial", "repl", "none"):
        raise typer.BadParameter("--reset hard|soft, --identify link|serial|repl|none")
    try:
        result = flash_board(board, port, reset=reset,  # type: ignore[arg-type]
                             identify=identify)  # type: ignore[arg-type]
    except (FlashError, BoardFileError) as exc:
        console.print(f"[red]flash failed: {exc}")
        raise typer.Exit(1) from exc
    ident = result.identify
    console.print(f"flashed {len(result.files)} files to {result.port} ({result.board_id})")
    if ident:
        console.print(f"identify: firmware {ident['fw_major']}.{ident['fw_minor']}."
                      f"{ident['fw_patch']}, board {ident['board_id']}, board file CRC "
                      f"0x{ident['board_config_crc']:08x}: OK")


@board_app.command()
def status(board: BoardOpt = "pico", port: PortOpt = None, serial: SerialOpt = None,
           sim: SimOpt = False, speed: SpeedOpt = 1.0) -> None:
    """Identity, state, latched faults and one telemetry sample."""
    with _connect(port, serial, sim, board, speed) as client:
        ident = client.identify()
        st = client.status()
        tel = _telemetry(client)
    console.print(f"board {ident['board_id']}  firmware {ident['fw_major']}.{ident['fw_minor']}."
                  f"{ident['fw_patch']}  boot {st['boot_id']}  "
                  f"uptime {st['uptime_ms'] / 1000:.1f} s")
    console.print(f"state {DeviceState(st['state']).name}  faults {_faults(st['faults'])}")
    if tel is None:
        return
    table = Table("item", "reading")
    for i, h in enumerate(tel["heaters"]):
        table.add_row(f"heater {i}", f"{h['temperature_mc'] / 1000:.2f} C (set "
                      f"{h['setpoint_mc'] / 1000:.2f} C, duty {h['duty_permille'] / 10:.1f}%, "
                      f"{'on' if h['enabled'] else 'off'})")
    for i, p in enumerate(tel["pumps"]):
        table.add_row(f"pump {i}", f"{p['position_nl'] / 1000:.3f} uL dispensed, "
                      f"{p['flow_nl_per_s'] / 1000:.3f} uL/s")
    for i, v in enumerate(tel["valves"]):
        table.add_row(f"valve {i}", f"port {v['port']}{' (moving)' if v['moving'] else ''}")
    for i, t in enumerate(tel["triggers"]):
        table.add_row(f"trigger {i}", f"{TriggerState(t['state']).name}, {t['pulses_done']} "
                      "pulses")
    console.print(table)


@board_app.command()
def heat(setpoint_c: Annotated[float, typer.Argument(help="set-point in C")],
         zone: Annotated[int, typer.Option(help="heater zone")] = 0,
         ramp_c_per_s: Annotated[float, typer.Option(help="0: step")] = 0.0,
         off: Annotated[bool, typer.Option(help="switch the zone off")] = False,
         hold_s: Annotated[float, typer.Option(
             help="keep the link (heartbeat) up this long; the board switches off when the "
                  "host goes silent")] = 0.0,
         board: BoardOpt = "pico", port: PortOpt = None, serial: SerialOpt = None,
         sim: SimOpt = False, speed: SpeedOpt = 1.0) -> None:
    """Set a heater zone's set-point (or switch it off)."""
    with _connect(port, serial, sim, board, speed) as client:
        client.heater_set(zone, int(round(setpoint_c * 1000)), enable=not off,
                          ramp_mc_per_s=int(round(ramp_c_per_s * 1000)))
        console.print(f"heater {zone}: {'off' if off else f'{setpoint_c:.2f} C'}")
        samples = client.subscribe_queue({MsgType.TELEMETRY})
        end = time.monotonic() + hold_s
        while time.monotonic() < end:
            time.sleep(min(1.0, max(0.0, end - time.monotonic())))
            frames = [samples.get() for _ in range(samples.qsize())]
            if frames:
                h = frames[-1].fields["heaters"][zone]
                console.print(f"  {frames[-1].fields['uptime_ms'] / 1000:8.1f} s "
                              f"{h['temperature_mc'] / 1000:7.2f} C  "
                              f"duty {h['duty_permille'] / 10:5.1f}%")


@board_app.command()
def pump(volume_ul: Annotated[float, typer.Argument(help="> 0 dispense, < 0 aspirate")],
         rate_ul_per_s: Annotated[float, typer.Argument(help="plunger rate")],
         index: Annotated[int, typer.Option("--pump", help="pump index")] = 0,
         board: BoardOpt = "pico", port: PortOpt = None, serial: SerialOpt = None,
         sim: SimOpt = False, speed: SpeedOpt = 1.0) -> None:
    """Move a syringe pump and wait until the move is done."""
    with _connect(port, serial, sim, board, speed) as client:
        client.pump_move(index, int(round(volume_ul * 1000)), int(round(rate_ul_per_s * 1000)))
        while client.status()["pumps_busy_mask"] & (1 << index):
            time.sleep(0.1)
    console.print(f"pump {index}: moved {volume_ul:.3f} uL")


@board_app.command()
def valve(port_index: Annotated[int, typer.Argument(metavar="PORT", help="0-based port")],
          index: Annotated[int, typer.Option("--valve", help="valve index")] = 0,
          board: BoardOpt = "pico", port: PortOpt = None, serial: SerialOpt = None,
          sim: SimOpt = False, speed: SpeedOpt = 1.0) -> None:
    """Select a port on the reagent selector valve and wait until it is there."""
    with _connect(port, serial, sim, board, speed) as client:
        client.valve_select(index, port_index)
        while client.status()["valves_busy_mask"] & (1 << index):
            time.sleep(0.05)
        faults = client.status()["faults"]
    if faults & Fault.VALVE_TIMEOUT:
        console.print(f"[red]valve {index} timed out")
        raise typer.Exit(1)
    console.print(f"valve {index}: port {port_index}")


@board_app.command()
def trigger(exposure_us: Annotated[int, typer.Option(help="pulse length")],
            period_us: Annotated[int, typer.Option(help="pulse period")],
            count: Annotated[int, typer.Option(help="number of pulses")] = 1,
            lasers: Annotated[int, typer.Option(help="laser enable mask")] = 0,
            output: Annotated[int, typer.Option(help="trigger output")] = 0,
            board: BoardOpt = "pico", port: PortOpt = None, serial: SerialOpt = None,
            sim: SimOpt = False, speed: SpeedOpt = 1.0) -> None:
    """Program, arm and fire an exposure pulse train; wait for TRIGGER_DONE."""
    with _connect(port, serial, sim, board, speed) as client:
        done = client.subscribe_queue({MsgType.TRIGGER_DONE})
        client.trigger_program(output, exposure_us=exposure_us, period_us=period_us,
                               pulse_count=count, laser_mask=lasers)
        client.trigger_arm(output)
        client.trigger_fire(output)
        wait_s = count * period_us / 1e6 / (speed if sim else 1.0) + 5.0
        try:
            frame = done.get(timeout=wait_s)
        except Exception as exc:  # noqa: BLE001 - queue.Empty
            console.print("[red]no TRIGGER_DONE")
            raise typer.Exit(1) from exc
    console.print(f"trigger {output}: {frame.fields['pulses']} pulses done")

"""`opensbs bench link`: image-link bandwidth self-test (real camera bridge, or --sim)."""

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ..sim.usb import VirtualUsbBus
from ..sim.usb.camera_bridge import CameraBridge
from ..sim.usb.linkbench import FRAME_4MIB, bandwidth_self_test, frame_stream, parse_throughput
from ..usb import TransportError
from ._app import app

bench_app = typer.Typer(help="Benchmarks and self-tests.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


@bench_app.command()
def link(
    sim: Annotated[bool, typer.Option(
        "--sim", help="Measure the virtual camera bridge instead of real USB.")] = False,
    serial: Annotated[str | None, typer.Option(help="Serial of the camera bridge.")] = None,
    frames: Annotated[int, typer.Option(min=1, help="4 MiB frames to receive.")] = 100,
    read_mib: Annotated[int, typer.Option(min=1, help="Bytes per bulk read, MiB.")] = 16,
) -> None:
    """Receive 4 MiB test-pattern frames and print GB/s: (a) parse+CRC in memory,
    (b) the full path through pyusb (hardware, or the virtual backend with --sim)."""
    parse_gbps = parse_throughput(frame_stream(8), read_bytes=read_mib << 20, passes=3)
    backend = None
    if sim:
        bus = VirtualUsbBus()
        bus.attach(CameraBridge("BENCH-CAMERA", sensor_width=FRAME_4MIB[1],
                                sensor_height=FRAME_4MIB[0]))
        backend = bus.backend
    try:
        pyusb_gbps, receiver = bandwidth_self_test(frames, backend, serial,
                                                   read_bytes=read_mib << 20)
    except TransportError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    stats = receiver.stats
    table = Table("measurement", "GB/s", title="image link, 4 MiB frames")
    table.add_row("(a) parse + CRC, frames in memory, one core", f"{parse_gbps:.2f}")
    table.add_row(f"(b) pyusb receive ({'virtual bridge' if sim else 'USB'})",
                  f"{pyusb_gbps:.2f}")
    Console().print(table)
    typer.echo(f"frames {stats.frames}  lost {stats.frames_lost}  damaged "
               f"{stats.damaged_packets}  overflow {stats.overflow_frames}  truncated "
               f"{stats.truncated_frames}  dropped (consumer behind) {stats.queue_full_drops}")
    typer.echo(json.dumps({"parse_gbps": round(parse_gbps, 3),
                           "pyusb_gbps": round(pyusb_gbps, 3),
                           "device": "virtual" if sim else "usb",
                           "frames": stats.frames, "frames_lost": stats.frames_lost}))

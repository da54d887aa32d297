"""Link benchmark: image-link throughput with 4 MiB frames, and a fault-injection soak.

(a) parse + CRC-32 of frames already in memory (ImageStreamParser, one core);
(b) the full receive path: pyusb dev.read into pooled buffers through the virtual backend,
    the reader thread, CRC and sequence checks, frames handed over a queue;
soak: 10,000 control commands to the firmware on a simulated board (real time) and 1,000
frames from the capture model behind the virtual bridge, with 1% drops, corruption and
duplicates on both directions of both links, checked end to end.

    .venv/bin/python benchmarks/link.py [--frames 200] [--commands 10000] [--soak-frames 1000]
    .venv/bin/python benchmarks/link.py --round-trips tests/run/tiny_recipe.toml

The last line is one JSON object with every figure. ``--round-trips RECIPE`` instead runs one
simulated run of RECIPE and counts its control-link requests (round trips) by message type.
"""

import argparse
import collections
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from opensbs.protocol.control import MsgType
from opensbs.protocol.crc import crc32
from opensbs.sim.usb import FaultRates
from opensbs.sim.usb.linkbench import (
    FRAME_4MIB,
    MIB,
    bandwidth_self_test,
    control_soak,
    frame_stream,
    image_soak,
    parse_throughput,
    virtual_bus_with_camera,
)


def crc_only_gbps(stream: bytes, passes: int = 4) -> float:
    best = 0.0
    for _ in range(passes):
        t0 = time.perf_counter()
        crc32(stream)
        best = max(best, len(stream) / (time.perf_counter() - t0) / 1e9)
    return best


def round_trips(recipe: Path, seed: int) -> None:
    """Print the control-link round trips of one simulated run of ``recipe``, by type."""
    from opensbs.recipe import load_recipe
    from opensbs.run import RunRequest, start_run
    from opensbs.usb.control_client import ControlClient

    counts: collections.Counter[str] = collections.Counter()
    request = ControlClient._request_locked

    def counted(client: ControlClient, msg_type: MsgType, fields: Any) -> Any:
        counts[msg_type.name] += 1
        return request(client, msg_type, fields)

    ControlClient._request_locked = counted  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory() as tmp:
        start_run(RunRequest(sim=True, recipe=recipe, out=Path(tmp) / "run", seed=seed),
                  lambda _: None)
    loaded = load_recipe(recipe)
    tile_cycles = loaded.total_cycles * loaded.flowcell.tiles
    for name, n in counts.most_common():
        print(f"{name:<16} {n:6d}  {n / tile_cycles:6.2f} per tile-cycle")
    total = sum(counts.values())
    print(json.dumps({"round_trips": total, "tile_cycles": tile_cycles,
                      "round_trips_per_tile_cycle": round(total / tile_cycles, 2),
                      "heartbeats_per_tile_cycle": round(counts["HEARTBEAT"] / tile_cycles, 2)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200, help="4 MiB frames for (b)")
    parser.add_argument("--commands", type=int, default=10_000, help="control soak messages")
    parser.add_argument("--soak-frames", type=int, default=1_000, help="image soak frames")
    parser.add_argument("--rate", type=float, default=0.01, help="each fault's probability")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--round-trips", type=Path, metavar="RECIPE",
                        help="count the control round trips of one simulated run instead")
    args = parser.parse_args()
    if args.round_trips is not None:
        round_trips(args.round_trips, args.seed)
        return

    stream = frame_stream(16)  # 64 MiB
    crc_gbps = crc_only_gbps(stream)
    parse_gbps = parse_throughput(stream, read_bytes=16 * MIB, passes=5)
    bus, _ = virtual_bus_with_camera(FRAME_4MIB)
    pyusb_gbps, receiver = bandwidth_self_test(args.frames, bus.backend)
    rows = [
        ("CRC-32 alone (reference), one core", f"{crc_gbps:.2f} GB/s"),
        ("(a) parse + CRC, 4 MiB frames in memory, one core", f"{parse_gbps:.2f} GB/s"),
        ("(b) pyusb + virtual backend + receiver thread", f"{pyusb_gbps:.2f} GB/s"),
        ("    frames received / lost / damaged",
         f"{receiver.stats.frames} / {receiver.stats.frames_lost} / "
         f"{receiver.stats.damaged_packets}"),
    ]

    rates = FaultRates(drop=args.rate, corrupt=args.rate, duplicate=args.rate)
    t0 = time.perf_counter()
    control = control_soak(args.commands, rates, seed=args.seed)
    control_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    image = image_soak(args.soak_frames, rates, seed=args.seed)
    image_s = time.perf_counter() - t0
    rows += [
        (f"control soak: {control.commands} commands, {args.rate:.0%} drop/corrupt/duplicate",
         f"{control_s:.1f} s"),
        ("    succeeded / reported failed / expected NAKs",
         f"{control.succeeded} / {control.reported_failed} / {control.expected_naks}"),
        ("    executed twice / succeeded but not run / corrupt accepted",
         f"{control.executed_twice} / {control.succeeded_not_executed} / "
         f"{control.corrupted_accepted}"),
        ("    faults injected", str(sum(control.faults.values()))),
        (f"image soak: {image.frames_sent} frames, same faults", f"{image_s:.1f} s"),
        ("    accepted / reported lost / lost unreported",
         f"{image.frames_accepted} / {image.frames_reported_lost} / {image.lost_unreported}"),
        ("    corrupt accepted / out-of-order accepted",
         f"{image.corrupted_accepted} / {image.out_of_order_accepted}"),
        ("    flagged frames sent / accepted / reported",
         f"{image.flagged_sent} / {image.flagged_accepted} / {image.flagged_reported}"),
        ("    faults injected", str(sum(image.faults.values()))),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(json.dumps({
        "crc32_gbps": round(crc_gbps, 3),
        "parse_gbps": round(parse_gbps, 3),
        "pyusb_gbps": round(pyusb_gbps, 3),
        "soak_commands": control.commands,
        "soak_commands_succeeded": control.succeeded,
        "soak_commands_reported_failed": control.reported_failed,
        "soak_commands_executed_twice": control.executed_twice,
        "soak_commands_succeeded_not_executed": control.succeeded_not_executed,
        "soak_commands_corrupted_accepted": control.corrupted_accepted,
        "soak_control_faults": sum(control.faults.values()),
        "soak_frames": image.frames_sent,
        "soak_frames_accepted": image.frames_accepted,
        "soak_frames_reported_lost": image.frames_reported_lost,
        "soak_frames_lost_unreported": image.lost_unreported,
        "soak_frames_corrupted_accepted": image.corrupted_accepted,
        "soak_frames_out_of_order_accepted": image.out_of_order_accepted,
        "soak_image_faults": sum(image.faults.values()),
        "soak_ok": control.ok and image.ok,
    }))


if __name__ == "__main__":
    main()

"""Long protocol fuzz (outside CI): random and mutated bytes into every decoder.

Every input must either raise a ProtocolError subclass or decode to something whose
re-encoding is byte-for-byte the input; anything else (another exception, a frame accepted
from damaged bytes) is a failure, printed with its input as hex. Inputs: random bytes,
golden vectors with 1-8 random byte changes, cuts and extensions, and byte streams of
frames with damage fed through FrameSplitter and ImageStreamParser in random pieces.

    .venv/bin/python scripts/fuzz_protocol.py [--seconds 60] [--seed 0]

Prints a table of inputs per target and, last, one JSON object with the counts.
"""

import argparse
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from opensbs.protocol import control as c
from opensbs.protocol import image as im
from opensbs.protocol.errors import ProtocolError
from opensbs.protocol.golden import build_golden_vectors
from opensbs.usb.image_receiver import ImageStreamParser

VECTORS = build_golden_vectors()
CONTROL_FRAMES = [bytes.fromhex(v["hex"]) for v in VECTORS["control_link"]["frames"]]
IMAGE_FRAMES = [bytes.fromhex(v["hex"]) for v in VECTORS["image_link"]["frames"]]
REGISTER_COMMANDS = [bytes.fromhex(v["hex"]) for v in VECTORS["image_link"]["register_commands"]]
REGISTER_REPLIES = [bytes.fromhex(v["hex"]) for v in VECTORS["image_link"]["register_replies"]]


def reencode_control(frame: c.ControlFrame) -> bytes:
    return c.encode_frame(frame.msg_type, frame.fields, frame.seq, frame.ack)


def reencode_image(frame: im.ImageFrame) -> bytes:
    h = frame.header
    return im.encode_image_frame(frame.pixels, sequence=h.sequence, trigger_id=h.trigger_id,
                                 timestamp_us=h.timestamp_us, channel=h.channel,
                                 bits_per_pixel=h.bits_per_pixel, flags=h.flags,
                                 delivered_pixels=h.delivered_pixels)


def reencode_register(access: im.RegisterAccess) -> bytes:
    if access.op is None:
        return im.encode_register_reply(access.tag, access.address, access.value,
                                        access.status)
    return im.encode_register_command(access.op, access.tag, access.address, access.value)


def reencode_packet(item: Any) -> bytes:
    return reencode_image(item) if isinstance(item, im.ImageFrame) else reencode_register(item)


TARGETS: dict[str, tuple[Callable[[bytes], Any], Callable[[Any], bytes], list[bytes]]] = {
    "control.decode_frame": (c.decode_frame, reencode_control, CONTROL_FRAMES),
    "image.decode_image_frame": (im.decode_image_frame, reencode_image, IMAGE_FRAMES),
    "image.decode_register_command": (im.decode_register_command, reencode_register,
                                      REGISTER_COMMANDS),
    "image.decode_register_reply": (im.decode_register_reply, reencode_register,
                                    REGISTER_REPLIES),
}


def mutate(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    kind = rng.random()
    if kind < 0.6 and out:
        for _ in range(rng.randint(1, 8)):
            out[rng.randrange(len(out))] = rng.randrange(256)
    elif kind < 0.8:
        del out[rng.randrange(len(out) + 1):]
    else:
        out += rng.randbytes(rng.randint(1, 16))
    return bytes(out)


def check_one(name: str, data: bytes, failures: list[str]) -> bool:
    """True if ``data`` was accepted (and re-encodes to itself)."""
    decode, reencode, _ = TARGETS[name]
    try:
        result = decode(data)
    except ProtocolError:
        return False
    except Exception as exc:  # noqa: BLE001 - any other exception is the finding
        failures.append(f"{name}: {type(exc).__name__}: {exc} on {data.hex()}")
        return False
    if reencode(result) != data:
        failures.append(f"{name}: accepted damaged bytes {data.hex()}")
    return True


def fuzz_streams(rng: random.Random, failures: list[str]) -> tuple[int, int]:
    """One damaged control stream and one damaged image stream, split at random."""
    control = b"".join(rng.sample(CONTROL_FRAMES, 8))
    image = b"".join(rng.sample(IMAGE_FRAMES + REGISTER_REPLIES, 8))
    accepted = 0
    for stream, originals, make in (
        (control, CONTROL_FRAMES, lambda: c.FrameSplitter(stale_after_s=0.01)),
        (image, IMAGE_FRAMES + REGISTER_REPLIES, lambda: ImageStreamParser(4096)),
    ):
        damaged = mutate(rng, stream)
        splitter = make()
        pos, now = 0, 0.0
        while pos < len(damaged):
            step = rng.randint(1, 200)
            now += rng.choice((0.0, 0.001, 0.05))
            try:
                items = list(splitter.feed(damaged[pos:pos + step], now_s=now)
                             if isinstance(splitter, c.FrameSplitter)
                             else splitter.feed(damaged[pos:pos + step]))
            except Exception as exc:  # noqa: BLE001
                failures.append(f"stream: {type(exc).__name__}: {exc} on {damaged.hex()}")
                break
            for item in items:
                if isinstance(item, ProtocolError):
                    continue
                raw = reencode_control(item) if isinstance(item, c.ControlFrame) \
                    else reencode_packet(item)
                accepted += 1
                if raw not in originals:
                    failures.append(f"stream accepted a packet not sent: {raw.hex()}")
            pos += step
    return 2, accepted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    inputs: Counter[str] = Counter()
    accepted: Counter[str] = Counter()
    failures: list[str] = []
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline and len(failures) < 20:
        for name, (_, _, seeds) in TARGETS.items():
            for data in (rng.randbytes(rng.randint(0, 64)), mutate(rng, rng.choice(seeds))):
                inputs[name] += 1
                accepted[name] += check_one(name, data, failures)
        streams, stream_accepted = fuzz_streams(rng, failures)
        inputs["streams"] += streams
        accepted["streams"] += stream_accepted
    width = max(len(n) for n in inputs)
    print(f"{'target':<{width}}  {'inputs':>9}  {'accepted':>8}")
    for name in inputs:
        print(f"{name:<{width}}  {inputs[name]:>9}  {accepted[name]:>8}")
    for failure in failures:
        print("FAIL", failure)
    print(json.dumps({"inputs": sum(inputs.values()), "failures": len(failures),
                      "seconds": args.seconds, "seed": args.seed,
                      "per_target": dict(inputs)}))
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()

"""Seeded fault injection on the virtual USB link, per transfer and per direction.

Each bulk transfer (one ``dev.write`` = OUT, one ``dev.read`` = IN) suffers at most one fault,
drawn with the given probabilities: drop (the bytes are lost), corrupt (one byte XORed with a
non-zero value), duplicate (the bytes arrive twice), delay (held ``delay_s`` first), truncate
(a random-length prefix survives) or disconnect (the device vanishes: this and later transfers
fail with ENODEV until it reconnects, ``reconnect_after_s`` later, as a new USB device that
has rebooted; ``None`` leaves it detached).
"""

import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum


class FaultKind(Enum):
    DROP = "drop"
    CORRUPT = "corrupt"
    DUPLICATE = "duplicate"
    DELAY = "delay"
    TRUNCATE = "truncate"
    DISCONNECT = "disconnect"


@dataclass(frozen=True)
class FaultRates:
    """Per-transfer probability of each fault in one direction."""

    drop: float = 0.0
    corrupt: float = 0.0
    duplicate: float = 0.0
    delay: float = 0.0
    truncate: float = 0.0
    disconnect: float = 0.0

    def __post_init__(self) -> None:
        rates = [self.drop, self.corrupt, self.duplicate, self.delay, self.truncate,
                 self.disconnect]
        if any(r < 0 for r in rates) or sum(rates) > 1:
            raise ValueError(f"fault rates must be >= 0 and sum to <= 1: {self}")

    def table(self) -> list[tuple[FaultKind, float]]:
        return [(kind, getattr(self, kind.value)) for kind in FaultKind]


@dataclass
class FaultInjector:
    """Draws faults for OUT (host -> device) and IN (device -> host) transfers."""

    out: FaultRates = field(default_factory=FaultRates)
    in_: FaultRates = field(default_factory=FaultRates)
    seed: int = 0
    delay_s: float = 0.005
    reconnect_after_s: float | None = 0.05
    enabled: bool = True
    counts: Counter[tuple[str, FaultKind]] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def draw(self, direction: str) -> FaultKind | None:
        """The fault for the next transfer in ``direction`` ("out" or "in"), or None."""
        if not self.enabled:
            return None
        rates = self.out if direction == "out" else self.in_
        with self._lock:
            r = self._rng.random()
            for kind, rate in rates.table():
                if r < rate:
                    self.counts[(direction, kind)] += 1
                    return kind
                r -= rate
        return None

    def corrupt(self, data: bytearray | memoryview) -> None:
        """XOR one random byte of ``data`` (in place) with a non-zero value."""
        if len(data):
            with self._lock:
                i = self._rng.randrange(len(data))
                data[i] ^= self._rng.randrange(1, 256)

    def truncated_length(self, n: int) -> int:
        """How many of ``n`` bytes survive a truncation (0 <= result < n)."""
        with self._lock:
            return self._rng.randrange(n) if n else 0

    def total(self, direction: str | None = None) -> int:
        return sum(v for (d, _), v in self.counts.items() if direction in (None, d))


LINKS = ("control", "camera")
DIRECTIONS = ("in", "out")
SPEC_OPTIONS = ("seed", "delay_s", "reconnect_after_s")


class FaultSpecError(ValueError):
    """A --faults specification that cannot be parsed (the message names the bad item)."""


def _number(item: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FaultSpecError(f"--faults {item!r}: {text!r} is not a number") from None
    if not value >= 0 or value == float("inf"):
        raise FaultSpecError(f"--faults {item!r}: must be a finite number >= 0")
    return value


def parse_fault_spec(spec: str) -> dict[str, FaultInjector]:
    """One FaultInjector per link from ``LINK.DIR.KIND=RATE,...`` (LINK control, camera or
    both; DIR in or out; KIND drop, corrupt, duplicate, delay, truncate or disconnect; RATE the
    per-transfer probability) plus optional ``seed=N``, ``delay_s=S``, ``reconnect_after_s=S``.
    Example: ``control.in.drop=0.02,camera.in.corrupt=0.01,seed=3``."""
    rates: dict[tuple[str, str], dict[str, float]] = {}
    options: dict[str, float] = {}
    kinds = [k.value for k in FaultKind]
    for item in (part.strip() for part in spec.split(",") if part.strip()):
        key, sep, value = item.partition("=")
        if not sep:
            raise FaultSpecError(f"--faults {item!r}: expected KEY=VALUE")
        if key in SPEC_OPTIONS:
            options[key] = _number(item, value)
            continue
        parts = key.split(".")
        if len(parts) != 3 or parts[0] not in (*LINKS, "both") or parts[1] not in DIRECTIONS \
                or parts[2] not in kinds:
            raise FaultSpecError(f"--faults {item!r}: expected LINK.DIR.KIND=RATE with LINK in "
                                 f"{[*LINKS, 'both']}, DIR in {list(DIRECTIONS)}, KIND in "
                                 f"{kinds}, or one of {list(SPEC_OPTIONS)}")
        for link in LINKS if parts[0] == "both" else (parts[0],):
            rates.setdefault((link, parts[1]), {})[parts[2]] = _number(item, value)
    seed = int(options.get("seed", 0))
    injectors = {}
    for index, link in enumerate(LINKS):
        try:
            directions = {d: FaultRates(**rates.get((link, d), {})) for d in DIRECTIONS}
        except ValueError as exc:
            raise FaultSpecError(f"--faults: {link}: {exc}") from None
        injectors[link] = FaultInjector(
            out=directions["out"], in_=directions["in"], seed=seed * len(LINKS) + index,
            delay_s=options.get("delay_s", 0.005),
            reconnect_after_s=options.get("reconnect_after_s", 0.05))
    return injectors

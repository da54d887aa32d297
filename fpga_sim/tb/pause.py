"""Pause generators for bus models: one flag per clock, True = not ready this clock.

A bus model takes any iterator of flags (``itertools.cycle([True, False])`` for a fixed
pattern); ``random_pauses`` gives a reproducible random one from a recorded seed.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

CHUNK = 4096  # flags drawn per numpy call


def random_pauses(seed: int, busy_fraction: float) -> Iterator[bool]:
    """Endless flags, each True with probability ``busy_fraction``, from ``seed``."""
    if not 0.0 <= busy_fraction <= 1.0:
        raise ValueError(f"busy_fraction {busy_fraction} not in [0, 1]")
    rng = np.random.default_rng(seed)
    while True:
        yield from (rng.random(CHUNK) < busy_fraction).tolist()

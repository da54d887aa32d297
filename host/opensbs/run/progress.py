"""Live run state shared between the controller, the base-calling worker and the live view."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field


@dataclass
class RunProgress:
    """Counters and running figures; written by the run threads, read by the live view."""

    total_cycles: int
    tiles: list[int]
    cycle: int = 0
    tile: int | None = None
    step: str = "starting"
    temperature_mc: int | None = None
    setpoint_mc: int | None = None
    instrument_s: float = 0.0
    frames_received: int = 0
    frames_dropped: int = 0
    bytes_received: int = 0
    basecalled_cycle: int = 0
    max_lag_cycles: int = 0
    clusters: int = 0
    pf_fraction: float | None = None
    q30_fraction: float | None = None
    error_rate: float | None = None  # reads aligned to the control genome (PhiX)
    truth_error_rate: float | None = None  # --sim only: error vs simulation truth
    faults: list[str] = field(default_factory=list)
    started_wall_s: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def elapsed_s(self) -> float:
        return time.monotonic() - self.started_wall_s

    def throughput_mb_per_s(self) -> float:
        elapsed = self.elapsed_s()
        return self.bytes_received / 1e6 / elapsed if elapsed > 0 else 0.0

    def lag_cycles(self) -> int:
        """Cycles imaged but not yet base-called."""
        return max(self.cycle - self.basecalled_cycle, 0)

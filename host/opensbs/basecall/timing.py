"""CPU seconds spent in each stage of the caller (for the speed benchmark's table).

CPU time of the calling thread (``time.thread_time``), so a machine shared with other work does
not inflate the figures; run single-threaded (BLAS threads = 1) to read it as per-core time.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager


class StageTimes:
    """Accumulates CPU seconds per stage name."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def measure(self, stage: str) -> Iterator[None]:
        start = time.thread_time()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.thread_time() - start

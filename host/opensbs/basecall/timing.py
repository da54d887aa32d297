"""Wall-clock seconds spent in each stage of the caller (for the speed benchmark's table)."""

import time
from collections.abc import Iterator
from contextlib import contextmanager


class StageTimes:
    """Accumulates ``perf_counter`` seconds per stage name."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def measure(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start

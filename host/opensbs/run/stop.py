"""Stopping a run on request: Ctrl-C, SIGTERM and SIGHUP become one stop event.

The signal handlers only set the event (they never raise into whatever the run is doing); the
run controller checks it at fixed points (before every step and tile, on every wait for the
instrument, while handing images to the caller) and stops at the first one, so a signal is
honoured the same way whatever the machine's load: the safe stop, then the `stopped` record.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

SIGNAL_REASONS = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM", signal.SIGHUP: "SIGHUP"}


class RunInterrupted(Exception):
    """A stop was requested (`reason`: "Ctrl-C", "SIGTERM", ...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class StopRequest:
    """A thread-safe stop flag with the reason of the first request."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def request(self, reason: str) -> None:
        if not self._event.is_set():
            self.reason = reason
            self._event.set()

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout_s: float | None = None) -> bool:
        return self._event.wait(timeout_s)

    def check(self) -> None:
        """Raise RunInterrupted if a stop was requested."""
        if self._event.is_set():
            raise RunInterrupted(self.reason)


def exit_code(reason: str) -> int:
    """The shell's exit status of a process ended by the signal named `reason` (128 + n)."""
    for signum, name in SIGNAL_REASONS.items():
        if name == reason:
            return 128 + int(signum)
    return 1


@contextmanager
def stop_on_signals(stop: StopRequest) -> Iterator[StopRequest]:
    """Turn SIGINT, SIGTERM and SIGHUP into `stop.request(...)` meanwhile (main thread only;
    elsewhere the handlers stay as they are)."""
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.request(SIGNAL_REASONS[signal.Signals(signum)])

    previous = {signum: signal.signal(signum, handler) for signum in SIGNAL_REASONS}
    try:
        yield stop
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)

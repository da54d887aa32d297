"""Link faults of a run: every retransmission, NAK, resync, CRC error, lost frame and retake
is a `link_fault` record in the run log; summary.json counts them per link and kind.

The image link reports each event itself (`TriggeredImager`); the control link's client
counts what it went through, and `ControlLinkFaults.poll` turns each change of those counters
into a record (called on the run's thread at every wait on the instrument).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..usb.control_client import ControlLinkStats

CONTROL_COUNTERS = ("retransmissions", "timeouts", "naks", "bad_frames", "stale_replies",
                    "resets")


class ControlLinkFaults:
    """Records the control link's fault counters as they change."""

    def __init__(self, stats: ControlLinkStats, on_event: Callable[..., None]) -> None:
        self.stats = stats
        self.on_event = on_event
        self._seen = dict.fromkeys(CONTROL_COUNTERS, 0)

    def poll(self) -> None:
        for name in CONTROL_COUNTERS:
            now = int(getattr(self.stats, name))
            if now != self._seen[name]:
                count, self._seen[name] = now - self._seen[name], now
                self.on_event("link_fault", link="control", fault=name, count=count)


def count_link_faults(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """{link: {kind: count}} over the `link_fault` records of a run log."""
    counts: dict[str, dict[str, int]] = {}
    for record in records:
        if record.get("kind") == "link_fault":
            per_link = counts.setdefault(str(record.get("link")), {})
            kind = str(record.get("fault"))
            per_link[kind] = per_link.get(kind, 0) + int(record.get("count") or 1)
    return counts

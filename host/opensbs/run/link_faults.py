"""Link faults of a run: every retransmission, NAK, resync, CRC error, lost frame and retake
is a `LinkFault` event in the run log; summary.json counts them per link and kind.

The image link reports each event itself (`TriggeredImager`); the control link's client
counts what it went through, and `ControlLinkFaults.poll` turns each change of those counters
into a record (called on the run's thread at every wait on the instrument).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..runfolder.events import Event, LinkFault, OnEvent
from ..usb.control_client import ControlLinkStats

CONTROL_COUNTERS = ("retransmissions", "timeouts", "naks", "bad_frames", "stale_replies",
                    "resets")


class ControlLinkFaults:
    """Records the control link's fault counters as they change."""

    def __init__(self, stats: ControlLinkStats, on_event: OnEvent) -> None:
        self.stats = stats
        self.on_event = on_event
        self._seen = dict.fromkeys(CONTROL_COUNTERS, 0)

    def poll(self) -> None:
        for name in CONTROL_COUNTERS:
            now = int(getattr(self.stats, name))
            if now != self._seen[name]:
                count, self._seen[name] = now - self._seen[name], now
                self.on_event(LinkFault("control", name, count))


def count_link_faults(events: Iterable[Event]) -> dict[str, dict[str, int]]:
    """{link: {kind: count}} over the `LinkFault` events of a run log."""
    counts: dict[str, dict[str, int]] = {}
    for event in events:
        if isinstance(event, LinkFault):
            per_link = counts.setdefault(event.link, {})
            per_link[event.fault] = per_link.get(event.fault, 0) + event.count
    return counts

"""HostLink: drives a SimBoard with frames built and parsed by the host's construct codec."""

from typing import Any

from opensbs.protocol.control import ControlFrame, MsgType, decode_frame, encode_frame
from opensbs.sim.board.sim_board import SimBoard


class HostLink:
    """Sends requests to a SimBoard and collects its decoded frames (the host's decoder)."""

    def __init__(self, board: SimBoard) -> None:
        self.board = board
        self.seq = 0
        self.frames: list[ControlFrame] = []

    def pump(self) -> list[ControlFrame]:
        new = [decode_frame(f) for f in self.board.receive()]
        self.frames.extend(new)
        return new

    def request(self, msg_type: MsgType, fields: dict[str, Any] | None = None) -> ControlFrame:
        """One request; returns its single reply (matched by ack == seq)."""
        self.seq = (self.seq + 1) & 0xFF
        self.board.send(encode_frame(msg_type, fields, seq=self.seq))
        replies = [f for f in self.pump() if f.msg_type >= 0xF0 or f.msg_type in (
            MsgType.IDENTIFY_REPLY, MsgType.PONG, MsgType.STATUS_REPLY)]
        assert len(replies) == 1, replies
        assert replies[0].ack == self.seq
        return replies[0]

    def ok(self, msg_type: MsgType, fields: dict[str, Any] | None = None) -> ControlFrame:
        reply = self.request(msg_type, fields)
        assert reply.msg_type != MsgType.NAK, reply
        return reply

    def run_ms(self, ms: int, heartbeat_ms: int | None = 1000) -> None:
        """Advance virtual time, sending a HEARTBEAT every ``heartbeat_ms`` (None: silence)."""
        step = heartbeat_ms or ms
        done = 0
        while done < ms:
            chunk = min(step, ms - done)
            self.board.advance_ms(chunk)
            done += chunk
            if heartbeat_ms:
                self.ok(MsgType.HEARTBEAT, {"host_time_ms": self.board.clock.now_ms})
        self.pump()

    def of_type(self, msg_type: MsgType) -> list[ControlFrame]:
        return [f for f in self.frames if f.msg_type == msg_type]


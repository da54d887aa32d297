"""Reagent selector valve: select a port, wait for the valve's ready line, time out."""


class Valve:
    """Ports are 0-based. ``step`` returns True once when the move times out."""

    def __init__(self, cfg: dict) -> None:
        self.cfg = cfg
        self.port = 0
        self.target = 0
        self.moving = False
        self._deadline_ms = 0

    def check_port(self, port: int) -> bool:
        return 0 <= port < self.cfg["ports"]

    def start(self, port: int, now_ms: int) -> None:
        self.target = port
        self.moving = True
        self._deadline_ms = now_ms + self.cfg["timeout_ms"]

    def step(self, ready: bool, now_ms: int) -> bool:
        """Advance with the hardware's ready line; True when the move just timed out."""
        if not self.moving:
            return False
        if ready:
            self.port = self.target
            self.moving = False
            return False
        if now_ms >= self._deadline_ms:
            self.moving = False
            return True
        return False

    def telemetry(self) -> dict:
        return {"port": self.port, "moving": 1 if self.moving else 0}

"""What the session fixture hands the emulated-board tests."""

from dataclasses import dataclass
from pathlib import Path

from opensbs.sim.board.emulated import EmulatedPico


@dataclass
class Flashed:
    pico: EmulatedPico  # still running the flashed firmware, pty not served
    flash_output: str  # what `opensbs board flash` printed
    flash_exit_code: int
    image: Path  # the chip's flash right after flashing

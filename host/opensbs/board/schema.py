"""Board files on the host: find, load and check them with the firmware's own validator.

    cfg = load_board("pico")            # a name in boards/, or a path
    BoardFileError("boards/x.json: heaters[0].thermistor.beta: must be a number ...")
"""

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .firmware import BOARDS_DIR, import_firmware

_boardcfg = import_firmware("boardcfg")


class BoardFileError(ValueError):
    """A board file that is missing, not JSON, or has a wrong field (named in the message)."""


@dataclass(frozen=True)
class BoardFile:
    path: Path
    config: dict[str, Any]
    crc32: int  # what the firmware reports as IDENTIFY_REPLY.board_config_crc
    raw: bytes


def board_names() -> list[str]:
    """Boards shipped in boards/."""
    return sorted(p.stem for p in BOARDS_DIR.glob("*.json"))


def board_path(board: str | Path) -> Path:
    """``pico`` -> boards/pico.json; a path is returned as is."""
    path = Path(board)
    if path.suffix == ".json" or path.exists():
        return path
    return BOARDS_DIR / f"{board}.json"


def check_board_bytes(raw: bytes, source: str = "board file") -> dict[str, Any]:
    """The validated board dict; BoardFileError naming ``source`` and the field otherwise."""
    try:
        config, _ = _boardcfg.parse(raw)
    except _boardcfg.BoardConfigError as exc:
        raise BoardFileError(f"{source}: {exc}") from None
    result: dict[str, Any] = config
    return result


def load_board(board: str | Path) -> BoardFile:
    """Load and check one board file (by name in boards/ or by path)."""
    path = board_path(board)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        known = ", ".join(board_names())
        raise BoardFileError(
            f"{path}: cannot read ({exc.strerror}); known boards: {known}") from None
    return BoardFile(path, check_board_bytes(raw, str(path)), zlib.crc32(raw), raw)

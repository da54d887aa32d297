"""`opensbs board flash` and `opensbs board ...` against the emulated Pico over its pty, as a
user would with a real board on /dev/ttyACM0; then mpremote takes the REPL back and keeps it
(the firmware stops the watchdog, which used to reset the chip under mpremote)."""

import subprocess
import sys

import pytest
from emulated_fixtures import Flashed
from opensbs.board.firmware import firmware_version
from opensbs.board.schema import load_board
from opensbs.cli import app
from opensbs.sim.board.emulated import gpio_number
from typer.testing import CliRunner

MPREMOTE = [sys.executable, "-m", "mpremote", "connect"]


def test_flash_copies_resets_and_identifies_over_cdc(flashed: Flashed) -> None:
    assert flashed.flash_exit_code == 0, flashed.flash_output
    major, minor, patch = firmware_version()
    assert f"identify: firmware {major}.{minor}.{patch}, board pico" in flashed.flash_output
    assert f"0x{load_board('pico').crc32:08x}: OK" in flashed.flash_output
    # `mpremote reset` is machine.reset(): one watchdog reset of the chip, nothing else
    assert [why for _, why in flashed.pico.resets] == ["force"]


def _cli(*args: str) -> str:
    result = CliRunner().invoke(app, ["board", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_board_commands_drive_the_pins_over_the_pty(flashed: Flashed) -> None:
    pico = flashed.pico
    trigger = load_board("pico").config["triggers"][0]
    port = pico.serve_pty()
    try:
        # machine.reset() reboots through the watchdog: not reported as a watchdog fault
        assert "state IDLE  faults none" in _cli("status", "--port", port)
        start_c = pico.plant.zones[0].block_c
        _cli("heat", "45", "--zone", "0", "--port", port, "--hold-s", "2")
        # 20 W into 10 J/K at full duty: the heater pin's duty warmed the plant
        assert pico.plant.zones[0].block_c > start_c + 0.5
        _cli("heat", "0", "--zone", "0", "--off", "--port", port)
        _cli("valve", "7", "--port", port)
        assert pico.plant.valves[0].port == 7
        _cli("pump", "--port", port, "--", "-20", "100")  # aspirate 20 uL at 100 uL/s
        # step pulses counted at the pin, signed by the direction pin (48 per uL): the PWM
        # step generator is open loop and ends a few steps off the command, within 1 %
        steps = pico.step_counts[0]
        assert abs(steps - 20 * 48) <= 20 * 48 // 100
        assert pico.plant.syringes[0].volume_nl == pytest.approx(steps * 1000 / 48)  # filled
        first = len(pico.edges)
        _cli("trigger", "--exposure-us", "1000", "--period-us", "4000", "--count", "5",
             "--lasers", "5", "--port", port)
    finally:
        pico.stop_pty()
    pin = gpio_number(trigger["pin"])
    pulses = [(level, t) for p, level, t in pico.edges[first:] if p == pin]
    assert [level for level, _ in pulses] == [1, 0] * 5
    widths_us = [(pulses[i + 1][1] - pulses[i][1]) / 1000 for i in range(0, 10, 2)]
    periods_us = [(pulses[i + 2][1] - pulses[i][1]) / 1000 for i in range(0, 8, 2)]
    assert max(abs(w - 1000) for w in widths_us) <= 1.0
    assert max(abs(p - 4000) for p in periods_us) <= 1.0


def test_mpremote_takes_the_repl_back_and_keeps_it(flashed: Flashed) -> None:
    pico = flashed.pico
    resets = len(pico.resets)
    port = pico.serve_pty()
    try:
        listing = subprocess.run(
            [*MPREMOTE, port, "exec", "import os; print(sorted(os.listdir('opensbs_fw')))"],
            capture_output=True, text=True, timeout=120)
        assert listing.returncode == 0, listing.stderr
        assert "'controller.mpy'" in listing.stdout and ".py'" not in listing.stdout
        heap = subprocess.run(
            [*MPREMOTE, port, "exec", "import gc\n"
             "from opensbs_fw import app, controller, hal_machine, hal_rp2\n"
             "gc.collect(); print('free', gc.mem_free())"],
            capture_output=True, text=True, timeout=120)
        assert heap.returncode == 0, heap.stderr
        until = pico.now_ns + 3_000_000_000  # longer than the board's 2 s watchdog timeout
        while pico.now_ns < until:
            subprocess.run([*MPREMOTE, port, "exec", "pass"], capture_output=True, timeout=120,
                           check=True)
    finally:
        pico.stop_pty()
    assert len(pico.resets) == resets  # no watchdog reset under the REPL session
    free_bytes = int(heap.stdout.split("free")[-1])
    assert free_bytes > 100 * 1024  # of the RP2040's ~230 KiB MicroPython heap

"""Fixtures: a Pico emulated at the instruction level (rp2040js, the real MicroPython image)
flashed once per session with `opensbs board flash` over its pty, and its saved flash.

Speed: the emulator runs the chip at about a third of real time (less on a loaded machine);
every wait here is on a condition in emulated time, with a generous bound that only guards
against a hang.
"""

from collections.abc import Iterator

import pytest
from emulated_fixtures import Flashed
from opensbs.cli import app
from opensbs.protocol.control import MsgType
from opensbs.sim.board.emulated import EmulatedLink, EmulatedPico
from typer.testing import CliRunner


@pytest.fixture(scope="session")
def flashed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flashed]:
    """A fresh emulated Pico (empty filesystem) flashed by the CLI over a pty."""
    pico = EmulatedPico()
    try:
        port = pico.serve_pty()
        result = CliRunner().invoke(app, ["board", "flash", "--board", "pico", "--port", port])
        pico.stop_pty()
        image = tmp_path_factory.mktemp("emulated") / "pico-flash.bin"
        pico.save_flash(image)
        yield Flashed(pico, result.output, result.exit_code, image)
    finally:
        pico.close()


@pytest.fixture(scope="module")
def booted(flashed: Flashed) -> Iterator[tuple[EmulatedPico, EmulatedLink]]:
    """A second chip booted from the flashed image, driven in lockstep (no wall clock),
    with the control link up (heartbeats every emulated second)."""
    assert flashed.flash_exit_code == 0, flashed.flash_output
    pico = EmulatedPico(flash_image=flashed.image, quantum_us=2000)
    try:
        link = EmulatedLink(pico)
        assert link.wait_for(lambda: any(f.msg_type == MsgType.BOOT for _, f in link.frames),
                             max_ms=10_000), pico.read()
        yield pico, link
    finally:
        pico.close()

"""The firmware on the board: asyncio tasks around the controller core.

Tasks: the control loop (one ``Controller.step`` per control period; it alone feeds
``machine.WDT``, and only after a step that completed in time), and the link pump (bytes
in -> ``handle_bytes``; ``outbox`` -> host). A missing or broken board file leaves the
controller in its safe state, reporting Fault.BOARD_CONFIG, with no pin touched.
"""

import asyncio
import binascii
import sys
import time

import machine
import micropython

from . import boardcfg
from . import codec as c
from .controller import Controller
from .link import LinkClosed, SerialLink, open_link

BOOT_ID_FILE = "boot_id.txt"
LINK_POLL_MS = 2


class _NoHal:
    """The hardware layer of the safe state: nothing is driven (pins stay inputs)."""

    def __getattr__(self, name):
        return lambda *args: 0


def _next_boot_id() -> int:
    try:
        with open(BOOT_ID_FILE) as f:
            boot_id = (int(f.read()) + 1) & 0xFFFFFFFF
    except (OSError, ValueError):
        boot_id = 1
    try:
        with open(BOOT_ID_FILE, "w") as f:
            f.write(str(boot_id))
    except OSError:
        pass
    return boot_id


def _reset_cause() -> int:
    cause = machine.reset_cause()
    if cause == machine.WDT_RESET:
        if sys.platform == "rp2":  # machine.reset() reboots through the watchdog there
            from .hal_rp2 import watchdog_timed_out  # noqa: PLC0415

            if not watchdog_timed_out():
                return c.RESET_HARD
        return c.RESET_WATCHDOG
    if cause == machine.PWRON_RESET:
        return c.RESET_POWER_ON
    if cause == machine.SOFT_RESET:
        return c.RESET_SOFT
    if cause == machine.HARD_RESET:
        return c.RESET_HARD
    return c.RESET_UNKNOWN


def _hand_back_watchdog(cfg) -> None:
    """The host took the REPL back (mpremote's Ctrl-C): with every output off, stop the
    watchdog, or it resets the board under the REPL session and main.py takes the port
    again. The RP2040's can be stopped; other ports keep it running."""
    if cfg and cfg["mcu"] == "rp2040":
        from .hal_rp2 import stop_watchdog  # noqa: PLC0415

        stop_watchdog()


def _make_hal(cfg: dict):
    from .hal_machine import MachineHal  # noqa: PLC0415

    if cfg["mcu"] == "rp2040":
        from .hal_rp2 import make_pulse_train as pio_train  # noqa: PLC0415

        return MachineHal(cfg, pio_train)
    from .hal_stm32 import make_pulse_train as timer_train  # noqa: PLC0415

    return MachineHal(cfg, timer_train)


class Uptime:
    """Milliseconds since boot as a plain growing int (ticks_ms wraps)."""

    def __init__(self) -> None:
        self._last = time.ticks_ms()
        self.ms = 0

    def now(self) -> int:
        tick = time.ticks_ms()
        self.ms += time.ticks_diff(tick, self._last)
        self._last = tick
        return self.ms


async def _control_loop(ctl: Controller, wdt, uptime: Uptime, running: list) -> None:
    period = ctl.period_ms
    next_ms = time.ticks_ms()
    while running[0]:
        ctl.step(uptime.now())
        late = time.ticks_diff(time.ticks_ms(), next_ms)
        if wdt is not None and late < period:
            wdt.feed()
        next_ms = time.ticks_add(next_ms, period)
        await asyncio.sleep_ms(max(0, time.ticks_diff(next_ms, time.ticks_ms())))


async def _link_loop(ctl: Controller, link, uptime: Uptime, running: list) -> None:
    while running[0]:
        data = link.read()
        if data:
            ctl.handle_bytes(data, uptime.now())
        while ctl.outbox:
            link.write(ctl.outbox.pop(0))
        await asyncio.sleep_ms(LINK_POLL_MS)


def main() -> None:
    """Boot: load the board file, build the controller, run the tasks forever."""
    cause = _reset_cause()
    boot_id = _next_boot_id()
    serial = binascii.hexlify(machine.unique_id()).decode()
    try:
        cfg, crc = boardcfg.load()
        error = ""
    except boardcfg.BoardConfigError as exc:
        cfg, crc, error = None, 0, str(exc)
    hal = _NoHal()
    if cfg:
        try:
            hal = _make_hal(cfg)
        except (ValueError, TypeError, OSError) as exc:  # e.g. a pin this chip lacks
            cfg, crc, error = None, 0, "board file pins: " + str(exc)
    uptime = Uptime()
    ctl = Controller(hal, cfg, crc, boot_id, cause, 0, error)
    wdt = machine.WDT(timeout=cfg["watchdog_timeout_ms"]) if cfg else None

    link = open_link(cfg, serial)
    if not isinstance(link, SerialLink):
        micropython.kbd_intr(3)  # main.py held it off; the REPL's port is free again

    running = [True]

    async def run() -> None:
        try:
            await asyncio.gather(_control_loop(ctl, wdt, uptime, running),
                                 _link_loop(ctl, link, uptime, running))
        except LinkClosed:
            pass
        finally:
            running[0] = False
            hal.all_off()
            sys.stdout.write("opensbs firmware stopped\n")

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        hal.all_off()
    _hand_back_watchdog(cfg)  # not reached when a task crashed: the watchdog resets then

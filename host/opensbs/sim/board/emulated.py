"""An emulated Raspberry Pi Pico: the real MicroPython v1.28.0 RP2040 image running on the
instruction-level emulator ``rp2040js`` (``tools/emulator/pico.mjs`` under Node), its pins
wired to the plant models of the simulated board on one clock: the chip's emulated time.

    with EmulatedPico() as pico:               # fresh chip, empty filesystem
        port = pico.serve_pty()                # USB CDC on a pty, paced to the wall clock
        subprocess.run(["mpremote", "connect", port, "fs", "ls"])

    pico = EmulatedPico(flash_image=path)      # boot a saved flash (program + littlefs)
    pico.write(b"...")                         # bytes into the CDC port
    pico.advance_ms(500)                       # lockstep: chip and plants, emulated time
    pico.run_until(lambda: b">>> " in pico.output, max_ms=5000)
    pico.read()                                # CDC bytes the chip sent since the last read
    pico.edges                                 # [(pin, level, t_ns)] on edge-watched pins
    pico.heater_fall_ns[zone]                  # last falling edge of a heater's PWM pin
    pico.step_counts[pump]                     # net step pulses at the pin (+ = dir high)
    pico.resets                                # [(t_ns, "watchdog"|"force")] chip resets
    pico.busy_ns                               # emulated ns the CPU ran (not in WFI/WFE)
    pico.plant.zones[0].sensor_fault = "open"  # fault injection, as on SimBoard
    pico.save_flash(path); pico.close()

    link = EmulatedLink(pico)                  # the control link in emulated time
    link.request(MsgType.HEATER_SET, {...})    # steps the chip until the reply arrives
    link.frames                                # every frame received, with its arrival ns

Pin wiring (from the board file): each heater's PWM pin is integrated (high time per
quantum = the zone's duty), its thermistor divider drives the ADC channel of its pin; each
pump's step pulses are counted (direction and enable pins read at the quantum end) and
move the syringe; the valve's select pins position the rotary valve, whose ready pin is
driven back; trigger and laser pins record every edge with its emulated time. The plant
advances by each quantum of emulated time (``quantum_us``), so a thermal step runs as fast
as the chip emulates, independent of the wall clock.
"""

import json
import os
import select
import shutil
import struct
import subprocess
import tempfile
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from ...board.firmware import FIRMWARE_DIR
from ...board.schema import load_board
from ...protocol.control import ControlFrame, FrameSplitter, MsgType, encode_frame, reply_type
from .plant import FlowCellParams
from .sim_board import Plant, adc_u16

HARNESS = FIRMWARE_DIR.resolve().parent / "tools" / "emulator" / "pico.mjs"  # source checkout
ADC_FIRST_PIN = 26  # GP26..GP29 are ADC channels 0..3
ADC_BITS = 12
CDC_IN_HIGH_WATER = 4096  # bytes queued in the harness before the pty is read again
CDC_OUT_MAX_BYTES = 1 << 16  # bytes kept for a host that does not read (oldest dropped)


class EmulatorError(RuntimeError):
    """Node or rp2040js is missing, the harness refused a command, or it exited."""


def gpio_number(name: str) -> int:
    """'GP15' -> 15 (the board file's pin names)."""
    if not name.startswith("GP") or not name[2:].isdigit():
        raise EmulatorError(f"pin {name!r} is not a GPIO the emulator can wire")
    return int(name[2:])


class EmulatedPico:
    """The harness process, the plant it is wired to, and the CDC port's host side."""

    def __init__(self, *, board: str | Path = "pico", flash_image: Path | None = None,
                 seed: int = 0, params: FlowCellParams | None = None,
                 quantum_us: int = 1000, node: str | None = None) -> None:
        node = node or shutil.which("node") or ""
        if not node:
            raise EmulatorError("node is not on PATH")
        if not (HARNESS.parent / "node_modules" / "rp2040js").exists():
            raise EmulatorError(f"run `npm ci` in {HARNESS.parent} (scripts/install-test-deps.sh)")
        self.cfg: dict[str, Any] = load_board(board).config
        self.plant = Plant(self.cfg, params or FlowCellParams(), seed)
        self.quantum_ns = quantum_us * 1000
        args = [node, str(HARNESS)]
        if flash_image is not None:
            args += ["--flash", str(flash_image)]
        self._errors = tempfile.TemporaryFile()  # not a pipe: a chatty stderr cannot block
        self._proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=self._errors)
        self._lock = threading.RLock()
        self.now_ns = 0
        self.output = bytearray()  # CDC bytes from the chip not yet taken by read()
        self.edges: list[tuple[int, int, int]] = []
        self.resets: list[tuple[int, str]] = []
        self.step_counts = [0 for _ in self.cfg["pumps"]]
        self.heater_fall_ns = [0 for _ in self.cfg["heaters"]]  # last falling edge per zone
        self.busy_ns = 0  # emulated time the CPU ran instructions (not asleep in WFI/WFE)
        self._cdc_in = bytearray()
        self._queued_in = 0
        self._levels: dict[int, int] = {}
        self._inputs: dict[int, int] = {}
        self._watch()
        self._serve: threading.Thread | None = None
        self._stop = threading.Event()
        self._pty: tuple[int, int] | None = None

    # ---- harness link ------------------------------------------------------------------
    def _command(self, msg: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(msg).encode()
        stdin, stdout = self._proc.stdin, self._proc.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write(struct.pack("<I", len(body)) + body)
            stdin.flush()
            head = stdout.read(4)
            if len(head) < 4:
                raise EmulatorError(f"the emulator exited: {self._stderr()}")
            reply: dict[str, Any] = json.loads(stdout.read(struct.unpack("<I", head)[0]))
        except (BrokenPipeError, ValueError) as exc:
            raise EmulatorError(f"the emulator exited: {self._stderr()}") from exc
        if "error" in reply:
            raise EmulatorError(reply["error"])
        return reply

    def _stderr(self) -> str:
        self._proc.kill()
        self._proc.wait()
        self._errors.seek(0)
        return self._errors.read()[-2000:].decode(errors="replace").strip()

    def _watch(self) -> None:
        pins: dict[int, str] = {}
        for heater in self.cfg["heaters"]:
            pins[gpio_number(heater["pwm_pin"])] = "duty"
        for pump in self.cfg["pumps"]:
            pins[gpio_number(pump["step_pin"])] = "count"
            pins[gpio_number(pump["dir_pin"])] = "edges"
            pins[gpio_number(pump["enable_pin"])] = "edges"
        for valve in self.cfg["valves"]:
            for name in valve["select_pins"]:
                pins[gpio_number(name)] = "edges"
            self._inputs[gpio_number(valve["ready_pin"])] = 1
        for trigger in self.cfg["triggers"]:
            for name in [trigger["pin"], *trigger["laser_pins"]]:
                pins[gpio_number(name)] = "edges"
        self._absorb(self._command({"op": "watch", "pins": {str(p): m for p, m in pins.items()}}),
                     0)

    # ---- emulated time -----------------------------------------------------------------
    def advance_ms(self, ms: float) -> None:
        """Run the chip and the plants for ``ms`` of emulated time."""
        self.run_until_ns(self.now_ns + round(ms * 1e6))

    def run_until_ns(self, until_ns: int) -> None:
        """Run in lockstep quanta up to ``until_ns``."""
        with self._lock:
            while self.now_ns < until_ns:
                target = min(until_ns, self.now_ns + self.quantum_ns)
                msg: dict[str, Any] = {"op": "run", "until_ns": target,
                                       "adc": self._adc_codes(), "inputs": self._inputs}
                if self._cdc_in:
                    msg["cdc_in"] = self._cdc_in.hex()
                    self._cdc_in.clear()
                start = self.now_ns
                reply = self._command(msg)
                self._absorb(reply, reply["now_ns"] - start)

    def run_until(self, condition: Callable[[], bool], max_ms: float) -> bool:
        """Advance until ``condition()`` holds (checked after each quantum), at most
        ``max_ms`` of emulated time; whether it held."""
        end = self.now_ns + round(max_ms * 1e6)
        while not condition():
            if self.now_ns >= end:
                return False
            self.run_until_ns(min(end, self.now_ns + self.quantum_ns))
        return True

    def _absorb(self, reply: dict[str, Any], dt_ns: int) -> None:
        self.now_ns = reply["now_ns"]
        self._queued_in = reply["cdc_in_queued"]
        self.busy_ns += reply["busy_ns"]
        self.output += bytes.fromhex(reply["cdc_out"])
        del self.output[:-CDC_OUT_MAX_BYTES]
        self.edges += [(pin, level, t) for pin, level, t in reply["edges"]]
        self.resets += [(t, why) for t, why in reply["resets"]]
        self._levels = {int(p): v for p, v in reply["levels"].items()}
        if dt_ns > 0:
            self._advance_plant(reply, dt_ns)

    def _advance_plant(self, reply: dict[str, Any], dt_ns: int) -> None:
        dt_s = dt_ns / 1e9
        for i, (heater, zone) in enumerate(zip(self.cfg["heaters"], self.plant.zones,
                                               strict=True)):
            pin = str(gpio_number(heater["pwm_pin"]))
            zone.duty = reply["high_ns"].get(pin, 0) / dt_ns
            self.heater_fall_ns[i] = reply["last_fall_ns"].get(pin, self.heater_fall_ns[i])
            zone.advance(dt_s)
        for i, (pump, syringe) in enumerate(zip(self.cfg["pumps"], self.plant.syringes,
                                                strict=True)):
            steps = reply["rising"].get(str(gpio_number(pump["step_pin"])), 0)
            enabled = self._levels[gpio_number(pump["enable_pin"])] == 0  # active low
            sign = 1 if self._levels[gpio_number(pump["dir_pin"])] else -1
            self.step_counts[i] += sign * steps if enabled else 0
            nl = sign * steps * 1000.0 / pump["steps_per_ul"] if enabled else 0.0
            syringe.rate_nl_per_s = nl / dt_s
            syringe.advance(dt_s)
        for valve_cfg, valve in zip(self.cfg["valves"], self.plant.valves, strict=True):
            port = sum(self._levels[gpio_number(name)] << bit
                       for bit, name in enumerate(valve_cfg["select_pins"]))
            if port != valve.target:
                valve.select(port)
            valve.advance(dt_s)
            self._inputs[gpio_number(valve_cfg["ready_pin"])] = int(valve.ready)

    def _adc_codes(self) -> dict[str, int]:
        codes = {}
        for heater, zone in zip(self.cfg["heaters"], self.plant.zones, strict=True):
            channel = gpio_number(heater["adc_pin"]) - ADC_FIRST_PIN
            if zone.sensor_fault == "open":
                code = (1 << ADC_BITS) - 1
            elif zone.sensor_fault == "short":
                code = 0
            else:
                code = adc_u16(zone.measured_c(), heater["thermistor"], ADC_BITS) >> 4
            codes[str(channel)] = code
        return codes

    # ---- pins and the CDC port ---------------------------------------------------------
    def level(self, pin: str) -> int:
        """The level a watched pin ('GP2') drives at the current emulated time."""
        return self._levels[gpio_number(pin)]

    def write(self, data: bytes) -> None:
        """Bytes for the chip's CDC port (delivered as the chip reads them)."""
        with self._lock:
            self._cdc_in += data

    def read(self) -> bytes:
        """CDC bytes the chip sent since the last read."""
        with self._lock:
            data = bytes(self.output)
            self.output.clear()
            return data

    def save_flash(self, path: Path) -> None:
        """Write the 2 MiB flash (MicroPython + littlefs) for a later ``flash_image=``."""
        with self._lock:
            self._command({"op": "save_flash", "path": str(path)})

    # ---- a pty paced to the wall clock -------------------------------------------------
    def serve_pty(self) -> str:
        """Bridge the CDC port to a new pseudo-terminal and run the chip in a background
        thread, emulated time never ahead of the wall clock (host tools time out on the
        wall clock); returns the pty's path."""
        if self._serve is not None:
            raise EmulatorError("already serving a pty")
        master, slave = os.openpty()
        tty.setraw(slave)
        self._pty = (master, slave)
        self._stop.clear()
        self._serve = threading.Thread(target=self._serve_loop, args=(master,), daemon=True,
                                       name="emulated-pico-pty")
        self._serve.start()
        return os.ttyname(slave)

    def stop_pty(self) -> None:
        """Stop the background thread (the chip pauses) and close the pty."""
        if self._serve is None:
            return
        self._stop.set()
        self._serve.join()
        self._serve = None
        assert self._pty is not None
        for fd in self._pty:
            os.close(fd)
        self._pty = None

    def _serve_loop(self, master: int) -> None:
        os.set_blocking(master, False)
        wall0, emu0 = time.monotonic(), self.now_ns
        pending_out = b""
        while not self._stop.is_set():
            if self._queued_in + len(self._cdc_in) < CDC_IN_HIGH_WATER:
                try:
                    self.write(os.read(master, 4096))
                except BlockingIOError:
                    pass
            allowed = emu0 + round((time.monotonic() - wall0) * 1e9)
            if allowed - self.now_ns > 4 * self.quantum_ns:  # slower than real time: no catch-up
                wall0, emu0 = time.monotonic(), self.now_ns
                allowed = self.now_ns + self.quantum_ns
            if allowed > self.now_ns:
                self.run_until_ns(min(allowed, self.now_ns + self.quantum_ns))
            else:
                select.select([master], [], [], (self.now_ns - allowed) / 1e9)
            pending_out = (pending_out + self.read())[-CDC_OUT_MAX_BYTES:]
            if pending_out:
                try:
                    pending_out = pending_out[os.write(master, pending_out):]
                except BlockingIOError:
                    pass

    # ---- lifetime ----------------------------------------------------------------------
    def close(self) -> None:
        self.stop_pty()
        if self._proc.poll() is None:
            try:
                assert self._proc.stdin is not None
                body = json.dumps({"op": "quit"}).encode()
                self._proc.stdin.write(struct.pack("<I", len(body)) + body)
                self._proc.stdin.close()
                self._proc.wait(timeout=10)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait()
        self._errors.close()

    def __enter__(self) -> "EmulatedPico":
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class EmulatedLink:
    """The control link over the emulated CDC port, driven in emulated time: each request
    steps the chip (and plants) until its reply arrives; a HEARTBEAT goes out every
    ``heartbeat_ms`` of emulated time while stepping. Deterministic: no wall clock."""

    def __init__(self, pico: EmulatedPico, heartbeat_ms: int | None = 1000) -> None:
        self.pico = pico
        self.heartbeat_ns = heartbeat_ms * 1_000_000 if heartbeat_ms else None
        self.frames: list[tuple[int, ControlFrame]] = []  # (arrival ns, frame)
        self._splitter = FrameSplitter()
        self._seq = 0
        self._next_beat_ns = pico.now_ns

    def _send(self, msg_type: MsgType, fields: dict[str, Any] | None) -> int:
        self._seq = (self._seq + 1) & 0xFF
        self.pico.write(encode_frame(msg_type, fields or {}, self._seq, 0))
        return self._seq

    def _collect(self) -> None:
        for item in self._splitter.feed(self.pico.read(), now_s=0.0):
            if isinstance(item, ControlFrame):
                self.frames.append((self.pico.now_ns, item))

    def advance_ms(self, ms: float) -> None:
        """Run for ``ms`` of emulated time, heartbeats going out, frames collected."""
        self.wait_for(lambda: False, ms)

    def wait_for(self, condition: Callable[[], bool], max_ms: float) -> bool:
        """Step until ``condition()`` holds (frames collected first); whether it held."""
        end = self.pico.now_ns + round(max_ms * 1e6)
        while True:
            self._collect()
            if condition():
                return True
            if self.pico.now_ns >= end:
                return False
            if self.heartbeat_ns and self.pico.now_ns >= self._next_beat_ns:
                self._send(MsgType.HEARTBEAT, {"host_time_ms": self.pico.now_ns // 1_000_000})
                self._next_beat_ns = self.pico.now_ns + self.heartbeat_ns
            self.pico.run_until_ns(min(end, self.pico.now_ns + self.pico.quantum_ns))

    def request(self, msg_type: MsgType, fields: dict[str, Any] | None = None,
                max_ms: float = 2000) -> ControlFrame:
        """Send one request and step until its reply (EmulatorError on NAK or silence)."""
        seq = self._send(msg_type, fields)
        want = {reply_type(msg_type), MsgType.NAK}
        start = len(self.frames)

        def answered() -> bool:
            return any(f.msg_type in want and f.ack == seq for _, f in self.frames[start:])

        if not self.wait_for(answered, max_ms):
            raise EmulatorError(f"no reply to {msg_type.name} within {max_ms} emulated ms")
        reply = next(f for _, f in self.frames[start:] if f.msg_type in want and f.ack == seq)
        if reply.msg_type == MsgType.NAK:
            raise EmulatorError(f"{msg_type.name} refused: {reply.fields}")
        return reply

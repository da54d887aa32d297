"""Reliability soak: simulated runs under injected faults, then resume, scored per fault class.

Classes: link faults on both links and both directions (drop, corrupt, duplicate, delay,
truncate, disconnect; `opensbs run --sim --faults`), a full disk at a random write site and
moment (ENOSPC from every run-folder write until space is freed), and kill -9 / SIGTERM of an
`opensbs run` process at a random moment. Every stopped run is resumed (with fresh faults, at
most `--resumes` times, then without) until it finishes. Each run uses the small test recipe
(1 tile of 128 x 128 px, 6 cycles) and is compared with the fault-free run of the same seed.

An image-link decoder soak sends `--decoder-frames` small frames of the capture-path model,
half of them dropped, corrupted, duplicated or truncated, through the receiver's parser and
sequence tracker (no lost frame without a gap report, no damaged frame delivered).

Per class: runs; faults injected; reported (link_fault records, and stops for disk and
signals); recovered (injected in runs that finished); lost unreported (damaging link faults,
i.e. drop/corrupt/truncate/disconnect, in excess of the link_fault records of that link and
process; must be 0); heater left on after a stop (the virtual board's heater still enabled once
its own 3 s heartbeat timeout had time to act after the run ended, where the board outlives
the run: a stop that could not reach the board relies on it; must be 0); unresumable runs
(must be 0); runs whose FASTQ/BCL differ from the fault-free run without the run log saying
why (a re-exposure or lost telemetry, which change the instrument's timeline; must be 0).

    .venv/bin/python benchmarks/reliability.py [--runs 2] [--seed 0] [--resumes 3]

Prints a table and, as the LAST line, one JSON object with those figures per class, totals and
`faults_injected`. About 3-6 minutes on two loaded cores with the defaults.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from opensbs.run import RunRequest, start_run
from opensbs.runfolder import Journal, atomic, read_run_log
from opensbs.sim.instrument import VirtualInstrument

RECIPE = Path(__file__).resolve().parents[1] / "tests" / "run" / "micro_recipe.toml"
LINK_RATES = {"drop": 0.03, "corrupt": 0.03, "duplicate": 0.03, "delay": 0.05,
              "truncate": 0.02, "disconnect": 0.003}
DAMAGING = ("drop", "corrupt", "truncate", "disconnect")
TIMELINE_FAULTS = ("retake", "telemetry_lost")  # re-exposure / lost state: data may differ
DISK_SITES = ("run_log.jsonl", "journal.jsonl", ".bcl", ".npz", ".bin", ".fastq.gz",
              "summary.json", "report.html")
HEARTBEAT_TIMEOUT_MS = 3000  # boards/pico.json: the firmware's dead-man timeout
KEYS = ("runs", "injected", "reported", "recovered", "lost_unreported", "heater_left_on",
        "unresumable", "fastq_differs_unexplained")


def calls_bytes(root: Path) -> dict[str, bytes]:
    files = sorted(root.glob("Data/Intensities/BaseCalls/L001/C*.1/*.bcl"))
    files += sorted(root.glob("Fastq/*.fastq.gz"))
    return {str(p.relative_to(root)): p.read_bytes() for p in files}


class Instruments:
    """Keeps every VirtualInstrument the runs make (to look at the board after a stop)."""

    def __init__(self) -> None:
        self.made: list[VirtualInstrument] = []
        original = VirtualInstrument.from_recipe.__func__  # type: ignore[attr-defined]

        def capture(cls: type, *args: Any, **kwargs: Any) -> VirtualInstrument:
            self.made.append(original(cls, *args, **kwargs))
            return self.made[-1]

        VirtualInstrument.from_recipe = classmethod(capture)  # type: ignore[method-assign]

    def heaters_on(self) -> int:
        """Virtual boards whose heater is still enabled once the board's own heartbeat
        timeout had time to act (time goes on after a run; the lockstep clock stopped with the
        host). Each board is checked once."""
        for instrument in self.made:
            instrument.board.advance_ms(HEARTBEAT_TIMEOUT_MS + 1000)
        on = sum(any(z.enabled for z in i.board.controller.heaters) for i in self.made)
        self.made.clear()
        return on


class FullDisk:
    """ENOSPC from every run-folder write once `site` has had `after` writes, until freed."""

    def __init__(self, root: Path, site: str, after: int) -> None:
        self.root, self.site, self.after = str(root), site, after
        self.full, self.failed, self._writes = False, 0, 0
        self._write = atomic.write_fully

    def __call__(self, fd: int, data: Any, path: Path) -> None:
        name = str(path)
        if name.startswith(self.root):
            if self.site in name and not self.failed:
                self._writes += 1
                self.full = self._writes > self.after
            if self.full:
                self.failed += 1
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), name)
        self._write(fd, data, path)


def _attempt(request: RunRequest, instruments: Instruments, tally: Counter[str]) -> bool:
    """One start_run; True if the run finished. Counts heaters left on, untyped errors."""
    from opensbs.run import RunStopped

    try:
        start_run(request)
        finished = True
    except RunStopped:
        finished = False
    except Exception as exc:  # noqa: BLE001 - a stop that was not a RunStopped
        tally["untyped_stops"] += not isinstance(exc, (OSError, RuntimeError, ValueError))
        print(f"{request.out or request.resume}: {type(exc).__name__}: {exc}", file=sys.stderr)
        finished = False
    tally["heater_left_on"] += instruments.heaters_on()
    return finished


def _score(out: Path, reference: dict[str, bytes], finished: bool, tally: Counter[str],
           link_faults: bool = True) -> None:
    """Add what the run log and the run folder say about one run to `tally`."""
    log = read_run_log(out / "run_log.jsonl")
    recorded = [r for r in log if r.get("kind") == "link_fault"]
    tally["reported"] += sum(int(r.get("count") or 1) for r in recorded)
    if link_faults:  # a stop also reports the link failure that caused it
        tally["reported"] += sum(r.get("kind") == "stop" for r in log)
    # per process (split at the faults_injected records) and link: damaging faults the
    # process injected beyond what it recorded for that link
    # a stop names the link failure that caused it (a vanished device, no reply)
    segments, seen = [], 0
    for r in log:
        if r.get("kind") == "link_fault":
            seen += int(r.get("count") or 1)
        elif r.get("kind") == "stop":
            seen += 1
        elif r.get("kind") == "faults_injected":
            segments.append((r, seen))
            seen = 0
    for injected, seen in segments:
        damaging = sum(n for link in ("control", "camera")
                       for k, n in injected.get(link, {}).items() if k.split(".")[1] in DAMAGING)
        tally["lost_unreported"] += max(0, damaging - seen)
    tally["unresumable"] += not finished
    if finished:
        same = calls_bytes(out) == reference
        explained = any(r.get("fault") in TIMELINE_FAULTS for r in recorded)
        tally["fastq_differs_unexplained"] += not same and not explained
        tally["differs_explained"] += not same and explained


def _injected_total(out: Path) -> int:
    return sum(n for r in read_run_log(out / "run_log.jsonl") if r.get("kind") ==
               "faults_injected" for link in ("control", "camera") for n in r[link].values())


def link_run(kind: str, seed: int, out: Path, reference: dict[str, bytes], resumes: int,
             instruments: Instruments, tally: Counter[str]) -> None:
    rate = LINK_RATES[kind]
    spec = f"both.in.{kind}={rate},both.out.{kind}={rate},seed={{}}"
    finished = _attempt(RunRequest(sim=True, recipe=RECIPE, out=out, seed=5,
                                   faults=spec.format(seed)), instruments, tally)
    attempt = 0
    while not finished and attempt <= resumes and Journal(out / "journal.jsonl").path.exists():
        attempt += 1
        faults = spec.format(seed * 100 + attempt) if attempt < resumes else None
        finished = _attempt(RunRequest(resume=out, faults=faults), instruments, tally)
    tally["injected"] += _injected_total(out)
    tally["recovered"] += _injected_total(out) if finished else 0
    _score(out, reference, finished, tally)


def disk_run(rng: random.Random, out: Path, reference: dict[str, bytes],
             instruments: Instruments, tally: Counter[str]) -> None:
    site = rng.choice(DISK_SITES)
    after = rng.randrange({"run_log.jsonl": 300, "journal.jsonl": 6, ".bcl": 6,
                           ".npz": 6}.get(site, 1))
    disk = FullDisk(out, site, after)
    atomic.write_fully = disk  # type: ignore[assignment]
    try:
        finished = _attempt(RunRequest(sim=True, recipe=RECIPE, out=out, seed=5), instruments,
                            tally)
    finally:
        atomic.write_fully = disk._write  # space freed
    tally["injected"] += 1
    tally["reported"] += not finished  # a typed stop says "disk full"
    if not finished:
        finished = _attempt(RunRequest(resume=out), instruments, tally)
    tally["recovered"] += finished
    _score(out, reference, finished, tally, link_faults=False)


def signal_run(signum: int, rng: random.Random, out: Path, reference: dict[str, bytes],
               instruments: Instruments, tally: Counter[str]) -> None:
    cmd = [sys.executable, "-c", "from opensbs.cli import main; main()", "run", "--sim",
           "--recipe", str(RECIPE), "--out", str(out), "--seed", "5", "--no-live"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    journal = Journal(out / "journal.jsonl")
    while not journal.path.exists() and proc.poll() is None:
        time.sleep(0.01)
    time.sleep(rng.uniform(0.0, 1.5))  # a random moment of the run
    proc.send_signal(signum)
    output, _ = proc.communicate(timeout=120)
    tally["injected"] += 1
    finished_already = journal.read().finished  # the signal came after the run's end
    log = read_run_log(out / "run_log.jsonl")
    if signum == signal.SIGTERM:
        stops = [i for i, r in enumerate(log) if r.get("kind") == "stop"]
        last = stops[-1] if stops and not finished_already else 0
        stop_commands = [r.get("acked") for r in log[last:] if r.get("kind") == "command"
                         and r.get("name") in ("heater_off", "pump_stop")]
        tally["heater_left_on"] += stop_commands[-2:] != [True, True]
        tally["reported"] += finished_already or (bool(stops)
                                                  and proc.returncode == 128 + signum)
        tally["untyped_stops"] += "Traceback" in output
    else:
        tally["reported"] += 1  # the journal shows the run unfinished; the board's timeout
    finished = finished_already or _attempt(RunRequest(resume=out), instruments, tally)
    tally["recovered"] += finished
    _score(out, reference, finished, tally, link_faults=False)


def decoder_soak(frames: int, rng: random.Random, tally: Counter[str]) -> None:
    """`frames` small frames from the capture-path model through the image-link receiver's
    parser and sequence tracker, half of them dropped, corrupted, duplicated or truncated.
    Every lost frame must be reported (a sequence gap), no damaged one delivered."""
    from opensbs.protocol.errors import ProtocolError
    from opensbs.protocol.image import (
        ControlBits,
        ImageFrame,
        Register,
        RegisterOp,
        encode_register_command,
    )
    from opensbs.sim.capture import CaptureModel
    from opensbs.usb.image_receiver import ImageStreamParser, LinkEventKind, SequenceTracker

    model = CaptureModel(bits_per_pixel=12, sensor_width=16, sensor_height=4)
    model.handle_register_command(encode_register_command(
        RegisterOp.WRITE, 1, Register.CONTROL, int(ControlBits.ENABLE)))
    pixels = np.random.default_rng(rng.randrange(2**32)).integers(0, 4096, (frames, 4, 16),
                                                                   dtype=np.uint16)
    chunks, kinds = [], ("drop", "corrupt", "duplicate", "truncate")
    for i in range(frames):
        model.trigger(i + 1)
        data = model.capture(pixels[i])
        assert data is not None
        draw = rng.random()
        if i == frames - 1 or draw >= 0.5:  # the last frame intact: it reveals a final gap
            chunks.append(data)
            continue
        kind = kinds[int(draw / 0.125)]
        tally["injected"] += 1
        if kind == "corrupt":
            damaged = bytearray(data)
            damaged[rng.randrange(len(damaged))] ^= rng.randrange(1, 256)
            chunks.append(bytes(damaged))
        elif kind == "duplicate":
            chunks += [data, data]
            tally["recovered"] += 1  # the copy is rejected, the frame goes through
        elif kind == "truncate":
            chunks.append(data[: rng.randrange(len(data))])
    stream = b"".join(chunks)
    parser, tracker, delivered = ImageStreamParser(), SequenceTracker(), set()
    for start in range(0, len(stream), 1 << 16):
        for item in parser.feed(stream[start:start + (1 << 16)]):
            if isinstance(item, ProtocolError):
                continue
            if not isinstance(item, ImageFrame):
                continue
            event = tracker.check(item.header.sequence)
            if event is not None and event.kind is LinkEventKind.OUT_OF_ORDER:
                tally["reported"] += 1
                continue
            if event is not None and event.kind is LinkEventKind.GAP:
                tally["reported"] += event.count
                tally["gap_frames"] += event.count
            sequence = item.header.sequence
            delivered.add(sequence)
            tally["lost_unreported"] += not np.array_equal(
                np.asarray(item.pixels).reshape(4, 16), pixels[sequence])  # damage let through
    tally["lost_unreported"] += max(0, frames - len(delivered) - tally["gap_frames"])
    del tally["gap_frames"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="runs per fault class")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resumes", type=int, default=3)
    parser.add_argument("--decoder-frames", type=int, default=200_000,
                        help="frames of the image-link decoder soak (half of them damaged)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    instruments = Instruments()
    classes: dict[str, Counter[str]] = {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        ref = Path(tmp) / "reference"
        start_run(RunRequest(sim=True, recipe=RECIPE, out=ref, seed=5))
        reference = calls_bytes(ref)
        instruments.heaters_on()
        for run in range(args.runs):
            for kind in LINK_RATES:
                tally = classes.setdefault(kind, Counter())
                tally["runs"] += 1
                link_run(kind, args.seed * 1000 + run, Path(tmp) / f"{kind}-{run}", reference,
                         args.resumes, instruments, tally)
            for name, runner in (
                    ("disk_full", lambda o, t: disk_run(rng, o, reference, instruments, t)),
                    ("sigterm", lambda o, t: signal_run(signal.SIGTERM, rng, o, reference,
                                                        instruments, t)),
                    ("kill_9", lambda o, t: signal_run(signal.SIGKILL, rng, o, reference,
                                                       instruments, t))):
                tally = classes.setdefault(name, Counter())
                tally["runs"] += 1
                runner(Path(tmp) / f"{name}-{run}", tally)
        tally = classes.setdefault("image_decoder", Counter())
        tally["runs"] += 1
        decoder_soak(args.decoder_frames, rng, tally)
    columns = (*KEYS, "differs_explained", "untyped_stops")
    short = ("runs", "injected", "reported", "recovered", "unreported", "heater_on",
             "unresumable", "differs?", "differs_why", "untyped")
    print(f"{'class':<14}" + "".join(f"{c:>12}" for c in short))
    for name, tally in classes.items():
        print(f"{name:<14}" + "".join(f"{tally[c]:>12}" for c in columns))
    totals = Counter[str]()
    for tally in classes.values():
        totals.update(tally)
    print(f"{'total':<14}" + "".join(f"{totals[c]:>12}" for c in columns))
    print("unreported = lost unreported; heater_on = heater left on after a stop; differs? = "
          "FASTQ differs from the fault-free run unexplained; differs_why = differs, explained")
    print(f"wall time {time.monotonic() - started:.0f} s")
    result = {key: totals[key] for key in columns}
    result["faults_injected"] = totals["injected"]
    result["classes"] = {name: {key: tally[key] for key in columns}
                         for name, tally in classes.items()}
    print(json.dumps(result))


if __name__ == "__main__":
    main()

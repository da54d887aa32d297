"""Link faults during a run: each is recorded (run log, summary.json), a lost or damaged frame is
re-exposed and the run goes on, control-link faults that lose no instrument state leave the
data byte-identical; `--faults` exposes the virtual links' fault injection."""

import errno
import os

import pytest
from conftest import MICRO, calls_bytes
from opensbs.cli import app
from opensbs.recipe import ThermalStep
from opensbs.run import BoardDriver, LockstepPacer, RunRequest, start_run
from opensbs.runfolder import read_run_log
from opensbs.sim.board import SimBoard, SimBoardDevice
from opensbs.sim.usb.backend import VirtualUsbBus
from opensbs.sim.usb.faults import FaultKind, FaultSpecError, parse_fault_spec
from opensbs.usb.discovery import open_controller
from typer.testing import CliRunner


def test_fault_spec_builds_one_injector_per_link():
    faults = parse_fault_spec("control.in.drop=0.1,both.out.corrupt=0.05,seed=3,delay_s=0.001")
    control, camera = faults["control"], faults["camera"]
    assert (control.in_.drop, control.out.corrupt, camera.out.corrupt) == (0.1, 0.05, 0.05)
    assert camera.in_.drop == 0.0 and control.delay_s == 0.001
    assert control.seed != camera.seed  # independent draws per link


@pytest.mark.parametrize("spec, message", [
    ("control.in.melt=0.1", "expected LINK.DIR.KIND=RATE"),
    ("control.in.drop", "expected KEY=VALUE"),
    ("camera.in.drop=x", "'x' is not a number"),
    ("camera.in.drop=-1", "must be a finite number >= 0"),
    ("camera.in.drop=0.7,camera.in.corrupt=0.7", "camera: fault rates must be >= 0 and sum"),
])
def test_bad_fault_specs_are_typed_errors(spec, message):
    with pytest.raises(FaultSpecError, match=message):
        parse_fault_spec(spec)
    result = CliRunner().invoke(app, ["run", "--sim", "--no-live", "--faults", spec])
    assert result.exit_code == 2 and message in " ".join(result.output.split())


def _recorded(root) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for r in read_run_log(root / "run_log.jsonl"):
        if r["kind"] == "link_fault":
            key = (r["link"], r["fault"])
            counts[key] = counts.get(key, 0) + int(r.get("count") or 1)
    return counts


def test_damaged_frames_are_reexposed_recorded_and_the_run_goes_on(tmp_path):
    out = tmp_path / "run"
    outcome = start_run(RunRequest(sim=True, recipe=MICRO, out=out, seed=5,
                                   faults="camera.in.corrupt=0.05,seed=2"))
    injected = outcome.summary["link_faults"]["injected"]["camera"]["in.corrupt"]
    recorded = _recorded(out)
    assert injected > 0
    assert recorded[("image", "damaged")] >= injected  # every damaged transfer was seen
    assert recorded[("image", "retake")] == recorded[("image", "frame_lost")] > 0
    summary_counts = outcome.summary["link_faults"]["recorded"]["image"]
    assert summary_counts == {fault: n for (link, fault), n in recorded.items()
                              if link == "image"}
    retakes = [r for r in read_run_log(out / "run_log.jsonl") if r.get("fault") == "retake"]
    assert all(r["detail"].startswith("cycle ") for r in retakes)  # says which cycle
    assert outcome.summary["clusters"] > 0
    assert "<td>image</td><td>retake</td>" in (out / "report.html").read_text()


def test_control_link_faults_are_recorded_and_leave_the_data_identical(tmp_path,
                                                                       micro_reference):
    out = tmp_path / "run"
    outcome = start_run(RunRequest(sim=True, recipe=MICRO, out=out, seed=5,
                                   faults="control.out.drop=0.05,control.in.duplicate=0.05,"
                                          "seed=6"))
    injector = outcome.summary["link_faults"]["injected"]["control"]
    recorded = outcome.summary["link_faults"]["recorded"]["control"]
    assert injector["out.drop"] > 0 and injector["in.duplicate"] > 0
    assert recorded["retransmissions"] >= injector["out.drop"]  # each lost request resent
    assert calls_bytes(out) == calls_bytes(micro_reference)


def test_a_failing_telemetry_callback_does_not_kill_the_control_link():
    board = SimBoard("pico", seed=0)
    bus = VirtualUsbBus()
    bus.attach(SimBoardDevice(board, serial_number="T-0"))
    disk_full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "run_log.jsonl")

    def on_event(kind, **fields):
        if kind == "telemetry":
            raise disk_full

    driver = BoardDriver(open_controller(backend=bus.backend), on_event, LockstepPacer(board))
    driver.connect()
    try:
        driver.client.heater_set(0, 60_000)
        with pytest.raises(OSError) as info:
            driver.thermal(ThermalStep(step="thermal", setpoint_mc=60_000, hold_ms=0))
        assert info.value is disk_full
        assert driver.safe_stop() == [("heater_off", None), ("pump_stop", None)]  # link alive
        assert not board.controller.heaters[0].enabled
    finally:
        driver.close()


def test_injected_counts_are_per_direction_and_kind():
    faults = parse_fault_spec("camera.in.drop=1.0")
    assert faults["camera"].draw("in") is FaultKind.DROP
    assert faults["camera"].draw("out") is None

"""The simulated camera: frames only on triggers, through the capture-path model, over pyusb."""

import numpy as np
import pytest
import usb.core
from opensbs.protocol.image import (
    ControlBits,
    FrameFlags,
    Register,
    RegisterOp,
    RegisterStatus,
    decode_image_frame,
    decode_register_reply,
    encode_register_command,
)
from opensbs.sim import SimConfig, SimConfigError
from opensbs.sim.camera import SimulatedCamera
from opensbs.sim.coupling import ChemistryObserver, IncorporationSpec
from opensbs.sim.flowcell import FlowCell
from opensbs.sim.usb.backend import VirtualUsbBus
from opensbs.usb.ids import CAMERA_BRIDGE_PID, OPENSBS_VID

CONFIG = SimConfig(seed=4, tile_width_px=64, tile_height_px=48, read_length=6,
                   density_per_mm2=300_000)


def write(camera: SimulatedCamera, register: Register, value: int, tag: int = 1) -> None:
    camera.handle_out(0x01, encode_register_command(RegisterOp.WRITE, tag, register, value))
    reply = decode_register_reply(camera.next_in(0x81, 16, 0.1))
    assert reply.status == RegisterStatus.OK and reply.value == value


def read_all(camera: SimulatedCamera) -> bytes:
    data = bytearray()
    while chunk := camera.next_in(0x81, 1 << 20, 0.0):
        data += chunk
    return bytes(data)


def test_frames_only_on_triggers_with_the_flow_cell_image_of_the_selected_channel():
    flowcell = FlowCell(CONFIG, [1101, 1102])
    camera = SimulatedCamera(flowcell)
    write(camera, Register.CONTROL, ControlBits.ENABLE)
    assert camera.next_in(0x81, 1 << 20, 0.05) == b""  # enabled, but no trigger: nothing
    frames = []
    for tile in (1101, 1102):
        for channel in range(4):
            write(camera, Register.CHANNEL, channel)
            assert read_all(camera) == b""
            camera.expose(timestamp_us=1000 * (len(frames) + 1))
            frames.append(decode_image_frame(read_all(camera)))
            assert camera.exposures[-1].tile == tile and camera.exposures[-1].cycle == 1
    assert flowcell.cycle == 1
    for index, frame in enumerate(frames):
        tile, channel = (1101, 1102)[index // 4], index % 4
        assert frame.header.channel == channel
        assert frame.header.trigger_id == index + 1
        assert frame.header.timestamp_us == 1000 * (index + 1)
        assert frame.header.sequence == index
        assert FrameFlags(frame.header.flags) == FrameFlags(0)
        np.testing.assert_array_equal(frame.pixels, flowcell.image(tile, channel))
    # the next exposure of tile 1101 channel 0 starts cycle 2 (no observer: the scan wrapped)
    write(camera, Register.CHANNEL, 0)
    camera.expose(timestamp_us=99_000)
    assert flowcell.cycle == 2 and camera.exposures[-1].tile == 1101
    frame = decode_image_frame(read_all(camera))
    np.testing.assert_array_equal(frame.pixels, flowcell.image(1101, 0))
    assert not np.array_equal(frame.pixels, frames[0].pixels)


def test_disabled_capture_sends_nothing_and_bad_register_commands_are_answered_or_dropped():
    camera = SimulatedCamera(FlowCell(CONFIG, [1101]))
    exposure = camera.expose(timestamp_us=5)
    assert not exposure.frame_sent and camera.pending_bytes == 0
    camera.handle_out(0x01, encode_register_command(RegisterOp.WRITE, 7, Register.FRAME_COUNT,
                                                    3))
    reply = decode_register_reply(camera.next_in(0x81, 64, 0.1))
    assert reply.status == RegisterStatus.READ_ONLY and reply.tag == 7
    camera.handle_out(0x01, b"JUNK" * 4)  # not a register command: the RTL drops it
    assert camera.next_in(0x81, 64, 0.05) == b""
    write(camera, Register.CONTROL, ControlBits.ENABLE)
    write(camera, Register.CHANNEL, 9)  # a channel the optics do not have: dark frame
    camera.expose(timestamp_us=6)
    frame = decode_image_frame(read_all(camera))
    assert frame.header.channel == 9 and np.all(frame.pixels == CONFIG.offset_adu)
    camera.on_reset()
    assert camera.capture.read_register(Register.CONTROL) == 0


def test_camera_needs_a_capture_path_bit_depth():
    with pytest.raises(SimConfigError, match="10- or 12-bit"):
        SimulatedCamera(FlowCell(CONFIG.replace(adc_bits=14), [1]))


def test_camera_over_pyusb_streams_frames_spanning_reads():
    flowcell = FlowCell(CONFIG, [1101])
    camera = SimulatedCamera(flowcell)
    bus = VirtualUsbBus()
    bus.attach(camera)
    device = usb.core.find(backend=bus.backend, idVendor=OPENSBS_VID, idProduct=CAMERA_BRIDGE_PID)
    assert device is not None
    device.write(0x01, encode_register_command(RegisterOp.WRITE, 1, Register.CONTROL,
                                               ControlBits.ENABLE))
    assert decode_register_reply(bytes(device.read(0x81, 16, 100))).status == RegisterStatus.OK
    with pytest.raises(usb.core.USBTimeoutError):
        device.read(0x81, 4096, 50)  # no trigger, no frame
    camera.expose(timestamp_us=42)
    received = bytearray()
    while len(received) < 36 + 64 * 48 * 2 + 4:
        received += bytes(device.read(0x81, 1000, 100))  # a frame spans several reads
    frame = decode_image_frame(bytes(received))
    np.testing.assert_array_equal(frame.pixels, flowcell.image(1101, 0))


def test_observer_turns_plant_samples_into_cycle_conditions():
    observer = ChemistryObserver(IncorporationSpec(port=1, volume_nl=1000.0, setpoint_c=60.0,
                                                   window_s=5.0))
    assert observer.take_cycle_conditions() is None  # nothing flowed: same cycle

    def run_cycle(mix_nl: float, hold_c: float) -> None:
        t = observer_time[0]
        observer.sample(t, 1, 0.0, 25.0)
        observer.sample(t + 1, 1, mix_nl, 25.0)  # incorporation mix drawn through
        for second in range(2, 30):  # heat-up then hold
            observer.sample(t + second, 1, mix_nl, min(hold_c, 25.0 + 5 * second))
        observer.sample(t + 30, 2, mix_nl + 500.0, hold_c)  # scan buffer displaces the mix
        observer.sample(t + 31, 2, 0.0, 25.0)  # syringe emptied to waste
        observer_time[0] = t + 40

    observer_time = [0.0]
    run_cycle(1000.0, 60.0)
    good = observer.take_cycle_conditions()
    assert good is not None and good.reagent_fraction == 1.0
    assert good.temperature_error_c == pytest.approx(0.0)
    assert observer.take_cycle_conditions() is None
    run_cycle(250.0, 52.0)  # a quarter of the mix, heater 8 C short
    bad = observer.take_cycle_conditions()
    assert bad is not None and bad.reagent_fraction == 0.25
    assert bad.temperature_error_c == pytest.approx(-8.0)
    assert bad.rates(0.001, 0.001)[0] > 0.7

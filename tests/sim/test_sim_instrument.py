"""The virtual instrument end to end over pyusb: board steps act on the chemistry in the data."""

import queue

import numpy as np
import pytest
from opensbs.protocol.image import ControlBits, Register
from opensbs.sim import CycleConditions, SimConfig, TileSimulator
from opensbs.sim.instrument import VirtualInstrument
from opensbs.usb.discovery import open_camera, open_controller

CONFIG = SimConfig(seed=21, tile_width_px=64, tile_height_px=48, read_length=3,
                   density_per_mm2=200_000, phasing=0.001, prephasing=0.001)
MIX_PORT, SCAN_BUFFER_PORT = 1, 2


@pytest.fixture()
def rig():
    instrument = VirtualInstrument(CONFIG, [1101])
    client = open_controller(backend=instrument.backend)
    receiver = open_camera(backend=instrument.backend)
    receiver.start()
    receiver.write_register(Register.CONTROL, ControlBits.ENABLE)
    yield instrument, client, receiver
    receiver.stop()
    client.close()


def run_for(instrument, client, ms: int) -> None:
    """Advance virtual time with host heartbeats, as the run controller's heartbeat does."""
    for _ in range(0, ms, 1000):
        client.heartbeat()
        instrument.advance_ms(1000)


def flow(instrument, client, port: int, volume_nl: int) -> None:
    """Draw a reagent through the flow cell, then empty the syringe to the waste port."""
    client.valve_select(0, port)
    run_for(instrument, client, 2000)
    client.pump_move(0, -volume_nl, 50_000)
    run_for(instrument, client, 1000 * (volume_nl // 50_000 + 2))
    client.valve_select(0, 23)
    run_for(instrument, client, 2000)
    client.pump_move(0, volume_nl, 50_000)
    run_for(instrument, client, 1000 * (volume_nl // 50_000 + 2))


def image_all_channels(instrument, client, receiver) -> list:
    frames = []
    for channel in range(4):
        receiver.write_register(Register.CHANNEL, channel)
        client.trigger_program(0, exposure_us=5000, period_us=10_000, pulse_count=1,
                               laser_mask=1)
        client.trigger_arm(0)
        client.trigger_fire(0)
        run_for(instrument, client, 1000)
        frames.append(receiver.get_frame(timeout_s=5.0))
    return frames


def test_board_steps_decide_incorporation_and_frames_match_the_truth(rig):
    instrument, client, receiver = rig
    # cycle 1: incorporation mix, 60 C, scan buffer; cycle 2: the mix step never ran
    flow(instrument, client, MIX_PORT, 150_000)
    client.heater_set(0, 60_000)
    run_for(instrument, client, 120_000)
    flow(instrument, client, SCAN_BUFFER_PORT, 100_000)
    with pytest.raises(queue.Empty):
        receiver.get_frame(timeout_s=0.2)  # no trigger yet: no frame
    cycle_1 = image_all_channels(instrument, client, receiver)
    flow(instrument, client, SCAN_BUFFER_PORT, 100_000)
    cycle_2 = image_all_channels(instrument, client, receiver)

    truth = instrument.flowcell.truth(1101)
    assert [e.cycle for e in instrument.camera.exposures] == [1] * 4 + [2] * 4
    np.testing.assert_allclose(truth.reagent_fraction, [1.0, 0.0])
    assert abs(truth.temperature_error_c[0]) < 1.5  # the heater held the set-point
    assert truth.phasing[0] < 0.01 and truth.phasing[1] == pytest.approx(1.0)
    # bit-exact: the frames are the simulator's images under the conditions in the truth
    replay = TileSimulator(CONFIG, 1101)
    for frames, t in ((cycle_1, 0), (cycle_2, 1)):
        images = replay.next_cycle(CycleConditions(truth.temperature_error_c[t],
                                                   truth.reagent_fraction[t]))
        for channel, frame in enumerate(frames):
            assert frame.header.channel == channel
            np.testing.assert_array_equal(frame.pixels, images[channel])
    # the failed cycle shows the same bases as cycle 1: the clusters did not move on
    np.testing.assert_allclose(instrument.flowcell.tile(1101).last_signal_e,
                               replay.last_signal_e)
    expected_lag = truth.base_to_channel()[truth.templates[:, 0]]
    ratio = instrument.flowcell.tile(1101).last_signal_e / truth.brightness_e[:, None]
    assert np.median(np.abs(ratio - truth.decay_factor[1] * expected_lag)) < 0.01



def test_incorporation_below_the_set_point_raises_phasing(rig):
    instrument, client, receiver = rig
    flow(instrument, client, MIX_PORT, 150_000)
    client.heater_set(0, 50_000)  # the thermal step holds 10 C short of the 60 C set-point
    run_for(instrument, client, 120_000)
    flow(instrument, client, SCAN_BUFFER_PORT, 100_000)
    image_all_channels(instrument, client, receiver)
    truth = instrument.flowcell.truth(1101)
    assert truth.temperature_error_c[0] == pytest.approx(-10.0, abs=1.0)
    assert truth.phasing[0] == pytest.approx(1 - 0.999 * np.exp(-0.5), abs=0.05)
    # a third of the molecules never incorporated: the clusters are that much dimmer
    shown = instrument.flowcell.tile(1101).last_signal_e.sum(axis=1)
    total = truth.brightness_e * truth.base_to_channel().sum(axis=1)[truth.templates[:, 0]]
    assert np.median(shown / total) == pytest.approx(1 - truth.phasing[0], rel=0.02)


def test_from_recipe_takes_tiles_chemistry_and_the_incorporation_step():
    from opensbs.recipe import default_recipe

    recipe = default_recipe()
    instrument = VirtualInstrument.from_recipe(recipe, seed=3, tile_width_px=64,
                                               tile_height_px=48)
    spec = instrument.observer.spec
    assert (spec.port, spec.volume_nl, spec.setpoint_c, spec.waste_port) == (1, 150_000, 60.0, 23)
    assert instrument.flowcell.tile_numbers == tuple(recipe.flowcell.tile_numbers())
    assert instrument.config.read_length == recipe.total_cycles
    assert instrument.config.chemistry.value == recipe.run.chemistry
    assert instrument.config.n_channels == len(recipe.channel_names)


def test_a_recipe_without_an_incorporation_step_is_refused():
    from opensbs.recipe import default_recipe_text, parse_recipe
    from opensbs.sim import SimConfigError

    text = default_recipe_text().replace('what = "incorporation mix"', 'what = "mix"')
    with pytest.raises(SimConfigError, match="incorporation"):
        VirtualInstrument.from_recipe(parse_recipe(text), tile_width_px=64, tile_height_px=48)

"""`VirtualInstrument`: the whole instrument behind `opensbs run --sim`, with no hardware.

    from opensbs.sim.instrument import VirtualInstrument
    instrument = VirtualInstrument.from_recipe(recipe, seed=0)   # or VirtualInstrument(config,
                                                                 #    tiles=[1101], board="pico")
    instrument.backend        # hand to pyusb: usb.core.find(backend=instrument.backend, ...)
                              # finds the controller board and the camera bridge
    instrument.start(speed=1000.0)   # virtual clock runs 1000x wall time in a thread ...
    instrument.stop()                # ... (or `with instrument:`), or step it explicitly:
    instrument.advance_ms(5_000)     # board firmware + plant + chemistry observer
    instrument.save_truth(run_folder / "Truth")  # ground truth of every tile
    instrument.camera.exposures      # what each frame showed (cycle, tile, channel)

It assembles a virtual USB bus with the simulated controller board (`opensbs.sim.board.SimBoard`
running the real firmware core, served by `SimBoardDevice`) and the simulated camera
(`SimulatedCamera`, fed by a `FlowCell` and exposing on the board's trigger pulses through the
FPGA capture-path model). A `ChemistryObserver` samples the board's valve, syringe and heater
every 100 ms of virtual time, so the fluidics and heater steps the host runs decide each cycle's
incorporation (a step that failed shows in the images and the truth).
"""

import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .board.device import SimBoardDevice
from .board.sim_board import SimBoard
from .camera import SimulatedCamera
from .chemistry import Chemistry
from .config import SimConfig
from .coupling import SAMPLE_PERIOD_MS, ChemistryObserver, IncorporationSpec
from .errors import SimConfigError
from .flowcell import FlowCell
from .library import I5Workflow, LibraryConfig, PoolSample
from .presets import preset_config
from .usb.backend import VirtualUsbBus

if TYPE_CHECKING:
    from ..recipe import Recipe


class VirtualInstrument:
    """Virtual bus + simulated board + simulated camera (see the module docstring)."""

    def __init__(self, config: SimConfig, tiles: Sequence[int], *, board: str | Path = "pico",
                 board_seed: int = 0, incorporation: IncorporationSpec | None = None,
                 noise: bool = True, library: LibraryConfig | None = None,
                 reads: Sequence[Any] | None = None) -> None:
        self.config = config
        self.flowcell = FlowCell(config, tiles, library, reads)
        self.board = SimBoard(board, seed=board_seed)
        self.board_device = SimBoardDevice(self.board, serial_number="SIM-BOARD-0")
        spec = incorporation or IncorporationSpec()
        if spec.waste_port is None and self.board.cfg:  # the valve's last port, as the run
            ports = self.board.cfg["valves"][spec.valve]["ports"]  # controller uses it
            spec = replace(spec, waste_port=ports - 1)
        self.observer = ChemistryObserver(spec)
        self.camera = SimulatedCamera(self.flowcell, observer=self.observer,
                                      serial_number="SIM-CAMERA-0", noise=noise)
        self.board.add_trigger_listener(self.camera.on_trigger)
        self.bus = VirtualUsbBus()
        self.bus.attach(self.board_device)
        self.bus.attach(self.camera)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._sample()

    @classmethod
    def from_recipe(cls, recipe: "Recipe", *, seed: int = 0, board: str | Path = "pico",
                    preset: str | None = None,
                    **config_changes: object) -> "VirtualInstrument":
        """An instrument for ``recipe``: the simulator preset (``preset``, else the recipe's
        ``[sim] preset``) with the recipe's tiles, tile size, chemistry, cycles, bit depth and
        incorporation step; ``config_changes`` override any other `SimConfig` field. A recipe
        with a ``[library]`` or more than one read sequences a library (`library_config`);
        else each cluster is one PhiX read."""
        flowcell = recipe.flowcell
        config = preset_config(preset or recipe.sim.preset, seed=seed,
                               tile_width_px=flowcell.width_px,
                               tile_height_px=flowcell.height_px,
                               chemistry=Chemistry(recipe.run.chemistry),
                               read_length=recipe.total_cycles,
                               adc_bits=recipe.imaging.bit_depth)
        if config_changes:
            config = config.replace(**config_changes)
        library = library_config(recipe)
        return cls(config, flowcell.tile_numbers(), board=board, board_seed=seed,
                   incorporation=incorporation_spec(recipe), library=library,
                   reads=None if library is None else recipe.reads)

    @property
    def backend(self) -> object:
        """The pyusb backend presenting the board and the camera bridge."""
        return self.bus.backend

    # -- virtual time ---------------------------------------------------------------------
    def advance_ms(self, ms: int) -> None:
        """Run the board, its plant and the chemistry observer for ``ms`` of virtual time."""
        remaining = ms
        while remaining > 0:
            step = min(SAMPLE_PERIOD_MS, remaining)
            self.board.advance_ms(step)
            self._sample()
            remaining -= step

    def start(self, speed: float = 1000.0) -> None:
        """Run virtual time at ``speed`` x wall time in a background thread."""
        if self._thread is not None:
            raise RuntimeError("the virtual instrument is already running")
        if speed <= 0:
            raise SimConfigError(f"speed must be > 0, got {speed}")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(speed,), daemon=True,
                                        name="virtual-instrument")
        self._thread.start()

    def stop(self) -> None:
        """Stop the background clock (no-op when not running)."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None

    def __enter__(self) -> "VirtualInstrument":
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def save_truth(self, truth_dir: Path | str) -> list[Path]:
        """Ground truth of every tile so far (see `opensbs.sim.truth`)."""
        with self.board.lock:
            return self.flowcell.save_truth(truth_dir)

    def _run(self, speed: float) -> None:
        start_wall = time.monotonic()
        start_us = self.board.clock.now_us
        while not self._stop.is_set():
            self.advance_ms(SAMPLE_PERIOD_MS)
            due = start_wall + (self.board.clock.now_us - start_us) / 1e6 / speed
            delay = due - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)

    def _sample(self) -> None:
        with self.board.lock:
            self.observer.sample_plant(self.board.clock.now_us / 1e6, self.board)


def library_config(recipe: "Recipe") -> LibraryConfig | None:
    """The simulated library of `recipe` (its ``[library]``, defaults with more than one read;
    None: single PhiX reads). The i5 read's orientation follows the recipe's turnaround."""
    section = recipe.library
    if section is None and len(recipe.reads) == 1:
        return None
    workflow: I5Workflow = "reverse-complement" if recipe.i5_reverse_complement else "forward"
    if section is None:
        return LibraryConfig(i5_workflow=workflow)
    return LibraryConfig(
        reference_fasta=None if section.reference_fasta is None else Path(
            section.reference_fasta),
        insert_mean_bp=section.insert_mean_bp, insert_sd_bp=section.insert_sd_bp,
        adapter_read1=section.adapter_read1, adapter_read2=section.adapter_read2,
        index_error_rate=section.index_error_rate, i5_workflow=workflow,
        samples=tuple(PoolSample(s.sample_id, s.index1, s.index2, s.fraction)
                      for s in section.samples))


def incorporation_spec(recipe: "Recipe") -> IncorporationSpec:
    """The recipe's incorporation step: the first fluidics step named "...incorporation...",
    and the set-point of the first thermal step after it (60 C when there is none)."""
    from ..recipe import FluidicsStep, ThermalStep

    steps = list(recipe.cycle)
    for index, step in enumerate(steps):
        if isinstance(step, FluidicsStep) and "incorporation" in step.what.lower():
            setpoint_c = next((s.setpoint_mc / 1000.0 for s in steps[index + 1:]
                               if isinstance(s, ThermalStep)), 60.0)
            return IncorporationSpec(port=step.port, volume_nl=float(step.volume_nl),
                                     setpoint_c=setpoint_c)
    raise SimConfigError("the recipe has no fluidics step whose 'what' names the incorporation "
                         "mix, so the simulated chemistry cannot tell when a cycle incorporates")

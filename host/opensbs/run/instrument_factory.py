"""The instrument factory: the one place in production code that picks real or virtual hardware.

A hardware run opens the attached devices through pyusb's own backend; a `--sim` run builds the
virtual instrument (`opensbs.sim.instrument`: the firmware core on plant models and the camera
bridge behind a virtual pyusb backend) and hands the run its backend, its clock, the simulation
truth and the link faults injected on its virtual links. Every other production module reaches
the simulator only through here (tests/test_layout.py checks it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..recipe import FluidicsStep, Recipe, ThermalStep
from ..sim.usb.faults import FaultInjector, FaultSpecError, parse_fault_spec
from .board_fit import Problem
from .truth import SimTruth

LinkFaults = dict[str, FaultInjector]  # link ("control", "camera") -> its injector

__all__ = ["FaultSpecError", "LinkFaults", "injected_counts", "open_backend",
           "parse_link_faults", "tile_truth", "truths", "virtual_instrument_problems"]


def parse_link_faults(spec: str | None) -> LinkFaults:
    """The injectors of a `--faults` spec (none without one); FaultSpecError if malformed."""
    return parse_fault_spec(spec) if spec else {}


def open_backend(sim: bool, recipe: Recipe, seed: int, preset: str | None,
                 faults: LinkFaults) -> tuple[Any, Any]:
    """(pyusb backend, virtual instrument): (None, None) on hardware (pyusb's own backend);
    with `sim` the virtual instrument, `faults` injected on its links."""
    if not sim:
        return None, None
    from ..sim.instrument import VirtualInstrument

    instrument = VirtualInstrument.from_recipe(recipe, seed=seed, preset=preset)
    for link, device in (("control", instrument.board_device), ("camera", instrument.camera)):
        attachment = instrument.bus.attachment(device)
        if link in faults and attachment is not None:
            attachment.faults = faults[link]
    return instrument.backend, instrument


def tile_truth(instrument: Any, tile: int) -> SimTruth:
    """The virtual flow cell's truth of one tile (positions, reads, the matcher)."""
    with instrument.board.lock:  # the camera renders under this lock
        truth: SimTruth = instrument.flowcell.truth(tile)
    return truth


def truths(instrument: Any, truth_dir: Path, tiles: list[int]) -> dict[int, SimTruth]:
    """The virtual flow cell's truth of `tiles`, also saved in `truth_dir` (the run's Truth/)."""
    instrument.save_truth(truth_dir)
    return {tile: tile_truth(instrument, tile) for tile in tiles}


def injected_counts(faults: LinkFaults) -> dict[str, dict[str, int]]:
    """{link: {"in.drop": n, ...}} injected so far."""
    return {link: {f"{d}.{kind.value}": n for (d, kind), n in sorted(injector.counts.items(),
                                                                     key=str)}
            for link, injector in faults.items()}


def virtual_instrument_problems(recipe: Recipe) -> list[Problem]:
    """What the virtual instrument cannot do: set-points its heater cannot reach (it only
    heats, from the plant's ambient), a recipe with no incorporation step, a library reference
    FASTA that cannot be read."""
    from ..sim.board.plant import FlowCellParams
    from ..sim.errors import FastaError, SimConfigError
    from ..sim.instrument import incorporation_spec
    from ..sim.reference import read_fasta

    plant = FlowCellParams()
    lowest_mc = round(plant.ambient_c * 1000)
    highest_mc = round((plant.ambient_c + plant.power_w / plant.loss_w_per_k) * 1000)
    problems: list[Problem] = []
    for where, step in recipe.board_steps():
        if isinstance(step, ThermalStep) and not (
                lowest_mc - step.tolerance_mc <= step.setpoint_mc <= highest_mc):
            problems.append(((*where, "setpoint_mc"),
                             f"the flow-cell heater reaches {lowest_mc - step.tolerance_mc}.."
                             f"{highest_mc} mC (it only heats, from {plant.ambient_c:g} °C "
                             "ambient)"))
    try:
        incorporation_spec(recipe)
    except SimConfigError as exc:
        first = next((i for i, s in enumerate(recipe.cycle) if isinstance(s, FluidicsStep)), 0)
        problems.append((("cycle", first, "what"), f"{exc}"))
    reference = None if recipe.library is None else recipe.library.reference_fasta
    if reference is not None:
        try:
            read_fasta(reference)
        except FastaError as exc:
            problems.append((("library", "reference_fasta"), f"{exc}"))
    return problems

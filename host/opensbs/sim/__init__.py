"""Image-level flow-cell simulator for sequencing by synthesis.

Public API::

    from opensbs.sim import SimConfig, TileSimulator, CycleConditions, phasing_matrix

    config = SimConfig(seed=1, tile_width_px=256, tile_height_px=256, read_length=50,
                       chemistry="four-colour")          # or "two-colour" (NovaSeq X encoding)
    sim = TileSimulator(config, tile=1101)
    sim.positions            # (N, 2) float x/y pixels (before drift), x = column
    sim.sequences            # (N, read_length) uint8 true reads, A=0 C=1 G=2 T=3
    images = sim.next_cycle()            # (C, H, W) uint16; C = 4 (A,C,G,T) or 2 (green,blue)
    sim.last_signal_e        # (N, C) clean cluster signal of that cycle (e-, before PSF/noise)
    sim.next_cycle(CycleConditions(temperature_error_c=4.0, reagent_fraction=1.0))
    truth = sim.truth()      # TileTruth: positions, sequences, crosstalk, encoding, phasing,
                             # prephasing, decay_factor, drift_px, channel_offsets_px, ...
    truth.save("out/truth"); TileTruth.load("out/truth", 1101)
    P = phasing_matrix(truth.phasing, truth.prephasing)  # exact phasing model of the images

Instruments as hard as real ones (noise fitted to real runs, context errors, optical
artefacts; every effect a `SimConfig` field that is off at its default)::

    from opensbs.sim.presets import preset_config, preset_names
    config = SimConfig.preset("miseq-v3", seed=1, tile_width_px=512)  # also "novaseq-x",
    sim = TileSimulator(config, 1101)          # "prototype"; "gentle" == SimConfig()
    sim.last_emitted_e   # (N, C) signal plus cluster noise, times the optical gain

Writing and reading whole simulated runs on disk (`opensbs simulate`)::

    from opensbs.sim import write_simulated_run, SimulatedRun
    write_simulated_run("out", config, tiles=[1101, 1102], cycles=50)
    run = SimulatedRun.open("out")  # .tiles .cycles .channel_names .config
    run.read_cycle(1101, 3)         # (C, H, W) uint16 of cycle 3
    run.truth(1101)                 # TileTruth

The virtual instrument behind ``opensbs run --sim`` (imported from its module, as it pulls in
the simulated board and the virtual USB bus)::

    from opensbs.sim.instrument import VirtualInstrument
    instrument = VirtualInstrument.from_recipe(recipe, seed=0)
    usb.core.find(backend=instrument.backend, ...)   # controller board + camera bridge
    instrument.start(speed=1000.0); ...; instrument.stop()   # or instrument.advance_ms(ms)
    instrument.camera.select_tile(1102)              # optional: tiles are scanned in order
    instrument.save_truth(folder)

Image model and conventions: see `truth` (coordinates, signal formula), `phasing` (the lag/lead
chain), `optics` (PSF, noise, ADC), `config` (defaults and their sources), `camera` (when
frames are produced, tile and cycle order) and `coupling` (how board steps act on chemistry).
"""

from .chemistry import BASES, Chemistry, channel_encoding, decode_sequences
from .config import Layout, SimConfig
from .coupling import ChemistryObserver, IncorporationSpec
from .errors import (
    CycleLimitError,
    FastaError,
    SimConfigError,
    SimLayoutError,
    SimulationError,
)
from .flowcell import FlowCell
from .layout import SimulatedRun, write_simulated_run
from .phasing import PhasingWindow, phasing_matrix
from .reference import Reference, bundled_phix_path, read_fasta
from .tile import CycleConditions, TileSimulator
from .truth import TileTruth

__all__ = [
    "BASES", "Chemistry", "ChemistryObserver", "CycleConditions", "CycleLimitError",
    "FastaError", "FlowCell", "IncorporationSpec", "Layout",
    "PhasingWindow", "Reference", "SimConfig", "SimConfigError", "SimLayoutError",
    "SimulatedRun", "SimulationError", "TileSimulator", "TileTruth", "bundled_phix_path",
    "channel_encoding", "decode_sequences", "phasing_matrix", "read_fasta", "write_simulated_run",
]

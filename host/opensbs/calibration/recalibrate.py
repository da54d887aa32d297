"""Re-calibration of the quality table against simulator truth.

Each configuration is simulated and called with a flat table; every call of a passing-filter
read whose cluster matched a true one contributes its predictors and whether it was wrong, and
``calibrate_table`` turns those into the Phred table (like calibrating against aligned control
reads, with the truth known exactly).
"""

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..basecall.quality import PREDICTORS, Predictors, QualityTable, calibrate_table
from ..jobs import EngineOptions, TileJob, run_tile_jobs
from ..sim import SimConfig
from ..sim.chemistry import parse_chemistry
from .evaluation import simulate_and_call


def calibrate_from_simulation(configs: Sequence[SimConfig], work_dir: Path,
                              engine: EngineOptions | None = None) -> QualityTable:
    """A quality table calibrated on simulated tiles of ``configs`` (one tile each).

    Tiles run as a job of the `opensbs.jobs` engine; each leaves its calibration rows in
    ``work_dir`` (absolute), so a re-run with the same ``work_dir`` resumes."""
    jobs = [TileJob(f"tile_{number:02d}", work_dir, (f"tile_{number:02d}.npz",),
                    save_calibration_rows, (config, work_dir / f"tile_{number:02d}.npz"))
            for number, config in enumerate(configs, start=1)]
    run_tile_jobs(jobs, engine or EngineOptions(), "recalibrate")
    parts: dict[str, list[np.ndarray]] = {name: [] for name in PREDICTORS}
    wrong: list[np.ndarray] = []
    for job in jobs:
        with np.load(work_dir / job.outputs[0]) as rows:
            for name in PREDICTORS:
                parts[name].append(rows[name])
            wrong.append(rows["wrong"])
    predictors = Predictors(*(np.concatenate(parts[name]) for name in PREDICTORS))
    source = "; ".join(f"{c.chemistry.value} {c.tile_width_px}x{c.tile_height_px} "
                       f"{c.read_length} cycles phasing {c.phasing} prephasing {c.prephasing} "
                       f"seed {c.seed}" for c in configs)
    return calibrate_table(predictors, np.concatenate(wrong), source=f"simulation: {source}")


def save_calibration_rows(config: SimConfig, path: Path) -> dict[str, Any]:
    """Simulate and call one tile with a flat table; save (npz) the predictors of every call
    of a passing-filter read matched to a true cluster and whether the call was wrong."""
    tile = simulate_and_call(config, oracle=False, quality_table=QualityTable.flat())["caller"]
    rows = tile.matched & tile.calls.passing_filter
    partial = path.with_name(f".{path.name}.partial.npz")
    np.savez(partial, wrong=tile.errors[rows].ravel(),
             **{name: getattr(tile.predictors, name)[rows].ravel() for name in PREDICTORS})
    os.replace(partial, path)
    return {"calls": int(tile.errors[rows].size)}


CALIBRATION_SEEDS = (101, 102, 103, 104, 105, 106)


def default_calibration_configs(tile_px: int = 512, seeds: Sequence[int] = CALIBRATION_SEEDS,
                                chemistry: str = "four-colour") -> list[SimConfig]:
    """The simulated conditions a shipped table is calibrated on (simulator defaults)."""
    return [SimConfig(seed=seed, tile_width_px=tile_px, tile_height_px=tile_px,
                      chemistry=parse_chemistry(chemistry)) for seed in seeds]

"""Re-calibration of the quality table against simulator truth.

Each configuration is simulated and called with a flat table; every call of a passing-filter
read whose cluster matched a true one contributes its predictors and whether it was wrong, and
``calibrate_table`` turns those into the Phred table (like calibrating against aligned control
reads, with the truth known exactly).
"""

from collections.abc import Callable, Sequence

import numpy as np

from ..sim import SimConfig
from ..sim.chemistry import parse_chemistry
from .evaluation import simulate_and_call
from .quality import PREDICTORS, Predictors, QualityTable, calibrate_table


def calibrate_from_simulation(configs: Sequence[SimConfig],
                              progress: Callable[[int, int], None] | None = None
                              ) -> QualityTable:
    """A quality table calibrated on simulated tiles of ``configs`` (one tile each)."""
    parts: dict[str, list[np.ndarray]] = {name: [] for name in PREDICTORS}
    wrong: list[np.ndarray] = []
    for number, config in enumerate(configs, start=1):
        tile = simulate_and_call(config, oracle=False, quality_table=QualityTable.flat())["caller"]
        rows = tile.matched & tile.calls.passing_filter
        for name in PREDICTORS:
            parts[name].append(getattr(tile.predictors, name)[rows].ravel())
        wrong.append(tile.errors[rows].ravel())
        if progress is not None:
            progress(number, len(configs))
    predictors = Predictors(*(np.concatenate(parts[name]) for name in PREDICTORS))
    source = "; ".join(f"{c.chemistry.value} {c.tile_width_px}x{c.tile_height_px} "
                       f"{c.read_length} cycles phasing {c.phasing} prephasing {c.prephasing} "
                       f"seed {c.seed}" for c in configs)
    return calibrate_table(predictors, np.concatenate(wrong), source=f"simulation: {source}")


CALIBRATION_SEEDS = (101, 102, 103, 104, 105, 106)


def default_calibration_configs(tile_px: int = 512, seeds: Sequence[int] = CALIBRATION_SEEDS,
                                chemistry: str = "four-colour") -> list[SimConfig]:
    """The simulated conditions a shipped table is calibrated on (simulator defaults)."""
    return [SimConfig(seed=seed, tile_width_px=tile_px, tile_height_px=tile_px,
                      chemistry=parse_chemistry(chemistry)) for seed in seeds]

"""The per-tile tasks of `opensbs simulate`, run by the job engine (`opensbs.jobs`) on its
workers: each writes one simulated tile's cycle images and truth."""

from pathlib import Path
from typing import Any

from ..jobs.engine import TileJob
from .config import SimConfig
from .layout import tile_files, write_simulated_tile


def simulation_jobs(out_dir: Path, config: SimConfig, tiles: list[int], cycles: int
                    ) -> list[TileJob]:
    """One job per simulated tile, writing its images and truth under ``out_dir``."""
    return [TileJob(f"tile_{tile}", out_dir,
                    tuple(str(p.relative_to(out_dir)) for p in tile_files(out_dir, tile, cycles)),
                    simulate_tile, (out_dir, config, tile, cycles)) for tile in tiles]


def simulate_tile(out_dir: Path, config: SimConfig, tile: int, cycles: int) -> dict[str, Any]:
    """Write one simulated tile's cycle images and truth."""
    write_simulated_tile(out_dir, config, tile, cycles)
    return {"tile": tile, "cycles": cycles}

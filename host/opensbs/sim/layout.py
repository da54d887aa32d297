"""Simulated runs on disk: the image folder written by `opensbs simulate`, and its reader.

Layout (``OUT`` is the ``--out`` folder)::

    OUT/simulation.json                  index: format, version, config, tiles, cycles,
                                         channel_names, image_shape [C, H, W], dtype
    OUT/images/tile_TTTT/cycle_CCC.tif   one multi-page TIFF per tile and cycle: page c is
                                         channel c, uint16 (H, W), axes "CYX"
    OUT/truth/tile_TTTT.npz|.json        ground truth (see `opensbs.sim.truth`)

Tiles are numbered as in Illumina run folders (e.g. 1101); cycles are 1-based.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

from .config import SimConfig
from .errors import SimLayoutError
from .tile import TileSimulator
from .truth import TileTruth

FORMAT_NAME = "opensbs-simulated-images"
FORMAT_VERSION = 1
INDEX_NAME = "simulation.json"


def image_path(run_dir: Path, tile: int, cycle: int) -> Path:
    """Where the images of ``tile`` at ``cycle`` live."""
    return run_dir / "images" / f"tile_{tile:04d}" / f"cycle_{cycle:03d}.tif"


def write_cycle_tiff(path: Path, images: np.ndarray, channel_names: Sequence[str]) -> None:
    """One cycle's ``(C, H, W)`` uint16 images as a multi-page TIFF."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, images, photometric="minisblack",
                     metadata={"axes": "CYX", "Channel": {"Name": list(channel_names)}})


def write_simulated_run(out_dir: Path | str, config: SimConfig, tiles: Sequence[int],
                        cycles: int,
                        on_cycle: Callable[[int, int], None] | None = None) -> Path:
    """Simulate ``tiles`` for ``cycles`` cycles into ``out_dir``; returns the index path.

    ``on_cycle(tile, cycle)`` is called after each cycle is written (progress reporting).
    """
    check_run_request(config, tiles, cycles)
    for tile in tiles:
        write_simulated_tile(out_dir, config, tile, cycles, on_cycle)
    return write_simulation_index(out_dir, config, tiles, cycles)


def check_run_request(config: SimConfig, tiles: Sequence[int], cycles: int) -> None:
    """Raise `SimLayoutError` unless ``tiles`` and ``cycles`` make a valid simulated run."""
    if cycles < 1 or cycles > config.read_length:
        raise SimLayoutError(f"cycles must be 1..{config.read_length} (the read length), "
                             f"got {cycles}")
    if not tiles or len(set(tiles)) != len(tiles):
        raise SimLayoutError(f"tiles must be a non-empty list of distinct numbers, got {tiles}")


def tile_files(out_dir: Path | str, tile: int, cycles: int) -> list[Path]:
    """The files `write_simulated_tile` writes: the cycle images, then the truth."""
    out = Path(out_dir)
    truth = out / "truth" / f"tile_{tile:04d}"
    return [image_path(out, tile, cycle) for cycle in range(1, cycles + 1)] + [
        truth.with_suffix(".npz"), truth.with_suffix(".json")]


def write_simulated_tile(out_dir: Path | str, config: SimConfig, tile: int, cycles: int,
                         on_cycle: Callable[[int, int], None] | None = None) -> None:
    """Simulate one tile: its cycle images and truth (depends only on ``config`` and
    ``tile``, so tiles can be written in any order or in parallel)."""
    out = Path(out_dir)
    simulator = TileSimulator(config, tile)
    for cycle in range(1, cycles + 1):
        write_cycle_tiff(image_path(out, tile, cycle), simulator.next_cycle(),
                         config.channel_names)
        if on_cycle is not None:
            on_cycle(tile, cycle)
    simulator.truth().save(out / "truth")


def write_simulation_index(out_dir: Path | str, config: SimConfig, tiles: Sequence[int],
                           cycles: int) -> Path:
    """Write ``simulation.json`` for the run's tiles (after they are written)."""
    index = {
        "format": FORMAT_NAME, "version": FORMAT_VERSION, "config": config.to_json_dict(),
        "tiles": list(tiles), "cycles": cycles, "channel_names": list(config.channel_names),
        "image_shape": [config.n_channels, config.tile_height_px, config.tile_width_px],
        "dtype": "uint16",
    }
    index_path = Path(out_dir) / INDEX_NAME
    index_path.write_text(json.dumps(index, indent=1))
    return index_path


@dataclass(frozen=True)
class SimulatedRun:
    """A simulated image folder opened for reading."""

    root: Path
    config: SimConfig
    tiles: tuple[int, ...]
    cycles: int
    channel_names: tuple[str, ...]
    image_shape: tuple[int, int, int]

    @classmethod
    def open(cls, root: Path | str) -> "SimulatedRun":
        """Read and check ``root/simulation.json``."""
        root = Path(root)
        try:
            index: dict[str, Any] = json.loads((root / INDEX_NAME).read_text())
        except FileNotFoundError:
            raise SimLayoutError(f"{root} is not a simulated run: no {INDEX_NAME}") from None
        except json.JSONDecodeError as exc:
            raise SimLayoutError(f"{root / INDEX_NAME} is not valid JSON: {exc}") from None
        if index.get("format") != FORMAT_NAME or index.get("version") != FORMAT_VERSION:
            raise SimLayoutError(f"{root / INDEX_NAME}: expected format {FORMAT_NAME} version "
                                 f"{FORMAT_VERSION}, got {index.get('format')} "
                                 f"{index.get('version')}")
        try:
            return cls(root=root, config=SimConfig.from_json_dict(index["config"]),
                       tiles=tuple(int(t) for t in index["tiles"]), cycles=int(index["cycles"]),
                       channel_names=tuple(index["channel_names"]),
                       image_shape=tuple(int(v) for v in index["image_shape"]))  # type: ignore
        except KeyError as exc:
            raise SimLayoutError(f"{root / INDEX_NAME} lacks the key {exc}") from None

    def read_cycle(self, tile: int, cycle: int) -> np.ndarray:
        """``(C, H, W)`` uint16 images of ``tile`` at ``cycle`` (1-based)."""
        if tile not in self.tiles:
            raise SimLayoutError(f"tile {tile} is not in this run (tiles {list(self.tiles)})")
        if not 1 <= cycle <= self.cycles:
            raise SimLayoutError(f"cycle {cycle} is outside 1..{self.cycles}")
        path = image_path(self.root, tile, cycle)
        try:
            images = tifffile.imread(path)
        except FileNotFoundError:
            raise SimLayoutError(f"image file missing: {path}") from None
        if images.shape != self.image_shape or images.dtype != np.uint16:
            raise SimLayoutError(f"{path}: expected uint16 {self.image_shape}, "
                                 f"got {images.dtype} {images.shape}")
        return images

    def truth(self, tile: int) -> TileTruth:
        """Ground truth of ``tile``."""
        return TileTruth.load(self.root / "truth", tile)

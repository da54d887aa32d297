"""Stored cycle images for offline calling: ``[DIR/images/]tile_TTTT/cycle_CCC.tif``.

One multi-page TIFF per tile and cycle, page c = channel c, uint16 (H, W) — the layout
``opensbs simulate`` writes. Cycles are 1-based and must be contiguous from 1.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile

from .errors import ImageSetError

_TILE = re.compile(r"^tile_(\d+)$")
_CYCLE = re.compile(r"^cycle_(\d+)\.tiff?$")


@dataclass(frozen=True)
class ImageSet:
    """Tiles and their cycle image files."""

    root: Path
    files: dict[int, list[Path]]  # tile -> image path of cycle 1, 2, ...

    @property
    def tiles(self) -> list[int]:
        return sorted(self.files)

    def cycles(self, tile: int) -> int:
        return len(self.files[tile])

    def read(self, tile: int, cycle: int) -> np.ndarray:
        """(channels, H, W) uint16 images of ``tile`` at 1-based ``cycle``."""
        path = self.files[tile][cycle - 1]
        try:
            images = tifffile.imread(path)
        except (OSError, ValueError) as exc:
            raise ImageSetError(f"cannot read {path}: {exc}") from None
        if images.ndim != 3 or images.dtype != np.uint16:
            raise ImageSetError(f"{path}: expected uint16 (channels, H, W), got "
                                f"{images.dtype} {images.shape}")
        return images


def open_image_set(directory: Path | str) -> ImageSet:
    """Find every tile folder and its cycle files under ``directory`` (or its ``images/``)."""
    root = Path(directory)
    if not root.is_dir():
        raise ImageSetError(f"{root} is not a directory")
    base = root / "images" if (root / "images").is_dir() else root
    files: dict[int, list[Path]] = {}
    for folder in sorted(base.iterdir()):
        tile_match = _TILE.match(folder.name)
        if not (folder.is_dir() and tile_match):
            continue
        cycles = {int(m.group(1)): p for p in folder.iterdir() if (m := _CYCLE.match(p.name))}
        if not cycles:
            continue
        numbers = sorted(cycles)
        if numbers != list(range(1, len(numbers) + 1)):
            raise ImageSetError(f"{folder}: cycles must run 1..N without gaps, got {numbers}")
        files[int(tile_match.group(1))] = [cycles[n] for n in numbers]
    if not files:
        hint = ("; this run folder was recorded without --keep-images: its calls and metrics are "
                f"already in it (rebuild the report with `opensbs report {root}`), or record the "
                "run again with `opensbs run --keep-images` to re-analyse its images"
                if (root / "RunInfo.xml").is_file() else
                "; write some with `opensbs simulate --out DIR` or `opensbs run --keep-images`")
        raise ImageSetError(f"no tile_TTTT/cycle_CCC.tif images under {base}{hint}")
    return ImageSet(root, files)

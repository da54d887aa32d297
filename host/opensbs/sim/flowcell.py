"""`FlowCell`: the simulated tiles of one flow cell, advanced together one cycle at a time."""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .config import SimConfig
from .errors import SimConfigError
from .library import LibraryConfig
from .reference import bundled_phix_path, read_fasta
from .tile import CycleConditions, TileSimulator
from .truth import TileTruth


class FlowCell:
    """Tiles sharing one chemistry: every ``advance`` is one cycle on all of them."""

    def __init__(self, config: SimConfig, tiles: Sequence[int],
                 library: LibraryConfig | None = None, reads: Sequence[Any] | None = None
                 ) -> None:
        """`library` and `reads` (recipe `Read`s): the tiles' clusters are that library's
        molecules sequenced with that read structure (see `TileSimulator`)."""
        if not tiles or len(set(tiles)) != len(tiles):
            raise SimConfigError(f"tiles must be distinct tile numbers, got {list(tiles)}")
        reference = read_fasta(config.reference or bundled_phix_path())
        self.config = config
        self.tile_numbers = tuple(tiles)
        self._tiles = {tile: TileSimulator(config, tile, reference, library, reads)
                       for tile in tiles}

    @property
    def cycle(self) -> int:
        """Cycles of chemistry run so far (0 before the first)."""
        return self._tiles[self.tile_numbers[0]].cycle

    def advance(self, conditions: CycleConditions | None = None) -> None:
        """One cycle of chemistry (and stage drift) on every tile."""
        for simulator in self._tiles.values():
            simulator.advance(conditions)

    def tile(self, tile: int) -> TileSimulator:
        """The simulator of ``tile``."""
        try:
            return self._tiles[tile]
        except KeyError:
            raise SimConfigError(f"tile {tile} is not on this flow cell "
                                 f"(tiles {list(self.tile_numbers)})") from None

    def image(self, tile: int, channel: int, noise: bool = True) -> np.ndarray:
        """``(H, W)`` uint16 image of ``tile`` in ``channel`` at the current cycle."""
        return self.tile(tile).render_channel(channel, noise)

    def truth(self, tile: int) -> TileTruth:
        return self.tile(tile).truth()

    def save_truth(self, truth_dir: Path | str) -> list[Path]:
        """Write every tile's truth (``tile_TTTT.npz/.json``) into ``truth_dir``."""
        return [self.truth(tile).save(truth_dir)[0] for tile in self.tile_numbers]

"""Chemistry: how the four bases appear in the imaging channels.

A chemistry is a signature matrix ``signature`` (channels x 4 bases, A C G T): the
crosstalk-corrected, unit-amplitude signal of each base in each channel.

- four-colour: one channel per base (A, C, G, T), signature = identity.
- two-colour (NovaSeq X encoding): channels (green, blue), the order of the recipe's and the
  simulator's two-colour channels; A = blue only, C = both, G = dark, T = green only.
"""

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .errors import BasecallError, ShapeError

BASES = "ACGT"
"""Base letters in code order: a base code b in 0..3 is ``BASES[b]``; 4 means no call (N)."""

NO_CALL = 4


@dataclass(frozen=True)
class Chemistry:
    """Channel layout of a dye chemistry."""

    name: Literal["four-colour", "two-colour"]
    channel_names: tuple[str, ...]
    signature: np.ndarray  # (channels, 4) float64

    @property
    def n_channels(self) -> int:
        return len(self.channel_names)


FOUR_COLOUR = Chemistry("four-colour", ("A", "C", "G", "T"), np.eye(4))
TWO_COLOUR = Chemistry(
    "two-colour",
    ("green", "blue"),
    np.array([[0.0, 1.0, 0.0, 1.0], [1.0, 1.0, 0.0, 0.0]]),
)


def chemistry_named(name: str) -> Chemistry:
    """The chemistry called ``four-colour`` / ``two-colour`` (also ``4``/``2``)."""
    key = name.lower().replace("_", "-")
    if key in ("four-colour", "four-color", "4", "4-colour"):
        return FOUR_COLOUR
    if key in ("two-colour", "two-color", "2", "2-colour"):
        return TWO_COLOUR
    raise BasecallError(f"unknown chemistry {name!r}: use 'four-colour' or 'two-colour'")


def chemistry_for_channels(n_channels: int) -> Chemistry:
    """The chemistry with ``n_channels`` imaging channels (4 or 2)."""
    if n_channels == 4:
        return FOUR_COLOUR
    if n_channels == 2:
        return TWO_COLOUR
    raise ShapeError(f"no chemistry has {n_channels} channels (need 4 or 2)")

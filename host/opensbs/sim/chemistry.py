"""Chemistries: how each base lights the image channels.

A chemistry has ``n_channels`` dyes, one imaged per channel. ``encoding[base, dye]`` says how
much of each dye a base carries; the dye crosstalk matrix ``crosstalk[dye, channel]`` says what
fraction of a dye's signal lands in each channel (the spectral bleed of dye emission into the
neighbouring filter). A cluster showing base ``b`` puts ``(encoding @ crosstalk)[b]`` into the
channels, before brightness, decay and phasing.

Encodings (formats.md): four-colour images A, C, G, T in four channels; two-colour uses the
NovaSeq X assignment: green only = T, blue only = A, both = C, dark = G, with channel 0 = green
and channel 1 = blue (the order of the recipe's two-colour channels).
"""

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

BASES = "ACGT"


class Chemistry(StrEnum):
    FOUR_COLOUR = "four-colour"
    TWO_COLOUR = "two-colour"


@dataclass(frozen=True)
class ChannelEncoding:
    """Channel names, base-to-dye encoding (4 x C) and the default crosstalk (C x C)."""

    chemistry: Chemistry
    channel_names: tuple[str, ...]
    encoding: np.ndarray
    default_crosstalk: np.ndarray

    @property
    def n_channels(self) -> int:
        return len(self.channel_names)


# Four-colour: A/C share the red laser and G/T the green one (GA/HiSeq optics), so the big
# leaks are A->C and G->T; the shape follows the colour matrices published for GA/HiSeq data
# (e.g. AYB, Ibis); the values are assumed, typical of uncorrected instrument data.
_FOUR_COLOUR = ChannelEncoding(
    chemistry=Chemistry.FOUR_COLOUR,
    channel_names=("A", "C", "G", "T"),
    encoding=np.eye(4),
    default_crosstalk=np.array([
        [1.00, 0.40, 0.02, 0.01],
        [0.08, 1.00, 0.02, 0.02],
        [0.01, 0.02, 1.00, 0.35],
        [0.01, 0.01, 0.06, 1.00],
    ]),
)

# Two-colour, NovaSeq X encoding: channel 0 = green, channel 1 = blue. The crosstalk values
# are assumed (the blue dye leaks more into the green filter than the reverse).
_TWO_COLOUR = ChannelEncoding(
    chemistry=Chemistry.TWO_COLOUR,
    channel_names=("green", "blue"),
    encoding=np.array([
        [0.0, 1.0],  # A: blue only
        [1.0, 1.0],  # C: both
        [0.0, 0.0],  # G: dark
        [1.0, 0.0],  # T: green only
    ]),
    default_crosstalk=np.array([
        [1.00, 0.06],
        [0.10, 1.00],
    ]),
)

ENCODINGS: dict[Chemistry, ChannelEncoding] = {
    Chemistry.FOUR_COLOUR: _FOUR_COLOUR,
    Chemistry.TWO_COLOUR: _TWO_COLOUR,
}


def parse_chemistry(value: Chemistry | str) -> Chemistry:
    """A Chemistry from its value; "four_colour" spellings are accepted too."""
    if isinstance(value, Chemistry):
        return value
    return Chemistry(str(value).replace("_", "-"))


def channel_encoding(chemistry: Chemistry | str) -> ChannelEncoding:
    """The encoding of ``chemistry`` (a Chemistry or its string value)."""
    return ENCODINGS[parse_chemistry(chemistry)]


def base_to_channel_matrix(chemistry: Chemistry | str, crosstalk: np.ndarray) -> np.ndarray:
    """``(4, C)``: the channel signal of one unit of each base (encoding @ crosstalk)."""
    return np.asarray(channel_encoding(chemistry).encoding @ crosstalk, dtype=np.float64)


def encode_sequences(text: str) -> np.ndarray:
    """ACGT text to uint8 codes A=0, C=1, G=2, T=3 (other letters are rejected by the caller)."""
    lookup = np.full(256, 255, dtype=np.uint8)
    for code, base in enumerate(BASES):
        lookup[ord(base)] = code
        lookup[ord(base.lower())] = code
    return lookup[np.frombuffer(text.encode("ascii"), dtype=np.uint8)]


def decode_sequences(codes: np.ndarray) -> list[str]:
    """Rows of uint8 base codes to ACGT strings."""
    letters = np.frombuffer(BASES.encode("ascii"), dtype=np.uint8)[np.asarray(codes)]
    return [row.tobytes().decode("ascii") for row in np.atleast_2d(letters)]

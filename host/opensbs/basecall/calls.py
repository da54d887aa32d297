"""Base calls and chastity from corrected signals, for four- and two-colour chemistry.

Four-colour: the brightest channel is called; chastity = brightest / (brightest + second
brightest) after clipping negative values to 0 (formats.md); a cluster dark in every channel
is a no-call (N, chastity 0).
Two-colour: the signal scaled by the cluster's expected brightness is matched to the nearest
base signature (A = blue only, C = both, G = dark, T = green only); chastity = d2 / (d1 + d2)
with d1, d2 the distances to the nearest and second-nearest signature (1 on a signature, 0.5
halfway).
"""

from dataclasses import dataclass

import numpy as np

from ._arrays import as_float_array
from .chemistry import NO_CALL, Chemistry
from .errors import ShapeError


@dataclass(frozen=True)
class Calls:
    """Per-cluster calls of one cycle."""

    bases: np.ndarray  # (n,) uint8, 0..3 = A C G T, 4 = N
    chastity: np.ndarray  # (n,) float32 in [0, 1]
    signal_ratio: np.ndarray  # (n,) float32: called signal / expected brightness


def call_bases(signal: np.ndarray, scale: np.ndarray, chemistry: Chemistry) -> Calls:
    """Call clusters from corrected ``signal`` (n, channels) and brightness ``scale`` (n,)."""
    s = as_float_array(signal, 2, "signal", chemistry.n_channels)
    expected = as_float_array(scale, 1, "scale")
    if expected.shape[0] != s.shape[0]:
        raise ShapeError(f"scale has {expected.shape[0]} clusters, signal {s.shape[0]}")
    if chemistry.n_channels == 4:
        return _call_four_colour(s, expected)
    return _call_by_signature(s, expected, chemistry.signature.astype(np.float32))


def _call_four_colour(signal: np.ndarray, scale: np.ndarray) -> Calls:
    clipped = np.maximum(signal, np.float32(0.0))
    high01, low01 = np.maximum(clipped[:, 0], clipped[:, 1]), np.minimum(clipped[:, 0],
                                                                          clipped[:, 1])
    high23, low23 = np.maximum(clipped[:, 2], clipped[:, 3]), np.minimum(clipped[:, 2],
                                                                          clipped[:, 3])
    brightest = np.maximum(high01, high23)
    first_of_01 = (clipped[:, 1] > clipped[:, 0]).astype(np.uint8)
    first_of_23 = (clipped[:, 3] > clipped[:, 2]).astype(np.uint8) + np.uint8(2)
    bases = np.where(high23 > high01, first_of_23, first_of_01)
    second = np.maximum(np.minimum(high01, high23), np.maximum(low01, low23))
    total = brightest + second
    chastity = np.divide(brightest, total, out=np.zeros_like(total), where=total > 0)
    called = np.where(brightest > 0, bases, NO_CALL).astype(np.uint8)
    ratio = np.divide(brightest, scale, out=np.zeros_like(brightest), where=scale > 0)
    return Calls(called, chastity, ratio.astype(np.float32))


def _call_by_signature(signal: np.ndarray, scale: np.ndarray, signature: np.ndarray) -> Calls:
    safe = np.where(scale > 0, scale, 1.0).astype(np.float32)
    unit = signal / safe[:, None]
    distance = np.sqrt(((unit[:, :, None] - signature[None, :, :]) ** 2).sum(axis=1))
    nearest_two = np.partition(distance, 1, axis=1)[:, :2]
    bases = np.argmin(distance, axis=1).astype(np.uint8)
    total = nearest_two.sum(axis=1)
    chastity = np.divide(nearest_two[:, 1], total, out=np.zeros_like(total), where=total > 0)
    norm2 = (signature**2).sum(axis=0)
    projection = (unit * signature[:, bases].T).sum(axis=1)
    ratio = np.where(norm2[bases] > 0, projection / np.maximum(norm2[bases], 1e-9), 1.0)
    bases[scale <= 0] = NO_CALL
    return Calls(bases, chastity.astype(np.float32), ratio.astype(np.float32))

"""The simulation truth as the run uses it (with --sim only): the simulation-only diagnostic
"error vs simulation truth" (the run's error rate itself comes from aligning reads to the
control genome). The truth and its matcher are the simulator's (`opensbs.sim.truth`); the
instrument factory hands them in, so the run does not import the simulator."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class SimTruth(Protocol):
    """A simulated tile's truth: its true reads, and which true cluster each called one is."""

    @property
    def sequences(self) -> np.ndarray:
        """(true clusters, cycles) uint8 base codes 0..3."""
        ...

    def match(self, called_px: np.ndarray, bases: np.ndarray | None = None) -> np.ndarray:
        """Index of the true cluster of each called cluster ((n, 2) x, y in the frame of
        cycle 1; with their reads when known), or -1."""
        ...


def truth_errors(called_px: np.ndarray, truth: SimTruth, bases: np.ndarray, passed: np.ndarray,
                 cycles: np.ndarray) -> np.ndarray:
    """[errors, compared] of the PF clusters matched to a true cluster over the masked
    `cycles` of `bases` (clusters, run cycles); no-calls count as errors."""
    matched = truth.match(called_px, bases)
    counted = np.asarray(passed, bool) & (matched >= 0)
    calls = bases[counted][:, cycles]
    expected = truth.sequences[matched[counted]][:, : bases.shape[1]][:, cycles]
    return np.array([int((calls != expected).sum()), calls.size], np.int64)

"""Scoring calls against simulator truth, and the oracle caller's known parameters.

Detected clusters are matched to true clusters by the simulator's one matcher
(`opensbs.sim.truth.match_clusters`); a read is scored against the true sequence of its match.
The oracle is the same caller given the true positions, registration shifts, colour matrix and
phasing/prephasing rates.
"""

from dataclasses import dataclass

import numpy as np

from ..basecall.chemistry import NO_CALL, Chemistry, chemistry_for_channels
from ..basecall.phasing import PhasingEstimate
from ..basecall.pipeline import (
    BasecallConfig,
    CycleCalls,
    IntensityCalls,
    KnownParameters,
    TileBasecaller,
    collect,
)
from ..basecall.quality import Predictors, QualityTable
from ..sim import SimConfig, TileSimulator


def read_errors(bases: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(n, cycles) bool: call differs from truth (a no-call counts as an error)."""
    return (bases != truth) | (bases == NO_CALL)


@dataclass
class CalledTile:
    """One caller's results on a simulated tile, scored against truth.

    ``matched`` (n,) bool: detected cluster matched to a true one; ``errors`` (n, cycles) bool
    (False where unmatched); the other arrays are per detected cluster.
    """

    calls: IntensityCalls
    matched: np.ndarray
    errors: np.ndarray
    predictors: Predictors
    n_true_clusters: int
    kernel_sigma_px: float | None


def simulate_and_call(config: SimConfig, tile: int = 1101, oracle: bool = True,
                      quality_table: QualityTable | None = None,
                      chemistry: Chemistry | None = None,
                      caller_config: BasecallConfig | None = None) -> dict[str, CalledTile]:
    """Simulate a tile cycle by cycle and call it with the caller (and the oracle);
    ``caller_config`` chooses e.g. whole-read calling (default: live)."""
    simulator = TileSimulator(config, tile)
    chem = chemistry or chemistry_for_channels(config.n_channels)
    drift: list[np.ndarray] = []
    callers = {"caller": TileBasecaller(chem, caller_config, quality_table=quality_table)}
    if oracle:
        callers["oracle"] = TileBasecaller(chem, caller_config, quality_table=quality_table,
                                           known=KnownParameters(
            positions_px=simulator.positions,
            shift_at=lambda cycle: drift[cycle - 1][None, :] + simulator.channel_offsets_px,
            colour_matrix=_normalised_truth(config.crosstalk_matrix),
            rates=PhasingEstimate(config.phasing, config.prephasing)))
    results: dict[str, list[CycleCalls]] = {name: [] for name in callers}
    for _ in range(config.read_length):
        images = simulator.next_cycle()
        drift.append(simulator.truth().drift_px[-1])
        for name, caller in callers.items():
            results[name] += caller.add_cycle(images)
    truth = simulator.truth()
    scored = {}
    for name, caller in callers.items():
        results[name] += caller.finish()
        assert caller.positions is not None
        ordered = sorted(results[name], key=lambda r: r.cycle)
        calls = collect(ordered, caller.passing_filter, caller.rates, caller.colour_model)
        if name == "oracle":
            index = np.arange(truth.n_clusters)
        else:
            index = truth.match(caller.positions, calls.bases)
        matched = index >= 0
        errors = np.zeros(calls.bases.shape, dtype=bool)
        errors[matched] = read_errors(calls.bases[matched], truth.sequences[index[matched]])
        predictors = Predictors(*(np.stack([getattr(r.predictors, f) for r in ordered], axis=1)
                                  for f in ("chastity", "neighbour_chastity", "signal_ratio",
                                            "cycle")))
        scored[name] = CalledTile(calls, matched, errors, predictors, truth.n_clusters,
                                  caller.kernel_sigma_px)
    return scored


def _normalised_truth(crosstalk: np.ndarray) -> np.ndarray:
    matrix = np.asarray(crosstalk, dtype=np.float64).T
    return matrix / np.diag(matrix)[None, :]

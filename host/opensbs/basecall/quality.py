"""Quality scores (Phred) from predictors through a calibrated quality table.

Predictors of each call: its chastity, the lower of the chastities of the cycles before and
after it (neighbourhood), its signal relative to the cluster's expected brightness, and the
cycle. Each is binned; the table holds the Phred score of every cell, calibrated as
``-10 log10(error rate)`` of the bases that fell in that cell when calling data with known
truth (simulated tiles or aligned control reads). Sparse cells borrow strength from their
chastity bin (additive smoothing). One table per chemistry ships next to this module
(``qtable_four_colour.json``, ``qtable_two_colour.json``; ``shipped_table_path``);
``calibrate_table`` rebuilds one (``opensbs basecall-recalibrate``). Cells are finally pooled
into a few reported bins (``REPORTED_BIN_EDGES``) whose scores are the pooled error rates.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import QualityTableError, ShapeError

MIN_QUALITY = 2
MAX_QUALITY = 50
DEFAULT_MAX_QUALITY = 41  # what Illumina tools expect at most; the table may hold more
FOUR_BINS = ((0, 2), (10, 12), (20, 23), (30, 37))  # (lowest Q of the bin, reported Q)
SMOOTHING_BASES = 200.0
REPORTED_BIN_EDGES = (0, 10, 20, 25, 30, 35, 40, 45, MAX_QUALITY + 1)
PREDICTORS = ("chastity", "neighbour_chastity", "signal_ratio", "cycle")
DEFAULT_EDGES: dict[str, list[float]] = {
    "chastity": [0.0, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.84, 0.87, 0.9, 0.92, 0.94, 0.95,
                 0.96, 0.97, 0.975, 0.98, 0.985, 0.99, 0.993, 0.996, 1.0],
    "neighbour_chastity": [0.0, 0.6, 0.75, 0.85, 0.92, 0.96, 1.0],
    "signal_ratio": [0.0, 0.3, 0.5, 0.7, 0.85, 1.0, 1.2, 1e9],
    "cycle": [1, 26, 76, 151, 1e9],
}


def shipped_table_path(chemistry_name: str) -> Path:
    """The shipped table calibrated for a chemistry (``four-colour`` / ``two-colour``)."""
    if chemistry_name not in ("four-colour", "two-colour"):
        raise QualityTableError(f"no quality table ships for chemistry {chemistry_name!r}")
    return Path(__file__).with_name(f"qtable_{chemistry_name.replace('-', '_')}.json")


@dataclass(frozen=True)
class Predictors:
    """Per-call predictor values, all arrays of one shape."""

    chastity: np.ndarray
    neighbour_chastity: np.ndarray
    signal_ratio: np.ndarray
    cycle: np.ndarray


@dataclass(frozen=True)
class QualityTable:
    """Phred score per predictor cell; ``edges`` are the bin edges of each predictor."""

    edges: dict[str, np.ndarray]
    quality: np.ndarray  # uint8, shape = number of bins of each predictor in PREDICTORS order
    source: str = ""

    @classmethod
    def flat(cls, quality: int = MIN_QUALITY) -> "QualityTable":
        """A table giving ``quality`` everywhere (for collecting calibration data)."""
        edges = {k: np.asarray(DEFAULT_EDGES[k], dtype=np.float64) for k in PREDICTORS}
        shape = tuple(edges[k].size - 1 for k in PREDICTORS)
        return cls(edges, np.full(shape, quality, dtype=np.uint8), "flat")

    def cell(self, predictors: Predictors) -> tuple[np.ndarray, ...]:
        """Bin index of each predictor for every call."""
        index = []
        for name in PREDICTORS:
            edges = self.edges[name]
            values = np.asarray(getattr(predictors, name))
            index.append(np.clip(np.searchsorted(edges, values, side="right") - 1, 0,
                                 edges.size - 2))
        return tuple(index)

    def lookup(self, predictors: Predictors) -> np.ndarray:
        """Phred quality (uint8) of every call."""
        return self.quality[self.cell(predictors)]

    def to_json(self) -> str:
        return json.dumps({
            "format": "opensbs-quality-table", "version": 1, "source": self.source,
            "predictors": list(PREDICTORS),
            "edges": {k: [float(v) for v in self.edges[k]] for k in PREDICTORS},
            "quality": self.quality.astype(int).tolist(),
        }, indent=None)

    def save(self, path: Path | str) -> None:
        Path(path).write_text(self.to_json() + "\n")

    @classmethod
    def load(cls, path: Path | str) -> "QualityTable":
        """Read a table written by ``save``."""
        try:
            data = json.loads(Path(path).read_text())
            edges = {k: np.asarray(data["edges"][k], dtype=np.float64) for k in PREDICTORS}
            quality = np.asarray(data["quality"], dtype=np.uint8)
            source = str(data.get("source", ""))
        except FileNotFoundError:
            raise QualityTableError(f"quality table not found: {path}") from None
        except (KeyError, ValueError, TypeError) as exc:
            raise QualityTableError(f"{path}: not a quality table ({exc})") from None
        expected = tuple(edges[k].size - 1 for k in PREDICTORS)
        if quality.shape != expected:
            raise QualityTableError(f"{path}: quality shape {quality.shape} != bins {expected}")
        return cls(edges, quality, source)


def calibrate_table(predictors: Predictors, is_error: np.ndarray, source: str = "",
                    edges: dict[str, list[float]] | None = None) -> QualityTable:
    """Quality table from calls with known correctness (``is_error``, same shape)."""
    errors = np.asarray(is_error, dtype=bool)
    if np.shape(predictors.chastity) != errors.shape:
        raise ShapeError(f"is_error shape {errors.shape} != predictor shape "
                         f"{np.shape(predictors.chastity)}")
    bin_edges = {k: np.asarray((edges or DEFAULT_EDGES)[k], dtype=np.float64) for k in PREDICTORS}
    empty = QualityTable(bin_edges, np.zeros(1, np.uint8), source)
    shape = tuple(bin_edges[k].size - 1 for k in PREDICTORS)
    flat = np.ravel_multi_index(empty.cell(predictors), shape).ravel()
    bases = np.bincount(flat, minlength=int(np.prod(shape))).reshape(shape).astype(np.float64)
    wrong = np.bincount(flat, weights=errors.ravel().astype(np.float64),
                        minlength=int(np.prod(shape))).reshape(shape)
    overall = (wrong.sum() + 1.0) / (bases.sum() + 2.0)
    other_axes = tuple(range(1, len(shape)))
    parent = (wrong.sum(axis=other_axes) + SMOOTHING_BASES * overall) / (
        bases.sum(axis=other_axes) + SMOOTHING_BASES)
    parent = parent.reshape((-1,) + (1,) * (len(shape) - 1))
    rate = (wrong + SMOOTHING_BASES * parent) / (bases + SMOOTHING_BASES)
    rate = np.apply_along_axis(_decreasing, 0, np.concatenate([rate, bases + SMOOTHING_BASES]),
                               rate.shape[0])
    fine = np.clip(np.rint(-10.0 * np.log10(rate)), MIN_QUALITY, MAX_QUALITY)
    return QualityTable(bin_edges, _binned(fine, wrong, bases), source)


def four_bin_qualities(qualities: np.ndarray) -> np.ndarray:
    """Qualities mapped to the four values current Illumina instruments report: Q < 10 -> 2,
    10-19 -> 12, 20-29 -> 23, >= 30 -> 37."""
    q = np.asarray(qualities)
    lows = np.array([low for low, _ in FOUR_BINS])
    values = np.array([value for _, value in FOUR_BINS], dtype=np.uint8)
    return values[np.searchsorted(lows, q, side="right") - 1]


def _binned(fine: np.ndarray, wrong: np.ndarray, bases: np.ndarray) -> np.ndarray:
    """Cells grouped by fine quality into ``REPORTED_BIN_EDGES`` bins, each reporting the
    pooled error rate of its training bases: few, well-populated bins whose scores hold up on
    new data (as instruments bin qualities), instead of many sparse ones."""
    quality = np.empty(fine.shape, dtype=np.uint8)
    for low, high in zip(REPORTED_BIN_EDGES[:-1], REPORTED_BIN_EDGES[1:], strict=True):
        cells = (fine >= low) & (fine < high)
        if cells.any():
            pooled = (wrong[cells].sum() + 0.5) / (bases[cells].sum() + 1.0)
            quality[cells] = np.clip(np.rint(-10.0 * np.log10(pooled)), MIN_QUALITY, MAX_QUALITY)
    return quality


def _decreasing(rate_and_weight: np.ndarray, n: int) -> np.ndarray:
    """Weighted pool-adjacent-violators: the closest non-increasing sequence to ``rate``
    (error rates must not rise with chastity)."""
    values = list(rate_and_weight[:n])
    weights = list(rate_and_weight[n:])
    blocks: list[list[float]] = []  # [mean, weight, length]
    for value, weight in zip(values, weights, strict=True):
        blocks.append([value, weight, 1])
        while len(blocks) > 1 and blocks[-2][0] < blocks[-1][0]:
            mean2, weight2, length2 = blocks.pop()
            mean1, weight1, length1 = blocks.pop()
            total = weight1 + weight2
            blocks.append([(mean1 * weight1 + mean2 * weight2) / total, total, length1 + length2])
    return np.concatenate([np.full(int(length), mean) for mean, _, length in blocks])


def empirical_calibration(qualities: np.ndarray, is_error: np.ndarray, min_bases: int = 1000
                          ) -> list[dict[str, float]]:
    """Reported vs empirical Phred per reported Q (bins with >= ``min_bases`` bases).

    The empirical score uses (errors + 0.5) / (bases + 1) so an error-free bin stays finite.
    """
    q = np.asarray(qualities).ravel()
    e = np.asarray(is_error, dtype=bool).ravel()
    rows = []
    for value in np.unique(q):
        sel = q == value
        n = int(sel.sum())
        if n < min_bases:
            continue
        k = int(e[sel].sum())
        rows.append({"reported_q": float(value), "bases": float(n), "errors": float(k),
                     "empirical_q": float(-10.0 * np.log10((k + 0.5) / (n + 1.0)))})
    return rows

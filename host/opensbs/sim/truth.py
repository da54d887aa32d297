"""Ground truth of one simulated tile, and how it is stored next to the images.

Files, for tile number ``T``: ``truth/tile_TTTT.npz`` (arrays) and ``truth/tile_TTTT.json``
(the same scalars and small arrays, readable by people and other tools). Conventions:

* ``positions_px[i] = (x, y)``: cluster ``i`` before stage drift; in the image of cycle ``t``
  (1-based) and channel ``c`` it appears at ``positions_px[i] + drift_px[t-1] +
  channel_offsets_px[c]`` (x = column, y = row, pixel centres at integers);
* ``sequences[i]``: the read (uint8 A=0 C=1 G=2 T=3, ``read_length`` bases); the templates are
  ``template_margin`` bases longer (leading molecules can show them);
* with a library (`opensbs.sim.library`): ``sequences`` are the reads one after the other
  (``read_cycles`` each), ``sample[i]`` the pool sample of cluster ``i`` (0: none),
  ``index_source[i]`` the samples whose i7 and i5 it carries (another's after index hopping),
  ``template_record`` / ``template_start`` / ``insert_length`` its insert and
  ``template_reverse`` the strand read 1 reads; each read starts in phase, so
  `phasing_matrix` applies to each read's cycles separately;
* ``crosstalk[dye, channel]``, ``encoding[base, dye]``; ``phasing[t-1]``, ``prephasing[t-1]``:
  the rates of cycle ``t`` (the configured ones unless the instrument's conditions changed them);
  ``decay_factor[t-1]``: the signal multiplier at cycle ``t`` (1 at cycle 1);
* a cluster's clean signal at cycle ``t`` in channel ``c`` (photo-electrons, before PSF and
  noise) is ``brightness_e[i] * decay_factor[t-1] * sum_k P[t-1, k] * (encoding @
  crosstalk)[template[i, k], c]`` with ``P = phasing_matrix(phasing, prephasing)``.

Called clusters are matched to true ones by `match_clusters` (the one matcher, used by the
run's "error vs simulation truth" and by the calibration tools): after removing the global
offset between the called frame and the truth frame (the median displacement to the nearest
true cluster: stage drift, registration), of the true clusters within ``MATCH_RADIUS_PX`` the
one the read agrees with best (as aligning a control read picks its best hit; a detection
between two merged clusters reads the brighter one), or the nearest before the reads exist.
The radius is 1.5 px, not 1.0: a called cluster on merged true clusters sits up to ~1.5 px from
the one it reads (at 1.0 px, 20 of the default run's 88 k PF reads were scored against a
neighbour, doubling the error), and 1.5 px is still well under the clusters' spacing.
"""

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from .errors import SimLayoutError

MATCH_RADIUS_PX = 1.5
MATCH_CANDIDATES = 4  # true clusters within the radius compared with a read

_ARRAY_FIELDS = ("positions_px", "templates", "brightness_e", "template_record",
                 "template_start", "template_reverse", "crosstalk", "encoding",
                 "channel_offsets_px", "drift_px", "phasing", "prephasing", "decay_factor",
                 "reagent_fraction", "temperature_error_c")
_LIBRARY_FIELDS = ("sample", "insert_length", "index_source")
_JSON_ARRAY_FIELDS = ("crosstalk", "encoding", "channel_offsets_px", "drift_px", "phasing",
                      "prephasing", "decay_factor", "reagent_fraction", "temperature_error_c")


@dataclass
class TileTruth:
    """Everything the simulator knows about one tile after ``cycles`` cycles."""

    tile: int
    cycles: int
    read_length: int
    chemistry: str
    channel_names: list[str]
    reference_names: list[str]
    wells_total: int
    config: dict[str, Any]
    positions_px: np.ndarray
    templates: np.ndarray
    brightness_e: np.ndarray
    template_record: np.ndarray
    template_start: np.ndarray
    template_reverse: np.ndarray
    crosstalk: np.ndarray
    encoding: np.ndarray
    channel_offsets_px: np.ndarray
    drift_px: np.ndarray
    phasing: np.ndarray
    prephasing: np.ndarray
    decay_factor: np.ndarray
    reagent_fraction: np.ndarray
    temperature_error_c: np.ndarray
    # with a library only (None: one read of reference templates)
    read_cycles: list[int] | None = None
    sample: np.ndarray | None = None
    insert_length: np.ndarray | None = None
    index_source: np.ndarray | None = None

    @property
    def sequences(self) -> np.ndarray:
        """True reads (N, read_length) as uint8 base codes."""
        return self.templates[:, : self.read_length]

    @property
    def n_clusters(self) -> int:
        return len(self.positions_px)

    def match(self, called_px: np.ndarray, bases: np.ndarray | None = None) -> np.ndarray:
        """The true cluster of each called cluster (`match_clusters`), or -1."""
        sequences = None if bases is None else self.sequences[:, : bases.shape[1]]
        return match_clusters(called_px, self.positions_px, bases, sequences).truth_index

    def base_to_channel(self) -> np.ndarray:
        """``(4, C)``: the channel signal of one unit of each base (encoding @ crosstalk)."""
        return np.asarray(self.encoding @ self.crosstalk)

    def save(self, truth_dir: Path | str) -> tuple[Path, Path]:
        """Write ``tile_TTTT.npz`` and ``tile_TTTT.json`` into ``truth_dir``."""
        truth_dir = Path(truth_dir)
        truth_dir.mkdir(parents=True, exist_ok=True)
        stem = truth_dir / f"tile_{self.tile:04d}"
        arrays = {name: getattr(self, name) for name in (*_ARRAY_FIELDS, *_LIBRARY_FIELDS)
                  if getattr(self, name) is not None}
        np.savez_compressed(stem.with_suffix(".npz"), **arrays)
        meta: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)
                                if f.name not in (*_ARRAY_FIELDS, *_LIBRARY_FIELDS)}
        meta.update({name: np.asarray(getattr(self, name)).tolist()
                     for name in _JSON_ARRAY_FIELDS})
        meta["n_clusters"] = self.n_clusters
        stem.with_suffix(".json").write_text(json.dumps(meta, indent=1))
        return stem.with_suffix(".npz"), stem.with_suffix(".json")

    @classmethod
    def load(cls, truth_dir: Path | str, tile: int) -> "TileTruth":
        """Read the truth of ``tile`` written by `save`."""
        stem = Path(truth_dir) / f"tile_{tile:04d}"
        try:
            meta = json.loads(stem.with_suffix(".json").read_text())
            with np.load(stem.with_suffix(".npz")) as arrays:
                loaded = {name: arrays[name] for name in _ARRAY_FIELDS}
                loaded.update({name: arrays[name] for name in _LIBRARY_FIELDS
                               if name in arrays.files})
        except FileNotFoundError as exc:
            raise SimLayoutError(f"truth of tile {tile} missing: {exc.filename}") from None
        except KeyError as exc:
            raise SimLayoutError(f"truth of tile {tile} lacks array {exc}") from None
        scalars = {f.name: meta[f.name] for f in fields(cls)
                   if f.name not in (*_ARRAY_FIELDS, *_LIBRARY_FIELDS) and f.name in meta}
        return cls(**scalars, **loaded)


@dataclass(frozen=True)
class ClusterMatch:
    """``truth_index[i]`` = true cluster of called cluster i, or -1 if none within radius;
    ``offset_px`` the called frame's offset from the truth frame."""

    truth_index: np.ndarray
    offset_px: np.ndarray


def match_clusters(called_px: np.ndarray, true_px: np.ndarray, bases: np.ndarray | None = None,
                   true_sequences: np.ndarray | None = None,
                   radius_px: float = MATCH_RADIUS_PX) -> ClusterMatch:
    """Match called clusters (positions (n, 2), reads (n, cycles) if known) to true clusters
    (positions (m, 2), their reads over the same cycles); see the module docstring."""
    if len(called_px) == 0 or len(true_px) == 0:
        return ClusterMatch(np.full(len(called_px), -1, np.int64), np.zeros(2))
    tree = cKDTree(true_px)
    _, nearest = tree.query(called_px, k=1)
    offset = np.median(called_px - true_px[nearest], axis=0)
    k = 1 if bases is None else MATCH_CANDIDATES
    distance, candidates = tree.query(called_px - offset, k=k, distance_upper_bound=radius_px)
    distance, candidates = (a.reshape(len(called_px), k) for a in (distance, candidates))
    found = np.isfinite(distance)
    safe = np.where(found, candidates, 0)
    if bases is None or true_sequences is None:
        best = np.zeros(len(called_px), np.int64)
    else:
        mismatches = (bases[:, None, :] != true_sequences[safe]).sum(axis=2)
        best = np.argmin(np.where(found, mismatches, np.iinfo(np.int64).max), axis=1)
    rows = np.arange(len(called_px))
    return ClusterMatch(np.where(found[rows, best], safe[rows, best], -1).astype(np.int64), offset)

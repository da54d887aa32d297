"""Realism of the simulator's presets: simulate, call with opensbs's caller, align to PhiX.

For each preset two small tiles (``--tiles``; 1101, 1102) are simulated
(``opensbs.sim.presets``), called by the project's own image caller
(``opensbs.basecall.TileBasecaller``) and their passing-filter reads aligned to PhiX174 by
``opensbs.align.ControlAligner`` (minimap2; no simulation truth is used for the error
figures); a tile the caller fails on is reported as such. ``--true-colour`` presets (default
novaseq-x) are called a second time with the true colour-matrix shape given to the caller (as
the accuracy benchmark's oracle does), which separates the caller's crosstalk estimate from
the simulated physics. Printed per preset, pooled over the
tiles: aligned error by cycle band (1-35, 36-75, 76-150), error over the read, %>=Q30 (PF
bases), %PF, error-free reads (of aligned PF reads), the mean on-base intensity at cycle 1 and
its ratio at the last cycle, and the noise-to-signal ratio of the extracted intensities at the
first, middle and last cycle: clusters with no neighbour within 3 px, extracted at their true
positions, against the clean signal the truth gives (times the optical gain), so it is the
cluster and camera noise without overlaps.

The published ranges these are set against are in docs/simulator.md. The LAST line is JSON:
``miseq_error_rate``, ``miseq_q30_fraction``, ``miseq_error_free_reads``,
``novaseq_error_rate``, ``novaseq_q30_fraction``, ``seconds_per_cycle`` (simulation only, CPU
seconds per 2048^2 cycle of all the preset's channels, scaled from the tile size used; the
slowest preset; benchmarks/simulate.py measures it directly) and per-preset details.

    .venv/bin/python benchmarks/sim_realism.py [--tile-px 512] [--cycles 150] [--presets ...]
"""

import argparse
import json
import time
from dataclasses import dataclass

import numpy as np
from opensbs.align import AlignmentTally, ControlAligner
from opensbs.basecall.chemistry import NO_CALL
from opensbs.basecall.errors import BasecallError
from opensbs.basecall.extraction import Extractor
from opensbs.basecall.pipeline import KnownParameters, TileBasecaller, collect
from opensbs.sim import SimConfig, TileSimulator
from opensbs.sim.presets import preset_config
from scipy.spatial import cKDTree

BANDS = ((1, 35), (36, 75), (76, 150))
ISOLATION_PX = 3.0  # noise-to-signal on clusters with no neighbour this close (3 PSF sigmas)
EDGE_PX = 8


def noise_to_signal(extracted: np.ndarray, clean: np.ndarray) -> float:
    """Residual sd of extracted intensities about the best-scaled clean signal, over the mean
    on-channel signal (the channel where the clean signal is largest)."""
    x = clean.astype(np.float64)
    y = extracted.astype(np.float64)
    if len(x) == 0:
        return float("nan")
    scale = float((x * y).sum() / max((x * x).sum(), 1e-12))
    residual = y - scale * x
    on = np.argmax(x, axis=1)
    rows = np.arange(len(x))
    signal = float(np.mean(scale * x[rows, on]))
    return float(residual.std() / signal) if signal > 0 else float("nan")


@dataclass
class TileResult:
    """What one simulated and called tile contributes to its preset's figures."""

    clusters: int
    tally: AlignmentTally
    pf: np.ndarray
    q30_bases: int
    called_bases: int
    noise_to_signal: dict[int, float]
    on_base_mean: dict[int, float]
    rates: tuple[float, float]
    sim_seconds: float


def call_tile(config: SimConfig, tile: int, aligner: ControlAligner,
              true_colour: bool = False) -> TileResult:
    """Simulate one tile, call it cycle by cycle, align its PF reads, probe its noise.
    ``true_colour``: the caller is given the true colour-matrix shape (a diagnostic)."""
    cycles, tile_px = config.read_length, config.tile_width_px
    simulator = TileSimulator(config, tile)
    shape = config.crosstalk_matrix.T / np.diag(config.crosstalk_matrix)[None, :]
    caller = TileBasecaller(known=KnownParameters(colour_matrix=shape) if true_colour else None)
    xy = simulator.positions
    distance, _ = cKDTree(xy).query(xy, k=2)
    isolated = (distance[:, 1] >= ISOLATION_PX) & np.all(
        (xy > EDGE_PX) & (xy < tile_px - 1 - EDGE_PX), axis=1)
    extractor = Extractor(xy[isolated], (config.tile_height_px, tile_px))
    results = []
    sim_seconds = 0.0
    noise: dict[int, float] = {}
    on_base: dict[int, float] = {}
    for cycle in range(1, cycles + 1):
        start = time.process_time()  # CPU time: other jobs on a shared machine do not count
        images = simulator.next_cycle()
        sim_seconds += time.process_time() - start
        if cycle in (1, max(1, cycles // 2), cycles):
            shifts = simulator.truth().drift_px[-1][None, :] + simulator.channel_offsets_px
            extracted = extractor.extract(images, shifts)
            clean = simulator.last_signal_e[isolated]
            if simulator.optical_gain is not None:
                clean = clean * simulator.optical_gain[isolated, None]
            noise[cycle] = noise_to_signal(extracted, clean)
            on_base[cycle] = float(np.mean(extracted.max(axis=1)))
        results += caller.add_cycle(images)
    results += caller.finish()
    calls = collect(results, caller.passing_filter, caller.rates, caller.colour_model)
    pf = calls.passing_filter
    q = calls.qualities[pf]
    called = calls.bases[pf] != NO_CALL
    return TileResult(len(xy), aligner.tally(calls.bases[pf], q), pf,
                      int((q[called] >= 30).sum()), int(called.sum()), noise, on_base,
                      (calls.rates.phasing, calls.rates.prephasing), sim_seconds)


def run_preset(name: str, tile_px: int, cycles: int, seed: int, tiles: int,
               aligner: ControlAligner, true_colour: bool = False) -> dict[str, object]:
    """Figures of one preset over ``tiles`` tiles (1101, 1102, ...), pooled."""
    config = preset_config(name, seed=seed, tile_width_px=tile_px, tile_height_px=tile_px,
                           read_length=cycles)
    done: list[TileResult] = []
    failures = []
    for tile in range(1101, 1101 + tiles):
        try:
            done.append(call_tile(config, tile, aligner, true_colour))
        except BasecallError as exc:  # the caller could not call this tile: say so
            failures.append(f"tile {tile}: {exc}")
    row: dict[str, object] = {"preset": name + ("+true-colour" if true_colour else ""),
                              "chemistry": config.chemistry.value,
                              "tiles_called": len(done), "caller_failures": failures}
    if not done:
        return row
    tally = AlignmentTally(cycles)
    for result in done:
        tally.merge(result.tally)
    bands = {}
    for first, last in BANDS:
        if first <= cycles:
            hi = min(last, cycles)
            bases = int(tally.bases_by_cycle[first - 1:hi].sum())
            bands[f"{first}-{hi}"] = int(tally.errors_by_cycle[first - 1:hi].sum()) / max(bases, 1)
    probes = sorted(done[0].noise_to_signal)
    pf = np.concatenate([r.pf for r in done])
    sim_seconds = sum(r.sim_seconds for r in done) / (cycles * len(done))
    row.update({
        "clusters": sum(r.clusters for r in done), "pf_fraction": float(pf.mean()),
        "error_rate": tally.error_rate, "error_by_band": bands,
        "q30_fraction": sum(r.q30_bases for r in done) / max(sum(r.called_bases
                                                                 for r in done), 1),
        "error_free_reads": tally.error_free_reads / tally.n_aligned if tally.n_aligned else 0.0,
        "aligned_fraction": tally.aligned_fraction,
        "intensity_cycle1": float(np.mean([r.on_base_mean[1] for r in done])),
        "intensity_last_over_first": float(np.mean([r.on_base_mean[cycles] / r.on_base_mean[1]
                                                    for r in done])),
        "noise_to_signal": {str(c): round(float(np.mean([r.noise_to_signal[c] for r in done])),
                                          4) for c in probes},
        "phasing_estimate": [round(float(np.mean([r.rates[i] for r in done])), 5)
                             for i in (0, 1)],
        "sim_seconds_per_cycle": sim_seconds,
        "seconds_per_2048_cycle": sim_seconds * (2048 * 2048) / (tile_px * tile_px),
    })
    return row


def print_row(r: dict[str, object]) -> None:
    for failure in r["caller_failures"]:  # type: ignore[attr-defined]
        print(f"{r['preset']:<10} caller failed on {failure}")
    if not r["tiles_called"]:
        return
    bands = "  ".join(f"{k}: {100 * v:.2f}%" for k, v in r["error_by_band"].items())  # type: ignore
    ns = " ".join(f"c{k} {v:.3f}" for k, v in r["noise_to_signal"].items())  # type: ignore
    print(f"{r['preset']:<10} {r['chemistry']:<11} clusters {r['clusters']:>6}  "
          f"%PF {100 * r['pf_fraction']:.1f}  error {100 * r['error_rate']:.3f}%  "  # type: ignore
          f"%>=Q30 {100 * r['q30_fraction']:.1f}  "  # type: ignore
          f"error-free {100 * r['error_free_reads']:.1f}%  "  # type: ignore
          f"aligned {100 * r['aligned_fraction']:.1f}%")  # type: ignore
    print(f"{'':<10} by cycle: {bands}")
    print(f"{'':<10} intensity c1 {r['intensity_cycle1']:.0f}, last/first "
          f"{r['intensity_last_over_first']:.2f};  noise/signal {ns};  "
          f"phasing est {r['phasing_estimate']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tile-px", type=int, default=512)
    parser.add_argument("--cycles", type=int, default=150)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--tiles", type=int, default=2)
    parser.add_argument("--true-colour", nargs="*", default=["novaseq-x"],
                        help="presets also called with the true colour-matrix shape given "
                             "(a diagnostic separating the caller's crosstalk estimate)")
    parser.add_argument("--presets", nargs="+",
                        default=["gentle", "miseq-v3", "novaseq-x", "prototype"])
    args = parser.parse_args(argv)
    aligner = ControlAligner()
    rows = []
    for name in args.presets:
        start = time.perf_counter()
        row = run_preset(name, args.tile_px, args.cycles, args.seed, args.tiles, aligner)
        row["wall_seconds"] = round(time.perf_counter() - start, 1)
        print_row(row)
        rows.append(row)
        if name in args.true_colour:
            row = run_preset(name, args.tile_px, args.cycles, args.seed, args.tiles, aligner,
                             true_colour=True)
            print_row(row)
            rows.append(row)
    by_name = {r["preset"]: r for r in rows}
    miseq, nova = by_name.get("miseq-v3", {}), by_name.get("novaseq-x", {})
    nova_true = by_name.get("novaseq-x+true-colour", {})
    result = {
        "miseq_error_rate": miseq.get("error_rate"),
        "miseq_q30_fraction": miseq.get("q30_fraction"),
        "miseq_error_free_reads": miseq.get("error_free_reads"),
        "novaseq_error_rate": nova.get("error_rate"),
        "novaseq_q30_fraction": nova.get("q30_fraction"),
        "novaseq_true_colour_error_rate": nova_true.get("error_rate"),
        "novaseq_true_colour_q30_fraction": nova_true.get("q30_fraction"),
        "seconds_per_cycle": max((float(r["seconds_per_2048_cycle"]) for r in rows  # type: ignore
                                  if r["tiles_called"]), default=None),
        "tile_px": args.tile_px, "cycles": args.cycles, "presets": rows,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""Base-calling accuracy against simulator truth over a grid of conditions, with an oracle.

For each condition one tile is simulated (opensbs.sim; defaults are an Illumina-class random
flow cell at 600k clusters/mm^2, see opensbs.sim.config) and called by the base caller and by
the ORACLE: the same caller given the true cluster positions, registration shifts, colour
matrix (shape) and phasing/prephasing rates. Reads of passing-filter clusters matched to a true
cluster are scored against the true sequence (no-calls count as errors).

Prints a table and, as the last line, JSON: ``conditions`` (one object per condition) and
``default`` (four-colour, 0.1 %/0.1 %, 150 cycles).

    .venv/bin/python benchmarks/basecall_accuracy.py [--tile-px 512] [--quick]
"""

import argparse
import json
import time

import numpy as np
from opensbs.basecall.quality import empirical_calibration
from opensbs.calibration.evaluation import CalledTile, simulate_and_call
from opensbs.sim import SimConfig


def conditions(tile_px: int, quick: bool) -> list[tuple[str, SimConfig]]:
    base = SimConfig(seed=2, tile_width_px=tile_px, tile_height_px=tile_px)  # not a tuning seed
    small = base.replace(tile_width_px=min(tile_px, 384), tile_height_px=min(tile_px, 384))
    grid = [("default", base),
            ("300cyc_0.3/0.3", small.replace(read_length=300, phasing=0.003, prephasing=0.003))]
    if quick:
        return grid
    return grid + [
        ("50cyc", small.replace(read_length=50)),
        ("phasing_0.05/0.05", small.replace(phasing=0.0005, prephasing=0.0005)),
        ("phasing_0.5/0.5", small.replace(phasing=0.005, prephasing=0.005)),
        ("two-colour", small.replace(chemistry="two-colour")),
        ("density_300k", small.replace(density_per_mm2=300_000.0)),
        ("crosstalk_x1.5", small.replace(crosstalk=tuple(
            tuple(float(v) for v in row) for row in _scaled_crosstalk(small, 1.5)))),
        ("noise_background_x3", small.replace(background_e=300.0, read_noise_e=3.0)),
        ("drift_jitter_1px", small.replace(drift_jitter_px=1.0,
                                           drift_rate_px_per_cycle=(0.05, -0.03))),
    ]


def _scaled_crosstalk(config: SimConfig, factor: float) -> np.ndarray:
    matrix = config.crosstalk_matrix.copy()
    off = ~np.eye(matrix.shape[0], dtype=bool)
    matrix[off] *= factor
    return matrix


def score(tile: CalledTile) -> dict[str, float]:
    rows = tile.matched & tile.calls.passing_filter
    errors = tile.errors[rows]
    qualities = tile.calls.qualities[rows]
    calibration = empirical_calibration(qualities, errors, min_bases=1000)
    return {
        "error_rate": float(errors.mean()) if errors.size else float("nan"),
        "q30_fraction": float((qualities >= 30).mean()) if qualities.size else 0.0,
        "pf_fraction": float(tile.calls.passing_filter.mean()),
        "clusters_detected": int(tile.matched.size),
        "clusters_matched_fraction_of_true": float(tile.matched.sum() / tile.n_true_clusters),
        "pf_reads_scored": int(rows.sum()),
        "max_q_calibration_error": max((abs(r["empirical_q"] - r["reported_q"])
                                        for r in calibration), default=float("nan")),
        "q_calibration": calibration,
    }


def run_condition(name: str, config: SimConfig) -> dict[str, object]:
    start = time.perf_counter()
    tiles = simulate_and_call(config, oracle=True)
    caller, oracle = tiles["caller"], tiles["oracle"]
    mine, best = score(caller), score(oracle)
    truth_matrix = config.crosstalk_matrix.T / np.diag(config.crosstalk_matrix)[None, :]
    model = caller.calls.colour_model
    assert model is not None
    rates = caller.calls.rates
    return {
        "name": name, "chemistry": config.chemistry.value, "cycles": config.read_length,
        "tile_px": config.tile_width_px, "density_per_mm2": config.density_per_mm2,
        "true_phasing": config.phasing, "true_prephasing": config.prephasing,
        "estimated_phasing": rates.phasing, "estimated_prephasing": rates.prephasing,
        "phasing_rel_error": abs(rates.phasing - config.phasing) / config.phasing,
        "prephasing_rel_error": abs(rates.prephasing - config.prephasing) / config.prephasing,
        "crosstalk_max_abs_error": float(np.abs(model.normalised() - truth_matrix).max()),
        **mine,
        "oracle_error_rate": best["error_rate"], "oracle_pf_fraction": best["pf_fraction"],
        "oracle_q30_fraction": best["q30_fraction"],
        "oracle_pf_reads_scored": best["pf_reads_scored"],
        "error_ratio_to_oracle": mine["error_rate"] / best["error_rate"]
        if best["error_rate"] else float("nan"),
        "seconds": time.perf_counter() - start,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tile-px", type=int, default=512, help="default-condition tile size")
    parser.add_argument("--quick", action="store_true", help="default and 300-cycle only")
    args = parser.parse_args()
    results = []
    header = (f"{'condition':<22}{'cyc':>4}{'err%':>8}{'oracle%':>9}{'ratio':>7}{'PF%':>7}"
              f"{'>=Q30%':>8}{'Qcal':>6}{'phas est/true':>16}{'preph est/true':>16}{'xtalk':>7}"
              f"{'found%':>8}")
    print(header)
    for name, config in conditions(args.tile_px, args.quick):
        r = run_condition(name, config)
        results.append(r)
        print(f"{name:<22}{r['cycles']:>4}{100 * r['error_rate']:>8.3f}"
              f"{100 * r['oracle_error_rate']:>9.3f}{r['error_ratio_to_oracle']:>7.2f}"
              f"{100 * r['pf_fraction']:>7.1f}{100 * r['q30_fraction']:>8.1f}"
              f"{r['max_q_calibration_error']:>6.1f}"
              f"{r['estimated_phasing'] * 100:>9.3f}/{r['true_phasing'] * 100:.2f}"
              f"{r['estimated_prephasing'] * 100:>9.3f}/{r['true_prephasing'] * 100:.2f}"
              f"{r['crosstalk_max_abs_error']:>7.3f}"
              f"{100 * r['clusters_matched_fraction_of_true']:>8.1f}", flush=True)
    default = results[0]
    print("tile sizes: default", args.tile_px, "px; others <= 384 px square (random layout);"
          " found% = detected clusters matched to a true one, per true cluster")
    print("Q calibration (default): reported -> empirical (bases)")
    for row in default["q_calibration"]:  # type: ignore[union-attr]
        print(f"  Q{row['reported_q']:.0f} -> {row['empirical_q']:.1f} ({row['bases']:.0f})")
    keys = ("error_rate", "oracle_error_rate", "q30_fraction", "pf_fraction",
            "phasing_rel_error", "prephasing_rel_error", "max_q_calibration_error")
    print(json.dumps({"conditions": results, "default": {k: default[k] for k in keys}}))


if __name__ == "__main__":
    main()

"""What phasing costs the base caller: error against the same data with phasing set to zero.

Every condition is simulated twice with the same seed, noise, density and decay: once with the
condition's phasing/prephasing and once with both 0 (the reference). The ratio of the errors is
what phasing costs; a caller that recovered everything phasing spreads would reach 1.

Intensity conditions (``opensbs.sim.intensities``: lognormal brightness, per-cluster decay and
phasing spread, crosstalk, Student-t noise with shot-noise scaling and channel correlation,
PhiX templates, 2 % mixed clusters): four- and two-colour, phasing 0, 0.1, 0.3, 0.5, 1.0 %
per cycle (prephasing half) at 101 cycles and 0.3/0.3 % at 300 cycles, plus the same sweep on
Gaussian data (no tails, no per-cluster spread, no mixed clusters) and an unseen seed; each
called offline (whole read, ``call_intensities``) and live (bounded delay). Image conditions
(``simulate_and_call`` on small simulated tiles): four-colour 0 and 1.0/0.5 % at 101 cycles,
and the default condition (``SimConfig(seed=2)``, 512 px, 150 cycles, 0.1/0.1 %).

Per condition: error of all reads and of PF reads (no-calls count as errors), error of the
last 10 cycles, %PF, ratio to the zero-phasing error, and the largest |empirical - reported| Q
over bins with >= 1,000 PF bases (truth, and by aligning the PF reads to PhiX with
``opensbs.align.ControlAligner``; the top bin is capped, so its excess confidence is listed
separately as ``top_bin_excess``). Speed: the ``opensbs basecall-intensities`` command (one
thread, CPU time of the whole process) and images -> calls on a simulated tile.

    nice .venv/bin/python benchmarks/basecall_phasing.py [--quick]
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from opensbs.align import ControlAligner  # noqa: E402
from opensbs.basecall import BasecallConfig, TileBasecaller, call_intensities  # noqa: E402
from opensbs.basecall.calls import call_bases  # noqa: E402
from opensbs.basecall.chemistry import Chemistry, chemistry_named  # noqa: E402
from opensbs.basecall.quality import DEFAULT_MAX_QUALITY, empirical_calibration  # noqa: E402
from opensbs.basecall.read_model import (  # noqa: E402
    EXTRA_POSITIONS,
    ClusterState,
    matched_statistic,
)
from opensbs.basecall.whole_read import ReadCalls, call_whole_read  # noqa: E402
from opensbs.calibration.evaluation import simulate_and_call  # noqa: E402
from opensbs.sim import Chemistry as Chemistry_  # noqa: E402
from opensbs.sim import SimConfig, TileSimulator  # noqa: E402
from opensbs.sim.intensities import IntensityConfig, simulate_intensities  # noqa: E402

SWEEP = (0.0, 0.001, 0.003, 0.005, 0.01)
MODES = {"offline": BasecallConfig(whole_read=True, max_quality=DEFAULT_MAX_QUALITY),
         "live": BasecallConfig(max_quality=DEFAULT_MAX_QUALITY)}


def _calibration(qualities: np.ndarray, errors: np.ndarray, bases: np.ndarray,
                 aligner: ControlAligner | None) -> dict[str, float]:
    rows = empirical_calibration(qualities, errors, min_bases=1000)
    out = {"max_q": float(qualities.max()) if qualities.size else 0.0,
           "max_q_calibration_error": _worst(
               {int(r["reported_q"]): r["empirical_q"] for r in rows}),
           "top_bin_excess": _excess({int(r["reported_q"]): r["empirical_q"] for r in rows})}
    if aligner is not None and bases.size:
        tally = aligner.tally(bases, qualities)
        empirical = tally.empirical_q(min_bases=1000)
        out["max_q_calibration_error_aligned"] = _worst(empirical)
        out["aligned_error_rate"] = tally.error_rate
        out["aligned_fraction"] = tally.aligned_fraction
    return out


def _worst(empirical: dict[int, float]) -> float:
    """Largest |empirical - reported| over bins, the capped top bin counted only if it is
    over-confident (a capped bin is better than it says by construction)."""
    gaps = [abs(e - q) if q < DEFAULT_MAX_QUALITY else max(q - e, 0.0)
            for q, e in empirical.items()]
    return max(gaps, default=float("nan"))


def _excess(empirical: dict[int, float]) -> float:
    top = [e - q for q, e in empirical.items() if q >= DEFAULT_MAX_QUALITY]
    return top[0] if top else float("nan")


def score(bases: np.ndarray, qualities: np.ndarray, passing: np.ndarray, truth: np.ndarray,
          aligner: ControlAligner | None) -> dict[str, float]:
    errors = (bases != truth) | (bases == 4)
    pf = errors[passing]
    return {"error_all": float(errors.mean()), "error_pf": float(pf.mean()) if pf.size else 1.0,
            "error_last10": float(errors[:, -10:].mean()),
            "pf_fraction": float(passing.mean()),
            **_calibration(qualities[passing], pf, bases[passing], aligner)}


def genie_error(corrected: np.ndarray, sequences: np.ndarray, read: ReadCalls,
                chemistry: Chemistry) -> float:
    """Error of a caller told every base but the one it calls (matched filter over all cycles
    with the others' light removed exactly, fitted model): no caller can do better per base,
    so genie / zero-phasing error is the least that phasing costs with this noise."""
    n, cycles = sequences.shape
    n_positions = cycles + EXTRA_POSITIONS
    padded = np.concatenate([sequences, np.zeros((n, EXTRA_POSITIONS), np.uint8)], axis=1)
    symbols = np.ascontiguousarray(chemistry.signature[:, padded].transpose(1, 0, 2),
                                   dtype=np.float32)
    state = ClusterState(read.amplitude, read.noise_factor, symbols)
    z = np.ascontiguousarray(corrected.transpose(0, 2, 1)) / read.amplitude[:, None, None]
    statistic = matched_statistic(z, state, read.model, read.model.transfer(n_positions))
    calls = call_bases(statistic[:, :, :cycles].transpose(0, 2, 1).reshape(
        -1, chemistry.n_channels), np.ones(n * cycles, np.float32), chemistry)
    return float(np.mean(calls.bases.reshape(n, cycles) != sequences))


def intensity_condition(config: IntensityConfig, mode: str, aligner: ControlAligner | None
                        ) -> dict[str, float]:
    data = simulate_intensities(config)
    chemistry = chemistry_named(str(config.chemistry))
    start = time.process_time()
    calls = call_intensities(data.intensities, chemistry, MODES[mode])
    seconds = time.process_time() - start
    result = score(calls.bases, calls.qualities, calls.passing_filter, data.sequences, aligner)
    if mode == "offline" and calls.colour_model is not None:
        corrected = calls.colour_model.correct(data.intensities)
        read = call_whole_read(corrected, chemistry)
        result["genie_error_all"] = genie_error(corrected, data.sequences, read, chemistry)
    mixed = data.mixed
    result["mixed_pf_fraction"] = float(calls.passing_filter[mixed].mean()) if mixed.any() \
        else float("nan")
    result["mixed_mean_q"] = float(calls.qualities[mixed].mean()) if mixed.any() \
        else float("nan")
    result["cluster_cycles_per_cpu_s"] = data.intensities.shape[0] * config.n_cycles / seconds
    result["estimated_phasing"] = calls.rates.phasing
    result["estimated_prephasing"] = calls.rates.prephasing
    return result


def image_condition(config: SimConfig, mode: str, aligner: ControlAligner | None
                    ) -> dict[str, float]:
    tile = simulate_and_call(config, oracle=False, caller_config=MODES[mode])["caller"]
    rows = tile.matched
    passing = tile.calls.passing_filter[rows]
    errors = tile.errors[rows]
    pf = errors[passing]
    result = {"error_all": float(errors.mean()), "error_pf": float(pf.mean()),
              "error_last10": float(errors[:, -10:].mean()),
              "pf_fraction": float(tile.calls.passing_filter.mean()),
              **_calibration(tile.calls.qualities[rows][passing], pf,
                             tile.calls.bases[rows][passing], aligner)}
    return result


def intensity_speed(n_clusters: int) -> float:
    """CPU seconds of the whole ``opensbs basecall-intensities`` command, per cluster-cycle."""
    data = simulate_intensities(IntensityConfig(seed=11, n_clusters=n_clusters,
                                                phasing=0.005, prephasing=0.0025))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.npy"
        np.save(path, data.intensities)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([str(Path(sys.executable).with_name("opensbs")), "basecall-intensities",
                        str(path),
                        "--out", str(Path(folder) / "r.fastq.gz")], check=True,
                       capture_output=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return n_clusters * data.intensities.shape[1] / seconds


def image_speed(tile_px: int, cycles: int) -> float:
    """Images -> calls (offline, whole read) CPU rate on one simulated tile, every stage."""
    simulator = TileSimulator(SimConfig(seed=7, tile_width_px=tile_px, tile_height_px=tile_px,
                                        read_length=cycles), 1101)
    caller = TileBasecaller(chemistry_named("four-colour"), MODES["offline"])
    seconds = 0.0
    for _ in range(cycles):
        images = simulator.next_cycle()
        start = time.process_time()
        caller.add_cycle(images)
        seconds += time.process_time() - start
    start = time.process_time()
    caller.finish()
    seconds += time.process_time() - start
    assert caller.positions is not None
    return len(caller.positions) * cycles / seconds


def _row(name: str, mode: str, r: dict[str, float]) -> str:
    return (f"{name:<34}{mode:<8}{100 * r['error_all']:>8.3f}{100 * r['error_pf']:>8.3f}"
            f"{100 * r['error_last10']:>8.2f}{100 * r['pf_fraction']:>6.1f}"
            f"{r.get('ratio', float('nan')):>7.2f}{r['max_q_calibration_error']:>6.1f}"
            f"{r.get('max_q_calibration_error_aligned', float('nan')):>6.1f}"
            f"{100 * r.get('genie_error_all', float('nan')):>8.3f}")


def _genie(chemistry: str, cycles: int, phasing: float, results: list[dict[str, object]]
           ) -> float:
    rows = [r for r in results if r["kind"] == "intensities" and r["mode"] == "offline"
            and r["chemistry"] == chemistry and r["cycles"] == cycles
            and r["phasing"] == phasing and str(r["variant"]).endswith("cyc")]
    return float(rows[0].get("genie_ratio", float("nan"))) if rows else float("nan")  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, fewer conditions")
    args = parser.parse_args()
    quick = args.quick
    n_clusters = 4_000 if quick else 20_000
    aligner = ControlAligner()
    print(f"{'condition':<34}{'mode':<8}{'err%':>8}{'PFerr%':>8}{'last10%':>8}{'PF%':>6}"
          f"{'ratio':>7}{'Qcal':>6}{'Qaln':>6}{'genie%':>8}", flush=True)
    results: list[dict[str, object]] = []
    sweeps: list[tuple[str, int, list[tuple[float, float]], dict[str, object]]] = [
        ("four-colour", 101, [(p, p / 2) for p in SWEEP], {}),
        ("four-colour", 300, [(0.003, 0.003)], {}),
        ("two-colour", 101, [(p, p / 2) for p in SWEEP], {})]
    if not quick:
        gaussian: dict[str, object] = {"noise_dof": 1e9, "phasing_spread_log": 0.0,
                                       "decay_spread_log": 0.0, "mixed_fraction": 0.0}
        sweeps += [("four-colour", 101, [(0.005, 0.0025), (0.01, 0.005)], gaussian),
                   ("four-colour", 101, [(0.01, 0.005)], {"seed": 23})]
    for chemistry, cycles, levels, extra in sweeps:
        base = IntensityConfig(seed=3, n_clusters=n_clusters if cycles < 300 else n_clusters // 2,
                               n_cycles=cycles, chemistry=Chemistry_(chemistry)).replace(**extra)
        label = f"int {chemistry} {cycles}cyc" + (" gauss" if "noise_dof" in extra else "") + (
            f" seed{extra['seed']}" if "seed" in extra else "")
        for mode in MODES:
            reference = intensity_condition(base.without_phasing(), mode, aligner)
            reference["ratio"] = 1.0
            print(_row(f"{label} 0/0", mode, reference), flush=True)
            for phasing, prephasing in levels:
                if phasing == 0.0:
                    continue
                r = intensity_condition(base.replace(phasing=phasing, prephasing=prephasing),
                                        mode, aligner)
                r["ratio"] = r["error_all"] / reference["error_all"]
                r["ratio_pf"] = r["error_pf"] / max(reference["error_pf"], 1e-9)
                if "genie_error_all" in r:
                    r["genie_ratio"] = r["genie_error_all"] / reference["error_all"]
                print(_row(f"{label} {100 * phasing:.1f}/{100 * prephasing:.2f}", mode, r),
                      flush=True)
                results.append({"kind": "intensities", "chemistry": chemistry, "cycles": cycles,
                                "phasing": phasing, "prephasing": prephasing, "mode": mode,
                                "variant": label, **r,
                                "reference_error_all": reference["error_all"]})
    image_px = 256 if quick else 384
    for mode in MODES:
        tile = SimConfig(seed=2, tile_width_px=image_px, tile_height_px=image_px,
                         read_length=101, phasing=0.0, prephasing=0.0)
        reference = image_condition(tile, mode, aligner)
        reference["ratio"] = 1.0
        print(_row(f"img {image_px}px 101cyc 0/0", mode, reference), flush=True)
        r = image_condition(tile.replace(phasing=0.01, prephasing=0.005), mode, aligner)
        r["ratio"] = r["error_all"] / reference["error_all"]
        print(_row(f"img {image_px}px 101cyc 1.0/0.50", mode, r), flush=True)
        results.append({"kind": "images", "phasing": 0.01, "prephasing": 0.005, "mode": mode,
                        **r})
    default_px = 256 if quick else 512
    default = {}
    for mode in MODES:
        config = SimConfig(seed=2, tile_width_px=default_px, tile_height_px=default_px)
        default[mode] = image_condition(config, mode, aligner)
        print(_row(f"default img {default_px}px 150cyc 0.1/0.1", mode, default[mode]), flush=True)

    def ratio(chemistry: str, cycles: int, phasing: float) -> float:
        rows = [r for r in results if r["kind"] == "intensities" and r["mode"] == "offline"
                and r["chemistry"] == chemistry and r["cycles"] == cycles
                and r["phasing"] == phasing and str(r["variant"]).endswith("cyc")]
        return float(rows[0]["ratio"]) if rows else float("nan")  # type: ignore[arg-type]

    offline = [r for r in results if r["kind"] == "intensities" and r["mode"] == "offline"]
    speed_clusters = 20_000 if quick else 200_000
    intensity_rate = intensity_speed(speed_clusters)
    image_rate = image_speed(512 if quick else 2048, 50 if quick else 150)
    print(f"speed: basecall-intensities {speed_clusters} clusters x 101 cycles "
          f"{intensity_rate:,.0f} cluster-cycles/CPU-s; images -> calls {image_rate:,.0f}")
    print(json.dumps({
        "ratio_101": ratio("four-colour", 101, 0.01),
        "ratio_300": ratio("four-colour", 300, 0.003),
        "ratio_two_colour_101": ratio("two-colour", 101, 0.01),
        "genie_ratio_101": _genie("four-colour", 101, 0.01, results),
        "genie_ratio_300": _genie("four-colour", 300, 0.003, results),
        "genie_ratio_two_colour_101": _genie("two-colour", 101, 0.01, results),
        "default_error_rate": default["offline"]["error_pf"],
        "default_error_rate_live": default["live"]["error_pf"],
        "max_q": max(float(r["max_q"]) for r in offline),  # type: ignore[arg-type]
        "max_q_calibration_error": max(float(r["max_q_calibration_error"])  # type: ignore[arg-type]
                                       for r in offline),
        "max_q_calibration_error_aligned": max(
            float(r.get("max_q_calibration_error_aligned", float("nan")))  # type: ignore[arg-type]
            for r in offline),
        "intensity_cluster_cycles_per_s": intensity_rate,
        "image_cluster_cycles_per_s": image_rate,
        "quick": quick, "conditions": results, "default": default,
    }))


if __name__ == "__main__":
    main()

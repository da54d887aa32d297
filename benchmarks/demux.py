"""Demultiplexing: accuracy on a simulated 96-sample pool and throughput against writing the
same reads as one FASTQ per read.

The pool: 96 samples with unequal balance (log-normal shares, sd 0.5) plus a 1 % unindexed
spike-in (random indexes), unique dual 10-base indexes that differ in >= 5 bases (i7 and i5
each), 1 % of index bases substituted (opensbs.sim.library), read structure 151T10B10B151T,
inserts 350 +- 80 bp from PhiX. BCL/filter/locs files are written as a perfect caller would
(opensbs.sim.library_calls), so every read's sample is known.

Accuracy: of the PF reads of the samples, the share assigned to their own sample; of all PF
reads, the share assigned to a sample they do not belong to (the unindexed spike-in included),
for 0, 1 and 2 allowed mismatches per index (the run itself uses the sheet's 2).
Throughput: `opensbs.demux.demultiplex` (I1/I2 FASTQs on, so it writes the same reads) against
`RunFolder.write_fastq` (the run's own writer: one Undetermined FASTQ per read), wall time.

    .venv/bin/python benchmarks/demux.py [--clusters-per-tile 50000] [--tiles 4]
"""

import argparse
import gzip
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from opensbs.basecall.fastq import read_name_coordinate
from opensbs.demux import demultiplex
from opensbs.demux.barcodes import BarcodeMatcher, encode
from opensbs.recipe import default_recipe_text, parse_read_structure, parse_recipe
from opensbs.runfolder import RunFolder, RunIdentity
from opensbs.sim.library import LibraryConfig, PoolSample
from opensbs.sim.library_calls import LibraryTile, write_library_calls

SAMPLES = 96
INDEX_BP = 10
MIN_DISTANCE = 5
STRUCTURE = "151T10B10B151T"


def index_set(rng: np.random.Generator, count: int) -> list[str]:
    """`count` random indexes of INDEX_BP bases, 40-60 % GC, pairwise >= MIN_DISTANCE apart."""
    chosen: list[np.ndarray] = []
    while len(chosen) < count:
        candidate = rng.integers(0, 4, INDEX_BP)
        gc = np.isin(candidate, (1, 2)).mean()
        if 0.4 <= gc <= 0.6 and all((candidate != c).sum() >= MIN_DISTANCE for c in chosen):
            chosen.append(candidate)
    return ["".join("ACGT"[b] for b in c) for c in chosen]


def pool(rng: np.random.Generator) -> tuple[PoolSample, ...]:
    shares = rng.lognormal(0.0, 0.5, SAMPLES)
    shares = 0.99 * shares / shares.sum()
    return tuple(PoolSample(f"Sample{k + 1:02d}", i7, i5, float(f))
                 for k, (i7, i5, f) in enumerate(zip(index_set(rng, SAMPLES),
                                                     index_set(rng, SAMPLES), shares,
                                                     strict=True)))


def sample_sheet(samples: tuple[PoolSample, ...], mismatches: int) -> str:
    rows = "".join(f"1,{s.sample_id},{s.index1},{s.index2},Pool\n" for s in samples)
    return ("[Header]\nFileFormatVersion,2\nRunName,demux-benchmark\nInstrumentPlatform,OpenSBS\n\n"
            "[Reads]\nRead1Cycles,151\nRead2Cycles,151\nIndex1Cycles,10\nIndex2Cycles,10\n\n"
            f"[BCLConvert_Settings]\nBarcodeMismatchesIndex1,{mismatches}\n"
            f"BarcodeMismatchesIndex2,{mismatches}\n"
            "AdapterRead1,AGATCGGAAGAGCACACGTCTGAACTCCAGTCA\n"
            "AdapterRead2,AGATCGGAAGAGCGTCGTGTAGGGAAAGAGTGT\n\n"
            "[BCLConvert_Data]\nLane,Sample_ID,Index,Index2,Sample_Project\n" + rows)


def recipe_text(tiles: int) -> str:
    blocks = "".join(f"[[reads]]\ncycles = {r.cycles}\nindex = {str(r.index).lower()}\n\n"
                     for r in parse_read_structure(STRUCTURE))
    text = default_recipe_text().replace("[[reads]]\ncycles = 50\nindex = false\n\n", blocks)
    return text.replace("tiles = 2\n", f"tiles = {tiles}\n")


def rates(truth: np.ndarray, assigned: np.ndarray) -> tuple[float, float]:
    """(correct share of the samples' reads, misassigned share of all reads); samples 1..n,
    0 = none."""
    indexed = truth > 0
    correct = float((assigned[indexed] == truth[indexed]).mean())
    wrong = float(((assigned > 0) & (assigned != truth)).mean())
    return correct, wrong


def matcher_rates(tiles: list[LibraryTile], samples: tuple[PoolSample, ...],
                  mismatches: int) -> tuple[float, float]:
    """Rates of the index matcher alone (the code demultiplex uses) at `mismatches`."""
    matcher = BarcodeMatcher(np.array([encode(s.index1) for s in samples]),
                             np.array([encode(s.index2) for s in samples]),
                             mismatches, mismatches)
    truth = np.concatenate([t.library.sample[t.passed] for t in tiles])
    found = np.concatenate([
        matcher.assign(t.library.reads[1][t.passed, :INDEX_BP],
                       t.library.reads[2][t.passed, :INDEX_BP]).sample + 1 for t in tiles])
    return rates(truth, found)


def assigned_from_fastq(root: Path, tiles: list[LibraryTile],
                        samples: tuple[PoolSample, ...]) -> np.ndarray:
    """Per PF read (tile order), the sample whose R1 FASTQ holds it (0: Undetermined)."""
    where = {}
    offset = 0
    for t in tiles:
        xy = read_name_coordinate(t.xy_px[t.passed])
        for k, (x, y) in enumerate(xy.tolist()):
            where[f"@OPENSBS1:1:OSBS0001:1:{t.tile}:{x}:{y}"] = offset + k
        offset += len(xy)
    assigned = np.full(offset, -1, np.int64)
    files = [(k + 1, f"{s.sample_id}_S{k + 1}") for k, s in enumerate(samples)]
    for number, stem in [*files, (0, "Undetermined_S0")]:
        text = gzip.decompress((root / "Fastq" / f"{stem}_L001_R1_001.fastq.gz").read_bytes())
        for line in text.split(b"\n")[0::4]:
            if line:
                assigned[where[line.split(b" ")[0].decode()]] = number
    assert (assigned >= 0).all(), "a PF read is missing from the FASTQs"
    return assigned


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters-per-tile", type=int, default=50_000)
    parser.add_argument("--tiles", type=int, default=4)
    args = parser.parse_args()
    rng = np.random.default_rng(12)
    samples = pool(rng)
    config = LibraryConfig(samples=samples, index_error_rate=0.01)
    text = recipe_text(args.tiles)
    root = Path(tempfile.mkdtemp(prefix="opensbs-demux-bench-"))
    try:
        run = root / "run"
        identity = RunIdentity("261203_OPENSBS1_0001_OSBS0001", 1, "261203")
        tiles = write_library_calls(run, parse_recipe(text), text, identity, config,
                                    args.clusters_per_tile, rng)
        (run / "SampleSheet.csv").write_text(sample_sheet(samples, 2))
        pf_reads = sum(int(t.passed.sum()) for t in tiles)

        start = time.perf_counter()
        RunFolder(run, parse_recipe(text), identity).write_fastq()
        fastq_s = time.perf_counter() - start
        shutil.rmtree(run / "Fastq")
        start = time.perf_counter()
        result = demultiplex(run, run / "SampleSheet.csv", index_fastq=True)
        demux_s = time.perf_counter() - start

        truth = np.concatenate([t.library.sample[t.passed] for t in tiles])
        correct, wrong = rates(truth, assigned_from_fastq(run, tiles, samples))
        by_mismatch = {m: matcher_rates(tiles, samples, m) for m in (0, 1, 2)}
        assert abs(by_mismatch[2][0] - correct) < 1e-12 and abs(by_mismatch[2][1] - wrong) < 1e-12
        counts = result.lanes[0].reads[:-1]
    finally:
        shutil.rmtree(root)
    demux_rate, fastq_rate = pf_reads / demux_s, pf_reads / fastq_s
    print(f"pool: {SAMPLES} samples, shares {counts.min() / counts.sum():.2%} .. "
          f"{counts.max() / counts.sum():.2%} of assigned reads, 1 % unindexed spike-in, "
          f"1 % index base errors; {STRUCTURE}; {args.tiles} tiles x "
          f"{args.clusters_per_tile:,} clusters, {pf_reads:,} PF reads")
    print(f"{'mismatches/index':<18}{'correct':>10}{'misassigned':>14}")
    for m, (c, w) in by_mismatch.items():
        print(f"{m:<18}{c:>10.4%}{w:>14.5%}")
    print(f"{'run (sheet: 2)':<18}{correct:>10.4%}{wrong:>14.5%}   (from the FASTQ files)")
    print(f"{'writer':<40}{'seconds':>9}{'reads/s':>12}")
    print(f"{'demultiplex (R1, R2, I1, I2 per sample)':<40}{demux_s:>9.2f}{demux_rate:>12,.0f}")
    print(f"{'one FASTQ per read (RunFolder)':<40}{fastq_s:>9.2f}{fastq_rate:>12,.0f}")
    print(f"throughput ratio demultiplex / one FASTQ: {demux_rate / fastq_rate:.2f}")
    print(json.dumps({
        "samples": SAMPLES, "pf_reads": pf_reads, "index_error_rate": 0.01,
        "correct_fraction": correct, "misassigned_fraction": wrong,
        "correct_fraction_by_mismatches": {str(m): c for m, (c, _) in by_mismatch.items()},
        "misassigned_fraction_by_mismatches": {str(m): w for m, (_, w) in by_mismatch.items()},
        "demux_reads_per_s": demux_rate, "one_fastq_reads_per_s": fastq_rate,
        "throughput_ratio": demux_rate / fastq_rate}))


if __name__ == "__main__":
    main()

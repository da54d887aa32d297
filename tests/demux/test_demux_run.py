"""Demultiplexing a run folder of a simulated pool: every read in its sample's FASTQ, exact
records, counts in the reports equal to the truth, a failure leaves the folder as it was."""

import csv
import gzip
from pathlib import Path

import numpy as np
import pytest
from opensbs.basecall.fastq import read_name_coordinate
from opensbs.demux import SampleSheetError, demultiplex
from opensbs.runfolder import RunFolderError

from .pool_run import POOL, sheet_v2, write_pool_run

LETTERS = np.array(list("ACGTN"))


def _fastq(path: Path) -> list[tuple[str, str, str]]:
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    assert all(lines[i] == "+" for i in range(2, len(lines), 4))
    return [(lines[i], lines[i + 1], lines[i + 3]) for i in range(0, len(lines), 4)]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_every_pf_read_lands_in_its_sample_with_exact_records(tmp_path: Path):
    tiles = write_pool_run(tmp_path, index_error_rate=0.03, insert_mean_bp=400)
    (tmp_path / "SampleSheet.csv").write_text(sheet_v2())
    result = demultiplex(tmp_path, tmp_path / "SampleSheet.csv")
    fastq = tmp_path / "Fastq"
    assert sorted(p.name for p in fastq.iterdir()) == sorted(
        [f"{s.sample_id}_S{n}_L001_{r}_001.fastq.gz" for n, s in enumerate(POOL, start=1)
         for r in ("R1", "R2")] + ["Undetermined_S0_L001_R1_001.fastq.gz",
                                   "Undetermined_S0_L001_R2_001.fastq.gz"])
    expected: dict[str, set[str]] = {}
    for t in tiles:
        lib = t.library
        # indexes differ in >= 4 bases: a read is its sample's when each index has <= 1 error
        ok = (lib.index_errors[1] <= 1) & (lib.index_errors[2] <= 1)
        coords = read_name_coordinate(t.xy_px)
        for i in np.flatnonzero(t.passed):
            name = f"@OPENSBS1:7:OSBS0001:1:{t.tile}:{coords[i, 0]}:{coords[i, 1]}"
            key = POOL[lib.sample[i] - 1].sample_id if ok[i] else "Undetermined"
            expected.setdefault(key, set()).add(name)
    assert sum(map(len, expected.values())) == sum(int(t.passed.sum()) for t in tiles)
    assert 0 < len(expected["Undetermined"]) < 0.05 * sum(map(len, expected.values()))
    for n, key in enumerate([s.sample_id for s in POOL] + ["Undetermined"], start=1):
        prefix = f"{key}_S{n if key != 'Undetermined' else 0}_L001"
        r1 = _fastq(fastq / f"{prefix}_R1_001.fastq.gz")
        r2 = _fastq(fastq / f"{prefix}_R2_001.fastq.gz")
        assert {h.split(" ")[0] for h, _, _ in r1} == expected[key]
        assert [h.split(" ")[0] for h, _, _ in r1] == [h.split(" ")[0] for h, _, _ in r2]
    # one record byte for byte: name with the observed index, bases and Phred+33 qualities
    t = tiles[0]
    k = int(np.flatnonzero(t.passed & (t.library.sample == 2))[0])
    coords = read_name_coordinate(t.xy_px[k])
    i7 = "".join(LETTERS[t.library.reads[1][k, :8]])
    i5 = "".join(LETTERS[t.library.reads[2][k, :8]])
    record = next(r for r in _fastq(fastq / "Beta_S2_L001_R2_001.fastq.gz")
                  if r[0].startswith(f"@OPENSBS1:7:OSBS0001:1:{t.tile}:{coords[0]}:{coords[1]} "))
    assert record[0].endswith(f" 2:N:0:{i7}+{i5}")
    assert record[1] == "".join(LETTERS[t.library.reads[3][k, :20]])
    assert record[2] == "".join(chr(q + 33) for q in t.qualities[k, 40:60])
    # the reports count what the truth says
    stats = {r["SampleID"]: r for r in _rows(tmp_path / "Reports" / "Demultiplex_Stats.csv")}
    for s in POOL:
        assert int(stats[s.sample_id]["# Reads"]) == len(expected[s.sample_id])
        assert stats[s.sample_id]["Index"] == f"{s.index1}-{s.index2}"
    perfect = sum(int(((t.library.index_errors[1] + t.library.index_errors[2] == 0)
                       & t.passed).sum()) for t in tiles)
    assert sum(int(stats[s.sample_id]["# Perfect Index Reads"]) for s in POOL) == perfect
    assert int(stats["Undetermined"]["# Reads"]) == len(expected["Undetermined"])
    assert result.lanes[0].reads.sum() == sum(map(len, expected.values()))
    assert result.removed == ()


def test_a_second_demultiplexing_replaces_the_first_files(tmp_path: Path):
    write_pool_run(tmp_path, clusters=50, tiles=1)
    fastq = tmp_path / "Fastq"  # the run's own one-per-read FASTQ, as a run without a sheet
    fastq.mkdir()
    for label in ("R1", "I1", "I2", "R2"):
        (fastq / f"Undetermined_S0_L001_{label}_001.fastq.gz").write_bytes(b"all reads")
    (fastq / "notes.txt").write_text("kept")
    (tmp_path / "SampleSheet.csv").write_text(sheet_v2())
    first = demultiplex(tmp_path, tmp_path / "SampleSheet.csv", index_fastq=True)
    assert {p.name for p in first.removed} == set()  # all four rewritten
    (tmp_path / "SampleSheet.csv").write_text(sheet_v2(POOL[:2]))
    second = demultiplex(tmp_path, tmp_path / "SampleSheet.csv")
    assert sorted(p.name for p in second.removed) == sorted(
        [f"{s.sample_id}_S{n}_L001_{r}_001.fastq.gz" for n, s in enumerate(POOL, start=1)
         for r in ("I1", "I2") + (("R1", "R2") if n > 2 else ())]
        + [f"Undetermined_S0_L001_{r}_001.fastq.gz" for r in ("I1", "I2")])
    assert sorted(p.name for p in fastq.iterdir()) == sorted(
        [f"{s.sample_id}_S{n}_L001_{r}_001.fastq.gz" for n, s in enumerate(POOL[:2], start=1)
         for r in ("R1", "R2")] + ["Undetermined_S0_L001_R1_001.fastq.gz",
                                   "Undetermined_S0_L001_R2_001.fastq.gz", "notes.txt"])


def test_a_failure_leaves_the_run_folder_as_it_was(tmp_path: Path):
    write_pool_run(tmp_path)
    (tmp_path / "SampleSheet.csv").write_text(sheet_v2())
    fastq = tmp_path / "Fastq" / "Undetermined_S0_L001_R1_001.fastq.gz"
    fastq.parent.mkdir()
    fastq.write_bytes(b"the run's own FASTQ")
    bcl = tmp_path / "Data/Intensities/BaseCalls/L001/C30.1/s_1_1102.bcl"
    bcl.write_bytes(bcl.read_bytes()[:-1])
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(RunFolderError, match="s_1_1102.bcl"):
        demultiplex(tmp_path, tmp_path / "SampleSheet.csv")
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert fastq.read_bytes() == b"the run's own FASTQ"


def test_a_sample_in_a_lane_the_run_lacks_is_named(tmp_path: Path):
    write_pool_run(tmp_path, clusters=10, tiles=1)
    (tmp_path / "SampleSheet.csv").write_text(sheet_v2().replace("1,Gamma-1,", "2,Gamma-1,"))
    with pytest.raises(SampleSheetError, match=r":11: Lane: 2: the run has lanes \[1\]"):
        demultiplex(tmp_path, tmp_path / "SampleSheet.csv")


def test_v1_sheet_with_i7_only_and_index_fastq(tmp_path: Path):
    tiles = write_pool_run(tmp_path, clusters=300, tiles=1, index_error_rate=0.03)
    rows = "".join(f"{s.sample_id},{s.index1},P\n" for s in POOL)
    (tmp_path / "sheet.csv").write_text("[Header]\nIEMFileVersion,4\n\n[Reads]\n24\n20\n\n"
                                        f"[Data]\nSample_ID,index,Sample_Project\n{rows}")
    result = demultiplex(tmp_path, tmp_path / "sheet.csv", index_fastq=True)
    lib, passed = tiles[0].library, tiles[0].passed
    own = (lib.index_errors[1] <= 1) & passed
    expected = [int((own & (lib.sample == k)).sum()) for k in range(1, len(POOL) + 1)]
    assert result.lanes[0].reads[:-1].tolist() == expected
    i1 = _fastq(tmp_path / "Fastq" / "Beta_S2_L001_I1_001.fastq.gz")
    assert len(i1) == expected[1] and {len(seq) for _, seq, _ in i1} == {8}
    assert all(h.endswith(f":N:0:{seq}") for h, seq, _ in i1)  # no i5 in the names
    assert not (tmp_path / "Fastq" / "Beta_S2_L001_I2_001.fastq.gz").exists()

"""Adapter read-through is trimmed or masked where the insert ends; the i5 index is matched in
the orientation the instrument reads it."""

import csv
import gzip
from pathlib import Path

import numpy as np
import pytest
from opensbs.basecall.fastq import read_name_coordinate
from opensbs.demux import I5Orientation, SampleSheetError, demultiplex
from opensbs.demux.adapters import AdapterPolicy, adapter_starts, apply_adapters
from opensbs.demux.barcodes import encode
from opensbs.sim.library import PoolSample

from .pool_run import POOL, sheet_v2, write_pool_run

# i5 indexes that are not their own reverse complement (nor within 3 of another's)
POOL_RC = tuple(PoolSample(s.sample_id, s.index1, i5, s.fraction)
                for s, i5 in zip(POOL, ("AACCTTGG", "GTCAACTG", "TGAGCTAC", "CTGTAGCA"),
                                 strict=True))

ADAPTER = "AGATCGGAAGAGCACACGTCTGAACTCCAGTCA"


def test_adapter_found_where_it_starts_with_one_error_allowed_in_ten():
    insert = encode("CCTTGGAACCTTGGAACCTTGGAACCTTGG")
    reads = np.stack([
        np.concatenate([insert[:12], encode(ADAPTER[:18])]),  # adapter from 12
        np.concatenate([insert[:12], encode("AGATCGGAAGTGCACACG")]),  # one error in 18: 0.94
        np.concatenate([insert[:12], encode("AGATCGGAAGTGCTCTCG")]),  # three errors: 0.83
        np.concatenate([insert[:26], encode(ADAPTER[:4])]),  # 4 bases at the end
        np.concatenate([insert[:28], encode(ADAPTER[:2])]),  # 2 bases: under the minimum
    ])
    assert adapter_starts(reads, ADAPTER, min_overlap=3).tolist() == [12, 12, 30, 26, 30]
    assert adapter_starts(reads, ADAPTER).tolist() == [12, 12, 30, 26, 28]  # BCL Convert's 1
    assert adapter_starts(reads, "").tolist() == [30] * 5


def test_trim_pads_to_the_minimum_length_and_masks_short_reads():
    bases = np.zeros((3, 10), np.uint8)
    quals = np.full((3, 10), 30, np.uint8)
    starts = np.array([10, 6, 2])
    b, q, lengths = apply_adapters(bases, quals, starts, AdapterPolicy("trim", 4, 3))
    assert lengths.tolist() == [10, 6, 4]
    assert (b[1, 6:] == 4).all() and (b[1, :6] == 0).all() and (q[1, 6:] == 2).all()
    assert (b[2] == 4).all()  # 2 bases left: under MaskShortReads, N throughout
    b, _, lengths = apply_adapters(bases, quals, starts, AdapterPolicy("mask", 4, 3))
    assert lengths.tolist() == [10, 10, 10] and (b[1, 6:] == 4).all()


def _r1_lengths(path: Path) -> dict[str, int]:
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    return {lines[i].split(" ")[0]: len(lines[i + 1].rstrip("N")) for i in range(0, len(lines), 4)}


@pytest.mark.parametrize("behavior", ["trim", "mask"])
def test_reads_past_short_inserts_end_where_the_insert_ends(tmp_path: Path, behavior: str):
    tiles = write_pool_run(tmp_path, structure="60T8B8B40T", clusters=800, tiles=1,
                           insert_mean_bp=40, insert_sd_bp=12)
    settings = (f"AdapterRead1,{ADAPTER}\nAdapterBehavior,{behavior}\n"
                "MinimumTrimmedReadLength,0\nMaskShortReads,0\nMinimumAdapterOverlap,3\n")
    (tmp_path / "SampleSheet.csv").write_text(sheet_v2(settings=settings))
    demultiplex(tmp_path, tmp_path / "SampleSheet.csv")
    got: dict[str, int] = {}
    for n, s in enumerate(POOL, start=1):
        got |= _r1_lengths(tmp_path / "Fastq" / f"{s.sample_id}_S{n}_L001_R1_001.fastq.gz")
    xy = read_name_coordinate(tiles[0].xy_px)
    cluster = {f"@OPENSBS1:7:OSBS0001:1:1101:{x}:{y}": i for i, (x, y) in enumerate(xy.tolist())}
    insert = tiles[0].library.insert_length[[cluster[name] for name in got]]
    lengths = np.array(list(got.values()))
    # an insert 3 or more bases shorter than the read: the read ends where the insert does
    short = insert <= 57
    assert short.sum() > 200 and (lengths[short] == insert[short]).mean() > 0.98
    # longer inserts: the read is kept whole, but for a chance match of the adapter's first
    # bases at its very end
    assert (lengths[~short] >= 57).mean() > 0.95
    with (tmp_path / "Reports" / "Adapter_Metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert sum(int(r["R1_AdapterBases"]) + int(r["R1_SampleBases"]) for r in rows) == \
        60 * sum(int(r["# Reads"]) for r in rows)
    assert sum(int(r["R1_AdapterBases"]) for r in rows) == int((60 - lengths).sum())


@pytest.mark.parametrize(("header", "explicit", "marked", "assigned"), [
    ("InstrumentPlatform,NextSeq1k2k\n", None, False, True),
    ("", None, False, False),  # no platform named: forward, and the reads are reverse complement
    ("", I5Orientation.REVERSE_COMPLEMENT, False, True),
    ("", None, True, True),  # RunInfo.xml marks the i5 read IsReverseComplement="Y"
])
def test_i5_read_as_reverse_complement_on_those_instruments(
        tmp_path: Path, header: str, explicit: I5Orientation | None, marked: bool,
        assigned: bool):
    tiles = write_pool_run(tmp_path, clusters=300, tiles=1, pool=POOL_RC,
                           i5_workflow="reverse-complement")
    if marked:
        run_info = tmp_path / "RunInfo.xml"
        text = run_info.read_text()
        i5 = '<Read Number="3" NumCycles="8" IsIndexedRead="Y" IsReverseComplement="N"/>'
        assert i5 in text
        run_info.write_text(text.replace(i5, i5.replace('Complement="N"', 'Complement="Y"')))
    (tmp_path / "SampleSheet.csv").write_text(sheet_v2(POOL_RC, header=header))
    result = demultiplex(tmp_path, tmp_path / "SampleSheet.csv", orientation=explicit)
    pf = int(tiles[0].passed.sum())
    undetermined = int(result.lanes[0].reads[-1])
    assert undetermined == (0 if assigned else pf)


def test_unknown_instrument_platform_is_named(tmp_path: Path):
    write_pool_run(tmp_path, clusters=10, tiles=1)
    (tmp_path / "SampleSheet.csv").write_text(sheet_v2(header="InstrumentPlatform,PacBio\n"))
    with pytest.raises(SampleSheetError, match="InstrumentPlatform: 'PacBio': i5 orientation"):
        demultiplex(tmp_path, tmp_path / "SampleSheet.csv")

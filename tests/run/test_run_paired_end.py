"""A paired-end, dual-index run on the virtual instrument, CBCL output: each read restarts
phasing, the turnaround runs between the reads it separates, every output is per read."""

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from opensbs.run import RunRequest, start_run
from opensbs.runfolder import decode_cbcl, read_run_log

MICRO = Path(__file__).with_name("micro_recipe.toml")
SAMPLES = (("S1", "ACGT", "TTGA", 0.5), ("S2", "GTCA", "CAAC", 0.4))
TURNAROUND = """
[[turnaround]]
step = "fluidics"
what = "turnaround resynthesis mix"
port = 6
volume_nl = 50000
flow_nl_per_s = 10000

[[turnaround]]
step = "wait"
duration_ms = 30000
"""


def paired_recipe(tmp: Path, *, i5_after_turnaround: bool = False) -> Path:
    sheet = tmp / "SampleSheet.csv"
    sheet.write_text("[Header]\nFileFormatVersion,2\n\n[BCLConvert_Data]\nLane,Sample_ID,"
                     "Index,Index2\n" + "".join(f"1,{s},{i7},{i5}\n" for s, i7, i5, _ in SAMPLES))
    reads = "".join(
        f"[[reads]]\ncycles = {c}\nindex = {'true' if i else 'false'}\n"
        + ("turnaround = true\n" if n == (3 if i5_after_turnaround else 4) else "") + "\n"
        for n, (c, i) in enumerate(((30, False), (4, True), (4, True), (30, False)), start=1))
    library = "[library]\ninsert_mean_bp = 200.0\ninsert_sd_bp = 20.0\n" + "".join(
        f'\n[[library.samples]]\nsample_id = "{s}"\nindex1 = "{i7}"\nindex2 = "{i5}"\n'
        f"fraction = {f}\n" for s, i7, i5, f in SAMPLES)
    text = MICRO.read_text().replace("[[reads]]\ncycles = 6\n\n", reads).replace(
        '[run]\nname = "micro-test"\n',
        f'[run]\nname = "micro-pe"\nbcl_format = "cbcl"\nsample_sheet = "{sheet}"\n').replace(
        "[sim]", TURNAROUND + "\n" + library + "\n[sim]")
    path = tmp / "pe.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def paired_run(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("pe")
    out = tmp / "run"
    start_run(RunRequest(sim=True, recipe=paired_recipe(tmp), out=out, seed=3))
    return out


def _fastq(path: Path) -> list[list[str]]:
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    return [lines[i:i + 4] for i in range(0, len(lines), 4)]


def test_turnaround_runs_between_index_2_and_read_2(paired_run: Path) -> None:
    records = read_run_log(paired_run / "run_log.jsonl")
    kinds = [(r["kind"], r.get("cycle")) for r in records
             if r["kind"] in ("cycle_imaged", "cycle_start", "turnaround_start",
                              "turnaround_done")]
    at = kinds.index(("turnaround_start", 39))
    assert kinds[at - 1] == ("cycle_imaged", 38)
    assert kinds[at + 1:at + 3] == [("turnaround_done", 39), ("cycle_start", 39)]
    steps = [r for r in records if r["kind"] == "step_done" and r.get("turnaround")]
    assert [s["step"] for s in steps] == ["fluidics", "wait"]
    assert steps[0]["port"] == 6 and steps[1]["duration_s"] == pytest.approx(30.0, abs=0.2)


def test_outputs_are_per_read(paired_run: Path) -> None:
    info = (paired_run / "RunInfo.xml").read_text()
    for n, (c, i) in enumerate(((30, "N"), (4, "Y"), (4, "Y"), (30, "N")), start=1):
        assert (f'<Read Number="{n}" NumCycles="{c}" IsIndexedRead="{i}" '
                'IsReverseComplement="N"/>') in info
    summary = json.loads((paired_run / "summary.json").read_text())
    assert [r["cycles"] for r in summary["reads"]] == [30, 4, 4, 30]
    for read in (summary["reads"][0], summary["reads"][3]):
        assert read["aligned_fraction"] > 0.9  # read 2, from the other strand, aligns too
        assert read["error_rate"] < 0.01
        assert read["phasing"] is not None
    fastq = {label: _fastq(paired_run / "Fastq" / f"Undetermined_S0_L001_{label}_001.fastq.gz")
             for label in ("R1", "I1", "I2", "R2")}
    assert {label: len(records[0][1]) for label, records in fastq.items()} == {
        "R1": 30, "I1": 4, "I2": 4, "R2": 30}
    names = {label: [r[0].split(" ")[0] for r in records] for label, records in fastq.items()}
    assert names["R1"] == names["I1"] == names["I2"] == names["R2"]
    assert {r[0].split(" ")[1][0] for r in fastq["R2"]} == {"4"}
    i7 = [r[1] for r in fastq["I1"]]
    i5 = [r[1] for r in fastq["I2"]]  # forward-strand workflow: as the sheet writes it
    for (_, index1, index2, fraction) in SAMPLES:
        share = sum(a == index1 and b == index2 for a, b in zip(i7, i5, strict=True)) / len(i7)
        assert share == pytest.approx(fraction, abs=0.08)


def test_cbcl_and_sample_sheet_in_the_run_folder(paired_run: Path) -> None:
    lane = paired_run / "Data/Intensities/BaseCalls/L001"
    assert len(list(lane.glob("C*.1/L001_1.cbcl"))) == 68
    assert not list(lane.glob("C*.1/*.bcl")) and not (paired_run / "State/bcl").exists()
    first = decode_cbcl((lane / "C1.1" / "L001_1.cbcl").read_bytes())
    r1 = _fastq(paired_run / "Fastq/Undetermined_S0_L001_R1_001.fastq.gz")
    assert len(first.tiles[1101][0]) == len(r1)  # PF clusters only
    assert "".join(r[1][0] for r in r1) == "".join(
        "ACGTN"[b] for b in first.tiles[1101][0])
    assert (paired_run / "SampleSheet.csv").read_text().startswith("[Header]")
    truth = np.load(paired_run / "Truth/tile_1101.npz")
    assert set(np.unique(truth["sample"])) <= {0, 1, 2}
    assert truth["templates"].shape[1] >= 68

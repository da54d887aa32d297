"""A recipe naming a sample sheet: the simulated pool takes the sheet's samples, and the run is
demultiplexed at its end; a sheet that does not fit the reads stops the run before it starts."""

import csv
import gzip
import json
from pathlib import Path

import pytest
from opensbs.recipe import RecipeError, parse_recipe
from opensbs.run import RunRequest, start_run
from opensbs.runfolder import RunFolderError
from opensbs.sim.instrument import pool_samples
from opensbs.sim.library import LibraryError

from .pool_run import POOL, sheet_v2

MICRO = Path(__file__).parent.parent / "run" / "micro_recipe.toml"
READS = ("[[reads]]\ncycles = 6\nindex = false\n\n[[reads]]\ncycles = 8\nindex = true\n\n"
         "[[reads]]\ncycles = 8\nindex = true\n\n")


def _recipe(tmp_path: Path, sheet: str, library: str = "") -> Path:
    (tmp_path / "SampleSheet.csv").write_text(sheet)
    text = MICRO.read_text().replace("[[reads]]\ncycles = 6\n", READS).replace(
        '[run]\nname = "micro-test"\n',
        f'[run]\nname = "micro-test"\nsample_sheet = "{tmp_path / "SampleSheet.csv"}"\n')
    path = tmp_path / "recipe.toml"
    path.write_text(text + library)
    return path


def test_pool_takes_the_sheet_samples_and_the_recipe_shares(tmp_path: Path):
    library = ('\n[library]\nindex_error_rate = 0.0\n\n[[library.samples]]\nsample_id = "Beta"'
               '\nfraction = 0.5\n')
    recipe = parse_recipe(_recipe(tmp_path, sheet_v2(), library).read_text())
    pool = pool_samples(recipe)
    assert [(s.sample_id, s.index1, s.index2) for s in pool] == [
        (s.sample_id, s.index1, s.index2) for s in POOL]
    assert [s.fraction for s in pool] == pytest.approx([0.5 / 3, 0.5, 0.5 / 3, 0.5 / 3])
    wrong = library.replace('sample_id = "Beta"', 'sample_id = "Beta"\nindex1 = "AAAAAAAA"')
    with pytest.raises(LibraryError, match="'Beta' has indexes AAAAAAAA-; the sample sheet"):
        pool_samples(parse_recipe(_recipe(tmp_path, sheet_v2(), wrong).read_text()))


def test_run_is_demultiplexed_at_its_end(tmp_path: Path):
    out = tmp_path / "run"
    outcome = start_run(RunRequest(sim=True, recipe=_recipe(tmp_path, sheet_v2()), out=out,
                                   seed=3))
    demux = outcome.summary["demux"]
    assert demux["samples"] == 4 and demux["i5_orientation"] == "forward"
    assert json.loads((out / "summary.json").read_text())["demux"] == demux
    with (out / "Reports" / "Demultiplex_Stats.csv").open() as handle:
        rows = {r["SampleID"]: int(r["# Reads"]) for r in csv.DictReader(handle)}
    assert sum(rows.values()) == demux["pf_reads"] == outcome.summary["clusters_pf"]
    assert demux["assigned_fraction"] > 0.8  # equal shares of the whole pool, 8-base indexes
    assert rows["Alpha"] > 0 and rows["Delta_2"] > 0
    for n, s in enumerate(POOL, start=1):
        assert (out / "Fastq" / f"{s.sample_id}_S{n}_L001_R1_001.fastq.gz").stat().st_size > 20
    assert not (out / ".demux.partial").exists()


def test_a_sheet_that_does_not_fit_the_reads_stops_the_run_before_it_starts(tmp_path: Path):
    sheet = sheet_v2().replace("ACGTACGT,", "ACGTACGTAA,").replace("GGTTAACC,", "GGTTAACCAA,") \
        .replace("TTAACCGG,", "TTAACCGGAA,").replace("CAGTGTCA,", "CAGTGTCAAA,")
    with pytest.raises(RecipeError, match=r"sample_sheet.*10 bases do not fit index read 1"):
        start_run(RunRequest(sim=True, recipe=_recipe(tmp_path, sheet), out=tmp_path / "run",
                             seed=3))
    assert not (tmp_path / "run").exists()


def test_a_demultiplexing_failure_keeps_the_run_and_its_fastq(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch):
    from opensbs.run import finalize

    def fail(root: Path, sheet: Path) -> None:
        raise RunFolderError(f"{root}/Data/Intensities/BaseCalls/L001/C9.1/s_1_1101.bcl: "
                             "header says 812 clusters, file holds 811")

    monkeypatch.setattr(finalize, "demultiplex", fail)
    out = tmp_path / "run"
    outcome = start_run(RunRequest(sim=True, recipe=_recipe(tmp_path, sheet_v2()), out=out,
                                   seed=3))
    assert "file holds 811" in outcome.summary["demux"]["error"]
    assert sorted(p.name for p in (out / "Fastq").iterdir()) == [
        f"Undetermined_S0_L001_{r}_001.fastq.gz" for r in ("I1", "I2", "R1")]
    r1 = gzip.decompress((out / "Fastq" / "Undetermined_S0_L001_R1_001.fastq.gz").read_bytes())
    assert r1.count(b"\n") // 4 == outcome.summary["clusters_pf"]
    assert not (out / "Reports").exists()

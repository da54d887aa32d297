"""CBCL bytes as formats.md lays them out, and Picard reading BCL and CBCL multi-read runs into
the same FASTQ as ours."""

import gzip
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from opensbs.recipe import default_recipe_text, parse_recipe
from opensbs.runfolder import (
    CbclTile,
    RunFolder,
    RunFolderError,
    RunIdentity,
    binned_qualities,
    decode_cbcl,
    encode_cbcl,
)

PICARD_JARS = (Path("/usr/share/java/picard.jar"), Path("/usr/share/java/commons-lang.jar"))
STRUCTURE = "12T4B4B12T"


def test_cbcl_header_and_nibbles_exact() -> None:
    bases = np.array([0, 1, 4, 3, 2], np.uint8)
    quals = np.array([35, 12, 2, 25, 5], np.uint8)
    passed = np.array([True, True, True, True, False])
    data = encode_cbcl([CbclTile(1101, bases, quals, passed)])
    header_size = 2 + 4 + 1 + 1 + 4 + 4 * 8 + 4 + 16 + 1
    block = gzip.compress(bytes([(3 << 2 | 0) | (1 << 2 | 1) << 4, 0 | (2 << 2 | 3) << 4]),
                          mtime=0)
    assert data[:header_size] == (
        struct.pack("<HIBBI", 1, header_size, 2, 2, 4)
        + struct.pack("<8I", 0, 2, 2, 12, 20, 23, 30, 37)
        + struct.pack("<I4I", 1, 1101, 4, 2, len(block)) + b"\x01")
    assert data[header_size:] == block
    decoded = decode_cbcl(data)
    assert decoded.pf_excluded
    got_bases, got_quals = decoded.tiles[1101]
    assert got_bases.tolist() == [0, 1, 4, 3]  # the non-PF cluster is left out
    assert got_quals.tolist() == [37, 12, 2, 23]
    assert binned_qualities(bases, quals).tolist() == [37, 12, 2, 23, 12]


def test_cbcl_several_tiles_and_damage_named() -> None:
    rng = np.random.default_rng(0)
    tiles = [CbclTile(t, rng.integers(0, 5, n).astype(np.uint8),
                      rng.integers(2, 42, n).astype(np.uint8), rng.random(n) < 0.7)
             for t, n in ((1101, 101), (1102, 64))]
    data = encode_cbcl(tiles)
    decoded = decode_cbcl(data)
    for t in tiles:
        bases, quals = decoded.tiles[t.tile]
        assert np.array_equal(bases, t.bases[t.passed])
        assert np.array_equal(quals, binned_qualities(t.bases, t.qualities)[t.passed])
    with pytest.raises(RunFolderError, match="bytes after the last tile block"):
        decode_cbcl(data + b"\x00", "C1.1/L001_1.cbcl")
    with pytest.raises(RunFolderError, match="truncated header"):
        decode_cbcl(data[:20])
    with pytest.raises(RunFolderError, match="bad gzip block"):
        decode_cbcl(data[:-8] + b"\x00" * 8)


def _synthetic_run(root: Path, bcl_format: str) -> RunFolder:
    """A 12T4B4B12T run of two tiles with seeded calls (N included), written as a run is."""
    reads = "".join(f"[[reads]]\ncycles = {c}\nindex = {'true' if i else 'false'}\n\n"
                    for c, i in ((12, False), (4, True), (4, True), (12, False)))
    text = default_recipe_text().replace("[[reads]]\ncycles = 50\nindex = false\n", reads)
    text = text.replace('chemistry = "four-colour"',
                        f'chemistry = "four-colour"\nbcl_format = "{bcl_format}"', 1)
    recipe = parse_recipe(text)
    folder = RunFolder(root, recipe, RunIdentity("261122_OPENSBS1_0007_OSBS0001", 7, "261122"))
    folder.write_static(text, "test")
    rng = np.random.default_rng(11)
    for k, tile in enumerate(recipe.flowcell.tile_numbers()):
        n = 300 + 77 * k
        for cycle in range(1, recipe.total_cycles + 1):
            folder.write_bcl(cycle, tile, rng.integers(0, 5, n).astype(np.uint8),
                             rng.integers(2, 42, n).astype(np.uint8))
        folder.write_filter(tile, rng.random(n) < 0.8)
        folder.write_locs(tile, rng.random((n, 2)) * 1000)
    folder.write_fastq()
    if folder.cbcl:
        folder.write_cbcl()
    return folder


def test_cbcl_run_folder_layout(tmp_path: Path) -> None:
    folder = _synthetic_run(tmp_path / "run", "cbcl")
    lane = folder.layout.basecalls
    assert sorted(p.name for p in (lane / "C1.1").iterdir()) == ["L001_1.cbcl"]
    assert len(list(lane.glob("C*.1/L001_1.cbcl"))) == 32
    assert not list(lane.glob("C*.1/*.bcl"))  # per-tile calls only in State/ while running
    decoded = decode_cbcl((lane / "C5.1" / "L001_1.cbcl").read_bytes())
    for tile in folder.recipe.flowcell.tile_numbers():
        bases, quals = folder.read_bcl(5, tile)
        passed = folder.read_filter(tile)
        assert np.array_equal(decoded.tiles[tile][0], bases[passed])
        assert np.array_equal(decoded.tiles[tile][1], binned_qualities(bases, quals)[passed])
    assert folder.layout.s_locs.read_bytes() == folder.layout.locs(1102).read_bytes()


def _fastq(path: Path) -> list[tuple[str, str, str]]:
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    return [(lines[i].split(" ")[0], lines[i + 1], lines[i + 3])
            for i in range(0, len(lines), 4)]


def _picard_fastq(folder: RunFolder, out: Path) -> dict[str, list[tuple[str, str, str]]]:
    out.mkdir()
    java = shutil.which("java")
    assert java is not None
    result = subprocess.run(
        [java, "-cp", ":".join(map(str, PICARD_JARS)), "picard.cmdline.PicardCommandLine",
         "IlluminaBasecallsToFastq", f"BASECALLS_DIR={folder.root / 'Data/Intensities/BaseCalls'}",
         "LANE=1", f"READ_STRUCTURE={STRUCTURE}", f"OUTPUT_PREFIX={out / 'x'}",
         "RUN_BARCODE=7", "MACHINE_NAME=OPENSBS1", "FLOWCELL_BARCODE=OSBS0001",
         "READ_NAME_FORMAT=CASAVA_1_8", "APPLY_EAMSS_FILTER=false", "INCLUDE_NON_PF_READS=false",
         "SORT=false", "NUM_PROCESSORS=1", "COMPRESS_OUTPUTS=true"],
        capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return {label: _fastq(out / f"x.{name}.fastq.gz") for label, name in
            (("R1", "1"), ("I1", "barcode_1"), ("I2", "barcode_2"), ("R2", "2"))}


@pytest.mark.skipif(not all(p.exists() for p in PICARD_JARS) or shutil.which("java") is None,
                    reason="Picard (picard-tools, libcommons-lang-java) not installed")
@pytest.mark.parametrize("bcl_format", ["bcl", "cbcl"])
def test_picard_reads_multi_read_run_like_ours(tmp_path: Path, bcl_format: str) -> None:
    folder = _synthetic_run(tmp_path / "run", bcl_format)
    picard = _picard_fastq(folder, tmp_path / "picard")
    # CBCL readers take one s.locs for every tile: names match ours on the tile it holds
    named = ("1101", "1102") if bcl_format == "bcl" else ("1102",)
    for label, theirs in picard.items():
        ours = _fastq(folder.layout.fastq(label))
        assert len(ours) == len(theirs) > 400
        assert [(s, q) for _, s, q in theirs] == [(s, q) for _, s, q in ours]
        assert [n.split(":")[4] for n, _, _ in theirs] == [n.split(":")[4] for n, _, _ in ours]
        assert [n for n, _, _ in theirs if n.split(":")[4] in named] == \
            [n for n, _, _ in ours if n.split(":")[4] in named]
    if bcl_format == "cbcl":
        assert set("".join(q for _, _, q in _fastq(folder.layout.fastq("R1")))) == set("#-8F")

"""Everything the recipe, the board file, the simulator or the disk would refuse is refused
before the run folder exists: a typed one-line error naming file:line, field and allowed
range, exit status 2, nothing written. Same for bad options and for `opensbs report` on
damaged files."""

import json
import shutil
from pathlib import Path

import pytest
from conftest import MICRO
from opensbs.cli import app
from opensbs.recipe import RecipeError
from opensbs.run import RunRequest, start_run
from opensbs.run.preflight import InsufficientSpaceError
from opensbs.runfolder import RunFolderError
from typer.testing import CliRunner

TEXT = MICRO.read_text()


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize("old, new, field, expected", [
    ("bit_depth = 12", "bit_depth = 8", "imaging.bit_depth = 8", "allowed range 10..12"),
    ("bit_depth = 12", "bit_depth = 14", "imaging.bit_depth = 14", "allowed range 10..12"),
    ("width_px = 128", "width_px = 130", "flowcell.width_px = 130", "multiple of 4"),
    ("height_px = 128", "height_px = 129", "flowcell.height_px = 129", "multiple of 2"),
    ("width_px = 128", "width_px = 16", "flowcell.width_px = 16", "allowed range 64..8192"),
    ("port = 3", "port = true", "cycle[3].port = True", "valid integer"),
    ("port = 3", "port = 23", "cycle[3].port = 23",
     "the valve has reagent ports 0..22 (port 23 is waste)"),
    ("setpoint_mc = 60000", "setpoint_mc = 4000", "cycle[1].setpoint_mc = 4000",
     "the flow-cell heater reaches 24500..158333 mC (it only heats"),
    ('what = "incorporation mix"', 'what = "mix"', "cycle[0].what = mix",
     "no fluidics step whose 'what' names the incorporation"),
])
def test_a_recipe_the_instrument_would_refuse_leaves_nothing(tmp_path, old, new, field,
                                                             expected):
    recipe = tmp_path / "r.toml"
    recipe.write_text(TEXT.replace(old, new))
    out = tmp_path / "run"
    with pytest.raises(RecipeError) as info:
        start_run(RunRequest(sim=True, recipe=recipe, out=out))
    [problem] = info.value.problems
    assert problem.startswith(f"{recipe}:{_line(recipe.read_text(), new)}: {field}")
    assert expected in problem
    assert "\n" not in str(info.value)
    assert not out.exists()


def test_channels_must_be_in_the_order_the_chemistry_reads_them(tmp_path):
    swapped = (TEXT.replace('name = "A"', 'name = "X"').replace('name = "T"', 'name = "A"')
               .replace('name = "X"', 'name = "T"'))
    with pytest.raises(RecipeError, match=r"images the channels \['A', 'C', 'G', 'T'\] in "
                                          r"this order.*found \['T', 'C', 'G', 'A'\]"):
        start_run(RunRequest(sim=True, recipe=_write(tmp_path, swapped), out=tmp_path / "o"))
    assert not (tmp_path / "o").exists()


def _write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "r.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_a_run_the_disk_cannot_hold_is_refused(tmp_path, monkeypatch):
    from opensbs.recipe import parse_recipe
    from opensbs.run.preflight import estimate_run_bytes

    big = (TEXT.replace("tiles = 1", "tiles = 99").replace("width_px = 128", "width_px = 8192")
           .replace("height_px = 128", "height_px = 8192"))
    assert estimate_run_bytes(parse_recipe(big), sim=True, keep_images=False) > 20e9
    micro = estimate_run_bytes(parse_recipe(TEXT), sim=True, keep_images=False)
    kept = estimate_run_bytes(parse_recipe(TEXT), sim=True, keep_images=True)
    assert kept - micro == 6 * 4 * 128 * 128 * 2  # every cycle's images as TIFF
    free = round(micro * 1.2)  # the estimate fits, its 1.25x margin does not
    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(
        10 * free, 9 * free, free))
    with pytest.raises(InsufficientSpaceError, match=r"the run needs about [\d.]+ GB \(with a "
                                                     r"1.25x margin\)"):
        start_run(RunRequest(sim=True, recipe=MICRO, out=tmp_path / "o"))
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("args, message", [
    (["--speed", "0"], "--speed 0.0: must be a number in (0, 1e+06]"),
    (["--speed", "-5"], "--speed -5.0: must be"),
    (["--speed", "nan"], "--speed nan: must be"),
    (["--seed", "-1"], "--seed -1: must be in 0..4294967295"),
    (["--out", "FILE"], "FILE: exists and is not a directory"),
    (["--recipe", "LATIN1"], "LATIN1:1: not UTF-8 text (byte 0xe9)"),
    (["--recipe", "BIGINT"], "BIGINT: TOML syntax: Exceeds the limit (4300 digits)"),
    (["--recipe", "DIR"], "DIR: cannot read: Is a directory"),
])
def test_bad_options_and_files_exit_2_with_one_line(tmp_path, args, message):
    files = {"FILE": tmp_path / "file", "LATIN1": _write(tmp_path, b"\xe9t\xe9 = 1\n"),
             "BIGINT": tmp_path / "big.toml", "DIR": tmp_path}
    files["FILE"].write_text("x")
    files["BIGINT"].write_text("[run]\nname = " + "9" * 5000 + "\n")
    args = [str(files.get(a, a)) for a in args]
    before = sorted(tmp_path.rglob("*"))
    result = CliRunner().invoke(app, ["run", "--sim", "--no-live", "--out",
                                      str(tmp_path / "run"), *args])
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    expected = message
    for name, path in files.items():
        expected = expected.replace(name, str(path))
    assert expected in result.output
    assert sorted(tmp_path.rglob("*")) == before


def test_resume_refuses_options_the_journal_fixes_even_when_default(tmp_path):
    result = CliRunner().invoke(app, ["run", "--resume", str(tmp_path), "--seed", "0"])
    assert result.exit_code == 2
    assert "--seed cannot change when resuming" in result.output


@pytest.mark.parametrize("damage, message", [
    (lambda root: (root / "summary.json").write_text('{"clusters": '), "not a summary.json"),
    (lambda root: (root / "summary.json").write_text("null"), "not a summary.json"),
    (lambda root: (root / "summary.json").write_bytes(b"\xff\xfe"), "not a summary.json"),
    (lambda root: (root / "summary.json").write_text(json.dumps({"clusters": 1})),
     "missing or bad"),
    (lambda root: (root / "InterOp" / "QMetricsOut.bin").write_bytes(b"\x06\xce\x00"),
     "QMetricsOut.bin: unreadable InterOp file"),
])
def test_report_on_damaged_files_exits_2_naming_the_file(micro_reference, tmp_path, damage,
                                                         message):
    root = tmp_path / "run"
    shutil.copytree(micro_reference, root)
    damage(root)
    result = CliRunner().invoke(app, ["report", str(root)])
    assert result.exit_code == 2 and message in result.output, result.output
    assert result.output.count("\n") == 1


def test_seed_and_speed_apply_to_sim_runs_only(tmp_path):
    with pytest.raises(RunFolderError, match="--seed applies to --sim runs only; --speed "):
        start_run(RunRequest(sim=False, seed=3, speed=2.0, out=tmp_path / "o"))
    assert not (tmp_path / "o").exists()


def test_basecall_commands_on_a_directory_or_garbage_exit_2(tmp_path):
    garbage = tmp_path / "x.npy"
    garbage.write_text("garbage")
    for args in (["basecall-intensities", str(tmp_path)], ["basecall-intensities", str(garbage)],
                 ["basecall", str(garbage)]):
        result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "o")])
        assert result.exit_code == 2, result.output
        assert result.output.startswith("error: ") and result.output.count("\n") == 1

"""Read structures in recipes: index reads, the paired-end turnaround, i5 orientation, the
library section, and errors naming what is wrong."""

from pathlib import Path

import pytest
from opensbs.recipe import RecipeError, load_recipe, parse_recipe
from opensbs.run.board_fit import BoardLimits, describe, recipe_board_problems
from opensbs.runfolder.run_xml import run_info_xml

PE150 = Path(__file__).parents[2] / "recipes" / "pe150_dual_index.toml"


def test_pe150_recipe_declares_reads_turnaround_and_pool() -> None:
    recipe = load_recipe(PE150)
    assert recipe.read_structure == "151T10B10B151T"
    assert recipe.read_starts() == [1, 152, 162, 172]
    assert recipe.turnaround_cycle() == 172
    assert [s.step for s in recipe.turnaround][:2] == ["fluidics", "fluidics"]
    assert not recipe.i5_reverse_complement  # forward-strand workflow: i5 before turnaround
    assert recipe.library is not None and len(recipe.library.samples) == 4
    assert recipe.run.sample_sheet == "recipes/pe150_dual_index_samplesheet.csv"
    where = [w for w, _ in recipe.board_steps()]
    assert where[-1] == ("turnaround", len(recipe.turnaround) - 1)


def test_turnaround_before_the_i5_read_is_the_reverse_complement_workflow() -> None:
    text = PE150.read_text().replace("cycles = 151\nturnaround = true", "cycles = 151").replace(
        "[[reads]]\ncycles = 10\nindex = true\n\n[[reads]]\ncycles = 151",
        "[[reads]]\ncycles = 10\nindex = true\nturnaround = true\n\n[[reads]]\ncycles = 151")
    recipe = parse_recipe(text)
    assert recipe.turnaround_cycle() == 162 and recipe.i5_reverse_complement
    info = run_info_xml(recipe, "X", 1, "261203")
    assert '<Read Number="3" NumCycles="10" IsIndexedRead="Y" IsReverseComplement="Y"/>' in info
    assert '<Read Number="2" NumCycles="10" IsIndexedRead="Y" IsReverseComplement="N"/>' in info


@pytest.mark.parametrize(("old", "new", "message"), [
    ("cycles = 151\n\n", "cycles = 151\nturnaround = true\n\n",
     "turnaround is marked before reads \\[1, 4\\]"),
    ("cycles = 151\nturnaround = true", "cycles = 151", "no read is marked turnaround"),
    ("[[reads]]\ncycles = 10\nindex = true\n\n[[reads]]\ncycles = 10\nindex = true\n",
     "[[reads]]\ncycles = 10\nindex = true\n\n[[reads]]\ncycles = 10\nindex = true\n\n"
     "[[reads]]\ncycles = 8\nindex = true\n", "at most 4 items|at most two"),
    ('fraction = 0.15', 'fraction = 0.55', "fractions add up to 1.3"),
    ('sample_id = "Sample4"', 'sample_id = "Sample1"', "duplicate sample_id 'Sample1'"),
    ('index1 = "GCCAATGTGC"', 'index1 = "GCCAATGTGN"', "library.samples\\[3\\].index1"),
    ('bcl_format', 'bcl_format = "cbcl"\nx', "bcl_format"),
])
def test_bad_read_structures_are_named(old: str, new: str, message: str) -> None:
    text = PE150.read_text()
    if old == "bcl_format":
        text = text.replace('name = "pe150-dual-index"', 'name = "pe150-dual-index"\n'
                            'bcl_format = "bcl2"')
    else:
        assert old in text
        text = text.replace(old, new, 1)
    with pytest.raises(RecipeError, match=message):
        parse_recipe(text, "pe.toml")


def test_a_marked_turnaround_needs_its_steps() -> None:
    text = PE150.read_text()
    text = text[:text.index("# Paired-end turnaround")] + text[text.index("# The simulated"):]
    with pytest.raises(RecipeError, match=r"reads\[3\].turnaround: no \[\[turnaround\]\] steps"):
        parse_recipe(text, "pe.toml")


def test_turnaround_steps_are_checked_against_the_board() -> None:
    recipe = parse_recipe(PE150.read_text().replace("port = 7", "port = 23"))
    limits = BoardLimits(max_setpoint_mc=95_000, pump_capacity_nl=5_000_000,
                         pump_max_rate_nl_per_s=50_000, valve_ports=24, lasers=4)
    [problem] = recipe_board_problems(recipe, limits)
    assert describe(problem, recipe).startswith("turnaround[3].port = 23: the valve has")

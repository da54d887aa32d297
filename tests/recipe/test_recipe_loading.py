"""Recipe loading: the shipped default, and errors that name line, field and allowed range."""

from pathlib import Path

import pytest
from opensbs.recipe import (
    FluidicsStep,
    ImageStep,
    RecipeError,
    ThermalStep,
    default_recipe,
    default_recipe_text,
    load_recipe,
    parse_recipe,
)


def _line_of(text: str, needle: str, occurrence: int = 0) -> int:
    lines = [i for i, line in enumerate(text.splitlines(), start=1) if needle in line]
    return lines[occurrence]


def test_default_recipe_is_a_four_colour_50_cycle_two_tile_run():
    recipe = default_recipe()
    assert recipe.total_cycles == 50
    assert recipe.flowcell.tile_numbers() == [1101, 1102]
    assert (recipe.flowcell.width_px, recipe.flowcell.height_px) == (1024, 1024)
    assert recipe.channel_names == ["A", "C", "G", "T"]
    assert sum(isinstance(s, ImageStep) for s in recipe.cycle) == 1
    assert any(isinstance(s, FluidicsStep) for s in recipe.cycle)
    assert any(isinstance(s, ThermalStep) for s in recipe.cycle)
    # realistic chemistry: minutes per cycle before the virtual clock speed-up
    assert 60_000 <= recipe.chemistry_time_ms() <= 600_000


def test_out_of_range_value_names_file_line_field_and_range():
    text = default_recipe_text().replace("volume_nl = 200000", "volume_nl = 9000000")
    with pytest.raises(RecipeError) as info:
        parse_recipe(text, "r.toml")
    [problem] = info.value.problems
    line = _line_of(text, "volume_nl = 9000000")
    assert problem.startswith(f"r.toml:{line}: cycle[2].volume_nl = 9000000:")
    assert "allowed range 1..5000000" in problem


def test_each_problem_is_reported_with_its_own_line():
    text = (default_recipe_text()
            .replace("setpoint_mc = 35000", "setpoint_mc = 120000")
            .replace("exposure_us = 20000", "exposure_us = 1", 1)
            .replace("[flowcell]", "[flowcell]\nlanes = 2"))
    with pytest.raises(RecipeError) as info:
        parse_recipe(text, "r.toml")
    problems = sorted(info.value.problems)
    assert len(problems) == 3
    expected = {
        f"r.toml:{_line_of(text, 'setpoint_mc = 120000')}: cycle[3].setpoint_mc = 120000",
        f"r.toml:{_line_of(text, 'exposure_us = 1')}: imaging.channels[0].exposure_us = 1",
        f"r.toml:{_line_of(text, 'lanes = 2')}: flowcell.lanes = 2",
    }
    assert {p.split(":", 3)[0] + ":" + ":".join(p.split(":")[1:3]) for p in problems} == expected
    assert any("allowed range 4000..95000" in p for p in problems)
    assert any("Extra inputs are not permitted" in p for p in problems)


def test_unknown_step_kind_names_its_table_line():
    text = default_recipe_text().replace('step = "wait"', 'step = "sleep"')
    with pytest.raises(RecipeError) as info:
        parse_recipe(text, "r.toml")
    [problem] = info.value.problems
    assert problem.startswith(f"r.toml:{_line_of(text, 'step = ', 8) - 1}: cycle[8]")
    assert "'sleep'" in problem and "'fluidics'" in problem


def test_cycle_without_image_step_is_rejected():
    text = default_recipe_text().replace('[[cycle]]\nstep = "image"\n', "")
    with pytest.raises(RecipeError, match="exactly one image step, found 0"):
        parse_recipe(text)


def test_channel_count_must_match_chemistry():
    text = default_recipe_text().replace('"four-colour"', '"two-colour"')
    with pytest.raises(RecipeError, match=r"two-colour chemistry needs 2 channels"):
        parse_recipe(text)


def test_toml_syntax_error_is_a_recipe_error():
    with pytest.raises(RecipeError, match="TOML syntax"):
        parse_recipe("[run\nname = 1", "bad.toml")


def test_missing_file_is_a_recipe_error(tmp_path: Path):
    with pytest.raises(RecipeError, match="cannot read"):
        load_recipe(tmp_path / "none.toml")


def test_read_of_cycle_spans_reads(tmp_path: Path):
    text = default_recipe_text().replace(
        "[[reads]]\ncycles = 50\nindex = false",
        "[[reads]]\ncycles = 5\n\n[[reads]]\ncycles = 3\nindex = true")
    path = tmp_path / "r.toml"
    path.write_text(text)
    recipe = load_recipe(path)
    assert recipe.total_cycles == 8
    assert [recipe.read_of_cycle(c) for c in (1, 5, 6, 8)] == [(1, 1), (1, 5), (2, 1), (2, 3)]
    with pytest.raises(ValueError, match="outside 1..8"):
        recipe.read_of_cycle(9)

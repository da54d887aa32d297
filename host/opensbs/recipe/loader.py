"""Load a TOML recipe; errors name the file, line, field and allowed range."""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from pydantic import BaseModel, ValidationError

from .model import Recipe

DEFAULT_RECIPE_NAME = "default_sbs.toml"

_ARRAY_TABLE = re.compile(r"^\s*\[\[\s*([^\]]+?)\s*\]\]")
_TABLE = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\.\" ]+?)\s*=")

Loc = tuple[str | int, ...]


class RecipeError(ValueError):
    """A recipe file that cannot be parsed or violates the model (names line and field)."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("invalid recipe: " + "; ".join(problems))


def _split_key(key: str) -> list[str]:
    return [part.strip().strip('"') for part in key.split(".")]


def key_lines(text: str) -> dict[Loc, int]:
    """Map each table and key path (with array-of-table indices) to its 1-based line."""
    lines: dict[Loc, int] = {}
    array_counts: dict[Loc, int] = {}
    current: Loc = ()
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("#"):
            continue
        if m := _ARRAY_TABLE.match(line):
            path = tuple(_split_key(m.group(1)))
            index = array_counts.get(path, 0)
            array_counts[path] = index + 1
            current = (*path, index)
        elif m := _TABLE.match(line):
            current = tuple(_split_key(m.group(1)))
        elif m := _KEY.match(line):
            current_key = (*current, *_split_key(m.group(1)))
            lines.setdefault(current_key, number)
            continue
        else:
            continue
        lines.setdefault(current, number)
    return lines


def line_for(loc: Loc, lines: dict[Loc, int]) -> int | None:
    """Line of the longest known prefix of `loc`."""
    for end in range(len(loc), 0, -1):
        if (line := lines.get(loc[:end])) is not None:
            return line
    return None


def _step_models() -> dict[str, type[BaseModel]]:
    from .model import FluidicsStep, ImageStep, ThermalStep, WaitStep

    return {"fluidics": FluidicsStep, "thermal": ThermalStep, "wait": WaitStep,
            "image": ImageStep}


def _single_model(annotation: Any) -> type[BaseModel] | None:
    """The one pydantic model in `Model` or `list[Model]`, else None (unions give None)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    args: tuple[Any, ...] = tuple(getattr(annotation, "__args__", ()))
    if len(args) == 1:
        return _single_model(args[0])
    return None


def _field_bounds(loc: Loc) -> str:
    """The allowed range declared on the model field at `loc`, as text ('' if none)."""
    if not loc or isinstance(loc[-1], int):
        return ""
    steps = _step_models()
    model: type[BaseModel] | None = Recipe
    info = None
    for part in loc:
        if isinstance(part, int):
            continue
        if part in steps:
            model = steps[part]
            continue
        if model is None or (info := model.model_fields.get(part)) is None:
            return ""
        model = _single_model(info.annotation)
    if info is None:
        return ""
    low = high = None
    for meta in info.metadata:
        if isinstance(meta, Ge | Gt | MinLen):
            low = getattr(meta, "ge", getattr(meta, "gt", getattr(meta, "min_length", None)))
        if isinstance(meta, Le | Lt | MaxLen):
            high = getattr(meta, "le", getattr(meta, "lt", getattr(meta, "max_length", None)))
    if low is None and high is None:
        return ""
    return f" (allowed range {'' if low is None else low}..{'' if high is None else high})"


def _format_loc(loc: Loc) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part in _step_models():
            continue
        else:
            text += f".{part}" if text else part
    return text


def _value_at(data: Any, loc: Loc) -> Any:
    for part in loc:
        if isinstance(data, dict) and isinstance(part, str) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        elif isinstance(part, str) and part in _step_models():
            continue
        else:
            return None
    return data


def parse_recipe(text: str, source: str = "<recipe>") -> Recipe:
    """Parse and validate recipe TOML text."""
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError, RecursionError) as exc:
        raise RecipeError(source, [f"{source}: TOML syntax: {exc}"]) from None
    try:
        return Recipe.model_validate(data)
    except ValidationError as exc:
        lines = key_lines(text)
        problems = []
        for err in exc.errors():
            tags = _step_models()
            raw_loc: Loc = tuple(err["loc"])
            loc = tuple(p for p in raw_loc if not (isinstance(p, str) and p in tags))
            line = line_for(loc, lines)
            where = f"{source}:{line}" if line is not None else source
            field = _format_loc(loc) or "(recipe)"
            value = _value_at(data, loc)
            shown = "" if value is None or isinstance(value, dict | list) else f" = {value!r}"
            problems.append(f"{where}: {field}{shown}: {err['msg']}{_field_bounds(raw_loc)}")
        raise RecipeError(source, problems) from None


def load_recipe(path: Path | str) -> Recipe:
    """Load and validate a recipe file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RecipeError(str(path), [f"{path}: cannot read: {exc.strerror}"]) from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise RecipeError(str(path), [f"{path}:{line}: not UTF-8 text (byte "
                                      f"0x{exc.object[exc.start]:02x}); a recipe is a UTF-8 "
                                      "TOML file"]) from None
    return parse_recipe(text, str(path))


def default_recipe_text() -> str:
    """The TOML text of the default SBS recipe shipped in the package."""
    return resources.files("opensbs.recipe").joinpath(DEFAULT_RECIPE_NAME).read_text("utf-8")


def default_recipe() -> Recipe:
    """The default SBS recipe shipped in the package."""
    return parse_recipe(default_recipe_text(), DEFAULT_RECIPE_NAME)

"""Run recipes: a TOML file with the read structure, tiles, imaging and per-cycle chemistry.

Public API:
    load_recipe(path) -> Recipe            # RecipeError names file:line, field, allowed range
    parse_recipe(text, source) -> Recipe
    default_recipe() / default_recipe_text()   # the SBS recipe shipped in the package
    parse_read_structure("151T10B10B151T") -> tuple[Read, ...]; read_structure(reads) -> str
    Recipe, Read, Flowcell, Imaging, Channel, FluidicsStep, ThermalStep, WaitStep, ImageStep
"""

from .loader import RecipeError, default_recipe, default_recipe_text, load_recipe, parse_recipe
from .model import (
    Channel,
    Flowcell,
    FluidicsStep,
    ImageStep,
    Imaging,
    Read,
    Recipe,
    Step,
    ThermalStep,
    WaitStep,
    parse_read_structure,
    read_structure,
)

__all__ = [
    "Channel", "Flowcell", "FluidicsStep", "ImageStep", "Imaging", "Read", "Recipe",
    "RecipeError", "Step", "ThermalStep", "WaitStep", "default_recipe", "default_recipe_text",
    "load_recipe", "parse_recipe", "parse_read_structure", "read_structure",
]

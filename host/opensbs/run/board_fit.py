"""Whether a recipe fits a controller board: one check, used before the run folder is made
(against the board file of the virtual instrument) and again once connected (against what the
board says in its IDENTIFY reply)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..recipe import FluidicsStep, Recipe, ThermalStep

HEATER_ZONE = 0
PUMP = 0
VALVE = 0
TRIGGER = 0


class BoardMismatchError(ValueError):
    """The board lacks a device the run needs."""


@dataclass
class BoardLimits:
    """What a board can do (from its IDENTIFY reply or its board file)."""

    max_setpoint_mc: int
    pump_capacity_nl: int
    pump_max_rate_nl_per_s: int
    valve_ports: int
    lasers: int
    min_setpoint_mc: int = 0

    @classmethod
    def from_identity(cls, identity: dict[str, Any]) -> BoardLimits:
        try:
            heater = identity["heaters"][HEATER_ZONE]
            pump = identity["pumps"][PUMP]
            valve = identity["valves"][VALVE]
            trigger = identity["triggers"][TRIGGER]
        except (KeyError, IndexError) as exc:
            raise BoardMismatchError(
                f"the board lacks a heater, pump, valve or trigger: {exc}") from None
        return cls(heater["max_setpoint_mc"], pump["capacity_nl"], pump["max_rate_nl_per_s"],
                   valve["ports"], trigger["lasers"])

    @classmethod
    def from_board_file(cls, config: dict[str, Any]) -> BoardLimits:
        """From a checked board file (`opensbs.board.load_board(...).config`)."""
        try:
            heater = config["heaters"][HEATER_ZONE]
            pump = config["pumps"][PUMP]
            trigger = config["triggers"][TRIGGER]
            return cls(heater["max_setpoint_mc"], pump["capacity_nl"],
                       pump["max_rate_nl_per_s"], config["valves"][VALVE]["ports"],
                       len(trigger["laser_pins"]), heater["min_setpoint_mc"])
        except (KeyError, IndexError) as exc:
            raise BoardMismatchError(
                f"the board lacks a heater, pump, valve or trigger: {exc}") from None


Problem = tuple[tuple[str | int, ...], str]  # (recipe key path, what is wrong)


def recipe_board_problems(recipe: Recipe, limits: BoardLimits) -> list[Problem]:
    """Every way `recipe` does not fit a board with `limits` (empty: it fits)."""
    problems: list[Problem] = []
    if len(recipe.imaging.channels) > limits.lasers:
        problems.append((("imaging", "channels"), f"{len(recipe.imaging.channels)} imaging "
                         f"channels, the board drives {limits.lasers} lasers"))
    for where, step in recipe.board_steps():
        if isinstance(step, FluidicsStep):
            if not 0 <= step.port < limits.valve_ports - 1:
                problems.append(((*where, "port"), f"the valve has reagent ports "
                                 f"0..{limits.valve_ports - 2} (port {limits.valve_ports - 1}"
                                 " is waste)"))
            if step.flow_nl_per_s > limits.pump_max_rate_nl_per_s:
                problems.append(((*where, "flow_nl_per_s"), f"the pump moves at most "
                                 f"{limits.pump_max_rate_nl_per_s} nL/s"))
        elif isinstance(step, ThermalStep) and not (
                limits.min_setpoint_mc <= step.setpoint_mc <= limits.max_setpoint_mc):
            problems.append(((*where, "setpoint_mc"), f"the board allows "
                             f"{limits.min_setpoint_mc}..{limits.max_setpoint_mc} mC"))
    return problems


def describe(problem: Problem, recipe: Recipe) -> str:
    """`cycle[2].port = 23: the valve has ...`: the key path, its value and the problem."""
    path, message = problem
    text, value = "", recipe.model_dump()
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
        value = value[part] if isinstance(value, dict | list) else None  # type: ignore[index]
    shown = "" if isinstance(value, dict | list) or value is None else f" = {value}"
    return f"{text}{shown}: {message}"

"""How the simulated board's plant acts on the chemistry: the incorporation step, observed.

The run controller's fluidics draw each reagent through the flow cell by moving the syringe
with the valve at that reagent's port, then empty the syringe with the valve at the waste port
(which bypasses the flow cell). So syringe travel at a port other than the waste port is that
port's reagent flowing through the flow cell. The observer samples the plant (valve port,
syringe volume, flow-cell block temperature) and, per cycle, measures:

* ``reagent_fraction``: incorporation mix drawn through the flow cell / the volume the recipe
  asks for (capped at 1): a fluidics step that did not run gives 0;
* ``temperature_error_c``: mean block temperature over the last ``window_s`` seconds the mix sat
  in the flow cell (until another reagent displaced it), minus the incorporation set-point.

`take_cycle_conditions` closes a cycle: it returns `CycleConditions` once any reagent flowed
since the previous call (a chemistry cycle happened), else None (still the same cycle).
"""

from collections import deque
from dataclasses import dataclass
from typing import Protocol

from .tile import CycleConditions

SAMPLE_PERIOD_MS = 100


@dataclass(frozen=True)
class IncorporationSpec:
    """The recipe's incorporation step (defaults: the default SBS recipe)."""

    port: int = 1
    volume_nl: float = 150_000.0
    setpoint_c: float = 60.0
    window_s: float = 10.0
    waste_port: int | None = None  # None: every port feeds the flow cell
    valve: int = 0
    pump: int = 0
    zone: int = 0


class PlantView(Protocol):
    """What the observer reads from the simulated board (opensbs.sim.board.sim_board.SimBoard)."""

    def valve_port(self, valve: int) -> int: ...
    def pump_volume_nl(self, pump: int) -> float: ...
    def temperature_c(self, zone: int) -> float: ...


class ChemistryObserver:
    """Turns sampled plant state into each cycle's `CycleConditions`."""

    def __init__(self, spec: IncorporationSpec | None = None) -> None:
        self.spec = spec or IncorporationSpec()
        self._last_volume_nl: float | None = None
        self._flowed = False
        self._mix_nl = 0.0
        self._mix_present = False
        self._mix_temperature_c: float | None = None
        self._recent: deque[tuple[float, float]] = deque()  # (time s, block C), mix present

    def sample(self, now_s: float, valve_port: int, syringe_volume_nl: float,
               block_c: float) -> None:
        """One observation of the plant at virtual time ``now_s``."""
        moved = 0.0 if self._last_volume_nl is None else syringe_volume_nl - self._last_volume_nl
        self._last_volume_nl = syringe_volume_nl
        drawn = abs(moved) if valve_port != self.spec.waste_port else 0.0
        if drawn > 0:
            self._flowed = True
            if valve_port == self.spec.port:
                self._mix_nl += drawn
                self._mix_present = True
                self._mix_temperature_c = None
            elif self._mix_present:  # another reagent displaces the mix: incorporation over
                self._mix_temperature_c = self._recent_mean_c()
                self._mix_present = False
                self._recent.clear()
        if self._mix_present:
            self._recent.append((now_s, block_c))
            while self._recent and self._recent[0][0] < now_s - self.spec.window_s:
                self._recent.popleft()

    def sample_plant(self, now_s: float, plant: PlantView) -> None:
        """`sample` reading the board's valve, syringe and heater zone."""
        spec = self.spec
        self.sample(now_s, plant.valve_port(spec.valve), plant.pump_volume_nl(spec.pump),
                    plant.temperature_c(spec.zone))

    def take_cycle_conditions(self) -> CycleConditions | None:
        """The conditions of the cycle just run, or None if no reagent flowed since last time."""
        if not self._flowed:
            return None
        temperature_c = self._mix_temperature_c
        if temperature_c is None and self._mix_present:
            temperature_c = self._recent_mean_c()
        error_c = 0.0 if temperature_c is None else temperature_c - self.spec.setpoint_c
        fraction = min(1.0, self._mix_nl / self.spec.volume_nl)
        self._flowed = False
        self._mix_nl = 0.0
        self._mix_temperature_c = None
        return CycleConditions(temperature_error_c=error_c, reagent_fraction=fraction)

    def _recent_mean_c(self) -> float | None:
        if not self._recent:
            return None
        return sum(c for _, c in self._recent) / len(self._recent)

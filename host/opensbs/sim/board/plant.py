"""Physical plant models of the simulated board: flow-cell heater zones, syringe, valve.

Heater zone: a first-order lumped thermal mass heated by ``power_w * duty`` and losing heat
to ambient, ``C dT/dt = P u - k (T - T_amb)``, plus a sensor node that lags it,
``tau_s dS/dt = T - S``, plus seeded Gaussian sensor noise. Each node is advanced with the
exact exponential solution for a piecewise-constant input.
"""

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FlowCellParams:
    """Default flow-cell heater zone: 20 W into 10 J/K with 0.15 W/K loss (tau 67 s)."""

    power_w: float = 20.0
    heat_capacity_j_per_k: float = 10.0
    loss_w_per_k: float = 0.15
    sensor_tau_s: float = 2.0
    noise_c: float = 0.05
    ambient_c: float = 25.0


class HeaterZoneModel:
    """One zone's block and sensor temperatures; fault injection for the safety tests."""

    def __init__(self, params: FlowCellParams, rng: np.random.Generator) -> None:
        self.params = params
        self._rng = rng
        self.block_c = params.ambient_c
        self.sensor_c = params.ambient_c
        self.duty = 0.0
        self.heater_connected = True  # False: duty has no effect (thermal-runaway test)
        self.sensor_fault: str | None = None  # "open" | "short" | None
        self.extra_heat_w = 0.0  # an external heat source (over-temperature test)

    def advance(self, dt_s: float) -> None:
        """Integrate both nodes over ``dt_s`` with the current duty."""
        p = self.params
        power = (p.power_w * self.duty if self.heater_connected else 0.0) + self.extra_heat_w
        steady = p.ambient_c + power / p.loss_w_per_k
        block_start = self.block_c
        decay = math.exp(-dt_s * p.loss_w_per_k / p.heat_capacity_j_per_k)
        self.block_c = steady + (block_start - steady) * decay
        lag = math.exp(-dt_s / p.sensor_tau_s)
        mean_block = 0.5 * (block_start + self.block_c)
        self.sensor_c = mean_block + (self.sensor_c - mean_block) * lag

    def measured_c(self) -> float:
        """Sensor reading with noise (one draw per ADC read)."""
        return self.sensor_c + (self._rng.normal(0.0, self.params.noise_c)
                                if self.params.noise_c else 0.0)


class SyringeModel:
    """Plunger volume in nL (0 = empty); integrates the commanded rate exactly."""

    def __init__(self, capacity_nl: int) -> None:
        self.capacity_nl = capacity_nl
        self.volume_nl = 0.0
        self.rate_nl_per_s = 0.0  # > 0 fills (aspirates), < 0 dispenses
        self.dispensed_nl = 0.0
        self.aspirated_nl = 0.0

    def advance(self, dt_s: float) -> None:
        delta = self.rate_nl_per_s * dt_s
        self.volume_nl += delta
        if delta < 0:
            self.dispensed_nl -= delta
        else:
            self.aspirated_nl += delta


class ValveModel:
    """Rotary selector: ``port_move_ms`` per port travelled (shortest way round).

    ``stalled`` makes it never arrive (valve-timeout test).
    """

    def __init__(self, ports: int, port_move_ms: float = 50.0) -> None:
        self.ports = ports
        self.port_move_ms = port_move_ms
        self.port = 0
        self.target = 0
        self.remaining_ms = 0.0
        self.stalled = False

    def select(self, port: int) -> None:
        steps = abs(port - self.port)
        self.target = port
        self.remaining_ms = min(steps, self.ports - steps) * self.port_move_ms

    @property
    def ready(self) -> bool:
        return self.port == self.target

    def advance(self, dt_s: float) -> None:
        if self.ready or self.stalled:
            return
        self.remaining_ms -= dt_s * 1000.0
        if self.remaining_ms <= 1e-9:
            self.port = self.target

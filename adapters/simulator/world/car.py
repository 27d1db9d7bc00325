"""The car at the charger: its battery, state of charge, and the current it accepts.

The taper rule itself is `optimizer.charging.accepted_current_a`, shared with the optimum.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.simulator.world.scenario import CarConfig
from optimizer.charging import accepted_current_a


@dataclass(slots=True)
class Car:
    """A plugged-in car: battery capacity (Wh), SoC (0..1), accepted current and phases."""

    capacity_wh: float
    soc: float
    max_current_a: float
    phases: int
    taper_start_soc: float
    taper_stop_a: float
    charge_efficiency: float

    @classmethod
    def from_config(
        cls,
        config: CarConfig,
        soc: float,
        max_current_a: float | None = None,
        phases: int | None = None,
    ) -> Car:
        """A car from its config; a session may override its current and phases."""
        return cls(
            capacity_wh=config.battery_kwh * 1000.0,
            soc=min(max(soc, 0.0), 1.0),
            max_current_a=float(max_current_a or config.max_current_a),
            phases=int(phases or config.phases),
            taper_start_soc=config.taper_start_soc,
            taper_stop_a=config.taper_stop_a,
            charge_efficiency=config.charge_efficiency,
        )

    def accepted_current_a(self) -> float:
        """Current per phase the car draws at most right now (A); 0 when full."""
        return accepted_current_a(
            self.soc, self.max_current_a, self.taper_start_soc, self.taper_stop_a
        )

    @property
    def full(self) -> bool:
        """The car accepts no more current."""
        return self.accepted_current_a() <= 0.0

    def soc_per_wh(self) -> float:
        """SoC gained per Wh of AC energy delivered (1/Wh)."""
        return self.charge_efficiency / self.capacity_wh

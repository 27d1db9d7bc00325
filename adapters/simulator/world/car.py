"""The car at the charger: its battery, state of charge, and the current it accepts.

The on-board charger draws `min(offered, accepted)` where `accepted` is the
car's maximum AC current, reduced linearly above `taper_start_soc` to 0 A at
100 % (the constant-current / constant-voltage taper of a Li-ion pack seen at
the AC side). Below `taper_stop_a` the car considers itself full and stops.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.simulator.world.scenario import CarConfig


def accepted_current_a(
    soc: float, max_current_a: float, taper_start_soc: float, taper_stop_a: float
) -> float:
    """Current per phase (A) a car at `soc` (0..1) accepts: the taper rule of the model.

    `max_current_a` up to `taper_start_soc`, then falling linearly to 0 A at a full
    battery; below `taper_stop_a` the car considers itself full and takes nothing.
    The optimum (`optimizer.backtest.optimum`) uses this same rule.
    """
    if soc <= taper_start_soc:
        return max_current_a
    amps = max_current_a * (1.0 - soc) / (1.0 - taper_start_soc)
    return amps if amps >= taper_stop_a else 0.0


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

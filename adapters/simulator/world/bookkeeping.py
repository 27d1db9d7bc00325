"""Where the car's energy came from, per session and in total.

Per step of length dt: car energy = P_car dt; its solar part is
min(P_car, max(PV - household, 0)) dt (the car counts as fed by the surplus
first), its grid part the rest; PV exported is max(PV - household - P_car, 0) dt.
So car energy = solar + grid holds by construction at every step. Wh throughout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from optimizer.interfaces import SessionRecord


@dataclass(slots=True)
class EnergyTotals:
    """Energy sums (Wh): into the car, its solar and grid parts, PV exported, PV and household."""

    energy_wh: float = 0.0
    solar_wh: float = 0.0
    grid_wh: float = 0.0
    pv_exported_wh: float = 0.0
    pv_wh: float = 0.0
    household_wh: float = 0.0

    def add(self, energy_wh: float, solar_wh: float, exported_wh: float) -> None:
        """Add car energy with its solar part and the PV exported meanwhile."""
        self.energy_wh += energy_wh
        self.solar_wh += solar_wh
        self.grid_wh += energy_wh - solar_wh
        self.pv_exported_wh += exported_wh


@dataclass(slots=True)
class SessionLog:
    """One plug-in session as the world saw it; `end` is None while the car is plugged in.

    `target_wh` is the energy the driver wanted (the car may take more, until
    full); `seconds` counts seconds with power flowing (the Trydan's `seconds`).
    """

    device_id: str
    start: datetime
    end: datetime | None
    energy_wh: float = 0.0
    solar_wh: float = 0.0
    grid_wh: float = 0.0
    target_wh: float | None = None
    pv_exported_wh: float = 0.0
    seconds: float = 0.0
    arrival_soc: float = 0.0
    soc: float = 0.0
    planned_departure: datetime | None = None
    extra: dict[str, float] = field(default_factory=dict)

    def add(self, energy_wh: float, solar_wh: float, exported_wh: float) -> None:
        """Add car energy with its solar part and the PV exported meanwhile."""
        self.energy_wh += energy_wh
        self.solar_wh += solar_wh
        self.grid_wh += energy_wh - solar_wh
        self.pv_exported_wh += exported_wh

    @property
    def target_met(self) -> bool | None:
        """Whether the car got at least the wanted energy (None without a target)."""
        if self.target_wh is None:
            return None
        return self.energy_wh >= self.target_wh - 1e-6

    def to_record(self) -> SessionRecord:
        """The controller's `SessionRecord` for this session."""
        return SessionRecord(
            device_id=self.device_id,
            start=self.start,
            end=self.end,
            energy_wh=self.energy_wh,
            solar_wh=self.solar_wh,
            grid_wh=self.grid_wh,
            target_wh=self.target_wh,
            target_met=self.target_met if self.end is not None else None,
        )

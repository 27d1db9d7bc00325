"""Where the car's energy came from, per session and in total.

Per step of length dt: car energy = P_car dt; its solar part is
min(P_car, max(PV - household, 0)) dt (the car counts as fed by the surplus
first), its grid part the rest; PV exported is max(PV - household - P_car, 0) dt.
So car energy = solar + grid holds by construction at every step. Wh throughout.

Every sum is a running sum folded one step at a time, left to right, from the
start (a session's from its plug-in): the value after a step does not depend on
how the steps before it were split into segments, that is on when a controller
happened to wake up and advance the world. (A segment summed on its own and then
added would round differently for another split, and a reading's session energy
feeds the controller's next decisions.) Steps that add exactly 0.0 may be left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import reduce
from operator import add

import numpy as np
import numpy.typing as npt

from optimizer.interfaces import SessionRecord

FloatArray = npt.NDArray[np.float64]


def fold(start: float, steps: Iterable[float]) -> float:
    """`start` plus each step in turn, left to right (Wh): a running sum."""
    return reduce(add, steps, start)


def fold_array(start: float, steps: FloatArray) -> float:
    """`fold` over a numpy array, bit for bit: `np.add.accumulate` adds strictly left
    to right (unlike `np.sum`, whose pairwise sum depends on the array's length)."""
    if steps.shape[0] == 0:
        return start
    return float(running(start, steps)[-1])


def running(start: float, steps: FloatArray) -> FloatArray:
    """The running sum before each step and after the last (n + 1 values), as `fold`."""
    return np.add.accumulate(np.concatenate(((start,), steps)))


@dataclass(slots=True)
class EnergyTotals:
    """Energy sums (Wh): into the car, its solar and grid parts, PV exported, PV and household."""

    energy_wh: float = 0.0
    solar_wh: float = 0.0
    grid_wh: float = 0.0
    pv_exported_wh: float = 0.0
    pv_wh: float = 0.0
    household_wh: float = 0.0

    def add_steps(self, energy: FloatArray, solar: FloatArray, exported: FloatArray) -> None:
        """Fold in steps' car energy, its solar part and the PV exported (Wh per step)."""
        self.energy_wh = fold_array(self.energy_wh, energy)
        self.solar_wh = fold_array(self.solar_wh, solar)
        self.grid_wh = fold_array(self.grid_wh, energy - solar)
        self.pv_exported_wh = fold_array(self.pv_exported_wh, exported)


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

    def add_steps(self, energy: FloatArray, solar: FloatArray, exported: FloatArray) -> None:
        """Fold in steps' car energy, its solar part and the PV exported (Wh per step)."""
        self.energy_wh = fold_array(self.energy_wh, energy)
        self.solar_wh = fold_array(self.solar_wh, solar)
        self.grid_wh = fold_array(self.grid_wh, energy - solar)
        self.pv_exported_wh = fold_array(self.pv_exported_wh, exported)

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

"""`ChargePlan`: the least-cost schedule to departure, slot by slot, with its totals.

A plan is a value: what the car should draw in each slot (W), where that energy
comes from (solar the car takes from the surplus, grid), what it is expected to
cost (EUR, solar at the export price it forgoes), which slots start with a
command, and one line of reason per slot. Energies in Wh, powers in W.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cached_property


class SlotMode(StrEnum):
    """What the charger does in a slot."""

    OFF = "off"
    SOLAR = "solar"
    """The charger's own PV mode follows the surplus; no grid energy."""
    FIXED = "fixed"
    """A fixed current, set by a command; the grid covers what the sun does not."""


@dataclass(frozen=True, slots=True)
class PlannedSlot:
    """One slot [start, start + step) of a plan.

    `power_w` is the car's mean power (W), `from_grid_wh` + `from_solar_wh` its energy
    (Wh); `import_eur_per_kwh`/`export_eur_per_kwh` the prices used; `cost_eur` the
    slot's expected cost (grid at the import price, solar at the export price it would
    have earned); `command` True if the slot starts with a command to the charger,
    `switch` True if that command starts or stops the car.
    """

    start: datetime
    mode: SlotMode
    power_w: float
    current_a: float
    from_grid_wh: float
    from_solar_wh: float
    import_eur_per_kwh: float
    export_eur_per_kwh: float
    cost_eur: float
    command: bool
    switch: bool
    reason: str

    @property
    def energy_wh(self) -> float:
        """Energy into the car in this slot (Wh)."""
        return self.from_grid_wh + self.from_solar_wh


@dataclass(frozen=True)
class ChargePlan:
    """A schedule to departure and its totals.

    `status` is HiGHS's verdict ("optimal", "time_limit": the best found in time);
    `shortfall_wh` the energy wanted that no schedule within the limits delivers
    (0 when the target is feasible); `objective_eur` the solver's objective
    (cost + command costs + shortfall penalty); `solve_s` the solver's wall time (s).
    The totals are summed once, at their first use (the policy shows them every cycle).
    """

    start: datetime
    step_s: float
    slots: tuple[PlannedSlot, ...]
    energy_wanted_wh: float
    shortfall_wh: float
    objective_eur: float
    status: str
    solve_s: float

    @property
    def end(self) -> datetime:
        """End of the last slot: departure."""
        return self.start + timedelta(seconds=self.step_s * len(self.slots))

    @cached_property
    def energy_wh(self) -> float:
        """Energy the plan puts in the car (Wh)."""
        return sum(s.energy_wh for s in self.slots)

    @cached_property
    def grid_wh(self) -> float:
        """Grid part of it (Wh)."""
        return sum(s.from_grid_wh for s in self.slots)

    @cached_property
    def solar_wh(self) -> float:
        """Solar part of it (Wh)."""
        return sum(s.from_solar_wh for s in self.slots)

    @cached_property
    def cost_eur(self) -> float:
        """Expected cost of the car's energy (EUR; solar valued at the export price)."""
        return sum(s.cost_eur for s in self.slots)

    @cached_property
    def commands(self) -> int:
        """Commands the plan sends (each one V2C Cloud call)."""
        return sum(s.command for s in self.slots)

    @cached_property
    def switches(self) -> int:
        """Starts and stops in the plan."""
        return sum(s.switch for s in self.slots)

    def slots_from(self, when: datetime) -> tuple[PlannedSlot, ...]:
        """The slots from the one holding `when` on (all of them before the start)."""
        return self.slots[self._first_from(when) :]

    def _first_from(self, when: datetime) -> int:
        """The index of the slot holding `when`, 0 before the start."""
        return max(int((when - self.start).total_seconds() // self.step_s), 0)

    @cached_property
    def _last_grid_slot(self) -> int:
        """The index of the last slot that buys grid, -1 if none does."""
        return max((i for i, s in enumerate(self.slots) if s.from_grid_wh > 0.0), default=-1)

    def buys_grid_from(self, when: datetime) -> bool:
        """Whether a slot from the one holding `when` on buys grid (all of them before
        the start): the grid of `slots_from(when)` summed is above 0 (no slot's grid is
        negative), without summing the rest of the plan again at every cycle that asks (a
        home office's week is over 1,000 slots, 47 us a sum)."""
        return self._first_from(when) <= self._last_grid_slot

    def slot_at(self, when: datetime) -> PlannedSlot | None:
        """The slot holding `when`, None before the start or from departure on."""
        i = int((when - self.start).total_seconds() // self.step_s)
        return self.slots[i] if 0 <= i < len(self.slots) else None

"""Electrical limits of one charger and its installation, and the arithmetic on them.

Every current the controller sends passes through `ChargerLimits.cap_current_a`:
the policy says what it would like, the limits say what is allowed. The main
fuse (contracted power) is never exceeded when the household load is known,
and the car never draws more than `max_grid_import_w` from the grid on top of
the solar surplus.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, model_validator

from optimizer.interfaces import MAX_CURRENT_A, MIN_CURRENT_A, NOMINAL_VOLTAGE_V

AMP_SLACK = 1e-9
"""Added before flooring a current (A): 15.9999999 A is 16 A, and an exact multiple
(1380 W at 230 V x 1) must not floor down to the amp below through float rounding."""


def whole_amps(power_w: float, watts_per_amp: float) -> int:
    """Whole amps (A) that fit inside `power_w` (W) at `watts_per_amp` (W/A).

    Floors (never rounds up, so the power is never exceeded); 0 for no power. The
    result may be below the minimum charging current.
    """
    if power_w <= 0.0:
        return 0
    return math.floor(power_w / watts_per_amp + AMP_SLACK)


class ChargerLimits(BaseModel):
    """What one charger may do, from the config's `[chargers.limits]` table.

    Currents are per phase (A), powers are totals over all phases (W).
    `max_grid_import_w` None means the car may draw from the grid without
    limit (the fuse still applies); `main_fuse_w` None means no fuse is known.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_current_a: int = Field(default=MIN_CURRENT_A, ge=MIN_CURRENT_A, le=MAX_CURRENT_A)
    max_current_a: int = Field(default=16, ge=MIN_CURRENT_A, le=MAX_CURRENT_A)
    phases: int = Field(default=1, ge=1, le=3)
    voltage_v: float = Field(default=NOMINAL_VOLTAGE_V, gt=0.0, le=400.0)
    max_grid_import_w: float | None = Field(default=None, ge=0.0)
    main_fuse_w: float | None = Field(default=None, gt=0.0)

    @model_validator(mode="after")
    def _min_not_above_max(self) -> ChargerLimits:
        if self.min_current_a > self.max_current_a:
            raise ValueError(
                f"min_current_a ({self.min_current_a}) must not exceed "
                f"max_current_a ({self.max_current_a})"
            )
        return self

    @model_validator(mode="after")
    def _fuse_allows_the_minimum(self) -> ChargerLimits:
        """A fuse below the minimum charging power would let the car never charge."""
        fuse, minimum = self.main_fuse_w, self.min_power_w
        if fuse is not None and fuse < minimum:
            raise ValueError(
                f"main_fuse_w ({fuse:g} W) is below the minimum charging power "
                f"({minimum:g} W = min_current_a x phases x voltage_v): the car could never charge"
            )
        return self

    @property
    def watts_per_amp(self) -> float:
        """Car power per ampere of setpoint over all phases (W/A)."""
        return self.phases * self.voltage_v

    @property
    def min_power_w(self) -> float:
        """Car power at the minimum current (W)."""
        return self.min_current_a * self.watts_per_amp

    @property
    def max_power_w(self) -> float:
        """Car power at the maximum current (W)."""
        return self.max_current_a * self.watts_per_amp

    def power_w(self, current_a: float) -> float:
        """Car power drawn at `current_a` per phase (W)."""
        return current_a * self.watts_per_amp

    def amps_for_power(self, power_w: float) -> int:
        """Whole amps that fit inside `power_w` (floor, never rounds up; may be below min)."""
        return whole_amps(power_w, self.watts_per_amp)

    def clamp_current(self, current_a: int) -> int:
        """Clamp a setpoint into [min_current_a, max_current_a]."""
        return min(max(current_a, self.min_current_a), self.max_current_a)

    def cap_current_a(self, *, household_w: float | None, surplus_w: float | None) -> int:
        """Highest whole-amp setpoint the installation allows right now (A).

        The cap is the smallest of `max_current_a`, the main fuse left after the
        household (`main_fuse_w - household_w`) and the surplus plus the allowed
        grid import (`surplus_w + max_grid_import_w`). An unknown household or
        surplus skips the bound that needs it. The result may be below
        `min_current_a`, which means the car must not charge at all.
        """
        cap = self.max_current_a
        if self.main_fuse_w is not None and household_w is not None:
            cap = min(cap, self.amps_for_power(self.main_fuse_w - max(household_w, 0.0)))
        if self.max_grid_import_w is not None and surplus_w is not None:
            cap = min(cap, self.amps_for_power(max(surplus_w, 0.0) + self.max_grid_import_w))
        return cap

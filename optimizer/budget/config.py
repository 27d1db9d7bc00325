"""Settings of the call-budget planner, validated with one-line errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

import pydantic
from pydantic import Field, model_validator


class BudgetConfigError(ValueError):
    """A budget setting is wrong; the message is one line naming the key."""


class BudgetConfig(pydantic.BaseModel, extra="forbid", frozen=True):
    """How the account's daily call quota is shared out.

    All intervals in seconds. `reserve` calls are never spent on reads: they are
    kept for commands (writes) and the user's own app. `handover_remaining` is a
    margin inside the read budget that the plan does not spend on following the
    sun; when reads eat into it, `nearly_out` tells the policy to hand the
    charger over to its own exclusive-PV mode.
    """

    daily_limit: int = Field(default=1000, ge=1)
    reserve: int = Field(default=100, ge=0)
    day_start_utc_hour: int = Field(default=0, ge=0, le=23)
    min_read_interval_s: float = Field(default=30.0, gt=0)
    max_read_interval_s: float = Field(default=1800.0, gt=0)
    handover_remaining: int = Field(default=20, ge=0)
    variability_gain: float = Field(default=2.0, ge=0)
    """k in the read weight `(1 + k * variability)`: how much broken clouds attract reads."""
    typical_variability: float = Field(default=0.3, ge=0, le=1)
    """Sky variability assumed for the rest of the day (the weight's baseline)."""
    no_car_weight: float = Field(default=0.0, ge=0, le=1)
    """Weight factor with no car plugged in (0: floor reads only, every max_read_interval_s)."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.reserve >= self.daily_limit:
            raise ValueError(
                f"reserve ({self.reserve}) must be less than daily_limit ({self.daily_limit})"
            )
        if self.min_read_interval_s > self.max_read_interval_s:
            raise ValueError(
                f"min_read_interval_s ({self.min_read_interval_s:g}) must not exceed "
                f"max_read_interval_s ({self.max_read_interval_s:g})"
            )
        return self

    @property
    def read_budget(self) -> int:
        """Calls a day that reads may use: the limit minus the reserve."""
        return self.daily_limit - self.reserve

    @property
    def min_rate(self) -> float:
        """The floor read rate (reads/s): one read every `max_read_interval_s`."""
        return 1 / self.max_read_interval_s

    @property
    def max_rate(self) -> float:
        """The ceiling read rate (reads/s): one read every `min_read_interval_s`."""
        return 1 / self.min_read_interval_s

    def floor_need(self, seconds: float, devices: int) -> float:
        """Reads the floor rate needs for `devices` chargers over `seconds` (s)."""
        return self.min_rate * seconds * devices

    def spendable(self, reads_left: int, seconds: float, devices: int) -> float:
        """Reads the plan spreads over the next `seconds` (s) for `devices` chargers.

        All reads left but the `handover_remaining` margin, and never less than
        the floor rate needs as far as the reads left pay it: the margin is not
        worth going blind for.
        """
        floor_need = self.floor_need(seconds, devices)
        return max(reads_left - self.handover_remaining, min(reads_left, floor_need))

    @classmethod
    def parse(cls, data: Mapping[str, Any], where: str = "budget") -> BudgetConfig:
        """Validate a mapping (e.g. a TOML table); raise `BudgetConfigError` with one line."""
        try:
            return cls.model_validate(dict(data))
        except pydantic.ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in (where, *err["loc"]))
            msg = str(err["msg"]).removeprefix("Value error, ")
            got = f" (got {err['input']!r})" if err["loc"] else ""
            raise BudgetConfigError(f"{loc}: {msg}{got}") from None

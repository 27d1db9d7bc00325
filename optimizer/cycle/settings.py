"""`[controller]`: the settings of the control cycle (all times in seconds)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ControllerSettings(BaseModel):
    """`[controller]`: how the cycle behaves (all times in seconds)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    deadband_a: int = Field(
        default=1, ge=0, le=10, description="Ignore setpoint changes this small (A)"
    )
    forecast_refresh_s: float = Field(
        default=900.0, gt=0.0, description="Re-ask the forecaster this often"
    )
    forecast_horizon_s: float = Field(
        default=36 * 3600.0, gt=0.0, description="Forecast this far ahead"
    )
    forecast_step_s: float = Field(default=300.0, gt=0.0, description="Forecast resolution")
    max_cycle_interval_s: float = Field(
        default=300.0, gt=0.0, description="Decide at least this often, even without a read"
    )
    idle_max_interval_s: float = Field(
        default=3600.0,
        gt=0.0,
        description="Sleep at most this long when nothing can change before the next read "
        "(s); at or below max_cycle_interval_s the controller checks in every "
        "max_cycle_interval_s as before",
    )
    min_cycle_interval_s: float = Field(default=1.0, gt=0.0, description="Never cycle faster")
    error_backoff_s: float = Field(
        default=60.0, gt=0.0, description="First wait after a failed call"
    )
    max_error_backoff_s: float = Field(
        default=1800.0, gt=0.0, description="Longest wait after failures"
    )
    rate_limit_wait_s: float = Field(
        default=3600.0,
        gt=0.0,
        description="Wait after a 429 that did not say when the quota resets",
    )
    target_met_tolerance: float = Field(
        default=0.99, gt=0.0, le=1.0, description="Share of the target that counts as met"
    )

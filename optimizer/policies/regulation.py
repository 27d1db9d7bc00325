"""Who follows the sun: the parameters the surplus policies share (`solar_only`, `min_solar`).

Either the charger's own PV mode regulates (`regulation = "charger"`: it measures
every few seconds with its own clamp at no call cost, and the policy reads rarely),
or the controller does, in maximum-power mode, from its reads; then a steady sky
may still hand the regulation to the charger (`handover_max_variability`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class RegulationParams(BaseModel):
    """Who regulates, how the controller smooths, and when it hands over (a base of the
    surplus policies' parameters)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    regulation: Literal["charger", "controller"] = Field(
        default="charger",
        description="Who follows the sun: the charger's own PV mode (few reads) or the "
        "controller in maximum-power mode",
    )
    current_window_s: float = Field(
        default=0.0,
        ge=0.0,
        description="Current follows the minimum surplus over this window (s); 0: latest",
    )
    handover_max_variability: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="(controller regulation) hand regulation to the charger's own PV mode "
        "when the forecast variability is at most this; None: never",
    )
    handover_read_interval_s: float = Field(
        default=900.0, gt=0.0, description="Reads wanted while the charger regulates itself (s)"
    )

    def steady_sky(self, variability: float | None) -> bool:
        """Whether the forecast's variability (0..1, None: unknown) is low enough to hand
        the controller's regulation to the charger."""
        limit = self.handover_max_variability
        return limit is not None and variability is not None and variability <= limit

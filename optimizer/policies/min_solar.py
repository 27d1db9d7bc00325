"""`min_solar`: the minimum current whenever a car is plugged in, surplus above.

By default (`regulation = "charger"`) the charger's own PV+min mode does
exactly this by itself, measuring every few seconds at no call cost, so the
policy hands it over and reads rarely. `"controller"` regulates from the
controller's reads in maximum-power mode instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from optimizer.interfaces import Decision, PvMode
from optimizer.policies.base import (
    FOREVER,
    Policy,
    PolicyContext,
    hand_over,
    make_decision,
    surplus_current_a,
)
from optimizer.policies.hysteresis import WindowMinimum


class MinSolarParams(BaseModel):
    """Parameters of `min_solar` (`[policy.min_solar]`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    regulation: Literal["charger", "controller"] = Field(
        default="charger",
        description="Who follows the sun: the charger's own PV+min mode (few reads) or the "
        "controller in maximum-power mode",
    )
    current_window_s: float = Field(
        default=0.0, ge=0.0, description="Current follows the minimum surplus over this window (s)"
    )
    handover_max_variability: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="(controller regulation) hand regulation to the charger's PV+min mode "
        "when the forecast variability is at most this; None: never",
    )
    handover_read_interval_s: float = Field(default=900.0, gt=0.0)


class MinSolarPolicy(Policy):
    """The minimum current whenever a car is plugged in, plus whatever the surplus pays for.

    Hands over to the charger's PV+min mode (not exclusive-PV) when the budget
    runs out, because that mode keeps this policy's promise of a minimum.
    """

    budget_handover_mode: PvMode | None = PvMode.PV_MIN

    def __init__(self, params: MinSolarParams | None = None) -> None:
        self.params = params or MinSolarParams()
        self._window = WindowMinimum(self.params.current_window_s)
        self._handed_over = False

    @property
    def name(self) -> str:
        return "min_solar"

    def preferred_read_interval_s(self, ctx: PolicyContext) -> float | None:
        """Few reads while the charger regulates itself."""
        return self.params.handover_read_interval_s if self._handed_over else None

    def next_decision_at(self, ctx: PolicyContext) -> datetime | None:
        """`FOREVER` where only a reading can change the decision, else None (see
        `Policy.next_decision_at`): in charger regulation the charger keeps PV+min whatever the
        clock, and without a car (or before the first reading) it waits in PV+min; the
        controller's own regulation follows the extrapolated surplus and the forecast."""
        if (
            self.params.regulation == "charger"
            or ctx.plugged_in is not True
            or ctx.surplus_w is None
        ):
            return FOREVER
        return None

    def decide(self, ctx: PolicyContext) -> Decision:
        """Minimum current plus surplus, or the charger's PV+min mode on a steady sky."""
        limit = self.params.handover_max_variability
        steady = limit is not None and ctx.variability is not None and ctx.variability <= limit
        by_charger = self.params.regulation == "charger"
        if ctx.plugged_in is not True or ctx.surplus_w is None or steady or by_charger:
            self._handed_over = (steady or by_charger) and ctx.plugged_in is True
            self._window.clear()
            if by_charger:
                why = "regulation by the charger"
            else:
                why = "steady sky" if steady else "no car (or state unknown)"
            return hand_over(
                ctx, self.name, PvMode.PV_MIN, f"{why}: the charger's PV+min mode regulates itself"
            )
        self._handed_over = False
        smoothed_w = self._window.add(ctx.now, ctx.surplus_w)
        amps = ctx.limits.clamp_current(surplus_current_a(ctx, smoothed_w))
        return make_decision(
            ctx,
            self.name,
            charging=True,
            current_a=amps,
            pv_mode=PvMode.MAX_POWER,
            reason=f"minimum always; {amps} A from {smoothed_w:.0f} W surplus",
        )

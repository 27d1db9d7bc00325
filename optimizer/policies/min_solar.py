"""`min_solar`: the minimum current whenever a car is plugged in, surplus above.

By default (`regulation = "charger"`) the charger's own PV+min mode does
exactly this by itself, measuring every few seconds at no call cost, so the
policy hands it over and reads rarely. `"controller"` regulates from the
controller's reads in maximum-power mode instead.
"""

from __future__ import annotations

from datetime import datetime

from optimizer.interfaces import Decision, PvMode
from optimizer.policies.base import (
    FOREVER,
    Policy,
    PolicyContext,
    charge_at,
    hand_over,
    surplus_current_a,
)
from optimizer.policies.hysteresis import WindowMinimum
from optimizer.policies.regulation import RegulationParams


class MinSolarParams(RegulationParams):
    """Parameters of `min_solar` (`[policy.min_solar]`); the charger's own mode is PV+min."""


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
        steady = self.params.steady_sky(ctx.variability)
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
        return charge_at(
            ctx, self.name, amps, f"minimum always; {amps} A from {smoothed_w:.0f} W surplus"
        )

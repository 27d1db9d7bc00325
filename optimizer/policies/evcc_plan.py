"""`evcc_plan`: the baseline planning as evcc does today, run through the same controller.

evcc follows the PV surplus (`evcc_style`) and, for a charging plan ("N kWh by
07:30" with a dynamic tariff), picks the cheapest price slots before departure
that cover the *whole* missing energy at full power, ignoring the sun (its
planner's "TODO solar"), and charges at full power in them. This policy does the
same on the site's prices: every decision it takes the energy still missing
(target minus the session's energy), the 15-minute slots up to departure minus
`target`'s margin, and the fewest cheapest slots (latest first among equal
prices) whose full-power energy covers it; in a chosen slot it charges at the
maximum current, elsewhere it is `evcc_style`. Prices not published yet keep the
last known price (`optimizer.planning.slots.slot_prices`), the same view the
least-cost planner has. Target and departure: the session's, else `target`'s
configured ones.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np

from optimizer.interfaces import Decision, PvMode
from optimizer.planning.slots import slot_prices
from optimizer.policies.base import Policy, PolicyContext, charge_at
from optimizer.policies.evcc_style import EvccStyleParams, EvccStylePolicy
from optimizer.policies.least_cost_plan import SLOT_S, delivered_estimate_wh
from optimizer.policies.target import TargetParams, TargetPolicy
from optimizer.prices.port import PriceSource, PriceSourceError


class EvccPlanPolicy(Policy):
    """evcc's surplus charging plus its price planner (cheapest slots, sun ignored)."""

    budget_handover_mode: PvMode | None = PvMode.EXCLUSIVE_PV

    def __init__(
        self,
        surplus: EvccStyleParams | None = None,
        target: TargetParams | None = None,
        prices: PriceSource | None = None,
    ) -> None:
        self.surplus = EvccStylePolicy(surplus)
        self.goal = TargetPolicy(target)
        self.prices = prices

    @property
    def name(self) -> str:
        return "evcc_plan"

    def default_target_wh(self) -> float | None:
        """`target`'s configured energy per session (Wh)."""
        return self.goal.default_target_wh()

    def decide(self, ctx: PolicyContext) -> Decision:
        """Full power in a planned slot, evcc's surplus charging otherwise."""
        if ctx.plugged_in is True:
            missing_wh = self.goal.target_wh(ctx) - delivered_estimate_wh(ctx)
            deadline = self.goal.departure(ctx) - timedelta(seconds=self.goal.params.margin_s)
            if missing_wh > 0.0 and self.in_cheapest_slot(ctx, missing_wh, deadline):
                reason = f"evcc plan: {missing_wh / 1000:.1f} kWh missing, cheapest slot now"
                return charge_at(ctx, self.name, ctx.limits.max_current_a, reason)
        return self.surplus.decide(ctx)

    def in_cheapest_slot(self, ctx: PolicyContext, missing_wh: float, deadline: datetime) -> bool:
        """Whether the slot starting now is among the cheapest that cover `missing_wh`."""
        n = math.floor((deadline - ctx.now).total_seconds() / SLOT_S)
        if n <= 0:
            return True  # past the deadline with energy missing: charge
        needed = math.ceil(missing_wh / (ctx.limits.max_power_w * SLOT_S / 3600.0))
        if needed >= n:
            return True
        imports = self._imports(ctx, deadline, n)
        if imports is None:
            return needed >= n
        order = np.lexsort((-np.arange(n), imports))  # cheapest first, later first on ties
        return bool(0 in order[:needed])

    def _imports(self, ctx: PolicyContext, deadline: datetime, n: int) -> np.ndarray | None:
        if self.prices is None:
            return None
        try:
            series = self.prices.prices(ctx.now - timedelta(hours=1), deadline)
        except PriceSourceError:
            return None
        if not len(series):
            return None
        return slot_prices(series, ctx.now, n, SLOT_S)[0]

"""`target`'s least-cost planner: a receding-horizon `ChargePlan` from the policy context.

With `[policy.target] planner = "least_cost"` the `target` policy replans at plug-in,
when the target or the departure changes, and at least every `replan_s`: it samples
the pessimistic PV forecast and the site's prices (a `PriceSource`: the `[tariff]` as a
time-of-use tariff, or a price feed handed in) onto 15-minute slots up to the
deadline and asks `optimizer.planning.least_cost_schedule` for the cheapest schedule.
The slot in force then decides: a fixed current, the charger's own PV mode (the
`solar_only` part, which follows the sun without calls), or a pause.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from optimizer.interfaces import PvMode
from optimizer.planning.plan import ChargePlan
from optimizer.planning.request import ChargerNow, PlanRequest
from optimizer.planning.slots import slot_means, slot_prices
from optimizer.policies.base import PolicyContext
from optimizer.policies.tariff import TariffConfig
from optimizer.prices.port import PriceSource, PriceSourceError
from optimizer.prices.series import PriceSeries

SLOT_S = 900.0
"""The plan's slot (s): 15 minutes."""

FLAT_IMPORT_EUR_PER_KWH = 0.30
"""Import price assumed without any tariff or prices (EUR/kWh): with export at 0 it only
ranks the sun before the grid, as the window planner does."""


@dataclass(frozen=True, slots=True)
class PlanKey:
    """What makes a plan stale when it changes: the target and the departure."""

    target_wh: float
    departure: datetime


class LeastCostPlanner:
    """Holds the current plan of one charger and says when to make a new one."""

    def __init__(
        self,
        prices: PriceSource | None,
        tariff: TariffConfig | None,
        *,
        replan_s: float,
        household_w: float,
        export_eur_per_kwh: float = 0.0,
    ) -> None:
        self.prices = prices
        self.tariff = tariff
        self.replan_s = replan_s
        self.household_w = household_w
        self.export_eur_per_kwh = export_eur_per_kwh
        self.plan: ChargePlan | None = None
        self._key: PlanKey | None = None
        self.solves = 0

    def forget(self) -> None:
        """The car left: the next plug-in plans afresh."""
        self.plan, self._key = None, None

    def current(
        self, ctx: PolicyContext, target_wh: float, departure: datetime, deadline: datetime
    ) -> ChargePlan:
        """The plan in force at `ctx.now`, remade when stale (see the module docstring)."""
        key = PlanKey(target_wh, departure)
        plan = self.plan
        if (
            plan is None
            or key != self._key
            or (ctx.now - plan.start).total_seconds() >= self.replan_s
            or plan.slot_at(ctx.now) is None
        ):
            from optimizer.planning.least_cost import least_cost_schedule  # scipy: on first plan

            plan = least_cost_schedule(self.request(ctx, target_wh, deadline))
            self.plan, self._key = plan, key
            self.solves += 1
        return plan

    def request(self, ctx: PolicyContext, target_wh: float, deadline: datetime) -> PlanRequest:
        """The planning problem from now to `deadline` (see `PlanRequest`)."""
        n = max(math.floor((deadline - ctx.now).total_seconds() / SLOT_S), 1)
        house = ctx.household_w if ctx.household_w is not None else self.household_w
        pv = np.zeros(n)
        fc = ctx.forecast
        if fc is not None:
            pv = slot_means(fc.pessimistic_w, fc.start, fc.step_s, ctx.now, n, SLOT_S)
        imports, exports = slot_prices(
            self._series(ctx, deadline),
            ctx.now,
            n,
            SLOT_S,
            export_eur_per_kwh=self.export_eur_per_kwh,
        )
        house_w = np.full(n, house)
        return PlanRequest(
            start=ctx.now,
            import_eur_per_kwh=imports,
            export_eur_per_kwh=exports,
            surplus_w=pv - house_w,
            energy_wanted_wh=max(target_wh - delivered_estimate_wh(ctx), 0.0),
            limits=ctx.limits,
            step_s=SLOT_S,
            house_w=house_w if ctx.limits.main_fuse_w is not None else None,
            now=ChargerNow(
                charging=ctx.charging,
                power_w=ctx.car_power_w,
                following_sun=ctx.charging and ctx.commanded.pv_mode is not PvMode.MAX_POWER,
            ),
        )

    def _series(self, ctx: PolicyContext, end: datetime) -> PriceSeries:
        """The prices handed in, else the `[tariff]`'s, else a flat price (module docstring)."""
        source = self.prices
        if source is None and self.tariff is not None:
            source = self.tariff.as_tariff(ctx.timezone)
        if source is not None:
            try:
                series = source.prices(ctx.now - timedelta(hours=1), end)
            except PriceSourceError:
                series = PriceSeries.empty()
            if len(series):
                return series
        return PriceSeries.from_slots([_hour(ctx.now)], [FLAT_IMPORT_EUR_PER_KWH])


def delivered_estimate_wh(ctx: PolicyContext) -> float:
    """The session's energy now (Wh): the last reading's plus what the car drew since.

    Readings come when the budget planner schedules them; between them a car at a
    fixed current keeps drawing what the reading showed (or less, if a lower current
    was set since: the smaller of the two counts), so the plan stops it on time instead
    of at the next reading.
    """
    if not ctx.charging or ctx.commanded.charging is False:
        return ctx.session_energy_wh
    power_w = ctx.car_power_w
    if ctx.commanded.current_a is not None:  # a lower current set since the reading
        power_w = min(power_w, ctx.commanded.current_a * ctx.limits.watts_per_amp)
    return ctx.session_energy_wh + max(power_w, 0.0) * (ctx.reading_age_s or 0.0) / 3600.0


def _hour(when: datetime) -> datetime:
    return when.replace(minute=0, second=0, microsecond=0)

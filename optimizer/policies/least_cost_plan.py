"""`target`'s least-cost planner: a receding-horizon `ChargePlan` from the policy context.

With `[policy.target] planner = "least_cost"` the `target` policy replans at plug-in,
when the target or the departure changes, when a refreshed forecast moved the pessimistic
sun the car can take to the deadline, up to what is still missing, materially
(`forecast_moved`, `usable_sun_wh`), when the prices up to the
deadline changed (looked at once the missing day is due to be published, `publishes_at`,
and at each periodic look), when the car's energy strayed `deviation_wh` from the plan,
and at a periodic look every `replan_s` unless, on the last day before departure,
the plan is still on track there (`LeastCostPlanner._on_track`: the car within
`ON_TRACK_WH` of the plan, the usable sun within `ON_TRACK_SUN_SHARE`, the plan younger
than `keep_on_track_s`, which is 0, off, by default; every cycle, at least every 5
minutes with a car, checks the triggers before it without a solve).
At a replan it samples the PV forecast (`planned_sun_w`: central
early, pessimistic in the last stretch) and the site's prices (a `PriceSource`: the `[tariff]` as a
time-of-use tariff, or a price feed handed in) onto 15-minute slots up to the
deadline and asks `optimizer.planning.least_cost_schedule` for the cheapest schedule.
Each plan is offered once as a `PlanRecord` with its reason (`take_record`), for the
store, except a periodic replan whose schedule repeats the last one offered.
The slot in force then decides: a fixed current, the charger's own PV mode (the
`solar_only` part, which follows the sun without calls), or a pause.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import NamedTuple

import numpy as np

from optimizer.interfaces import PvForecast, PvMode
from optimizer.limits import ChargerLimits
from optimizer.planning.plan import ChargePlan, SlotMode
from optimizer.planning.record import PlanRecord, ReplanReason
from optimizer.planning.request import ChargerNow, PlanRequest
from optimizer.planning.slots import slot_means, slot_prices
from optimizer.policies.base import PolicyContext
from optimizer.policies.tariff import TariffConfig
from optimizer.prices.port import PriceSource, PriceSourceError
from optimizer.prices.series import PriceSeries

SLOT_S = 900.0
"""The plan's slot (s): 15 minutes."""

REPLAN_MAX_S = 3600.0
"""A plan nothing made stale is still remade after this long (s): the forecast moves."""

REPLAN_FAR_S = 3 * 3600.0
"""A plan whose deadline is more than `FAR_DEADLINE_S` away is remade periodically only
this often (s); every trigger (forecast, prices, target, a stray) still remakes it at once."""

FAR_DEADLINE_S = 24 * 3600.0
"""Beyond this time to the deadline (s) the periodic replan waits `REPLAN_FAR_S`: such a
plan (a weekend, a home-office week) is hundreds of slots with long far blocks, its hour
in force mostly follows the sun by itself, and its hourly periodic replans were more than
half of all the solve time of a home-office fortnight (BENCHMARKS.md "Least-cost target:
faster solves"). The last day before departure, where the grid is bought, replans hourly."""


def periodic_replan_s(replan_s: float, to_deadline_s: float) -> float:
    """How long after the last look (a solve or an on-track check) the plan is looked
    at again without a trigger (s)."""
    return max(replan_s, REPLAN_FAR_S) if to_deadline_s > FAR_DEADLINE_S else replan_s


ON_TRACK_WH = 150.0
"""At a periodic look the plan is kept, not solved again, while the last reading's
session energy is within this much (Wh) of what the plan put in the car by then, and
the rest of `LeastCostPlanner._on_track` holds. With the same prices, about the same
sun and the car where the plan put it, a new solve finds the old plan's tail again
(the blocks are on the clock, so the rest of the old plan is a schedule of the new
problem): 358 of the 589 hourly replans of the commuter's sampled year repeated the
schedule they replaced, and each cost a solve (BENCHMARKS.md, "Least-cost target:
fewer and faster solves, fourth round"). 345 Wh (one slot at the minimum power) kept
a few more plans and cost about the same."""

ON_TRACK_SUN_SHARE = 0.05
"""A plan is on track only while the sun the car can take to the deadline, capped at
what is still missing (`usable_sun_wh`), moved by at most this share of what the plan
counted on, or by at most one slot at the minimum power, since the plan was made: a
quarter of the forecast trigger's `FORECAST_MOVED_SHARE`, so drift the trigger lets
pass is still taken in within a periodic look or two."""

KEEP_ON_TRACK_S = 4 * 3600.0
"""The `keep_on_track_s` that BENCHMARKS.md measured (section 33, and 34 on the merged
tree): a plan this old (s) is solved again at the periodic look, on track or not, since
what `_on_track` does not look at (the central forecast the plan counts on early, the
household profile) drifts too. 8 h kept fewer plans (509 against 589 solves on the
commuter's sampled year) but started the car 2 % more often. The default is 0 (every
periodic look solves): on the whole real-2017 year 4 h saved a quarter of the
commuter's CPU but cost 0.60 EUR more (commuter) and 0.29 EUR more (home office).

Only plans of the last day before departure (`FAR_DEADLINE_S`, looked at hourly) are
kept on track; a farther plan is solved at every 3-hourly look as before. (Kept at any
distance and with sun too, a home-office year paid 0.19 EUR more, 12.55 against 12.36;
the last day alone with sun 0.38 EUR, 12.74: the cost came from plans of sun, see
`sun_left_wh`. Far night plans kept on track were not measured apart.)"""


REPLAN_DEVIATION_WH = 500.0
"""A plan is remade when the car's energy strays this far from what it planned (Wh)."""

FLAT_IMPORT_EUR_PER_KWH = 0.30
"""Import price assumed without any tariff or prices (EUR/kWh): with export at 0 it only
ranks the sun before the grid, as the window planner does."""


FORECAST_MOVED_SHARE = 0.20
"""A forecast moves materially when the pessimistic sun the car can take to the deadline,
capped at the energy still missing (`usable_sun_wh`), changed by more than this share of
what the last plan counted on (and by more than one slot at the charger's minimum power:
less cannot move a slot in or out of the plan). The periodic replan takes smaller drift
in anyway. Measured (uncapped) on two months of real-2017 (BENCHMARKS.md, "Plans in the
store"): 0.05 and 0.10 replanned on every refresh of a wavering nowcast (200 and 166
extra plans in May) and cost no less than no forecast trigger at all; 0.20 replanned 111
and 129 times and cost 4.3 % less over both months (all of it in May; July within a
quarter of a percent)."""

PRICE_RECHECK_S = 300.0
"""After the time the next day's prices are due, look again this often (s) until they
come (a provider publishes late): each look is the price feed's cached series."""


@dataclass(frozen=True, slots=True)
class PlanKey:
    """What makes a plan stale when it changes: the target and the departure (new prices
    are `LeastCostPlanner._prices_changed`'s)."""

    target_wh: float
    departure: datetime


@dataclass(frozen=True, slots=True)
class PlanInputs:
    """What the plan in force was made from: its key, forecast and prices."""

    key: PlanKey
    forecast: PvForecast | None
    prices: PriceSeries
    prices_due: datetime | None
    """When prices the plan lacks (beyond the series' end) are to be published (UTC);
    None when the series covers the deadline or the source publishes nothing later."""


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
        deviation_wh: float = REPLAN_DEVIATION_WH,
        keep_on_track_s: float = 0.0,
    ) -> None:
        self.prices = prices
        self.keep_on_track_s = keep_on_track_s
        """How old (s) a night's grid plan on track may grow before a periodic look solves
        it again; 0: every periodic look solves (`KEEP_ON_TRACK_S`)."""
        self.tariff = tariff
        self.replan_s = replan_s
        self.household_w = household_w
        self.export_eur_per_kwh = export_eur_per_kwh
        self.deviation_wh = deviation_wh
        self.plan: ChargePlan | None = None
        self.reason: ReplanReason | None = None
        """Why the plan in force was made."""
        self._inputs: PlanInputs | None = None
        self._forecast_checked: PvForecast | None = None
        self._fetched: tuple[datetime, PriceSeries] | None = None
        self._recorded: PlanRecord | None = None
        self._unrecorded: PlanRecord | None = None
        self._delivered_at_plan = 0.0
        """The car's energy (Wh) when the plan in force was made."""
        self._house_at_plan: float | None = None
        """The household load (W) of the reading the plan in force was made on."""
        self._looked_at: datetime | None = None
        """When the plan in force was last confirmed (made, or found on track)."""
        self.solves = 0
        self.house = HouseholdProfile(household_w)

    def forget(self) -> None:
        """The car left: the next plug-in plans afresh."""
        self.plan, self._inputs, self.reason = None, None, None
        self._recorded = None

    def take_record(self) -> PlanRecord | None:
        """The plan made since the last call, once, unless it is a periodic replan whose
        schedule repeats the last one handed out; else None."""
        record, self._unrecorded = self._unrecorded, None
        return record

    def current(
        self,
        ctx: PolicyContext,
        target_wh: float,
        departure: datetime,
        deadline: datetime,
        delivered_wh: float | None = None,
    ) -> ChargePlan:
        """The plan in force at `ctx.now`, remade when stale (see the module docstring and
        `_replan_reason`); `delivered_wh` is the car's energy now (None: estimated)."""
        key = PlanKey(target_wh, departure)
        delivered = delivered_estimate_wh(ctx) if delivered_wh is None else delivered_wh
        reason = self._replan_reason(ctx, key, deadline, delivered)
        plan = self.plan
        if reason is None and plan is not None:
            return plan
        from optimizer.planning.least_cost import least_cost_schedule  # HiGHS: on first plan

        series = self._series(ctx, deadline)
        request = self.request(ctx, target_wh, deadline, series, delivered)
        plan = least_cost_schedule(request)
        self.solves += 1
        self.plan, self.reason = plan, reason or ReplanReason.PLUG_IN
        self._delivered_at_plan = delivered
        self._house_at_plan = ctx.household_w
        self._looked_at = ctx.now
        self._forecast_checked = ctx.forecast
        self._inputs = PlanInputs(
            key, ctx.forecast, series, self._prices_due(ctx, series, deadline)
        )
        self._offer(PlanRecord(ctx.device_id, ctx.now, self.reason, departure, plan))
        return plan

    def _offer(self, record: PlanRecord) -> None:
        """Keep `record` for `take_record` unless a periodic replan repeats the last
        schedule handed out (a replan for a new input is kept: its costs moved)."""
        last = self._recorded
        routine = record.reason in (ReplanReason.PERIODIC, ReplanReason.ENDED)
        if last is not None and routine and last.same_schedule(record):
            return
        self._recorded = self._unrecorded = record

    def _replan_reason(
        self, ctx: PolicyContext, key: PlanKey, deadline: datetime, delivered_wh: float
    ) -> ReplanReason | None:
        """Why the plan in force must be remade now, None while it holds."""
        plan, inputs = self.plan, self._inputs
        if plan is None or inputs is None:
            return ReplanReason.PLUG_IN
        if key != inputs.key:
            return ReplanReason.TARGET
        if stays_idle(plan, key.target_wh - delivered_wh, ctx.now):
            return None
        to_deadline_s = (deadline - ctx.now).total_seconds()
        periodic_s = periodic_replan_s(self.replan_s, to_deadline_s)
        looked_at = self._looked_at or plan.start
        periodic = (ctx.now - looked_at).total_seconds() >= periodic_s
        missing_wh = key.target_wh - delivered_wh
        if self._forecast_moved(ctx, inputs, deadline, missing_wh):
            return ReplanReason.FORECAST
        if self._prices_changed(ctx, inputs, deadline, look=periodic):
            return ReplanReason.PRICES
        if plan.slot_at(ctx.now) is None:
            return ReplanReason.ENDED
        strayed = self._strayed_wh(ctx, plan)
        if strayed is not None and abs(strayed) > self.deviation_wh:
            return ReplanReason.STRAYED
        if sun_missing_under_fixed(ctx, plan, lambda: self._planned_house_w(ctx, plan)):
            return ReplanReason.SUN_MISSING
        if not periodic:
            return None
        near = to_deadline_s <= FAR_DEADLINE_S
        if near and self._on_track(ctx, inputs, deadline, missing_wh, strayed):
            self._looked_at = ctx.now
            return None
        return ReplanReason.PERIODIC

    def _planned_house_w(self, ctx: PolicyContext, plan: ChargePlan) -> float:
        """The household load (W) the plan in force counted for the slot at `ctx.now`:
        the reading it was made on for `HOUSE_NOW_S`, the usual load of the hour beyond
        (`HouseholdProfile.per_slot`)."""
        if (ctx.now - plan.start).total_seconds() < HOUSE_NOW_S and self._house_at_plan is not None:
            return self._house_at_plan
        return float(self.house.by_hour()[ctx.now.astimezone(ctx.timezone).hour])

    def _on_track(
        self,
        ctx: PolicyContext,
        inputs: PlanInputs,
        deadline: datetime,
        missing_wh: float,
        strayed_wh: float | None,
    ) -> bool:
        """Whether the plan in force still holds at a periodic look: younger than
        `keep_on_track_s`, the car within `ON_TRACK_WH` of it at the last reading (no
        reading since the plan: nothing seen off it), and the usable sun to the deadline,
        capped at `missing_wh`, within `ON_TRACK_SUN_SHARE` of what the plan counted on.
        A few array sums, no solve; the prices were compared before (`_prices_changed`)."""
        plan = self.plan
        if plan is None or (ctx.now - plan.start).total_seconds() >= self.keep_on_track_s:
            return False
        if sun_left_wh(plan, ctx.now) > 0.0:
            return False
        if strayed_wh is not None and abs(strayed_wh) > ON_TRACK_WH:
            return False
        if ctx.forecast is inputs.forecast:
            return True
        return not self._sun_moved(ctx, inputs, deadline, missing_wh, ON_TRACK_SUN_SHARE)

    def _strayed_wh(self, ctx: PolicyContext, plan: ChargePlan) -> float | None:
        """How far the last reading's session energy is from what the plan expected by
        the time of that reading (Wh); None while no reading came since the plan was made.

        Only a reading can show the car strayed: between readings a car in a PV mode is
        not extrapolated (its power follows the clouds), so comparing the plan at `now`
        with the last reading counted every unread minute of planned sun as a shortfall
        and remade the plan every few minutes of a sunny day.
        """
        read_at = ctx.now - timedelta(seconds=ctx.reading_age_s or 0.0)
        if read_at <= plan.start:
            return None
        return ctx.session_energy_wh - self._delivered_at_plan - planned_by(plan, read_at)

    def _forecast_moved(
        self, ctx: PolicyContext, inputs: PlanInputs, deadline: datetime, missing_wh: float
    ) -> bool:
        """A refreshed forecast moved the pessimistic sun the car can take to the
        deadline, up to the `missing_wh` still wanted, materially (`forecast_moved`,
        `usable_sun_wh`); each refreshed forecast is looked at once."""
        fresh = ctx.forecast
        if fresh is None or fresh is self._forecast_checked:
            return False
        self._forecast_checked = fresh
        return self._sun_moved(ctx, inputs, deadline, missing_wh, FORECAST_MOVED_SHARE)

    def _sun_moved(
        self,
        ctx: PolicyContext,
        inputs: PlanInputs,
        deadline: datetime,
        missing_wh: float,
        share: float,
    ) -> bool:
        """Whether `ctx.forecast` moved the pessimistic sun the car can take to the
        deadline, capped at the `missing_wh` still wanted, by more than `share` of the
        plan's forecast's (and more than one slot; `forecast_moved`, `usable_sun_wh`)."""
        slots = max(math.ceil((deadline - ctx.now).total_seconds() / SLOT_S), 1)
        house_w = self.house.per_slot(ctx, slots)
        cap = max(missing_wh, 0.0)
        before = min(usable_sun_wh(inputs.forecast, ctx.now, house_w, ctx.limits), cap)
        after = min(usable_sun_wh(ctx.forecast, ctx.now, house_w, ctx.limits), cap)
        quantum_wh = ctx.limits.min_power_w * SLOT_S / 3600.0
        return forecast_moved(before, after, quantum_wh, share)

    def _prices_changed(
        self, ctx: PolicyContext, inputs: PlanInputs, deadline: datetime, *, look: bool
    ) -> bool:
        """The prices up to the deadline differ from the plan's: looked at when the
        missing prices are due to be published, and at each periodic replan (`look`)."""
        due = inputs.prices_due
        if not look and (due is None or ctx.now < due):
            return False
        series = self._series(ctx, deadline)
        if due is not None and ctx.now >= due:
            recheck = ctx.now + timedelta(seconds=PRICE_RECHECK_S)
            self._inputs = replace(inputs, prices_due=recheck)
        return prices_differ(inputs.prices, series, ctx.now, deadline, self.export_eur_per_kwh)

    def _prices_due(
        self, ctx: PolicyContext, series: PriceSeries, deadline: datetime
    ) -> datetime | None:
        """When the prices the plan lacks are published (see `PlanInputs.prices_due`)."""
        end = series.end
        source = self.prices
        if source is None or end is None or end >= deadline:
            return None
        return source.publishes_at(end.astimezone(ctx.timezone).date())

    def request(
        self,
        ctx: PolicyContext,
        target_wh: float,
        deadline: datetime,
        series: PriceSeries | None = None,
        delivered_wh: float | None = None,
    ) -> PlanRequest:
        """The planning problem from now to `deadline` (see `PlanRequest`, `planned_sun_w`)."""
        n = max(math.floor((deadline - ctx.now).total_seconds() / SLOT_S), 1)
        delivered = delivered_estimate_wh(ctx) if delivered_wh is None else delivered_wh
        missing_wh = max(target_wh - delivered, 0.0)
        grid_time_s = missing_wh / max(ctx.limits.max_power_w, 1.0) * 3600.0
        sun = planned_sun_w(ctx, n, grid_time_s)
        series = series if series is not None else self._series(ctx, deadline)
        imports, exports = slot_prices(
            series, ctx.now, n, SLOT_S, export_eur_per_kwh=self.export_eur_per_kwh
        )
        imports = unpublished_at_best(imports, published_slots(series, ctx.now, n))
        house_w = self.house.per_slot(ctx, n)
        share = later_sun_share(sun.clear_w - house_w, missing_wh, ctx.limits)
        expected = later_sun_share(sun.central_w - house_w, missing_wh, ctx.limits)
        late = sure_stretch(n, grid_time_s)
        return PlanRequest(
            start=ctx.now,
            import_eur_per_kwh=imports,
            export_eur_per_kwh=exports,
            surplus_w=sun.planned_w - house_w,
            fixed_surplus_w=fixed_block_sun_w(sun.planned_w, sun.pessimistic_w, share) - house_w,
            energy_wanted_wh=missing_wh,
            limits=ctx.limits,
            step_s=SLOT_S,
            block_s=block_s_for(n),
            tail_s=tail_s_for(n),
            grid_premium_eur_per_kwh=early_grid_premium(share, expected, late),
            switch_cost_eur=SWITCH_COST_EUR,
            house_w=house_w if ctx.limits.main_fuse_w is not None else None,
            now=charger_now(ctx),
        )

    def _series(self, ctx: PolicyContext, end: datetime) -> PriceSeries:
        """The prices handed in, else the `[tariff]`'s, else a flat price (module docstring);
        asked once per decision."""
        fetched = self._fetched
        if fetched is not None and fetched[0] == ctx.now:
            return fetched[1]
        series = self._ask_prices(ctx, end)
        self._fetched = (ctx.now, series)
        return series

    def _ask_prices(self, ctx: PolicyContext, end: datetime) -> PriceSeries:
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


SWITCH_COST_EUR = 0.01
"""What the plan charges a start or a stop of the car (EUR, beside the command's cost):
the issue asks for no more starts and stops than the charger's own PV mode makes; a
cent merges two grid runs an hour apart unless the hour between costs more than about
0.3 ct/kWh at full power."""

HOUSE_NOW_S = 3600.0
"""The plan counts on the household load of the last reading this long from now (s),
on the household's usual load at that hour of the day beyond."""

HOUSE_MEMORY_DAYS = 14.0
"""`HouseholdProfile` averages each hour of the day over about this many days."""


class HouseholdProfile:
    """The household's usual load per local hour of the day (W), learned from readings.

    A plan reaches days ahead (a home-office car stays plugged in for a week): the load
    of the last reading, held for days, made the evening's 2 kW eat a week's winter sun
    in the plan, which then bought the whole target from the grid on Sunday night.
    Each hour's readings of a day are averaged, and each finished hour joins that hour's
    running mean (weight 1/days seen, at least 1/`HOUSE_MEMORY_DAYS`). Hours never seen
    count on the mean of those seen, or on `default_w` before any reading.
    """

    def __init__(self, default_w: float) -> None:
        self.default_w = default_w
        self._mean = np.full(24, np.nan)
        self._days = np.zeros(24)
        self._hour: tuple[int, int] | None = None
        """The (local ordinal day, hour) whose readings are being summed."""
        self._sum = 0.0
        self._count = 0
        self._state: dict[str, object] | None = None
        """`state()`'s answer until the next fold (the same object: cheap to compare)."""

    def state(self) -> dict[str, object]:
        """What was learned, JSON-able: each local hour's usual load (W, None: never
        seen) and how many days it has seen. The same object until an hour folds, so a
        caller keeping it once per fold compares it by value each cycle for nothing.
        The hour in progress is left out: a restart sums it again from its readings."""
        if self._state is None:
            mean = [None if np.isnan(w) else float(w) for w in self._mean]
            self._state = {"v": PROFILE_VERSION, "mean_w": mean, "days": self._days.tolist()}
        return self._state

    def restore(self, state: Mapping[str, object]) -> None:
        """Go on from `state()` kept before a restart; the hour in progress starts anew.

        Raises ValueError naming what is wrong for anything `state()` does not make (a
        corrupt or foreign value); the profile is then left as it was.
        """
        if state.get("v") != PROFILE_VERSION:
            raise ValueError(f"household profile: version {state.get('v')!r} unknown")
        mean = _hourly(state.get("mean_w"), "mean_w", missing=True)
        days = _hourly(state.get("days"), "days", missing=False)
        if (days < 0).any() or (np.isnan(mean) != (days == 0)).any():
            raise ValueError("household profile: days and mean_w do not agree")
        self._mean, self._days = mean, days
        self._hour, self._sum, self._count, self._state = None, 0.0, 0, None

    def observe(self, ctx: PolicyContext) -> None:
        """Take in a fresh reading's household load (W); others are ignored."""
        if not ctx.fresh or ctx.household_w is None:
            return
        local = ctx.now.astimezone(ctx.timezone)
        hour = (local.toordinal(), local.hour)
        if hour != self._hour:
            self._fold()
            self._hour = hour
        self._sum += ctx.household_w
        self._count += 1

    def _fold(self) -> None:
        if self._hour is None or self._count == 0:
            return
        h = self._hour[1]
        value = self._sum / self._count
        self._days[h] += 1.0
        weight = max(1.0 / self._days[h], 1.0 / HOUSE_MEMORY_DAYS)
        old = self._mean[h]
        self._mean[h] = value if np.isnan(old) else old + weight * (value - old)
        self._sum, self._count, self._state = 0.0, 0, None

    def by_hour(self) -> np.ndarray:
        """The usual load per local hour 0-23 (W), hours not seen yet filled in."""
        mean = self._mean.copy()
        if self._hour is not None and self._count:  # the hour in progress counts too
            h = self._hour[1]
            value = self._sum / self._count
            mean[h] = value if np.isnan(mean[h]) else mean[h]
        seen = ~np.isnan(mean)
        fill = float(mean[seen].mean()) if seen.any() else self.default_w
        return np.where(seen, mean, fill)

    def per_slot(self, ctx: PolicyContext, slots: int) -> np.ndarray:
        """The household load (W) per plan slot from `ctx.now`: the last reading's for
        `HOUSE_NOW_S`, the usual load of each slot's local hour beyond."""
        now_w = ctx.household_w
        profile = self.by_hour()
        if now_w is None:
            now_w = float(profile[ctx.now.astimezone(ctx.timezone).hour])
        hours = _local_hours(ctx, slots)
        house = profile[hours]
        near = np.arange(slots) * SLOT_S < HOUSE_NOW_S
        return np.where(near, now_w, house)


PROFILE_VERSION = 1
"""The version of `HouseholdProfile.state()`; a kept state of another is not restored."""


def _hourly(values: object, name: str, *, missing: bool) -> np.ndarray:
    """24 finite numbers (None allowed where `missing`: NaN) from a kept state, or
    ValueError naming `name`."""
    if not isinstance(values, list) or len(values) != 24:
        raise ValueError(f"household profile: {name} is not a list of 24 hours")
    out = np.full(24, np.nan)
    for h, value in enumerate(values):
        if value is None and missing:
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ValueError(f"household profile: {name}[{h}] = {value!r} is no number")
        out[h] = float(value)
    return out


def _local_hours(ctx: PolicyContext, slots: int) -> np.ndarray:
    """The local hour of the day (0-23) of each plan slot from `ctx.now`."""
    end = ctx.now + timedelta(seconds=(slots - 1) * SLOT_S)
    first, last = (t.astimezone(ctx.timezone).utcoffset() for t in (ctx.now, end))
    if first == last and first is not None:  # no change of UTC offset: one sum
        epoch_s = ctx.now.timestamp() + first.total_seconds() + np.arange(slots) * SLOT_S
        return (np.floor(epoch_s / 3600.0) % 24).astype(np.int64)
    step = timedelta(seconds=SLOT_S)
    local = [(ctx.now + i * step).astimezone(ctx.timezone) for i in range(slots)]
    return np.array([t.hour for t in local], dtype=np.int64)


def published_slots(series: PriceSeries, now: datetime, slots: int) -> int:
    """How many of a plan's first slots from `now` the series' prices cover."""
    end = series.end
    if end is None:
        return 0
    return min(max(math.ceil((end - now).total_seconds() / SLOT_S), 0), slots)


def unpublished_at_best(imports: np.ndarray, published: int) -> np.ndarray:
    """Import prices (EUR/kWh) with the slots not published yet at the lowest price
    published from now on.

    Grid bought now at a known price is only worth it if it cannot be bought later for
    as little; an unknown day is as likely to be as cheap as the best known hour, and a
    plan that counts on it waits: when that day is published, a replan sees its real
    prices before anything is bought there (a departure never lies beyond the prices a
    replan can still see in time: the next day's are out by the afternoon before). With
    the last known price held instead, a home-office stay of a week bought the target
    from the grid on the first days whenever a known hour was cheaper than the last one
    published (0.22 against 0.23 EUR/kWh), before a week of sun.
    """
    if published <= 0 or published >= imports.shape[0]:
        return imports
    out = imports.copy()
    out[published:] = float(imports[:published].min())
    return out


def sun_left_wh(plan: ChargePlan, now: datetime) -> float:
    """The sun (Wh) the plan still puts in the car from the slot holding `now` on.

    A plan that still counts on sun is not kept by `LeastCostPlanner._on_track`: its
    sun comes from the central forecast, which the on-track check does not compare, and
    the car in a PV mode strays from it by the clouds. Kept at its hourly looks all the
    same, the last days of home-office stays cost 0.38 EUR more over real-2017 (12.74
    against 12.36, March 0.29 dearer); a plan whose rest takes no sun (a night's grid
    plan) depends only on the prices, compared at each look, and the car's energy."""
    return sum(slot.from_solar_wh for slot in plan.slots_from(now))


SUN_MISSING_SHARE = 0.5
"""Share of the charger's minimum power (W) by which a reading's household load must
exceed what the plan counted, and its surplus fall short of the sun the plan counted,
under the plan's fixed slot in force to remake the plan (`sun_missing_under_fixed`)."""


def sun_missing_under_fixed(
    ctx: PolicyContext, plan: ChargePlan, planned_house_w: Callable[[], float]
) -> bool:
    """Whether a fresh reading shows the household taking the sun the plan counted on
    under its fixed slot in force: its load (W) above what the plan counted there
    (`planned_house_w`, asked only for such a slot), and the surplus below that slot's
    planned sun power, each by more than `SUN_MISSING_SHARE` of the minimum power.

    A fixed current draws its power whatever the sun does, so sun taken away under it
    leaves the car's energy on plan (no `STRAYED`) while the grid pays for all of it; the
    block was bought because its sun made it cheap. An August Sunday's 17:18 plan put the
    car at 6 A under the evening's last sun (half of the block's energy, 0.5 kWh); the
    household then cooked (1.3-1.5 kW) and the block bought 0.9 kWh at 0.218 EUR/kWh that
    a sunny Monday morning would have given, while the plan, made again only at 18:18,
    kept it. A plan made on such a reading counts that load for `HOUSE_NOW_S`.

    Only a slot whose planned sun is material (at least that share of the minimum power)
    and only where the plan counts later sun in the PV mode (at least one slot at the
    minimum power) that can stand in for it: where none can (a commuter's weekday
    evening before a night of grid) the block's grid is bought either way, and a plan
    remade on a passing load, which it counts for an hour, moved it into the night and
    lost the sun after the cooking (an August Wednesday: 0.26 kWh, +4 ct). Sun that
    fades by itself is not looked at either: the plan sees no more of it than its
    forecast, which refreshes on its own (a March Saturday's replan in the evening's
    fading sun moved the last 0.2 kWh into a dull Sunday morning at a dearer price).
    """
    if not ctx.fresh or ctx.surplus_w is None or ctx.household_w is None:
        return False
    slot = plan.slot_at(ctx.now)
    if slot is None or slot.mode is not SlotMode.FIXED or slot.from_solar_wh <= 0.0:
        return False
    margin_w = SUN_MISSING_SHARE * ctx.limits.min_power_w
    planned_w = slot.from_solar_wh / (plan.step_s / 3600.0)
    if planned_w < margin_w or ctx.surplus_w >= planned_w - margin_w:
        return False
    if ctx.household_w <= planned_house_w() + margin_w:
        return False  # the sun itself faded: the forecast's to see
    later = plan.slots_from(ctx.now)[1:]
    later_sun_wh = sum(s.from_solar_wh for s in later if s.mode is SlotMode.SOLAR)
    return later_sun_wh >= ctx.limits.min_power_w * plan.step_s / 3600.0


def stays_idle(plan: ChargePlan, missing_wh: float, now: datetime) -> bool:
    """Whether a plan made for nothing still holds: nothing is missing now either (Wh)
    and the plan still covers `now`.

    Then any new plan would want nothing again, whatever the sun, the prices or the car
    did: a target is met for the rest of the session unless it changes (the key). A
    home-office car meets its target early in a week-long stay; its hourly replans of
    an idle plan of hundreds of slots were three quarters of its solves.
    """
    return plan.energy_wanted_wh <= 0.0 and missing_wh <= 0.0 and plan.slot_at(now) is not None


def usable_sun_wh(
    forecast: PvForecast | None, start: datetime, house_w: np.ndarray, limits: ChargerLimits
) -> float:
    """PV energy (Wh) the car could take from the pessimistic forecast over the slots of
    `house_w` from `start`: the surplus over the household (W per slot) where it reaches
    the charger's minimum power, at most its maximum; 0 without a forecast.

    The plan buys from the grid only what this sun cannot give, so the forecast trigger
    compares it capped at the energy still missing: while the pessimistic sun covers all
    of it before and after a refresh, the new plan would buy no grid either. Compared
    uncapped (raw PV to the deadline), a home-office week replanned on 233 of 424 solves
    of the sampled year for refreshes that moved days of sun far beyond what the car
    still wanted (BENCHMARKS.md, "Forecast replans that cannot change the plan").
    """
    if forecast is None:
        return 0.0
    n = house_w.shape[0]
    pv = slot_means(forecast.pessimistic_w, forecast.start, forecast.step_s, start, n, SLOT_S)
    return float(chargeable_w(pv - house_w, limits).sum() * SLOT_S / 3600.0)


def chargeable_w(surplus_w: np.ndarray, limits: ChargerLimits) -> np.ndarray:
    """The part of each slot's PV surplus (W) the charger can take: none below its minimum
    power (the car would draw the rest from the grid), at most its maximum."""
    return np.where(surplus_w >= limits.min_power_w, np.minimum(surplus_w, limits.max_power_w), 0.0)


def forecast_moved(
    before_wh: float, after_wh: float, quantum_wh: float, share: float = FORECAST_MOVED_SHARE
) -> bool:
    """Whether the sun the plan counts on (Wh, `usable_sun_wh`) moved materially: by more than
    `share` of what the plan counted on and more than `quantum_wh` (one slot at the
    minimum power: less cannot move a slot in or out of the plan)."""
    change = abs(after_wh - before_wh)
    return change > quantum_wh and change > share * before_wh


def prices_differ(
    before: PriceSeries, after: PriceSeries, start: datetime, end: datetime, export: float
) -> bool:
    """Whether a plan on [start, end) would see other prices in `after` than in `before`:
    each 15-minute slot's import and export price as the planner samples them (a day not
    published yet keeps the last known price there, so its publication is a change)."""
    n = max(math.ceil((end - start).total_seconds() / SLOT_S), 1)
    old = slot_prices(before, start, n, SLOT_S, export_eur_per_kwh=export)
    new = slot_prices(after, start, n, SLOT_S, export_eur_per_kwh=export)
    return not (np.array_equal(old[0], new[0]) and np.array_equal(old[1], new[1]))


SAFE_RESERVE_S = 3600.0
"""Beyond the time the grid needs for all that is missing, the plan keeps this much more
(s) in which it counts only on the pessimistic sun."""

DAY_S = 86400.0


class PlannedSun(NamedTuple):
    """PV power (W) per plan slot from now (`planned_sun_w`)."""

    planned_w: np.ndarray
    """What the plan counts on."""
    pessimistic_w: np.ndarray
    """The pessimistic quantile's."""
    clear_w: np.ndarray
    """The clear sky's."""
    central_w: np.ndarray
    """The central forecast's, in the last stretch too (`early_grid_premium`)."""


def planned_sun_w(ctx: PolicyContext, slots: int, grid_time_s: float) -> PlannedSun:
    """The PV power (W) the plan counts on per slot from now, the pessimistic quantile's
    and the clear sky's.

    The central forecast where a disappointing sun can still be made up from the grid
    (more than `grid_time_s` + `SAFE_RESERVE_S` before the end: a later replan sees
    the shortfall and buys it), the pessimistic quantile in the last stretch, where it
    cannot. Slots beyond the forecast repeat the slot a day earlier (the forecaster
    looks 36 h ahead; a weekend session lasts 62 h), so far sun is neither zero nor
    invented; from `FAR_S` on the central sun is the forecast's share of the clear sky
    as whole sunny hours (`sunny_days_w`).
    """
    fc = ctx.forecast
    if fc is None:
        return PlannedSun(*(np.zeros(slots) for _ in range(4)))
    end = fc.start + timedelta(seconds=len(fc) * fc.step_s)
    covered = max(int((end - ctx.now).total_seconds() // SLOT_S), 0)
    day = int(DAY_S // SLOT_S)
    quantiles = []
    for values in (fc.central_w, fc.pessimistic_w, fc.clear_sky_w):
        pv = slot_means(values, fc.start, fc.step_s, ctx.now, slots, SLOT_S)
        for i in range(max(covered, day), slots):
            pv[i] = pv[i - day]
        quantiles.append(pv)
    central, pessimistic, clear = quantiles
    far = min(int(FAR_S // SLOT_S), slots)
    central[far:] = sunny_days_w(clear[far:], clear_share(central, clear, far, covered))
    sure = sure_stretch(slots, grid_time_s)
    return PlannedSun(np.where(sure, pessimistic, central), pessimistic, clear, central)


def sure_stretch(slots: int, grid_time_s: float) -> np.ndarray:
    """Per plan slot, whether it lies in the last stretch before the deadline where the
    plan counts only on the pessimistic sun (`planned_sun_w`): the time the grid needs for
    all that is missing (`grid_time_s`, s) and `SAFE_RESERVE_S` more."""
    return np.arange(slots) * SLOT_S >= slots * SLOT_S - grid_time_s - SAFE_RESERVE_S


def fixed_block_sun_w(planned_w: np.ndarray, sure_w: np.ndarray, share: np.ndarray) -> np.ndarray:
    """The PV power (W) a fixed current counts on per slot: the planned sun, moved
    towards the pessimistic (`sure_w`) by the share of the missing energy a clear sky
    after the slot could still give (`later_sun_share`, 0-1).

    A fixed current takes its power whatever the sun does; the sun under it is free, so
    a block at the minimum current under weak sun looked cheap (half of it sun, the
    grid part at the price plus the early premium), and the plan bought it days or
    hours before the deadline, before sun that covered everything: a February stay
    bought 1.3 kWh under Tuesday's weak morning sun before an afternoon of 11 kWh, a
    July one 0.9 kWh at Monday noon before 8 kWh of afternoon sun, an August one
    1.1 kWh under Sunday's fading evening sun before a sunny Monday morning. The
    forecast had seen none of that sun coming (a dull morning persists in the nowcast).
    The weak sun is worth buying grid for only when it is the last chance: where a clear
    sky could still give all that is missing before departure, a fixed block counts on
    the pessimistic sun (grid it buys now must be cheaper than grid later on its own);
    where little sun can still come (a commuter's summer evening, the night before
    departure) on nearly the planned sun, as before. The charger's PV mode takes
    whatever sun comes and stays planned on the planned sun.
    """
    return planned_w - share * np.maximum(planned_w - sure_w, 0.0)


FAR_S = 86400.0
"""From this far ahead (s) the plan counts on the forecast's share of the clear sky as
whole sunny hours (`sunny_days_w`) instead of the forecast's own power."""


def clear_share(central: np.ndarray, clear: np.ndarray, far: int, covered: int) -> float:
    """The forecast's PV energy as a share of the clear sky's (0-1): over the slots it
    covers from `far` on (its long-range view), else over all it covers."""
    for lo in (far, 0):
        hi = max(min(covered, central.shape[0]), lo)
        total = float(clear[lo:hi].sum())
        if total > 0.0:
            return min(max(float(central[lo:hi].sum()) / total, 0.0), 1.0)
    return 0.0


def sunny_days_w(clear_w: np.ndarray, share: float) -> np.ndarray:
    """Far sun as the clear sky's brightest slots of each day that carry `share` of its
    energy (W), nothing in the others.

    Far ahead a forecast knows the season, not the weather: its power is about the
    clear sky times the usual clear-sky index, in January half of a clear noon, which
    after the household is below the car's minimum power all day, so a week-long stay
    counted on no sun at all and bought the target from the grid. Real days are sunny
    or dull more than in between; as many sunny hours as the share gives (at noon,
    where the clear sky is strongest) keep the forecast's energy in a form the car can
    take. A replan sees the real day coming; the deadline's last stretch counts on the
    pessimistic forecast anyway.
    """
    day = int(DAY_S // SLOT_S)
    out = np.zeros_like(clear_w)
    for lo in range(0, clear_w.shape[0], day):
        chunk = clear_w[lo : lo + day]
        order = np.argsort(-chunk, kind="stable")
        energy = np.cumsum(chunk[order])
        keep = order[energy <= share * energy[-1]] if energy.size else order
        out[lo + keep] = chunk[keep]
    return out


BLOCKS_MAX = 36
"""Most decision blocks in a plan: a clock hour each up to 36 h to departure, longer
blocks beyond (a weekend's 62 h: 3 h, then the last `TAIL_HOURS` in hours). With 58
hour blocks, half of the solves stopped at the time limit and some returned poor plans
(grid bought before a sunny weekend)."""


EARLY_GRID_PREMIUM_EUR_PER_KWH = 0.05
"""What the plan charges grid energy bought while the sun still expected before departure
could cover all that is missing (EUR/kWh; less in proportion when it covers a part)."""


def early_grid_premium(
    later_share: np.ndarray,
    expected_share: np.ndarray | None = None,
    late: np.ndarray | None = None,
) -> np.ndarray:
    """Per slot, the premium on grid energy (EUR/kWh): `EARLY_GRID_PREMIUM_EUR_PER_KWH`
    times the share of the missing energy a clear sky after the slot could still deliver
    (`later_sun_share` over the clear sky's surplus, which `fixed_block_sun_w` weighs by
    too).

    Grid bought now cannot be returned when the sun comes; grid bought later can wait
    for it. With a flat retail price the early and the late cheap hours differ by a
    cent or two, while the forecast can underrate a weekend's sun by many kWh: on a
    January fortnight the plan bought 4.9 kWh on Friday nights and Sunday mornings that
    the weekend's sun would have given (1.16x the optimum's cost, 2.1 EUR of its 2.4 EUR
    loss). The clear sky, not the forecast, says whether sun may still come: the
    forecast of a winter morning saw none on a day that brought 5 kWh.

    In the last stretch before the deadline (`late`, `sure_stretch`) the plan counts on
    the pessimistic sun only, but what it plans there is bought on that hour's nowcast,
    and only where the sun fails: the sun the central forecast expects after the slot
    (`expected_share`, the same share over the central forecast's surplus) is not a risk
    there, and the premium counts only the clear sky's share beyond it. With the full
    premium there, grid bought the evening or night before weighed the same as grid
    planned in a last stretch whose sun the central forecast saw (a pessimistic quantile
    15 h ahead is about 0.6 of the clear sky), and the plan bought the night's; on the
    real-2017 home-office year this took 11.80 to 11.73 EUR (a December week 0.64 ->
    0.58, a May night 0.40 -> 0.36), the commuter's year unchanged to the cent. With no
    premium there at all, an Easter Monday's plan moved 1.9 kWh from the evening (0.211
    EUR/kWh) into a Tuesday morning (0.231) its forecast saw dull, 0.28 EUR more
    (BENCHMARKS.md, "home_office in every month, sixth round").
    """
    if expected_share is None or late is None:
        return EARLY_GRID_PREMIUM_EUR_PER_KWH * later_share
    share = np.where(late, np.maximum(later_share - expected_share, 0.0), later_share)
    return EARLY_GRID_PREMIUM_EUR_PER_KWH * share


def later_sun_share(surplus_w: np.ndarray, missing_wh: float, limits: ChargerLimits) -> np.ndarray:
    """Per slot, the share (0-1) of `missing_wh` (Wh) the surplus after the slot could
    still give the car (`surplus_w`, W: the clear sky's minus the household, where the
    charger can take it, `chargeable_w`)."""
    usable = chargeable_w(surplus_w, limits)
    later_wh = (np.cumsum(usable[::-1])[::-1] - usable) * SLOT_S / 3600.0
    return np.minimum(later_wh / max(missing_wh, 1.0), 1.0)


def block_s_for(slots: int) -> float:
    """The decision block (s) for a plan of `slots` slots (see `BLOCKS_MAX`), before its
    hour-block tail (`tail_s_for`)."""
    head_s = slots * SLOT_S - tail_s_for(slots)
    head_blocks = BLOCKS_MAX - round(tail_s_for(slots) / 3600.0)
    return 3600.0 * max(1, math.ceil(head_s / 3600.0 / head_blocks))


TAIL_HOURS = 12
"""A plan longer than `BLOCKS_MAX` hours keeps hour blocks in its last this many hours
(the night before departure, where the grid goes when the sun did not come) and shares
the other blocks out over the time before. With even blocks a week-long home-office stay
had 7-hour blocks: a fixed power over one is at least 9.7 kWh at 6 A, so where 2.6 kWh
were missing the only grid block small enough was the one in progress (it began before
now), and the plan bought the grid at once, days before a sunny week."""


def tail_s_for(slots: int) -> float:
    """The stretch before the deadline decided in hour blocks (s): all of a plan of up
    to `BLOCKS_MAX` hours, the last `TAIL_HOURS` of a longer one."""
    if slots * SLOT_S <= BLOCKS_MAX * 3600.0:
        return 0.0
    return TAIL_HOURS * 3600.0


def planned_by(plan: ChargePlan, when: datetime) -> float:
    """Energy (Wh) the plan puts in the car from its start to `when`."""
    done_s = (when - plan.start).total_seconds()
    total = 0.0
    for i, slot in enumerate(plan.slots):
        part = min(max(done_s - i * plan.step_s, 0.0), plan.step_s)
        if part <= 0.0:
            break
        total += slot.power_w * part / 3600.0
    return total


def delivered_estimate_wh(ctx: PolicyContext) -> float:
    """The session's energy now (Wh): the last reading's plus what the car drew since.

    Readings come when the budget planner schedules them; between them a car at a
    fixed current keeps drawing what the reading showed (or less, if a lower current
    was set since: the smaller of the two counts), so the plan stops it on time instead
    of at the next reading. `EnergyTracker` does better for a policy that knows when it
    changed the current.
    """
    if not ctx.charging or ctx.commanded.charging is False:
        return ctx.session_energy_wh
    power_w = ctx.car_power_w
    if ctx.commanded.current_a is not None:  # a lower current set since the reading
        power_w = min(power_w, ctx.commanded.current_a * ctx.limits.watts_per_amp)
    return ctx.session_energy_wh + max(power_w, 0.0) * (ctx.reading_age_s or 0.0) / 3600.0


class EnergyTracker:
    """The session's energy now (Wh) from the last reading and the powers set since.

    From the reading on, the car draws the reading's power if it was charging at a
    fixed current (0 in a PV mode, whose power follows the clouds: never a guess too
    high, which would stop the car short of its target), until the policy says it set
    another fixed current or paused (`set`). A car resumed between two readings so
    counts from the moment it was resumed, and a paused one stops counting. What the
    policy set counts as the controller sent it (`held_power_w`): the actuator leaves
    a change within its deadband (1 A) unsent.
    """

    def __init__(self) -> None:
        self._reading: datetime | None = None
        self._base_wh = 0.0
        self._segments: list[tuple[datetime, float]] = []

    def estimate(self, ctx: PolicyContext) -> float:
        """The energy now (Wh); a new reading restarts the count from it."""
        read_at = ctx.now - timedelta(seconds=ctx.reading_age_s or 0.0)
        if self._reading is None or abs((read_at - self._reading).total_seconds()) > 1.0:
            fixed = ctx.charging and ctx.commanded.pv_mode in (PvMode.MAX_POWER, None)
            power_w = ctx.car_power_w if fixed and ctx.commanded.charging is not False else 0.0
            if fixed and ctx.commanded.current_a is not None:
                power_w = min(power_w, ctx.commanded.current_a * ctx.limits.watts_per_amp)
            self._reading, self._base_wh = read_at, ctx.session_energy_wh
            self._segments = [(read_at, max(power_w, 0.0))]
        held_w = held_power_w(ctx)
        if len(self._segments) > 1 and held_w is not None:
            self._segments[-1] = (self._segments[-1][0], held_w)
        total = self._base_wh
        ends = [t for t, _ in self._segments[1:]] + [ctx.now]
        for (start, power_w), end in zip(self._segments, ends, strict=True):
            total += power_w * max((end - start).total_seconds(), 0.0) / 3600.0
        return total

    def set(self, now: datetime, power_w: float) -> None:
        """From `now` on the car draws `power_w` (W; 0: paused or a PV mode)."""
        if self._segments and self._segments[-1][1] != power_w:
            self._segments.append((now, power_w))

    def forget(self) -> None:
        """The car left."""
        self.__init__()  # type: ignore[misc]


def held_power_w(ctx: PolicyContext) -> float | None:
    """The power (W) the charger holds by what the controller last sent it: 0 paused,
    the current at a fixed current; None in a PV mode or unknown (it follows the sun).

    The policy's last `EnergyTracker.set` is what it asked for; the actuator does not
    send a change within its deadband, so a car asked down from 7 A to 6 A for the
    last minutes of a night kept drawing 7 A while the estimate counted 6 A, and ran
    past its target until the next reading."""
    held = ctx.commanded
    if held.charging is False:
        return 0.0
    if held.charging and held.pv_mode is PvMode.MAX_POWER and held.current_a is not None:
        return held.current_a * ctx.limits.watts_per_amp
    return None


def charger_now(ctx: PolicyContext) -> ChargerNow:
    """What the charger is doing as the plan is made, for the first block's commands:
    at a fixed current or paused as the controller last told it (`held_power_w`), else
    (its own PV mode, or nothing sent yet) as the last reading showed.

    A reading is often 15-25 minutes old while the car runs at a fixed current; a car
    started since then looked idle, so continuing its run and starting it again later
    cost the plan the same: an hourly replan 15 minutes into a night's grid run moved
    the run to the next clock hour, 0.1 ct/kWh cheaper, and the car was stopped and
    started again (a split night: one more start, and the stop and start each a call).
    """
    held_w = held_power_w(ctx)
    if held_w is None:
        following = ctx.charging and ctx.commanded.pv_mode is not PvMode.MAX_POWER
        return ChargerNow(charging=ctx.charging, power_w=ctx.car_power_w, following_sun=following)
    return ChargerNow(charging=held_w > 0.0, power_w=held_w, following_sun=False)


def _hour(when: datetime) -> datetime:
    return when.replace(minute=0, second=0, microsecond=0)

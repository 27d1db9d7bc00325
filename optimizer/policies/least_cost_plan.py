"""`target`'s least-cost planner: a receding-horizon `ChargePlan` from the policy context.

With `[policy.target] planner = "least_cost"` the `target` policy replans at plug-in,
when the target or the departure changes, when a refreshed forecast moved the pessimistic
PV energy to the deadline materially (`forecast_moved`), when the prices up to the
deadline changed (looked at once the missing day is due to be published, `publishes_at`,
and at each periodic replan), and at least every `replan_s`: it samples
the pessimistic PV forecast and the site's prices (a `PriceSource`: the `[tariff]` as a
time-of-use tariff, or a price feed handed in) onto 15-minute slots up to the
deadline and asks `optimizer.planning.least_cost_schedule` for the cheapest schedule.
Each plan is offered once as a `PlanRecord` with its reason (`take_record`), for the
store, except a periodic replan whose schedule repeats the last one offered.
The slot in force then decides: a fixed current, the charger's own PV mode (the
`solar_only` part, which follows the sun without calls), or a pause.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np

from optimizer.interfaces import PvForecast, PvMode
from optimizer.planning.plan import ChargePlan
from optimizer.planning.record import PlanRecord, ReplanReason
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


FORECAST_MOVED_SHARE = 0.20
"""A forecast moves materially when the pessimistic PV energy to the deadline changed by
more than this share of what the last plan counted on (and by more than one slot at the
charger's minimum power: less cannot move a slot in or out of the plan). The periodic
replan, at most 15 minutes away, takes smaller drift in anyway. Measured on two months
of real-2017 (BENCHMARKS.md, "Plans in the store"): 0.05 and 0.10 replanned on every
refresh of a wavering nowcast (200 and 166 extra plans in May) and cost no less than no
forecast trigger at all; 0.20 replanned 111 and 129 times and cost 4.3 % less over both
months (all of it in May; July within a quarter of a percent)."""

PRICE_RECHECK_S = 300.0
"""After the time the next day's prices are due, look again this often (s) until they
come (a provider publishes late): each look is the price feed's cached series."""


@dataclass(frozen=True, slots=True)
class PlanKey:
    """What makes a plan stale when it changes: the target and the departure."""

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
    ) -> None:
        self.prices = prices
        self.tariff = tariff
        self.replan_s = replan_s
        self.household_w = household_w
        self.export_eur_per_kwh = export_eur_per_kwh
        self.plan: ChargePlan | None = None
        self.reason: ReplanReason | None = None
        """Why the plan in force was made."""
        self._inputs: PlanInputs | None = None
        self._forecast_checked: PvForecast | None = None
        self._fetched: tuple[datetime, PriceSeries] | None = None
        self._recorded: PlanRecord | None = None
        self._unrecorded: PlanRecord | None = None
        self.solves = 0

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
        self, ctx: PolicyContext, target_wh: float, departure: datetime, deadline: datetime
    ) -> ChargePlan:
        """The plan in force at `ctx.now`, remade when stale (see the module docstring)."""
        key = PlanKey(target_wh, departure)
        reason = self._replan_reason(ctx, key, deadline)
        plan = self.plan
        if reason is None and plan is not None:
            return plan
        from optimizer.planning.least_cost import least_cost_schedule  # scipy: on first plan

        series = self._series(ctx, deadline)
        plan = least_cost_schedule(self.request(ctx, target_wh, deadline, series))
        self.solves += 1
        self.plan, self.reason = plan, reason or ReplanReason.PLUG_IN
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
        self, ctx: PolicyContext, key: PlanKey, deadline: datetime
    ) -> ReplanReason | None:
        """Why the plan in force must be remade now, None while it holds."""
        plan, inputs = self.plan, self._inputs
        if plan is None or inputs is None:
            return ReplanReason.PLUG_IN
        if key != inputs.key:
            return ReplanReason.TARGET
        periodic = (ctx.now - plan.start).total_seconds() >= self.replan_s
        if self._forecast_moved(ctx, inputs, deadline):
            return ReplanReason.FORECAST
        if self._prices_changed(ctx, inputs, deadline, look=periodic):
            return ReplanReason.PRICES
        if plan.slot_at(ctx.now) is None:
            return ReplanReason.ENDED
        return ReplanReason.PERIODIC if periodic else None

    def _forecast_moved(self, ctx: PolicyContext, inputs: PlanInputs, deadline: datetime) -> bool:
        """A refreshed forecast moved the pessimistic energy to the deadline materially
        (`forecast_moved`); each refreshed forecast is looked at once."""
        fresh = ctx.forecast
        if fresh is None or fresh is self._forecast_checked:
            return False
        self._forecast_checked = fresh
        before = pessimistic_energy_wh(inputs.forecast, ctx.now, deadline)
        after = pessimistic_energy_wh(fresh, ctx.now, deadline)
        quantum_wh = ctx.limits.min_power_w * SLOT_S / 3600.0
        return forecast_moved(before, after, quantum_wh)

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
    ) -> PlanRequest:
        """The planning problem from now to `deadline` (see `PlanRequest`), with the prices
        of `series` (None: asked of the source now)."""
        n = max(math.floor((deadline - ctx.now).total_seconds() / SLOT_S), 1)
        house = ctx.household_w if ctx.household_w is not None else self.household_w
        pv = np.zeros(n)
        fc = ctx.forecast
        if fc is not None:
            pv = slot_means(fc.pessimistic_w, fc.start, fc.step_s, ctx.now, n, SLOT_S)
        imports, exports = slot_prices(
            self._series(ctx, deadline) if series is None else series,
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


def pessimistic_energy_wh(forecast: PvForecast | None, start: datetime, end: datetime) -> float:
    """PV energy the pessimistic forecast promises on [start, end) (Wh); 0 without one."""
    if forecast is None or end <= start:
        return 0.0
    n = max(math.ceil((end - start).total_seconds() / SLOT_S), 1)
    means = slot_means(forecast.pessimistic_w, forecast.start, forecast.step_s, start, n, SLOT_S)
    return float(means.sum() * SLOT_S / 3600.0)


def forecast_moved(before_wh: float, after_wh: float, quantum_wh: float) -> bool:
    """Whether the pessimistic energy to the deadline moved materially: by more than
    `FORECAST_MOVED_SHARE` of what the plan counted on and more than `quantum_wh` (one
    slot at the minimum power: less cannot move a slot in or out of the plan)."""
    change = abs(after_wh - before_wh)
    return change > quantum_wh and change > FORECAST_MOVED_SHARE * before_wh


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

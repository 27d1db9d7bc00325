"""`target`: N kWh in the car by a departure time, from the sun first, the grid as late as possible.

The plan (recomputed every `replan_s` and whenever the forecast changes) takes
the pessimistic PV forecast until departure, subtracts the household, keeps
what the car could take (nothing below the minimum power, at most the maximum),
and compares that with the energy still missing. Only the shortfall is drawn
from the grid, in the latest slots before departure (cheap-window slots
first when a tariff window is configured): in a grid slot the car charges at
full power, the sun covering part of it, the grid the rest. Outside grid slots
the policy charges from surplus exactly like `solar_only`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, field_validator

from optimizer.interfaces import Decision, PvMode
from optimizer.limits import ChargerLimits, whole_amps
from optimizer.planning.plan import ChargePlan, PlannedSlot, SlotMode
from optimizer.planning.record import PlanRecord
from optimizer.policies.base import FOREVER, Policy, PolicyContext, charge_at, pause
from optimizer.policies.least_cost_plan import (
    REPLAN_DEVIATION_WH,
    REPLAN_MAX_S,
    EnergyTracker,
    LeastCostPlanner,
    held_power_w,
)
from optimizer.policies.solar_only import SolarOnlyParams, SolarOnlyPolicy
from optimizer.policies.tariff import TariffConfig, parse_hhmm
from optimizer.prices.port import PriceSource

_DEFAULT_STEP_S = 300.0
LEAST_COST_REPLAN_S = 900.0
"""While the least-cost plan holds a fixed current or a pause, the policy asks for a
reading this often (s); a reading that strays from the plan makes a new one."""


TARGET_MARGIN_WH = 20.0
"""The least-cost planner aims this far above the target (Wh): its estimate of the energy
between readings can be a little high, and a target missed by 1 Wh is missed."""

GOAL_CHECK_MIN_S = 10.0
"""`decide_again_by` never asks for a decision sooner than this (s): the estimate's
last Wh are not worth a cycle each."""

STOP_LAG_S = 60.0
"""How far (s) the estimate of a car at a fixed current may run ahead of the car: a
reading's energy can be up to a minute old (the charger's counter; the backtest's world
moves in 1-minute steps, a reading shows the last whole minute) and a stop can take
effect up to a minute off (the cloud's round trip; the world applies it from the
minute it falls in). The car is stopped this long at its power past the planner's
goal. Stopped by the estimate as soon as it reached the goal (`decide_again_by`), a car
at 16 A ended 2 Wh short of its target (the goal's 20 Wh margin is a third of a minute
at 16 A); stopped at the next 5-minute check-in, as before, cars ran 60-300 Wh past it.
"""

NO_SUN_FRACTION = 1.0
"""With the least-cost planner, a car leaving a fixed current or a pause outside grid
slots, below this share of the minimum charging power of surplus (night, clouds, an
evening's last sun), is paused (or stays paused) instead of handed to the charger's PV
mode: leaving a fixed current for exclusive PV, the charger keeps the minimum current
through its stop delay, from the grid, past the target, and a surplus under the minimum
power starts and stops the car with each cloud. A car already in the PV mode stays
there: the charger rides out passing clouds by itself, without starts and stops of ours.
Whole real-2017 year (BENCHMARKS.md section 35): 1.0 against 0.5 took the commuter from
3.55 to 3.31 starts a day (the charger's own mode: 3.41) for 0.92 EUR more (1.049x
the optimum instead of 1.046x), and the home office from 11.74 to 12.49 EUR (the old
target: 12.99), 3.32 to 3.21 starts a day."""


class TargetParams(BaseModel):
    """Parameters of `target` (`[policy.target]`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target_kwh: float = Field(default=20.0, gt=0.0, description="Energy wanted per session (kWh)")
    departure: str = Field(default="07:30", description='Local departure time "HH:MM"')
    margin_s: float = Field(
        default=900.0, ge=0.0, description="Finish this long before departure (s)"
    )
    household_w: float = Field(
        default=400.0, ge=0.0, description="Household load assumed for the plan when unknown (W)"
    )
    use_cheap_window: bool = Field(
        default=True, description="Put grid top-ups in the tariff's cheap window"
    )
    replan_s: float = Field(
        default=300.0, gt=0.0, description="Recompute the plan at least this often (s)"
    )
    planner: Literal["window", "least_cost"] = Field(
        default="least_cost",
        description=(
            '"least_cost": the cheapest schedule for the site\'s prices (optimizer.planning); '
            '"window" (the old default): grid as late as possible (cheap window first)'
        ),
    )
    keep_on_track_s: float = Field(
        default=0.0,
        ge=0.0,
        description=(
            "least_cost: keep a night's grid plan that is on track up to this old (s) "
            "instead of solving it again at every hourly look; 0: always solve. Fewer "
            "solves for a slow machine (4 h: a quarter less CPU, ~0.6 EUR a year dearer)"
        ),
    )
    export_price_per_kwh: float = Field(
        default=0.0, description="Export price least_cost values the sun at when none is known"
    )
    stop_at_target: bool = Field(
        default=True,
        description=(
            "least_cost: in the plan's last grid block have the charger stop the session "
            "by itself at the target (charger_until_energy, one call), instead of the "
            "car drawing past it until the next reading shows it met"
        ),
    )
    solar: SolarOnlyParams = Field(default_factory=SolarOnlyParams)

    @field_validator("departure")
    @classmethod
    def _valid_departure(cls, value: str) -> str:
        parse_hhmm(value)
        return value


@dataclass(frozen=True, slots=True)
class GridPlan:
    """The grid part of a target plan.

    Slots of `step_s` seconds from `start`; `chosen` ones charge at full power.
    """

    start: datetime
    step_s: float
    chosen: npt.NDArray[np.bool_]
    departure: datetime
    missing_wh: float
    solar_expected_wh: float
    grid_wh: float

    def charge_at(self, now: datetime) -> bool:
        """Whether `now` is in a chosen grid slot (past the deadline: while energy is missing)."""
        if self.grid_wh <= 0.0:
            return False
        i = int((now - self.start).total_seconds() // self.step_s)
        if i >= self.chosen.shape[0]:
            return True
        return bool(self.chosen[max(i, 0)])

    @property
    def latest_start(self) -> datetime | None:
        """Start of the first chosen slot."""
        hits = np.flatnonzero(self.chosen)
        if hits.size == 0:
            return None
        return self.start + timedelta(seconds=float(hits[0]) * self.step_s)


def choose_latest_slots(
    capacity_wh: npt.NDArray[np.float64],
    needed_wh: float,
    preferred: npt.NDArray[np.bool_] | None = None,
) -> npt.NDArray[np.bool_]:
    """Pick the latest slots (preferred ones first) until their capacity covers `needed_wh`.

    Returns a boolean mask; all slots when even all of them fall short, none when
    nothing is needed.
    """
    n = capacity_wh.shape[0]
    chosen = np.zeros(n, dtype=bool)
    if needed_wh <= 0.0 or n == 0:
        return chosen
    if preferred is None:  # the latest slots: a suffix, no index arrays needed
        cumulative = np.cumsum(capacity_wh[::-1])
        k = int(np.searchsorted(cumulative, needed_wh)) + 1  # first prefix that covers the need
        chosen[n - min(k, n) :] = True
        return chosen
    latest_first = np.arange(n - 1, -1, -1)
    pref = preferred[latest_first]
    order = np.concatenate((latest_first[pref], latest_first[~pref]))
    cumulative = np.cumsum(capacity_wh[order])
    k = int(np.searchsorted(cumulative, needed_wh)) + 1
    chosen[order[: min(k, n)]] = True
    return chosen


class TargetPolicy(Policy):
    """Solar first, the missing energy from the grid as late as possible."""

    budget_handover_mode: PvMode | None = PvMode.EXCLUSIVE_PV

    def __init__(
        self,
        params: TargetParams | None = None,
        tariff: TariffConfig | None = None,
        prices: PriceSource | None = None,
    ) -> None:
        self.params = params or TargetParams()
        self.tariff = tariff
        self.least_cost = LeastCostPlanner(
            prices,
            tariff,
            replan_s=REPLAN_MAX_S,
            household_w=self.params.household_w,
            export_eur_per_kwh=self.params.export_price_per_kwh,
            deviation_wh=REPLAN_DEVIATION_WH,
            keep_on_track_s=self.params.keep_on_track_s,
        )
        self.solar = SolarOnlyPolicy(self.params.solar, name="target")
        self._plan: GridPlan | None = None
        self._plan_key: tuple[object, ...] | None = None
        self._grid_on = False
        self._planned_pause = False
        self.energy = EnergyTracker()
        self._plan_read_s = LEAST_COST_REPLAN_S
        self._note: tuple[GridPlan, tzinfo, str] | None = None
        self._goal_at: datetime | None = None
        self._departure_set: datetime | None = None
        """The departure set for the plugged-in session, kept after it is cleared."""
        """When the car at the fixed current set last reaches the planner's goal (UTC)."""

    @property
    def name(self) -> str:
        return "target"

    def preferred_read_interval_s(self, ctx: PolicyContext) -> float | None:
        """The solar part's hint; none while drawing from the grid; with the least-cost
        planner one read per replan while its plan holds a fixed current or a pause
        (the plan, not the reading, decides there), sooner when the target should be
        reached (a read then stops the car instead of overshooting)."""
        if self._planned_pause or (self._grid_on and self.params.planner == "least_cost"):
            return self._plan_read_s
        if self._grid_on:
            return None
        return self.solar.preferred_read_interval_s(ctx)

    def decide_again_by(self, ctx: PolicyContext) -> datetime | None:
        """With the least-cost planner, while the car charges at a fixed current: when it
        reaches the goal at that current (the estimate's time), so it is stopped there.

        Stopped at the next check-in instead (every 5 minutes), a commuter's car drew
        up to 5 minutes at up to 16 A past its goal every night, 60-300 Wh bought at the
        night's price that nobody asked for (the optimum buys exactly the target)."""
        return self._goal_at

    def default_target_wh(self) -> float | None:
        """The configured `target_kwh` (in Wh), for sessions without their own target."""
        return self.params.target_kwh * 1000.0

    def take_plan(self) -> PlanRecord | None:
        """The least-cost plan made since the last call if its schedule changed (see
        `LeastCostPlanner.take_record`); the window planner's plans are not kept."""
        return self.least_cost.take_record()

    @property
    def makes_plans(self) -> bool:
        """True with `planner = "least_cost"`: the window planner's plans are not kept."""
        return self.params.planner == "least_cost"

    def learned_state(self) -> Mapping[str, object] | None:
        """With the least-cost planner, the household's usual load per local hour (W) and
        the days each hour has seen (`HouseholdProfile.state`): without it, a restart
        planned a day's evenings on the configured `household_w`."""
        return self.least_cost.house.state() if self.params.planner == "least_cost" else None

    def restore_learned(self, state: Mapping[str, object]) -> None:
        """Go on with the household profile kept before a restart (ValueError if corrupt)."""
        self.least_cost.house.restore(state)

    def next_decision_at(self, ctx: PolicyContext) -> datetime | None:
        """Without a car, the solar part's promise; with one and the window planner outside
        a grid slot, the sooner of the solar part's and `grid_not_before` (see
        `Policy.next_decision_at`); else None.

        The plan is recomputed at every check-in from that moment's clock (its slots
        start at `now`), so its grid start moves, but no plan puts the car on the grid
        before `grid_not_before`, whatever the sun; the plan itself, which the decisions'
        reasons quote, the controller brings up to date after a sleep (`slept_past`).
        A target set for the session ends at its departure, so the promise does too (a
        target set before it runs a cycle at once: `Daemon._set_target`; the backtest's
        user sets it only at arrivals and departures). The least-cost plan makes no
        promise.
        """
        if ctx.plugged_in is not True:
            return self.solar.next_decision_at(ctx)
        if self.params.planner != "window" or self._grid_on or self._prefers_cheap_window:
            return None
        solar = self.solar.next_decision_at(ctx)
        if solar is None:
            return None
        grid = grid_not_before(
            ctx, self._missing_wh(ctx), self.departure(ctx), self.params.margin_s
        )
        if grid is None:
            return None
        if ctx.departure is not None:  # the session's own target ends there (the user's)
            grid = min(grid, ctx.departure)
        return min(solar, grid)

    @property
    def _prefers_cheap_window(self) -> bool:
        """Whether the window plan puts its grid slots in a tariff's cheap window first."""
        tariff = self.tariff
        return (
            self.params.use_cheap_window and tariff is not None and tariff.cheap_window is not None
        )

    def slept_past(self, context: Callable[[], PolicyContext]) -> None:
        """With the window planner and a car, the plan as the skipped check-in would have
        left it (recomputed there when stale, as `decide` does): the next cycle's reason
        quotes it, and reuses it when its reading leaves the energy missing unchanged."""
        if self.params.planner != "window" or self._plan is None:
            return  # no plan without a car (decide drops it when the car leaves)
        ctx = context()
        if ctx.plugged_in is True:
            self.plan(ctx)

    def decide(self, ctx: PolicyContext) -> Decision:
        """Grid at full power inside the planned slots, solar-only otherwise."""
        self._goal_at = None  # set again below while the car charges at a fixed current
        if self.params.planner == "least_cost":
            self.least_cost.house.observe(ctx)
        if ctx.plugged_in is not True:
            self._plan, self._grid_on, self._planned_pause = None, False, False
            self.energy.forget()
            self.least_cost.forget()
            self._departure_set = None
            return self.solar.decide(ctx)
        if self.params.planner == "least_cost":
            return self._decide_least_cost(ctx)
        plan = self.plan(ctx)
        if plan.charge_at(ctx.now):
            self._grid_on = True
            return self._grid_decision(ctx, plan)
        self._grid_on = False
        solar = self.solar.decide(ctx)
        return replace(solar, reason=f"{solar.reason} [target: {self._plan_note(plan, ctx)}]")

    def _plan_note(self, plan: GridPlan, ctx: PolicyContext) -> str:
        """The plan's summary and grid start, formatted once per plan and time zone (the
        plan is rebuilt every `replan_s` at most, the solar part's reason every cycle)."""
        cached = self._note
        if cached is not None and cached[0] is plan and cached[1] == ctx.timezone:
            return cached[2]
        start = plan.latest_start
        when = "none needed" if start is None else f"grid from {_local_hhmm(start, ctx)}"
        note = f"{self._summary(plan, ctx)}; {when}"
        self._note = (plan, ctx.timezone, note)
        return note

    def _decide_least_cost(self, ctx: PolicyContext) -> Decision:
        """The least-cost plan's slot in force: a fixed current, the sun, or a pause
        (and what the car draws from now on, for the energy estimate)."""
        decision = self._least_cost_decision(ctx)
        fixed = decision.charging and decision.pv_mode is PvMode.MAX_POWER
        power_w = decision.current_a * ctx.limits.watts_per_amp if fixed else 0.0
        if decision.charging and decision.pv_mode is PvMode.PV_MIN:
            power_w = ctx.limits.min_power_w  # at least; the sun above it is not counted
        self.energy.set(ctx.now, power_w)
        return decision

    def _least_cost_decision(self, ctx: PolicyContext) -> Decision:
        margin = timedelta(seconds=self.params.margin_s)
        departure = self.departure(ctx, not_before=ctx.now + margin)
        deadline = departure - margin
        delivered = self.energy.estimate(ctx)
        target_wh = 0.0 if self._departed(ctx) else self.target_wh(ctx)
        goal_wh = goal_with_margin_wh(target_wh, ctx.session_energy_wh)
        plan = self.least_cost.current(ctx, goal_wh, departure, deadline, delivered)
        slot = plan.slot_at(ctx.now) or plan.slots[0]
        missing_wh = max(goal_wh + stop_lag_wh(ctx, target_wh) - delivered, 0.0)
        missing = missing_wh > 0.0  # the target may be met before the slot ends
        held = self._grid_on or self._planned_pause  # the car at a fixed current or paused
        self._grid_on = missing and slot.mode is SlotMode.FIXED
        off = missing and slot.mode is SlotMode.OFF
        rides = _rides_free_sun(ctx, slot, plan)
        self._planned_pause = off and not _free_sun(ctx, slot) and not rides
        summary = _plan_summary(plan, slot, departure, ctx)
        self._plan_read_s = LEAST_COST_REPLAN_S
        if self._grid_on:
            limits = ctx.limits
            amps = fixed_current_a(plan, ctx.now, missing_wh, limits)
            done_in_s = missing_wh / max(amps * limits.watts_per_amp, 1.0) * 3600.0
            self._plan_read_s = min(LEAST_COST_REPLAN_S, max(done_in_s, 60.0))
            self._goal_at = goal_time(ctx, missing_wh, amps)
            takes_sun = amps <= limits.min_current_a and _free_sun_above(ctx, slot)
            mode = PvMode.PV_MIN if takes_sun else PvMode.MAX_POWER
            decision = charge_at(
                ctx,
                self.name,
                limits.max_current_a if takes_sun else amps,
                f"target (least cost): {summary}",
                pv_mode=mode,
                planned_grid_wh=plan.grid_wh,
                solar_expected_wh=plan.solar_wh,
                price_per_kwh=slot.import_eur_per_kwh,
            )
            if self.params.stop_at_target and in_last_block(plan, ctx.now, limits):
                cap_wh = session_cap_wh(target_wh)
                reason = f"{decision.reason}; the charger stops at {cap_wh / 1000:.3f} kWh"
                decision = replace(decision, energy_cap_wh=cap_wh, reason=reason)
            return decision
        if self._planned_pause:
            return pause(ctx, self.name, f"target (least cost): {summary}")
        no_sun = ctx.surplus_w is None or ctx.surplus_w < NO_SUN_FRACTION * ctx.limits.min_power_w
        if held and no_sun:
            self._planned_pause = True  # the plan, not a reading, says when to move on
            reason = "no sun to follow: paused, not handed to the PV mode"
            return pause(ctx, self.name, f"target (least cost): {reason}; {summary}")
        solar = self.solar.decide(ctx)
        return replace(solar, reason=f"{solar.reason} [target (least cost): {summary}]")

    def _departed(self, ctx: PolicyContext) -> bool:
        """Whether this plug-in session's own departure (set for it, `ctx.departure`)
        has passed: the car is leaving, and the configured default target and departure
        are for sessions nobody set one for, not for the minutes before the car is seen
        unplugged. Planned as a new 20 kWh by the default 07:30, a commuter's car whose
        session ended at 07:03 was started at full power from the grid for the minute
        before it left (a start and 60 Wh at the morning price, most weekday mornings)."""
        if ctx.departure is not None:
            self._departure_set = ctx.departure
            return False
        return self._departure_set is not None and ctx.now >= self._departure_set

    def departure(self, ctx: PolicyContext, not_before: datetime | None = None) -> datetime:
        """The session's departure, or the next local occurrence of the configured one
        after `not_before` (default: now)."""
        if ctx.departure is not None:
            return ctx.departure
        after = (not_before or ctx.now).astimezone(ctx.timezone)
        dep = parse_hhmm(self.params.departure)
        candidate = after.replace(hour=dep.hour, minute=dep.minute, second=0, microsecond=0)
        if candidate <= after:
            candidate = (after + timedelta(days=1)).replace(
                hour=dep.hour, minute=dep.minute, second=0, microsecond=0
            )
        return candidate.astimezone(ctx.now.tzinfo)

    def target_wh(self, ctx: PolicyContext) -> float:
        """Energy wanted this session (Wh)."""
        return ctx.target_wh if ctx.target_wh is not None else self.params.target_kwh * 1000.0

    def plan(self, ctx: PolicyContext) -> GridPlan:
        """The current grid plan, recomputed when stale (see the module docstring)."""
        key = (id(ctx.forecast), self.target_wh(ctx), ctx.departure)
        plan = self._plan
        if (
            plan is None
            or key != self._plan_key
            or (ctx.now - plan.start).total_seconds() >= self.params.replan_s
            or (ctx.fresh and plan.missing_wh != self._missing_wh(ctx))
        ):
            plan = self._compute_plan(ctx)
            self._plan, self._plan_key = plan, key
        return plan

    def _missing_wh(self, ctx: PolicyContext) -> float:
        return max(self.target_wh(ctx) - ctx.session_energy_wh, 0.0)

    def _compute_plan(self, ctx: PolicyContext) -> GridPlan:
        limits = ctx.limits
        departure = self.departure(ctx)
        deadline = departure - timedelta(seconds=self.params.margin_s)
        fc = ctx.forecast
        step_s = fc.step_s if fc is not None else _DEFAULT_STEP_S
        n = max(math.floor((deadline - ctx.now).total_seconds() / step_s), 0)
        pv = np.zeros(n)
        if fc is not None and n > 0:
            i0 = min(max(int((ctx.now - fc.start).total_seconds() // step_s), 0), len(fc))
            part = fc.pessimistic_w[i0 : i0 + n]
            pv[: part.shape[0]] = part
        household = ctx.household_w if ctx.household_w is not None else self.params.household_w
        surplus = pv - household
        solar_car = np.where(
            surplus >= limits.min_power_w, np.minimum(surplus, limits.max_power_w), 0.0
        )
        grid_w = limits.max_power_w - solar_car
        if limits.max_grid_import_w is not None:
            grid_w = np.minimum(grid_w, limits.max_grid_import_w)
        hours = step_s / 3600.0
        missing = self._missing_wh(ctx)
        solar_wh = float(solar_car.sum() * hours)
        grid_needed = max(missing - solar_wh, 0.0)
        preferred = self._cheap_mask(ctx, n, step_s)
        chosen = choose_latest_slots(grid_w * hours, grid_needed, preferred)
        return GridPlan(ctx.now, step_s, chosen, departure, missing, solar_wh, grid_needed)

    def _cheap_mask(
        self, ctx: PolicyContext, n: int, step_s: float
    ) -> npt.NDArray[np.bool_] | None:
        tariff = self.tariff
        if tariff is None or not self._prefers_cheap_window:
            return None
        step = timedelta(seconds=step_s)
        return np.array(
            [tariff.in_cheap_window(ctx.now + i * step, ctx.timezone) for i in range(n)], dtype=bool
        )

    def _grid_decision(self, ctx: PolicyContext, plan: GridPlan) -> Decision:
        return charge_at(
            ctx,
            self.name,
            ctx.limits.max_current_a,
            f"target: {self._summary(plan, ctx)}; grid top-up now (latest start)",
            planned_grid_wh=plan.grid_wh,
            solar_expected_wh=plan.solar_expected_wh,
        )

    def _summary(self, plan: GridPlan, ctx: PolicyContext) -> str:
        return (
            f"{plan.missing_wh / 1000:.1f} kWh missing by {_local_hhmm(plan.departure, ctx)}, "
            f"pessimistic sun {plan.solar_expected_wh / 1000:.1f} kWh, "
            f"grid {plan.grid_wh / 1000:.1f} kWh"
        )


def grid_not_before(
    ctx: PolicyContext, missing_wh: float, departure: datetime, margin_s: float
) -> datetime | None:
    """The earliest time (UTC) a window plan (latest slots, no cheap window) made at or
    after `ctx.now` can put the car on the grid while `missing_wh` (Wh) is missing by
    `departure`, whatever the forecast says; `FOREVER` when nothing is missing, None
    without a forecast (the slots' length unknown) or grid power.

    Sun only shortens the grid run: a slot can take at least c less its own sun from
    the grid (c: the car's maximum power or the import limit, W), and the sun of every
    slot counts against the need, so the last K = ceil(missing / (c * slot)) + 1 slots
    before the deadline always cover the grid's part (the + 1 for rounding). A plan made
    at t chooses its first slot only when it has at most K slots left: t > deadline -
    (K + 1) slots.
    """
    if missing_wh <= 0.0:
        return FOREVER
    fc = ctx.forecast
    limits = ctx.limits
    grid_w = limits.max_power_w
    if limits.max_grid_import_w is not None:
        grid_w = min(grid_w, limits.max_grid_import_w)
    if fc is None or grid_w <= 0.0:
        return None
    step_s = fc.step_s
    slots = math.ceil(missing_wh / (grid_w * step_s / 3600.0)) + 1
    deadline = departure - timedelta(seconds=margin_s)
    return deadline - timedelta(seconds=(slots + 1) * step_s)


def _free_sun(ctx: PolicyContext, slot: PlannedSlot) -> bool:
    """Whether a slot the plan leaves off had better follow the sun that shines now:
    sun that exporting would not pay for (export price <= 0) costs the car nothing, and
    the plan left the slot off only because its forecast saw too little to charge on
    (below the minimum power). Paused there, a November weekend's car let 4 kWh of
    Sunday sun go by and bought them from the grid in the evening."""
    surplus_w = ctx.surplus_w
    sunny = surplus_w is not None and surplus_w >= NO_SUN_FRACTION * ctx.limits.min_power_w
    return sunny and slot.export_eur_per_kwh <= 0.0


def _rides_free_sun(ctx: PolicyContext, slot: PlannedSlot, plan: ChargePlan) -> bool:
    """Whether a car the charger's exclusive PV mode holds now stays there in a slot the
    plan leaves off while the plan still buys grid later, whatever the last reading's
    surplus: sun that exporting would not pay for (export price <= 0) costs the car
    nothing and saves that grid, and the mode takes it when it comes and idles without
    drawing from the grid when it does not.

    The plan leaves a slot off where its forecast sees the surplus below the minimum
    power; a reading a few minutes old decided the rest (`_free_sun`). A car paused
    there missed the sun the forecast did not see, and a household's passing load
    (cooking, a kettle) in one reading paused it in full sun: a May Tuesday's car was
    paused at 16:11 under a dull forecast and missed 0.7 kWh of sun that came back at
    16:30, bought the next morning instead; an August Sunday's was paused and resumed
    three times in an hour of 4 kW of sun. A car at a fixed current or paused is not
    handed over (a fixed current left for the PV mode draws the minimum current from the
    grid through the charger's stop delay, `NO_SUN_FRACTION`). Nor is a car whose plan
    the sun covers: there the sun it would take only starts and stops the car with
    each cloud (the commuter's winter weekends, 144 more starts a year, 3.69 a day
    against the charger's own 3.41, where every grid plan rode the sun)."""
    held = ctx.commanded
    following = held.pv_mode is PvMode.EXCLUSIVE_PV and held.charging is not False
    free = following and slot.export_eur_per_kwh <= 0.0
    return free and plan.buys_grid_from(ctx.now)


def _free_sun_above(ctx: PolicyContext, slot: PlannedSlot) -> bool:
    """Whether a fixed slot at the minimum current had better run in the charger's PV+min
    mode: the minimum current always, and all the surplus above it, which exporting would
    not pay for (export price <= 0) and which may come: the plan's sun under the slot
    says so, or the last reading's PV power reaches the charger's minimum power.

    At a fixed minimum current, the surplus above it went to the meter for nothing: an
    August Sunday's car at 6 A beside 2.5 kW of surplus sent 0.9 kWh to the grid in an
    hour under a forecast that saw the sun fading, and bought it back the next morning.
    The PV+min mode follows the sun locally, without calls. The PV power, not the
    surplus, is read: a May Tuesday's plan, made on a reading of 2.4 kW of household
    load (cooking) under a dull forecast, put the car at 6 A from the grid beside 4-5 kW
    of surplus for a quarter of an hour once the load had passed (0.46 kWh to the meter,
    bought back at night; real-2017 home office 11.73 -> 11.69 EUR, May 0.38 -> 0.32).
    Every fixed minimum current in PV+min wherever the sun is free, sunny or not
    (BENCHMARKS.md section 44), made June, July and August dearer."""
    if slot.export_eur_per_kwh > 0.0:
        return False
    sunny = ctx.pv_w is not None and ctx.pv_w >= ctx.limits.min_power_w
    return slot.from_solar_wh > 0.0 or sunny


def goal_time(ctx: PolicyContext, missing_wh: float, amps: int) -> datetime:
    """When a car set to `amps` reaches what is missing (Wh), at the earliest: at the
    larger of that current and the one the charger holds now (the actuator may leave
    a change within its deadband unsent), never sooner than `GOAL_CHECK_MIN_S`."""
    power_w = max(amps * ctx.limits.watts_per_amp, held_power_w(ctx) or 0.0, 1.0)
    return ctx.now + timedelta(seconds=max(missing_wh / power_w * 3600.0, GOAL_CHECK_MIN_S))


def stop_lag_wh(ctx: PolicyContext, target_wh: float) -> float:
    """What a car at a fixed current draws in `STOP_LAG_S` (Wh), while no reading has
    shown the target met: the car is stopped that much past the planner's goal."""
    if ctx.session_energy_wh >= target_wh:
        return 0.0
    return (held_power_w(ctx) or 0.0) * STOP_LAG_S / 3600.0


def goal_with_margin_wh(target_wh: float, read_wh: float) -> float:
    """The energy the least-cost planner aims at (Wh): `TARGET_MARGIN_WH` above the
    target while the last reading (`read_wh`, the session's energy it showed) is below
    it, the target itself once a reading shows it met.

    The margin covers the estimate of the energy drawn since the last reading; a reading
    at or past the target needs no estimate. Aiming 20 Wh past a target a reading showed
    met, a commuter's car stopped at the end of its night's grid run 20 Wh short of the
    margin and was started again before departure to buy a slot for those 20 Wh (one
    start, and a block of grid, for nothing the user asked for).
    """
    return target_wh if read_wh >= target_wh else target_wh + TARGET_MARGIN_WH


def fixed_current_a(
    plan: ChargePlan, now: datetime, missing_wh: float, limits: ChargerLimits
) -> int:
    """The whole amps (A) for the plan's fixed slot at `now`: the planned power floored,
    but in the last block of the plan's energy (a fixed run after which the plan puts
    nothing more in the car) at least what delivers `missing_wh` (Wh) by the block's end.

    The plan's powers are continuous; floored to whole amps, each block of a grid run
    falls short by up to an amp-hour. Within a run the next replan spreads the rest over
    the blocks left; after the last one there is no block left, and the remainder (a few
    tens to hundreds of Wh) was bought by a replan with another start of the car,
    before departure. Rounding every block up instead moved energy from the cheapest
    hours into dearer ones (0.7 % dearer, BENCHMARKS.md section 22); in the last block
    the car stops at the target, so rounding up there only finishes it earlier in the
    same hour at the same price.
    """
    i, end, last = _fixed_block(plan, now, limits.watts_per_amp)
    wpa = limits.watts_per_amp
    amps = whole_amps(plan.slots[i].power_w, wpa)
    left_h = ((plan.start - now).total_seconds() + (end + 1) * plan.step_s) / 3600.0
    if last and left_h > 0.0:
        amps = max(amps, math.ceil(missing_wh / left_h / wpa - 1e-9))
    return min(max(amps, limits.min_current_a), limits.max_current_a)


def in_last_block(plan: ChargePlan, now: datetime, limits: ChargerLimits) -> bool:
    """Whether the plan's slot at `now` is in its last block of energy: a run at one
    power after which the plan puts nothing more in the car (see `fixed_current_a`)."""
    return _fixed_block(plan, now, limits.watts_per_amp)[2]


def _fixed_block(plan: ChargePlan, now: datetime, wpa: float) -> tuple[int, int, bool]:
    """The index of the slot at `now`, of the last slot of its block (the slots after it
    at the same power, within 0.1 A of `wpa` W/A) and whether the plan puts nothing in
    the car after that block."""
    slots, i = plan.slots, int((now - plan.start).total_seconds() // plan.step_s)
    i = min(max(i, 0), len(slots) - 1)
    tolerance_w = 0.1 * wpa  # the same fixed current: one block
    end = i
    while end + 1 < len(slots) and slots[end + 1].mode is SlotMode.FIXED:
        if abs(slots[end + 1].power_w - slots[i].power_w) > tolerance_w:
            break
        end += 1
    last = all(slot.energy_wh <= 1e-6 for slot in slots[end + 1 :])
    return i, end, last


def session_cap_wh(target_wh: float) -> int:
    """The charger's session energy limit (whole Wh) that stops the car at `target_wh`.

    The target counts the session's energy as the charger's counter does (from the
    plug-in: `PolicyContext.session_energy_wh` is that counter), so the limit is the
    target itself, not what is still missing; rounded up, so the target is met.
    """
    return math.ceil(target_wh - 1e-9)


def _plan_summary(
    plan: ChargePlan, slot: PlannedSlot, departure: datetime, ctx: PolicyContext
) -> str:
    return (
        f"{plan.energy_wanted_wh / 1000:.1f} kWh wanted by {_local_hhmm(departure, ctx)}, "
        f"plan: sun {plan.solar_wh / 1000:.1f} kWh, grid {plan.grid_wh / 1000:.1f} kWh, "
        f"{plan.cost_eur:.2f} EUR, {plan.commands} commands; now {slot.reason}"
    )


def _local_hhmm(when: datetime, ctx: PolicyContext) -> str:
    """`when` as local HH:MM (what strftime("%H:%M") gives, without its format parsing)."""
    local = when.astimezone(ctx.timezone)
    return f"{local.hour:02d}:{local.minute:02d}"

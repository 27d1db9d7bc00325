"""What `target`'s least-cost planner counts on far ahead: the household's usual load, hour
blocks before departure, unpublished prices at their best, far sun as sunny hours, and
the sun followed in slots the plan left off (issue 10: the value of waiting)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from optimizer.interfaces import PvForecast, PvMode
from optimizer.limits import ChargerLimits
from optimizer.planning import PlanRequest, SlotMode, least_cost_schedule
from optimizer.planning.plan import PlannedSlot
from optimizer.policies.base import CommandedState, PolicyContext
from optimizer.policies.least_cost_plan import (
    BLOCKS_MAX,
    HOUSE_NOW_S,
    SLOT_S,
    TAIL_HOURS,
    HouseholdProfile,
    LeastCostPlanner,
    block_s_for,
    clear_share,
    fixed_block_sun_w,
    later_sun_share,
    published_slots,
    sunny_days_w,
    tail_s_for,
    unpublished_at_best,
)
from optimizer.policies.target import TargetParams, TargetPolicy, _free_sun, _rides_free_sun
from optimizer.prices.series import PriceSeries
from tests.conftest import SeriesPrices

T0 = datetime(2024, 1, 1, 0, 0, tzinfo=UTC)
LIMITS = ChargerLimits(min_current_a=6, max_current_a=16, phases=1, voltage_v=230.0)


def _context(t_s: float, household_w: float | None = 500.0, **changes: object) -> PolicyContext:
    ctx = PolicyContext(
        now=T0 + timedelta(seconds=t_s),
        device_id="dev1",
        limits=LIMITS,
        plugged_in=True,
        charging=False,
        car_power_w=0.0,
        surplus_w=-(household_w or 0.0),
        pv_w=0.0,
        household_w=household_w,
        fresh=True,
        reading_age_s=0.0,
        session_energy_wh=0.0,
        commanded=CommandedState(),
    )
    return replace(ctx, **changes)  # type: ignore[arg-type]


def test_the_household_profile_learns_each_hour_and_holds_the_reading_only_near_now() -> None:
    profile = HouseholdProfile(default_w=400.0)
    assert np.all(profile.by_hour() == 400.0)  # nothing seen: the configured load
    for day in range(3):
        for hour, load in ((7, 1500.0), (19, 2000.0)):
            for minute in (0, 30):
                profile.observe(_context(day * 86400 + hour * 3600 + minute * 60, load))
    profile.observe(_context(3 * 86400 + 3600, 300.0))  # closes the last hour
    by_hour = profile.by_hour()
    assert by_hour[7] == pytest.approx(1500.0) and by_hour[19] == pytest.approx(2000.0)
    assert by_hour[12] == pytest.approx(np.mean([1500.0, 2000.0, 300.0]))  # unseen: the mean
    evening = _context(3 * 86400 + 18 * 3600, 2500.0)
    house = profile.per_slot(evening, 96)
    near = int(HOUSE_NOW_S // SLOT_S)
    assert np.all(house[:near] == 2500.0)  # the reading, for the next hour
    assert house[near] == pytest.approx(2000.0)  # 19:00: the usual evening
    assert house[13 * 4] == pytest.approx(1500.0)  # 07:00 the next morning
    stale = replace(_context(3 * 86400 + 19 * 3600 + 60, 9999.0), fresh=False)
    profile.observe(stale)  # only fresh readings teach it
    assert profile.by_hour()[19] == pytest.approx(2000.0)


def test_a_long_plan_keeps_hour_blocks_before_departure() -> None:
    assert tail_s_for(36 * 4) == 0.0 and block_s_for(36 * 4) == 3600.0
    n = 62 * 4  # a commuter's weekend
    assert tail_s_for(n) == TAIL_HOURS * 3600.0
    assert block_s_for(n) == 3 * 3600.0
    request = PlanRequest(
        T0 + timedelta(minutes=30), np.full(n, 0.2), np.zeros(n), np.zeros(n), 5000.0,
        LIMITS, block_s=block_s_for(n), tail_s=tail_s_for(n),
    )  # fmt: skip
    blocks = request.block_of_slot()
    sizes = np.bincount(blocks)
    assert sizes.shape[0] <= BLOCKS_MAX
    tail = blocks[-TAIL_HOURS * 4 :]
    assert np.all(np.bincount(tail - tail[0]) <= 4)  # hour blocks in the last 12 h
    assert sizes.max() == 12  # 3 h blocks before
    assert np.all(np.diff(blocks) >= 0) and np.all(np.diff(blocks) <= 1)


def test_a_small_need_far_from_departure_waits_for_the_last_night() -> None:
    """With even 10-hour blocks, a fixed power over any whole block overshoots 2.6 kWh
    many times: only the block in progress was small enough, so the grid came at once."""
    n = 10 * 24 * 4
    prices = np.full(n, 0.22)
    prices[:8] = 0.21  # the next two hours are a little cheaper than the rest
    request = PlanRequest(
        T0 + timedelta(hours=7, minutes=15), prices, np.zeros(n), np.zeros(n), 2600.0,
        LIMITS, block_s=block_s_for(n), tail_s=tail_s_for(n),
        grid_premium_eur_per_kwh=np.where(np.arange(n) < n - 48, 0.05, 0.0),
    )  # fmt: skip
    plan = least_cost_schedule(request)
    grid = np.array([s.from_grid_wh for s in plan.slots])
    assert grid.sum() == pytest.approx(2600.0, abs=1.0)
    assert np.all(grid[: n - TAIL_HOURS * 4] == 0.0)


def test_prices_not_published_yet_count_as_the_best_published_one() -> None:
    starts = [T0 + timedelta(hours=h) for h in range(3)]
    series = PriceSeries.from_slots(starts, [0.25, 0.20, 0.30])
    assert published_slots(series, T0, 40) == 12
    assert published_slots(series, T0 + timedelta(hours=5), 40) == 0
    imports = np.array([0.25] * 4 + [0.20] * 4 + [0.30] * 4 + [0.30] * 28)
    best = unpublished_at_best(imports, 12)
    assert np.all(best[:12] == imports[:12]) and np.all(best[12:] == 0.20)
    assert np.array_equal(unpublished_at_best(imports, 40), imports)


def test_far_sun_is_the_forecasts_share_of_the_clear_sky_in_whole_sunny_hours() -> None:
    day = np.sin(np.linspace(0.0, np.pi, 96)) * 5000.0
    clear = np.concatenate([day, day])
    central = clear * 0.4
    share = clear_share(central, clear, far=96, covered=192)
    assert share == pytest.approx(0.4)
    far = sunny_days_w(clear, share)
    assert far.sum() == pytest.approx(0.4 * clear.sum(), rel=0.05)
    kept = far > 0.0
    assert np.all(far[kept] == clear[kept])  # whole clear-sky slots, the others dark
    assert kept[48] and not kept[5]  # around noon
    assert clear_share(central, np.zeros(192), 96, 192) == 0.0


def _slot(export_eur_per_kwh: float) -> PlannedSlot:
    return PlannedSlot(
        start=T0, mode=SlotMode.OFF, power_w=0.0, current_a=0.0, from_grid_wh=0.0,
        from_solar_wh=0.0, import_eur_per_kwh=0.3, export_eur_per_kwh=export_eur_per_kwh,
        cost_eur=0.0, command=False, switch=False, reason="off",
    )  # fmt: skip


def test_a_slot_left_off_follows_free_sun_that_shines_now() -> None:
    sunny = _context(0, 300.0, surplus_w=2500.0)
    assert _free_sun(sunny, _slot(0.0))
    assert not _free_sun(sunny, _slot(0.08))  # exporting it earns: the plan's choice holds
    assert not _free_sun(_context(0, 300.0, surplus_w=200.0), _slot(0.0))  # night


def test_the_policy_follows_the_sun_where_its_forecast_saw_too_little() -> None:
    pv = np.full(4 * 48, 1000.0)  # below the minimum power after the household
    forecast = PvForecast(T0, SLOT_S, pv, pv, pv * 4, 0.0)
    policy = TargetPolicy(TargetParams(target_kwh=5.0, planner="least_cost"))
    now = _context(0, 300.0, surplus_w=2500.0, forecast=forecast, pv_w=2800.0,
                   target_wh=5000.0, departure=T0 + timedelta(hours=40))  # fmt: skip
    decision = policy.decide(now)
    assert policy.least_cost.plan is not None
    assert policy.least_cost.plan.slot_at(now.now).mode is SlotMode.OFF  # type: ignore[union-attr]
    assert decision.charging  # the charger's PV mode takes what comes


PV_MODE = CommandedState(16, PvMode.EXCLUSIVE_PV, True)


@pytest.mark.parametrize(
    ("commanded", "export", "sun_later", "follows"),
    [
        (PV_MODE, 0.0, False, True),
        (PV_MODE, 0.08, False, False),  # exporting earns: the plan's pause holds
        (PV_MODE, 0.0, True, False),  # the plan's sun covers it: no starts for nothing
        (CommandedState(6, PvMode.MAX_POWER, True), 0.0, False, False),  # a fixed current
        (CommandedState(6, PvMode.EXCLUSIVE_PV, False), 0.0, False, False),  # paused
    ],
)
def test_a_car_in_the_pv_mode_rides_free_sun_through_a_slot_left_off(
    commanded: CommandedState, export: float, sun_later: bool, follows: bool
) -> None:
    """A May car was paused at 16:11 on a reading of too little surplus under a dull
    forecast and missed the 0.7 kWh of sun that came back at 16:30, bought the next
    morning: a car the exclusive PV mode holds stays there where the sun is free and the
    plan still buys grid (it idles without the sun)."""
    pv = np.zeros(4 * 48)
    if sun_later:
        pv[12:36] = 5000.0  # 03:00-09:00: 24 kWh of sun, before departure at 20:00
    forecast = PvForecast(T0, SLOT_S, pv, pv, np.maximum(pv, 3000.0), 0.0)
    policy = TargetPolicy(TargetParams(target_kwh=5.0, planner="least_cost",
                                       export_price_per_kwh=export))  # fmt: skip
    starts = [T0 + timedelta(hours=h) for h in range(21)]
    night = PriceSeries.from_slots(starts, [0.30] * 10 + [0.20] * 11)  # cheaper tonight
    policy.least_cost.prices = SeriesPrices(night)
    now = _context(0, 700.0, surplus_w=400.0, forecast=forecast, pv_w=1100.0, target_wh=5000.0,
                   departure=T0 + timedelta(hours=20), commanded=commanded)  # fmt: skip
    decision = policy.decide(now)
    plan = policy.least_cost.plan
    assert plan is not None and plan.slot_at(now.now).mode is SlotMode.OFF  # type: ignore[union-attr]
    assert (plan.grid_wh < 1.0) if sun_later else (plan.grid_wh > 4900.0)
    assert _rides_free_sun(now, _slot(export), plan) is follows
    assert decision.charging is follows
    if follows:
        assert decision.pv_mode is PvMode.EXCLUSIVE_PV


def _weak_sun_plan(clear_w: float) -> np.ndarray:
    """The grid (Wh per slot) of a plan made at 09:00 for 2 kWh by 09:00 the next day,
    flat prices, a weak morning sun (1.2 kW, 0.9 kW above the household: below the
    minimum power) forecast from 09:00 to 12:00, a pessimistic quantile of none, and
    `clear_w` of clear sky from 09:00 to 15:00."""
    now = T0 + timedelta(hours=9)
    day = np.zeros(4 * 36)
    central, clear = day.copy(), day.copy()
    central[:12], clear[:24] = 1200.0, clear_w
    forecast = PvForecast(now, SLOT_S, central, np.zeros_like(day), clear, 0.0)
    planner = LeastCostPlanner(None, None, replan_s=3600.0, household_w=300.0)
    ctx = _context(0, 300.0, now=now, forecast=forecast)
    series = PriceSeries.from_slots([now + timedelta(hours=h) for h in range(25)], [0.25] * 25)
    request = planner.request(ctx, 2000.0, now + timedelta(hours=24), series)
    plan = least_cost_schedule(request)
    assert plan.shortfall_wh == 0.0
    return np.array([s.from_grid_wh for s in plan.slots])


def test_a_fixed_current_under_weak_sun_waits_while_a_clear_sky_could_still_give_it_all() -> None:
    """A block at the minimum current under weak sun is half free: bought at once, a
    February stay paid for grid on Tuesday morning before an afternoon of 11 kWh. Where
    the clear sky after it could still give all that is missing, the block counts on the
    pessimistic sun, and the grid waits for the last stretch before departure."""
    grid = _weak_sun_plan(clear_w=5000.0)
    assert grid[:24].sum() == 0.0  # nothing while the sun may still come
    assert grid.sum() > 1900.0  # the night before departure instead


def test_a_fixed_current_under_weak_sun_is_still_bought_where_it_is_the_last_chance() -> None:
    """With no clear sky after it that the car could take (the evening before a night),
    the weak sun is the last sun: the block under it keeps the planned sun, as before."""
    grid = _weak_sun_plan(clear_w=1500.0)
    assert grid[:12].sum() > 0.0 and grid.sum() < 2000.0 - 500.0  # half the block is sun


def test_a_fixed_block_counts_on_the_pessimistic_sun_by_the_share_sun_may_still_give() -> None:
    planned, sure = np.array([1000.0, 1000.0, 400.0]), np.array([200.0, 200.0, 600.0])
    fixed = fixed_block_sun_w(planned, sure, np.array([1.0, 0.25, 1.0]))
    assert list(fixed) == [200.0, 800.0, 400.0]  # never above the planned sun
    surplus = np.array([0.0, 3000.0, 3000.0, 0.0])
    share = later_sun_share(surplus, 1500.0, LIMITS)
    assert list(share) == [1.0, pytest.approx(0.5), 0.0, 0.0]


@pytest.mark.parametrize(("export", "mode"), [(0.0, PvMode.PV_MIN), (0.08, PvMode.MAX_POWER)])
def test_a_fixed_minimum_current_under_sun_takes_the_surplus_above_it(
    export: float, mode: PvMode
) -> None:
    """An August car at 6 A beside 2.5 kW of surplus sent 0.9 kWh to the meter in an hour:
    a fixed slot at the minimum current the plan puts sun under runs in the charger's
    PV+min mode where the sun is free (the minimum always, the surplus above it too)."""
    pv = np.zeros(4 * 48)
    pv[:16] = 1300.0  # 1 kW above the household for 4 h: below the minimum power
    forecast = PvForecast(T0, SLOT_S, pv, pv, pv, 0.0)
    policy = TargetPolicy(TargetParams(target_kwh=5.0, planner="least_cost",
                                       export_price_per_kwh=export))  # fmt: skip
    starts = [T0 + timedelta(hours=h) for h in range(9)]
    policy.least_cost.prices = SeriesPrices(PriceSeries.from_slots(starts, [0.20] * 4 + [0.40] * 5))
    now = _context(0, 300.0, surplus_w=1000.0, forecast=forecast, pv_w=1300.0,
                   target_wh=5000.0, departure=T0 + timedelta(hours=8))  # fmt: skip
    decision = policy.decide(now)
    plan = policy.least_cost.plan
    assert plan is not None
    slot = plan.slot_at(now.now)
    assert slot is not None and slot.mode is SlotMode.FIXED and slot.from_solar_wh > 0.0
    assert decision.charging and decision.pv_mode is mode
    wanted_a = LIMITS.max_current_a if mode is PvMode.PV_MIN else LIMITS.min_current_a
    assert decision.current_a == wanted_a


def _evening_or_morning_grid(central_morning_w: float) -> tuple[float, float]:
    """The grid (Wh) a plan made at 18:00 for 2 kWh by 10:00 the next day buys before
    midnight (0.18 EUR/kWh) and in the morning (0.22), with a clear sky of 3 kW from
    09:00 to 10:00, a pessimistic quantile of none and `central_morning_w` (W) there."""
    now = T0 + timedelta(hours=18)
    day = np.zeros(4 * 36)
    central, clear = day.copy(), day.copy()
    morning = slice(4 * 15, 4 * 16)  # 09:00-10:00, the last stretch before the deadline
    central[morning], clear[morning] = central_morning_w, 3000.0
    forecast = PvForecast(now, SLOT_S, central, np.zeros_like(day), clear, 0.0)
    planner = LeastCostPlanner(None, None, replan_s=3600.0, household_w=300.0)
    ctx = _context(0, 300.0, now=now, forecast=forecast)
    hours = [now + timedelta(hours=h) for h in range(17)]
    series = PriceSeries.from_slots(hours, [0.18] * 6 + [0.22] * 11)
    request = planner.request(ctx, 2000.0, now + timedelta(hours=16), series)
    plan = least_cost_schedule(request)
    assert plan.shortfall_wh == 0.0
    grid = np.array([s.from_grid_wh for s in plan.slots])
    return float(grid[: 4 * 6].sum()), float(grid[4 * 6 :].sum())


def test_grid_waits_for_the_last_stretch_where_the_forecast_expects_the_sun_there() -> None:
    """The last stretch before the deadline counts on the pessimistic sun, but is decided
    there on that hour's nowcast: grid planned there is bought only if the sun fails, so
    it pays no premium for the sun the central forecast expects after it; the evening's
    grid, bought at once, still does. With the full premium in both, the plan bought the
    evening's cheaper grid before a morning its central forecast saw sunny."""
    evening, morning = _evening_or_morning_grid(central_morning_w=2800.0)
    assert evening == 0.0 and morning > 1900.0


def test_grid_is_bought_early_where_even_the_forecast_sees_no_sun_in_the_last_stretch() -> None:
    """An Easter Monday's plan, with no premium in the last stretch at all, moved 1.9 kWh
    from Monday evening (0.211 EUR/kWh) into a Tuesday morning (0.231) that its forecast
    saw dull (0.28 EUR more): where the central forecast expects no sun there, only the
    clear sky, the last stretch pays the premium like the evening."""
    evening, morning = _evening_or_morning_grid(central_morning_w=0.0)
    assert evening > 1900.0 and morning == 0.0


@pytest.mark.parametrize(
    ("pv_w", "export", "mode"),
    [(2600.0, 0.0, PvMode.PV_MIN), (1000.0, 0.0, PvMode.MAX_POWER),
     (2600.0, 0.08, PvMode.MAX_POWER)],
)  # fmt: skip
def test_a_fixed_minimum_current_without_planned_sun_takes_the_sun_a_reading_shows(
    pv_w: float, export: float, mode: PvMode
) -> None:
    """A May car at 6 A from the grid, planned under a dull forecast on a reading of
    2.4 kW of household load, let 4-5 kW of surplus go to the meter once the load had
    passed: where the last reading's PV power reaches the minimum power and the sun is
    free, a fixed minimum current runs in PV+min though the plan put no sun under it."""
    forecast = PvForecast(T0, SLOT_S, *(np.zeros(4 * 48) for _ in range(3)), 0.0)
    policy = TargetPolicy(TargetParams(target_kwh=1.3, planner="least_cost",
                                       export_price_per_kwh=export))  # fmt: skip
    starts = [T0 + timedelta(hours=h) for h in range(9)]
    policy.least_cost.prices = SeriesPrices(PriceSeries.from_slots(starts, [0.20] + [0.40] * 8))
    now = _context(0, 2400.0, surplus_w=pv_w - 2400.0, forecast=forecast, pv_w=pv_w,
                   target_wh=1300.0, departure=T0 + timedelta(hours=8))  # fmt: skip
    decision = policy.decide(now)
    plan = policy.least_cost.plan
    assert plan is not None
    slot = plan.slot_at(now.now)
    assert slot is not None and slot.mode is SlotMode.FIXED and slot.from_solar_wh == 0.0
    assert decision.charging and decision.pv_mode is mode
    wanted_a = LIMITS.max_current_a if mode is PvMode.PV_MIN else LIMITS.min_current_a
    assert decision.current_a == wanted_a

"""When `target`'s least-cost planner replans, why, and which plans go to the store."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pytest

from optimizer.backtest.price_source import DayAheadReplay
from optimizer.planning.plan import SlotMode
from optimizer.planning.record import ReplanReason
from optimizer.policies.base import PolicyContext
from optimizer.policies.least_cost_plan import (
    FAR_DEADLINE_S,
    FORECAST_MOVED_SHARE,
    KEEP_ON_TRACK_S,
    ON_TRACK_WH,
    REPLAN_DEVIATION_WH,
    REPLAN_FAR_S,
    REPLAN_MAX_S,
    forecast_moved,
    periodic_replan_s,
    planned_by,
    sun_left_wh,
    usable_sun_wh,
)
from optimizer.policies.target import TargetParams, TargetPolicy
from optimizer.prices.port import PriceSource, day_ahead_publication
from optimizer.prices.series import PriceSeries
from tests.conftest import make_plan
from tests.test_planning_target import LIMITS, T0, context, forecast, least_cost


def test_the_first_plan_is_recorded_once_with_its_reason() -> None:
    policy = least_cost(3.0)
    policy.decide(context(0))
    record = policy.take_plan()
    assert record is not None
    assert (record.reason, record.device_id, record.created_at) == (
        ReplanReason.PLUG_IN,
        "dev1",
        T0,
    )
    assert record.plan is policy.least_cost.plan
    assert policy.take_plan() is None


def test_a_periodic_replan_of_the_same_schedule_is_not_recorded_again() -> None:
    policy = least_cost(3.0)
    policy.decide(context(0))
    policy.take_plan()
    policy.decide(context(KEEP_ON_TRACK_S))  # on track, but as old as a plan may grow
    assert policy.least_cost.solves == 2
    assert policy.least_cost.reason is ReplanReason.PERIODIC
    assert policy.take_plan() is None  # the cheap hour 22:00-23:00 still holds the grid


def test_a_far_deadline_replans_periodically_less_often_the_last_day_hourly() -> None:
    assert periodic_replan_s(REPLAN_MAX_S, FAR_DEADLINE_S) == REPLAN_MAX_S
    assert periodic_replan_s(REPLAN_MAX_S, FAR_DEADLINE_S + 1.0) == REPLAN_FAR_S > REPLAN_MAX_S
    assert periodic_replan_s(4 * REPLAN_FAR_S, FAR_DEADLINE_S + 1.0) == 4 * REPLAN_FAR_S
    policy = least_cost(3.0)
    departure = T0 + timedelta(days=3)  # a weekend's stay, no trigger in between
    off_wh = (ON_TRACK_WH + REPLAN_DEVIATION_WH) / 2  # off track, not yet a stray
    far = [
        replace(context(t, energy_wh=e), departure=departure)
        for t, e in ((0, 0.0), (REPLAN_MAX_S, off_wh), (REPLAN_FAR_S, off_wh))
    ]
    for ctx, solves in zip(far, (1, 1, 2), strict=True):
        policy.decide(ctx)
        assert policy.least_cost.solves == solves
    assert policy.least_cost.reason is ReplanReason.PERIODIC
    near = T0 + timedelta(seconds=REPLAN_FAR_S + FAR_DEADLINE_S - 60)  # 23:59 h before
    moved = context(REPLAN_FAR_S + 60, energy_wh=off_wh)
    policy.decide(replace(moved, departure=near))  # departure moved
    later = context(REPLAN_FAR_S + 60 + REPLAN_MAX_S, energy_wh=2 * off_wh)
    policy.decide(replace(later, departure=near))
    assert policy.least_cost.solves == 4
    assert policy.least_cost.reason is ReplanReason.PERIODIC


def keeping(target_kwh: float) -> TargetPolicy:
    """`least_cost(target_kwh)` keeping a night's plan on track up to `KEEP_ON_TRACK_S`."""
    policy = least_cost(target_kwh)
    params = policy.params.model_copy(update={"keep_on_track_s": KEEP_ON_TRACK_S})
    return TargetPolicy(params, policy.tariff)


def test_by_default_every_periodic_look_solves_a_plan_on_track() -> None:
    policy = least_cost(3.0)
    policy.decide(context(0))
    for solves, t in enumerate((REPLAN_MAX_S, 2 * REPLAN_MAX_S), start=2):
        policy.decide(context(t))  # the car waits for the cheap hour as planned
        assert policy.least_cost.solves == solves
        assert policy.least_cost.reason is ReplanReason.PERIODIC


def test_a_periodic_look_keeps_a_plan_on_track_until_it_is_too_old() -> None:
    policy = keeping(3.0)
    policy.decide(context(0))
    plan = policy.least_cost.plan
    for t in range(int(REPLAN_MAX_S), int(KEEP_ON_TRACK_S), int(REPLAN_MAX_S)):
        policy.decide(context(t))  # the car waits for the cheap hour as planned
        assert policy.least_cost.plan is plan
    assert policy.least_cost.solves == 1
    policy.decide(context(KEEP_ON_TRACK_S))
    assert policy.least_cost.solves == 2
    assert policy.least_cost.reason is ReplanReason.PERIODIC


def test_a_plan_more_than_a_day_ahead_is_solved_at_every_periodic_look() -> None:
    policy = keeping(3.0)
    departure = T0 + timedelta(days=3)  # a weekend's stay, the car waiting as planned
    for t, solves in ((0, 1), (REPLAN_FAR_S, 2), (2 * REPLAN_FAR_S, 3)):
        policy.decide(replace(context(t), departure=departure))
        assert policy.least_cost.solves == solves
    assert policy.least_cost.reason is ReplanReason.PERIODIC


def test_a_periodic_look_replans_a_car_off_its_plan() -> None:
    """Energy off the plan by more than `ON_TRACK_WH` but less than a stray: no replan
    before the periodic look, a periodic replan at it."""
    off_wh = (ON_TRACK_WH + REPLAN_DEVIATION_WH) / 2
    policy = keeping(3.0)
    policy.decide(context(0))
    policy.decide(context(REPLAN_MAX_S / 2, energy_wh=off_wh))
    assert policy.least_cost.solves == 1
    policy.decide(context(REPLAN_MAX_S, energy_wh=off_wh))
    assert policy.least_cost.solves == 2
    assert policy.least_cost.reason is ReplanReason.PERIODIC


def test_a_periodic_look_solves_again_a_plan_that_still_counts_on_sun() -> None:
    """The car takes the 2500 W surplus the plan counted on, the forecast holds: a plan
    of sun is solved at its look all the same (the clouds, not the plan, set its energy;
    `sun_left_wh`), while a night's grid plan is kept on track (the test above)."""
    policy = keeping(40.0)
    policy.decide(context(0, pv_w=3000.0))
    plan = policy.least_cost.plan
    assert plan is not None and sun_left_wh(plan, T0 + timedelta(seconds=REPLAN_MAX_S)) > 0
    policy.decide(context(REPLAN_MAX_S / 2, pv_w=3000.0, energy_wh=1250.0))
    assert policy.least_cost.solves == 1
    policy.decide(context(REPLAN_MAX_S, pv_w=3000.0, energy_wh=2500.0))
    assert policy.least_cost.solves == 2
    assert policy.least_cost.reason is ReplanReason.PERIODIC


def test_a_new_target_is_a_recorded_replan() -> None:
    policy = least_cost(3.0)
    policy.decide(context(0))
    policy.take_plan()
    policy.decide(replace(context(60), target_wh=5000.0))
    record = policy.take_plan()
    assert record is not None and record.reason is ReplanReason.TARGET


@pytest.mark.parametrize(("pv_w", "replans"), [(3100.0, False), (1500.0, True)])
def test_a_forecast_that_moved_materially_replans_before_the_period(
    pv_w: float, replans: bool
) -> None:
    policy = least_cost(30.0)
    policy.decide(context(0, pv_w=3000.0))
    policy.decide(context(300, pv_w=pv_w))
    assert policy.least_cost.solves == (2 if replans else 1)
    expected = ReplanReason.FORECAST if replans else ReplanReason.PLUG_IN
    assert policy.least_cost.reason is expected


@pytest.mark.parametrize(
    ("target_kwh", "pv_w", "replans"), [(3.0, 2000.0, False), (30.0, 2000.0, True)]
)
def test_a_forecast_that_moved_only_sun_beyond_what_is_missing_does_not_replan(
    target_kwh: float, pv_w: float, replans: bool
) -> None:
    """4 kW to 2 kW halved the raw PV; the car's usable sun to 07:30 (3.5 kW to 1.5 kW
    over the 500 W household, ~47 to ~20 kWh) stays above 3 kWh but falls below 30."""
    policy = least_cost(target_kwh)
    policy.decide(context(0, pv_w=4000.0))
    policy.decide(context(300, pv_w=pv_w))
    assert policy.least_cost.solves == (2 if replans else 1)
    expected = ReplanReason.FORECAST if replans else ReplanReason.PLUG_IN
    assert policy.least_cost.reason is expected


def test_usable_sun_is_the_surplus_the_charger_can_take() -> None:
    """Per slot: below the minimum power nothing, above the maximum the maximum."""
    house = np.array([500.0, 500.0, 500.0, 0.0])
    pv = np.array([1000.0, 2500.0, 9000.0, 0.0])  # surplus 500 (< 1380), 2000, 8500 W
    fc = forecast(np.concatenate([pv, np.zeros(92)]))
    expected_w = 2000.0 + LIMITS.max_power_w
    assert usable_sun_wh(fc, T0, house, LIMITS) == pytest.approx(expected_w * 0.25)
    assert usable_sun_wh(None, T0, house, LIMITS) == 0.0


def test_a_plan_for_nothing_holds_while_nothing_is_missing() -> None:
    policy = least_cost(3.0)
    met = policy.decide(context(0, energy_wh=3500.0))  # the target is already met
    plan = policy.least_cost.plan
    assert plan is not None and plan.energy_wanted_wh == 0.0
    later = policy.decide(context(REPLAN_MAX_S + 60, pv_w=1500.0, energy_wh=3600.0))
    assert policy.least_cost.solves == 1  # neither the period nor the forecast replans
    assert policy.least_cost.plan is plan
    assert later.reason.split("[target")[1] == met.reason.split("[target")[1]  # the plan's part
    policy.decide(replace(context(REPLAN_MAX_S + 120, energy_wh=3600.0), target_wh=5000.0))
    assert policy.least_cost.solves == 2
    assert policy.least_cost.reason is ReplanReason.TARGET


def test_forecast_moved_needs_the_share_and_more_than_one_slot() -> None:
    quantum = 345.0
    assert not forecast_moved(10_000.0, 10_000.0 * (1 + FORECAST_MOVED_SHARE) - 1, quantum)
    assert forecast_moved(10_000.0, 10_000.0 * (1 - FORECAST_MOVED_SHARE) - 1, quantum)
    assert not forecast_moved(1000.0, 1300.0, quantum)  # 30 % but less than a slot
    assert forecast_moved(0.0, 400.0, quantum)


class DayAhead(PriceSource):
    """Hourly prices from 2024-06-01 00:00 UTC: 0.30 the first day, 0.05 the second, which
    is published at 13:00 UTC on the first (the planner asks from an hour back)."""

    name = "day-ahead"

    def __init__(self) -> None:
        start = datetime(2024, 6, 1, tzinfo=UTC)
        starts = [start + timedelta(hours=h) for h in range(48)]
        imports = [0.30 if h < 24 else 0.05 for h in range(48)]
        self.series = PriceSeries.from_slots(starts, imports)

    def prices(self, start: datetime, end: datetime) -> PriceSeries:
        now = start + timedelta(hours=1)
        known = self.series.end if now >= self.publishes_at(date(2024, 6, 2)) else None
        return self.series.window(start, min(end, known or datetime(2024, 6, 2, tzinfo=UTC)))

    def publishes_at(self, day: date) -> datetime:
        return day_ahead_publication(day, time(13, 0), UTC)


def test_tomorrows_prices_published_replan_before_the_period() -> None:
    params = TargetParams(target_kwh=3.0, departure="07:30", planner="least_cost")
    policy = TargetPolicy(params, prices=DayAhead())
    before = -(5 * 3600 + 600)  # 12:50 UTC
    policy.decide(context(before))
    first = policy.take_plan()
    assert first is not None and first.plan.grid_wh > 0
    assert {s.import_eur_per_kwh for s in first.plan.slots} == {0.30}
    policy.decide(context(before + 300))  # 12:55: not published yet, nothing to look at
    assert policy.least_cost.solves == 1
    policy.decide(context(before + 660))  # 13:01: published
    assert policy.least_cost.solves == 2
    record = policy.take_plan()
    assert record is not None and record.reason is ReplanReason.PRICES
    assert min(s.import_eur_per_kwh for s in record.plan.slots) == 0.05


def test_the_backtests_day_ahead_replay_declares_its_publication() -> None:
    replay = DayAheadReplay(PriceSeries.empty(), UTC)
    assert replay.publishes_at(date(2024, 6, 2)) == datetime(2024, 6, 1, 13, tzinfo=UTC)


def test_the_replays_slot_lookup_is_the_ports_window_lookup() -> None:
    """`DayAheadReplay.slot_at` looks the interval up in its series directly: at every
    time (interval edges, each side of the 13:00 publication and of midnight, outside the
    series) it is the slot the port's default, a window of `prices`, gives."""
    starts = [datetime(2024, 6, 1, tzinfo=UTC) + timedelta(minutes=15 * i) for i in range(300)]
    imports = [0.1 + 0.001 * (i % 37) for i in range(300)]
    replay = DayAheadReplay(PriceSeries.from_slots(starts, imports), UTC)
    default = PriceSource.slot_at
    times = [starts[0] - timedelta(minutes=1), starts[-1] + timedelta(minutes=15)]
    for start in starts:
        times += [start, start + timedelta(minutes=7, microseconds=1), start - timedelta(seconds=1)]
    for t in times:
        assert replay.slot_at(t) == default(replay, t)
    assert replay.slot_at(starts[5]) is not None


def test_a_static_tariff_never_looks_for_new_prices() -> None:
    policy = least_cost(3.0)
    policy.decide(context(0))
    for t in range(60, 900, 60):
        policy.decide(context(t))
    assert policy.least_cost.solves == 1
    assert np.isfinite(policy.least_cost.plan.cost_eur)  # type: ignore[union-attr]


def test_same_schedule_compares_what_each_slot_does_at_its_time() -> None:
    plan = make_plan(0, modes=("off", "solar", "fixed", "fixed"))
    later = make_plan(15, modes=("solar", "fixed", "fixed"))
    assert plan.same_schedule(later)
    assert not plan.same_schedule(make_plan(15, modes=("fixed", "fixed", "fixed")))
    assert not plan.same_schedule(make_plan(15, modes=("solar", "fixed", "fixed"), amps=10.0))
    leaves_later = replace(later, departure=later.departure + timedelta(hours=1))
    assert not plan.same_schedule(leaves_later)


def test_only_a_reading_shows_the_car_strayed_from_the_plan() -> None:
    policy = least_cost(10.0, departure="23:00", import_price_per_kwh=0.30)
    policy.decide(context(0, pv_w=4000.0))
    plan = policy.least_cost.plan
    assert plan is not None and plan.slots[0].from_solar_wh > 0  # the sun now is planned
    # 15 minutes on, no reading since the plan: the sun the car took is unknown, no replan
    unread = replace(context(900, pv_w=4000.0), reading_age_s=900.0, fresh=False)
    policy.decide(unread)
    assert policy.least_cost.solves == 1
    # a reading then shows the car took nothing of the planned sun: that is a stray
    policy.decide(context(960, pv_w=4000.0))
    assert policy.least_cost.solves == 2
    assert policy.least_cost.reason is ReplanReason.STRAYED


def _weak_sun_then(later_w: float) -> tuple[TargetPolicy, PolicyContext]:
    """A plan of 6 kWh by 23:00 made at 18:00 on 700 W of surplus for three hours (below
    the minimum power, 1380 W: fixed blocks at the minimum current take it, the grid
    paying the rest), then an hour of `later_w` of PV; and the context it was made in."""
    pv = np.array([1200.0] * 12 + [later_w] * 4 + [0.0] * 80)
    made = replace(context(0, pv_w=1200.0), forecast=forecast(pv))
    policy = least_cost(6.0, departure="23:00", import_price_per_kwh=0.30)
    policy.decide(made)
    return policy, made


def _reading(made: PolicyContext, t_s: float, pv_w: float, house_w: float) -> PolicyContext:
    """A fresh reading `t_s` after `made` (same forecast), the car on the plan."""
    return replace(
        made,
        now=T0 + timedelta(seconds=t_s),
        pv_w=pv_w,
        household_w=house_w,
        surplus_w=pv_w - house_w,
    )


def test_a_household_load_taking_the_sun_planned_under_a_fixed_current_replans() -> None:
    policy, made = _weak_sun_then(4000.0)
    plan = policy.least_cost.plan
    assert plan is not None
    slot = plan.slot_at(T0 + timedelta(seconds=900))
    assert slot is not None and slot.mode is SlotMode.FIXED and slot.from_solar_wh > 0.0
    assert any(s.mode is SlotMode.SOLAR for s in plan.slots)  # the later sun, in the PV mode

    def at(t_s: float, pv_w: float, house_w: float) -> PolicyContext:
        ctx = _reading(made, t_s, pv_w, house_w)
        return replace(ctx, session_energy_wh=planned_by(plan, ctx.now))

    policy.decide(at(900, 1200.0, 500.0))
    assert policy.least_cost.solves == 1  # the sun is there: the plan holds
    policy.decide(at(1200, 200.0, 500.0))
    assert policy.least_cost.solves == 1  # a cloud: the forecast's to see, not the house's
    cooking = at(1800, 1200.0, 1500.0)
    policy.decide(replace(cooking, fresh=False, reading_age_s=60.0))
    assert policy.least_cost.solves == 1  # no reading shows the sun missing yet
    policy.decide(cooking)
    assert policy.least_cost.solves == 2
    assert policy.least_cost.reason is ReplanReason.SUN_MISSING


def test_a_household_load_under_a_fixed_current_without_later_sun_keeps_the_plan() -> None:
    # no sun after the weak evening: the block's grid is bought either way
    policy, made = _weak_sun_then(0.0)
    plan = policy.least_cost.plan
    assert plan is not None and not any(s.mode is SlotMode.SOLAR for s in plan.slots)
    slot = plan.slot_at(T0 + timedelta(seconds=1800))
    assert slot is not None and slot.mode is SlotMode.FIXED and slot.from_solar_wh > 0.0
    cooking = _reading(made, 1800, 1200.0, 1500.0)
    policy.decide(replace(cooking, session_energy_wh=planned_by(plan, cooking.now)))
    assert policy.least_cost.solves == 1

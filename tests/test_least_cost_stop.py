"""`target` (least cost) stops at its goal and starts the car only for what is missing:
the current of the plan's last block, the time it reaches the goal, the energy the
charger really holds, the margin once a reading shows the target, a passed deadline."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from optimizer.cycle.settings import ControllerSettings
from optimizer.interfaces import Decision, PvMode
from optimizer.planning.plan import ChargePlan, PlannedSlot, SlotMode
from optimizer.policies.base import CommandedState, PolicyContext
from optimizer.policies.least_cost_plan import EnergyTracker
from optimizer.policies.target import (
    STOP_LAG_S,
    TARGET_MARGIN_WH,
    fixed_current_a,
    goal_with_margin_wh,
)
from tests.test_planning_target import LIMITS, T0, context, least_cost
from tests.test_wake import STEP, Paused, Rig

HOUR_S = 3600.0


def from_the_grid(decision: Decision) -> bool:
    """Whether the decision charges at a fixed current (the charger's PV mode without
    sun draws nothing)."""
    return decision.charging and decision.pv_mode is PvMode.MAX_POWER


def at_fixed(base: PolicyContext, amps: int, *, energy_wh: float, age_s: float) -> PolicyContext:
    """`base` with the car charging at `amps` since a reading `age_s` ago showing `energy_wh`."""
    return replace(
        base,
        charging=True,
        car_power_w=amps * 230.0,
        reading_age_s=age_s,
        session_energy_wh=energy_wh,
        commanded=CommandedState(current_a=amps, pv_mode=PvMode.MAX_POWER, charging=True),
    )


def test_the_last_block_of_the_plan_is_rounded_up_to_finish_the_others_floored() -> None:
    # 3 kWh (+ margin) in the one cheap hour: 3020 W = 13.1 A. Floored (13 A) the hour fell
    # 30 Wh short and a replan started the car again for them before departure.
    one_hour = least_cost(3.0).decide(context(4 * HOUR_S))
    assert one_hour.charging and one_hour.current_a == 14
    # A block followed by another at a different current floors; the last rounds up.
    plan = fixed_plan([3010.0] * 4 + [2000.0] * 4)
    assert fixed_current_a(plan, plan.start, 5050.0, LIMITS) == 13  # 13.09 A floored
    later = plan.start + timedelta(hours=1)
    assert fixed_current_a(plan, later, 2030.0, LIMITS) == 9  # 8.8 A rounded up
    # ... unless the plan puts energy in the car after it (sun, or grid after a pause)
    sun_after = fixed_plan([3010.0] * 4 + [2000.0] * 4 + [0.0] * 4 + [1500.0] * 4, SlotMode.SOLAR)
    assert fixed_current_a(sun_after, later, 2030.0, LIMITS) == 8


def fixed_plan(powers_w: list[float], then: SlotMode = SlotMode.FIXED) -> ChargePlan:
    """A plan of 15-minute slots from T0 at `powers_w` (W): fixed, from the first 0 W
    slot on idle and then in mode `then`."""
    slots, mode = [], SlotMode.FIXED
    for i, power_w in enumerate(powers_w):
        if power_w == 0.0:
            mode = SlotMode.OFF
        elif mode is SlotMode.OFF:
            mode = then
        slots.append(
            PlannedSlot(
                start=T0 + i * timedelta(minutes=15), mode=mode, power_w=power_w,
                current_a=power_w / 230.0, from_grid_wh=power_w / 4.0, from_solar_wh=0.0,
                import_eur_per_kwh=0.1, export_eur_per_kwh=0.0, cost_eur=0.0,
                command=False, switch=False, reason="",
            )
        )  # fmt: skip
    wanted_wh = sum(powers_w) / 4.0
    return ChargePlan(T0, 900.0, tuple(slots), wanted_wh, 0.0, 0.0, "optimal", 0.0)


def test_the_policy_asks_to_decide_again_when_the_goal_is_reached() -> None:
    policy = least_cost(3.0)
    now = 4 * HOUR_S  # 22:00, the cheap hour
    decision = policy.decide(at_fixed(context(now), 9, energy_wh=1000.0, age_s=0.0))
    assert decision.charging and decision.current_a == 9  # 2020 Wh in the hour: 8.8 A
    due = policy.decide_again_by(context(now))
    lag_wh = 9 * 230.0 * STOP_LAG_S / 3600.0  # stopped a minute past the goal
    missing_wh = 3000.0 + TARGET_MARGIN_WH + lag_wh - 1000.0
    assert due is not None
    assert (due - context(now).now).total_seconds() == pytest.approx(
        missing_wh / (9 * 230.0) * 3600.0
    )
    policy.decide(context(now + 60, energy_wh=3000.0))  # paused at the target: no hurry
    assert policy.decide_again_by(context(now + 60)) is None
    # Unplugged while charging: no decision is due (a past time would wake it every second).
    policy.decide(at_fixed(context(now), 9, energy_wh=1000.0, age_s=0.0))
    policy.decide(context(now + 7200, plugged=False))
    assert policy.decide_again_by(context(now + 7200, plugged=False)) is None


class Stopping(Paused):
    """Paused, but must decide again by `due`."""

    def __init__(self, due: datetime) -> None:
        super().__init__()
        self.due = due

    def decide_again_by(self, ctx: PolicyContext) -> datetime | None:
        return self.due


def test_the_controller_wakes_when_the_policy_must_decide_again() -> None:
    due = T0 + timedelta(seconds=100)
    assert Rig(Stopping(due)).next_at(T0) == due  # before the check-in 300 s away
    assert Rig(Stopping(T0 + 2 * STEP)).next_at(T0) == T0 + STEP  # later: the check-in
    floor_s = ControllerSettings().min_cycle_interval_s
    assert Rig(Stopping(T0)).next_at(T0) == T0 + timedelta(seconds=floor_s)


def test_the_estimate_counts_the_current_the_charger_holds() -> None:
    # Asked down from 7 A to 6 A (within the actuator's 1 A deadband: not sent), the car
    # kept 7 A; counted at 6 A it ran past its target until the next reading.
    tracker = EnergyTracker()
    reading = at_fixed(context(0), 7, energy_wh=1000.0, age_s=0.0)
    assert tracker.estimate(reading) == 1000.0
    tracker.set(reading.now, 6 * 230.0)
    later = replace(reading, now=reading.now + timedelta(hours=1), reading_age_s=HOUR_S)
    assert tracker.estimate(later) == pytest.approx(1000.0 + 7 * 230.0)
    sent = replace(later, commanded=CommandedState(6, PvMode.MAX_POWER, True))
    assert tracker.estimate(sent) == pytest.approx(1000.0 + 6 * 230.0)


def test_the_margin_holds_only_until_a_reading_shows_the_target() -> None:
    assert goal_with_margin_wh(3000.0, 2990.0) == 3000.0 + TARGET_MARGIN_WH
    assert goal_with_margin_wh(3000.0, 3000.0) == 3000.0
    # A reading at the target in the cheap hour: no start for the margin.
    policy = least_cost(3.0)
    assert not from_the_grid(policy.decide(context(4 * HOUR_S, energy_wh=3000.0)))
    assert policy.least_cost.plan is not None
    assert policy.least_cost.plan.energy_wanted_wh == 0.0


def test_a_passed_default_deadline_plans_for_the_next_departure() -> None:
    # 07:20 with the default departure at 07:30 and a 15-minute margin: the deadline
    # passed. Planned as due now, the car was started at full power from the grid at
    # once (in the backtest: every morning, in the minutes between a session's end and
    # the unplug); now it waits for tonight's cheap hour before tomorrow's 07:30.
    policy = least_cost(3.0)
    assert not from_the_grid(policy.decide(context(13 * HOUR_S + 20 * 60)))
    plan = policy.least_cost.plan
    assert plan is not None and plan.end > context(0).now + timedelta(days=1)


def test_a_session_past_its_own_departure_wants_nothing_more() -> None:
    # The session's departure (set for it) passed and was cleared, the car not yet seen
    # unplugged: before, the default 3 kWh by 07:30 applied and, in the cheap hour,
    # started the car from the grid for the minutes before it left.
    policy = least_cost(3.0)
    evening = context(0)
    leaving = replace(evening, departure=evening.now + timedelta(hours=3, minutes=30))
    policy.decide(leaving)
    assert not from_the_grid(policy.decide(context(4 * HOUR_S)))  # 22:00, the cheap hour
    plan = policy.least_cost.plan
    assert plan is not None and plan.energy_wanted_wh == 0.0
    policy.decide(context(5 * HOUR_S, plugged=False))  # the car left: the next one plans
    assert from_the_grid(policy.decide(context(4 * HOUR_S + 24 * HOUR_S)))

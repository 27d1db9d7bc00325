"""Declare, don't sniff: optional abilities are port members with defaults, inherited.

Each default is what the controller and the daemon assumed before for an implementation
without the ability; the implementations that have it override the member.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from adapters.storage import MemoryStore
from optimizer.budget import BudgetConfig, BudgetPlanner, FixedIntervalSchedule
from optimizer.budget.scheduler import ReadContext
from optimizer.interfaces import ApiCall, Store
from optimizer.policies.solar_only import SolarOnlyPolicy
from optimizer.policies.target import TargetParams, TargetPolicy
from optimizer.prices.port import PriceSource
from optimizer.prices.series import PriceSeries
from tests.conftest import T0, BarePolicy, FakeForecaster, FakeScheduler, make_plan, sunny_pv
from tests.test_policies import ctx


def _read_ctx() -> ReadContext:
    return ReadContext("dev1", False, False, 0.0, 0.0, T0 - timedelta(minutes=5))


def _calls(n: int) -> list[ApiCall]:
    return [
        ApiCall(T0 + timedelta(seconds=i), "dev1", "currentstatecharge", 200, 0.1) for i in range(n)
    ]


def test_a_policy_promises_nothing_and_wants_no_energy_by_default() -> None:
    assert BarePolicy().next_decision_at(ctx(0, 0.0)) is None
    assert BarePolicy().decide_again_by(ctx(0, 0.0)) is None  # the check-ins set the pace
    assert BarePolicy().preferred_read_interval_s(ctx(0, 0.0)) is None  # the planner decides
    assert BarePolicy().budget_handover_mode is None  # needs no reads: keeps its decision
    assert BarePolicy().default_target_wh() is None
    assert SolarOnlyPolicy().default_target_wh() is None


def test_the_target_policy_wants_its_configured_energy() -> None:
    assert TargetPolicy(TargetParams(target_kwh=12.5)).default_target_wh() == 12500.0


def test_a_read_scheduler_makes_no_steady_promise_by_default() -> None:
    scheduler = FakeScheduler()
    now = T0 + timedelta(minutes=1)
    assert scheduler.steady_until(now, _read_ctx(), now + timedelta(hours=5)) == now


def test_a_read_scheduler_keeps_check_ins_for_other_chargers_by_default() -> None:
    """Only a scheduler that can tell says a charger's check-ins move no other
    charger's reads: the fixed schedule always, the planner with one charger."""
    assert FakeScheduler().check_ins_shared() is True
    assert FixedIntervalSchedule(90.0, daily_limit=100).check_ins_shared() is False
    config = BudgetConfig(daily_limit=1000, reserve=100)
    planner = BudgetPlanner(config, pv_profile=sunny_pv)
    assert planner.check_ins_shared() is False
    assert BudgetPlanner(config, pv_profile=sunny_pv, devices=2).check_ins_shared() is True
    now = T0 + timedelta(minutes=1)
    planner.next_read_at(now, _read_ctx())
    planner.next_read_at(now, replace(_read_ctx(), device_id="dev2"))
    assert planner.check_ins_shared() is True  # a second charger asked


def test_a_fixed_schedule_lets_reads_use_every_call_and_restores_nothing() -> None:
    schedule = FixedIntervalSchedule(90.0, daily_limit=100)
    for call in _calls(3):
        schedule.record_call(call)
    now = T0 + timedelta(minutes=1)
    assert schedule.reads_left(now) == schedule.remaining(now) == 97
    schedule.restore(_calls(10), now)
    assert schedule.spent(now) == 3


def test_the_planner_keeps_its_reserve_and_restores_its_ledger() -> None:
    planner = BudgetPlanner(BudgetConfig(daily_limit=1000, reserve=100), pv_profile=sunny_pv)
    now = T0 + timedelta(minutes=1)
    planner.restore(_calls(10), now)
    assert planner.spent(now) == 10
    assert (planner.remaining(now), planner.reads_left(now)) == (990, 890)


def test_a_forecaster_depends_on_more_than_its_observations_by_default() -> None:
    assert FakeForecaster().depends_only_on_observations is False


def test_a_fixed_schedule_makes_no_day_plan_and_the_planner_its_own() -> None:
    now = T0 + timedelta(minutes=1)
    assert FixedIntervalSchedule(90.0, daily_limit=100).day_plan(now) is None
    planner = BudgetPlanner(BudgetConfig(daily_limit=1000, reserve=100), pv_profile=sunny_pv)
    planner.restore(_calls(10), now)
    plan = planner.day_plan(now)
    assert plan.window_start <= now < plan.window_end
    assert (plan.spent, plan.reads_left) == (10, 890)
    assert plan.planned_reads > 0


def test_a_store_keeps_no_plans_and_a_policy_makes_none_by_default() -> None:
    store = MemoryStore()
    Store.record_plan(store, make_plan())  # the port's default: accepted, not kept
    assert store.latest_plan("dev-1") is None
    assert BarePolicy().take_plan() is None
    assert SolarOnlyPolicy().take_plan() is None
    assert not BarePolicy().makes_plans and not SolarOnlyPolicy().makes_plans
    assert not TargetPolicy(TargetParams(planner="window")).makes_plans  # it keeps no plan


def test_the_target_policy_hands_out_its_least_cost_plan_once() -> None:
    policy = TargetPolicy(TargetParams(planner="least_cost"))
    assert policy.makes_plans
    assert policy.take_plan() is None
    policy.decide(ctx(0, 0.0))
    plan = policy.take_plan()
    assert plan is not None and plan.plan is policy.least_cost.plan
    assert policy.take_plan() is None


def test_a_policy_learns_nothing_to_keep_by_default() -> None:
    assert BarePolicy().learned_state() is None  # the daemon keeps nothing for it
    assert BarePolicy().restore_learned({"v": 1}) is None  # and restoring is a no-op
    assert SolarOnlyPolicy().learned_state() is None
    assert TargetPolicy(TargetParams(planner="window")).learned_state() is None
    state = TargetPolicy(TargetParams(planner="least_cost")).learned_state()
    assert state is not None and state["days"] == [0.0] * 24


def test_a_price_source_finds_a_slot_in_a_window_of_its_prices_by_default() -> None:
    """`PriceSource.slot_at` by default: the interval of `prices` over the second from
    the time asked, holding it (what the controller asked before it was a port member)."""
    series = PriceSeries.from_slots([T0, T0 + timedelta(hours=1)], [0.2, 0.3])
    asked: list[tuple[datetime, datetime]] = []

    class Window(PriceSource):
        name = "window"

        def prices(self, start: datetime, end: datetime) -> PriceSeries:
            asked.append((start, end))
            return series.window(start, end)

    when = T0 + timedelta(minutes=70)
    assert Window().slot_at(when) == series.at(when)
    assert asked == [(when, when + timedelta(seconds=1))]
    assert Window().slot_at(T0 - timedelta(hours=1)) is None

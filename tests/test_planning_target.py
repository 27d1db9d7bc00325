"""`target` with `planner = "least_cost"`: the plan's slot in force decides."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from optimizer.backtest.engine import BacktestSetup, policy_contender, setup_with_prices
from optimizer.backtest.price_source import DayAheadReplay
from optimizer.interfaces import PvForecast
from optimizer.limits import ChargerLimits
from optimizer.policies import make_policy
from optimizer.policies.base import CommandedState, PolicyContext
from optimizer.policies.least_cost_plan import REPLAN_MAX_S, delivered_estimate_wh
from optimizer.policies.target import TARGET_MARGIN_WH, TargetParams, TargetPolicy
from optimizer.policies.tariff import TariffConfig

T0 = datetime(2024, 6, 1, 18, 0, tzinfo=UTC)
LIMITS = ChargerLimits(min_current_a=6, max_current_a=16, phases=1, voltage_v=230.0)
CHEAP_22_TO_23 = TariffConfig(
    import_price_per_kwh=0.30, cheap_price_per_kwh=0.10, cheap_start="22:00", cheap_end="23:00"
)


def forecast(pv_w: npt.NDArray[np.float64]) -> PvForecast:
    return PvForecast(T0, 900.0, pv_w, pv_w, pv_w, 0.0)


def context(
    t_s: float, pv_w: float = 0.0, *, plugged: bool = True, energy_wh: float = 0.0
) -> PolicyContext:
    return PolicyContext(
        now=T0 + timedelta(seconds=t_s),
        device_id="dev1",
        limits=LIMITS,
        plugged_in=plugged,
        charging=False,
        car_power_w=0.0,
        surplus_w=pv_w - 500.0,
        pv_w=pv_w,
        household_w=500.0,
        fresh=True,
        reading_age_s=0.0,
        session_energy_wh=energy_wh,
        commanded=CommandedState(),
        forecast=forecast(np.full(96, pv_w)),
    )


def least_cost(target_kwh: float, departure: str = "07:30", **tariff: object) -> TargetPolicy:
    params = TargetParams(target_kwh=target_kwh, departure=departure, planner="least_cost")
    return TargetPolicy(params, CHEAP_22_TO_23 if not tariff else TariffConfig(**tariff))  # type: ignore[arg-type]


def test_waits_for_the_cheap_hour_then_charges_at_the_planned_current() -> None:
    policy = least_cost(3.0)
    evening = policy.decide(context(0))
    assert not evening.charging
    assert "least cost" in evening.reason
    cheap = policy.decide(context(4 * 3600))  # 22:00 UTC
    assert cheap.charging
    assert cheap.current_a == 14  # 3.02 kWh in the plan's last hour: 13.1 A, rounded up
    assert cheap.details["price_per_kwh"] == 0.10
    assert policy.least_cost.solves == 2


def test_the_sun_is_left_to_the_solar_part() -> None:
    policy = least_cost(2.0, departure="23:00", import_price_per_kwh=0.30)
    decision = policy.decide(context(0, pv_w=4000.0))
    assert decision.charging
    assert "[target (least cost):" in decision.reason
    assert "solar" in decision.reason


def test_replans_when_the_plan_goes_stale_and_forgets_it_when_the_car_leaves() -> None:
    policy = least_cost(3.0)
    policy.decide(context(0))
    policy.decide(context(900))
    assert policy.least_cost.solves == 1  # nothing changed: the plan holds
    policy.decide(context(1000, energy_wh=1000.0))  # the car got 1 kWh the plan did not expect
    assert policy.least_cost.solves == 2
    policy.decide(context(1000 + REPLAN_MAX_S))
    assert policy.least_cost.solves == 3  # the forecast moves: at least every hour
    policy.decide(context(5000, plugged=False))
    assert policy.least_cost.plan is None


def test_without_a_tariff_the_grid_waits_for_the_deadline_like_the_window() -> None:
    params = TargetParams(target_kwh=3.0, departure="07:30", planner="least_cost")
    policy = TargetPolicy(params)
    assert not policy.decide(context(0)).charging
    assert policy.least_cost.plan is not None
    assert policy.least_cost.plan.shortfall_wh == 0.0


def test_the_planner_is_a_config_option_defaulting_to_least_cost() -> None:
    assert TargetParams().planner == "least_cost"
    policy = make_policy("target", {"planner": "window"})
    assert isinstance(policy, TargetPolicy)
    assert policy.params.planner == "window"


def test_backtest_prices_are_shown_as_a_day_ahead_market_publishes_them() -> None:
    vienna = ZoneInfo("Europe/Vienna")
    index = pd.date_range("2017-06-01", periods=72, freq="h", tz="UTC")
    column = pd.Series(np.arange(72) / 100.0, index=index)
    source = DayAheadReplay.from_column(column, vienna)
    assert source is not None
    morning = datetime(2017, 6, 1, 8, 0, tzinfo=UTC)  # 10:00 in Vienna: tomorrow unknown
    assert source.prices(morning, morning + timedelta(days=2)).end == datetime(
        2017, 6, 1, 22, 0, tzinfo=UTC
    )
    afternoon = datetime(2017, 6, 1, 11, 0, tzinfo=UTC)  # 13:00: tomorrow published
    assert source.prices(afternoon, afternoon + timedelta(days=2)).end == datetime(
        2017, 6, 2, 22, 0, tzinfo=UTC
    )
    gappy = column.drop(index[5])
    assert DayAheadReplay.from_column(gappy, vienna) is None


def test_the_backtest_hands_its_price_column_to_target() -> None:
    index = pd.date_range("2017-06-01", periods=48, freq="h", tz="UTC")
    inputs = SimpleNamespace(
        prices=pd.Series(0.2, index=index), site=SimpleNamespace(tz=UTC), export_prices=None
    )
    setup = setup_with_prices(BacktestSetup(), inputs)  # type: ignore[arg-type]
    assert isinstance(setup.prices, DayAheadReplay)
    assert setup.prices.series.exports is None  # the policy's own export price
    policy = policy_contender("target").make_policy(setup)
    assert isinstance(policy, TargetPolicy)
    assert policy.least_cost.prices is setup.prices
    without = SimpleNamespace(prices=None, site=SimpleNamespace(tz=UTC), export_prices=None)
    assert setup_with_prices(BacktestSetup(), without).prices is None  # type: ignore[arg-type]
    paid = SimpleNamespace(**{**vars(inputs), "export_prices": pd.Series(0.07, index=index[:1])})
    exported = setup_with_prices(BacktestSetup(), paid).prices  # type: ignore[arg-type]
    assert isinstance(exported, DayAheadReplay)
    assert exported.series.exports == (0.07,) * 48  # the export price in force, every hour


def test_the_energy_drawn_since_the_last_reading_counts_towards_the_target() -> None:
    base = context(0, energy_wh=1000.0)
    charging = replace(
        base,
        charging=True,
        car_power_w=3680.0,
        reading_age_s=1800.0,
        commanded=CommandedState(current_a=16, charging=True),
    )
    assert delivered_estimate_wh(charging) == 1000.0 + 1840.0
    lowered = replace(charging, commanded=CommandedState(current_a=6, charging=True))
    assert delivered_estimate_wh(lowered) == 1000.0 + 690.0  # 6 A since: the smaller counts
    paused = replace(charging, commanded=CommandedState(current_a=16, charging=False))
    assert delivered_estimate_wh(paused) == 1000.0
    # 3 kWh wanted, 2.84 kWh estimated in: the plan asks for the rest (and its margin) only.
    policy = least_cost(3.0)
    policy.decide(charging)
    assert policy.least_cost.plan is not None
    assert policy.least_cost.plan.energy_wanted_wh == pytest.approx(160.0 + TARGET_MARGIN_WH)

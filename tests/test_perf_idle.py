"""Sleeping past idle check-ins changes no read, command or energy (only the cycle count).

The controller skips its `max_cycle_interval_s` check-ins when the policy promises
its decision holds (`next_decision_at`) and the read scheduler that its plan holds
(`steady_until`); the skipped check-ins' forecast refreshes and read contexts are
replayed at the next wake. These tests run the same backtest with sleeping on and
off (`idle_max_interval_s` at the check-in interval) and compare what the charger saw.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from optimizer.backtest.engine import (
    BacktestInputs,
    BacktestResult,
    BacktestSetup,
    contender_named,
    run_backtest,
)
from optimizer.budget import BudgetConfig, BudgetPlanner
from optimizer.budget.scheduler import ReadContext
from optimizer.controller import ControllerSettings
from optimizer.forecast.forecaster import PvForecaster
from optimizer.limits import ChargerLimits
from optimizer.policies.base import FOREVER, CommandedState, PolicyContext
from optimizer.policies.solar_only import SolarOnlyParams, SolarOnlyPolicy
from optimizer.site import GRAZ
from tests.conftest import sunny_pv

START = datetime(2026, 6, 1, 22, 0, tzinfo=UTC)  # local midnight in Graz


def _days(days: int, seed: int) -> BacktestInputs:
    """PV with a daily arc and random clouds, a steady household, evening-to-morning
    sessions plus one around noon (so both plug states meet day and night)."""
    rng = np.random.default_rng(seed)
    index = pd.date_range(START, periods=days * 1440, freq="min")
    hour = ((index.hour + 2) % 24 + index.minute / 60.0).to_numpy()
    arc = np.clip(np.sin((hour - 5.0) / 16.0 * np.pi), 0.0, None) * 6000.0
    clouds = np.repeat(rng.uniform(0.2, 1.0, days * 1440 // 10), 10)
    arrivals, departures = [], []
    for d in range(days):
        day = START + timedelta(days=d)
        arrivals += [day + timedelta(hours=9.5), day + timedelta(hours=19)]
        departures += [day + timedelta(hours=13), day + timedelta(hours=31.5)]
    sessions = pd.DataFrame(
        {
            "arrival": pd.to_datetime(arrivals),
            "departure": pd.to_datetime(departures),
            "energy_kwh": [8.0] * len(arrivals),
        }
    )
    end = START + timedelta(days=days)
    sessions = sessions[sessions["departure"] <= end].reset_index(drop=True)
    return BacktestInputs(
        pv_w=pd.Series(arc * clouds, index=index),
        house_w=pd.Series(400.0 + rng.uniform(0.0, 300.0, index.size), index=index),
        sessions=sessions,
        start=START,
        end=end,
        site=GRAZ,
    )


def _run(inputs: BacktestInputs, policy: str, *, sleep: bool) -> BacktestResult:
    settings = ControllerSettings() if sleep else ControllerSettings(idle_max_interval_s=300.0)
    return run_backtest(inputs, contender_named(policy), BacktestSetup(controller=settings))


@pytest.mark.parametrize(
    "policy", ["solar_only", "target", "off", "device_exclusive_pv", "device_pv_min"]
)
@pytest.mark.parametrize("seed", [1, 2])
def test_sleeping_changes_no_call_command_or_energy(
    policy: str, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    forecasts = [0]
    original = PvForecaster.forecast

    def counted(self: PvForecaster, *args: object, **kwargs: object) -> object:
        forecasts[0] += 1
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(PvForecaster, "forecast", counted)
    inputs = _days(2, seed)
    awake = _run(inputs, policy, sleep=False)
    awake_forecasts, forecasts[0] = forecasts[0], 0
    asleep = _run(inputs, policy, sleep=True)
    assert asleep.cycles < awake.cycles
    if policy in ("off", "device_exclusive_pv", "device_pv_min"):
        # No read plan to replay: of the skipped refreshes only the last is made.
        assert forecasts[0] < awake_forecasts
    assert [(c.time, c.endpoint, c.status) for c in asleep.calls] == [
        (c.time, c.endpoint, c.status) for c in awake.calls
    ]
    pd.testing.assert_frame_equal(asleep.steps, awake.steps, check_exact=True)
    pd.testing.assert_frame_equal(asleep.sessions, awake.sessions, check_exact=True)
    assert asleep.totals == awake.totals  # the world's sums do not see where cycles fell


def _sunny_plugged_cycles(result: BacktestResult) -> int:
    """Cycles that ran with the car plugged in and the sun up (PV over 500 W)."""
    steps = result.steps
    start = steps["time"].iloc[0]
    step_s = float(steps["duration_s"].iloc[0])
    at = ((pd.DatetimeIndex(result.cycle_log["time"]) - start).total_seconds() // step_s).to_numpy()
    rows = steps.iloc[np.clip(at.astype(int), 0, len(steps) - 1)]
    return int((rows["plugged_in"].to_numpy() & (rows["pv_w"].to_numpy() > 500.0)).sum())


@pytest.mark.parametrize("policy", ["solar_only", "min_solar", "target_window"])
def test_the_read_hint_sleeps_through_daytime_check_ins(policy: str) -> None:
    """With the car plugged in under the sun the planner promises nothing, but the
    policy's read hint refuses every read for 900 s after one: the check-ins before
    that are slept through, and the charger still sees the very same calls."""
    inputs = _days(2, 3)
    awake = _run(inputs, policy, sleep=False)
    asleep = _run(inputs, policy, sleep=True)
    assert _sunny_plugged_cycles(asleep) < 0.8 * _sunny_plugged_cycles(awake)
    assert [(c.time, c.endpoint, c.status) for c in asleep.calls] == [
        (c.time, c.endpoint, c.status) for c in awake.calls
    ]
    pd.testing.assert_frame_equal(asleep.steps, awake.steps, check_exact=True)
    assert asleep.totals == awake.totals


def _ctx(plugged: bool | None, pv_w: float, last_read: datetime | None) -> ReadContext:
    return ReadContext("D1", plugged, False, pv_w, 0.3, last_read)


def test_planner_promises_only_while_the_read_weight_is_zero() -> None:
    planner = BudgetPlanner(BudgetConfig(), pv_profile=sunny_pv)
    now = datetime(2026, 6, 2, 10, 0, tzinfo=UTC)
    last = now - timedelta(minutes=5)
    midnight = datetime(2026, 6, 3, tzinfo=UTC)
    dawn = now + timedelta(hours=3)
    assert planner.steady_until(now, _ctx(False, 4000.0, last), dawn) == midnight
    assert planner.steady_until(now, _ctx(True, 4000.0, last), dawn) == now
    assert planner.steady_until(now, _ctx(None, 0.0, last), dawn) == dawn
    assert planner.steady_until(now, _ctx(False, 0.0, None), dawn) == now


def test_planner_makes_no_promise_when_the_budget_cannot_pay_the_floor() -> None:
    planner = BudgetPlanner(
        BudgetConfig(daily_limit=30, reserve=5, handover_remaining=0), pv_profile=sunny_pv
    )
    now = datetime(2026, 6, 2, 0, 30, tzinfo=UTC)
    ctx = _ctx(False, 0.0, now - timedelta(minutes=5))
    assert planner.steady_until(now, ctx, now + timedelta(hours=3)) == now  # 25 < 47 floor reads


def _policy_ctx(plugged: bool) -> PolicyContext:
    return PolicyContext(
        now=START,
        device_id="D1",
        limits=ChargerLimits(),
        plugged_in=plugged,
        charging=plugged,
        car_power_w=0.0,
        surplus_w=2000.0,
        pv_w=2500.0,
        household_w=500.0,
        fresh=True,
        reading_age_s=0.0,
        session_energy_wh=0.0,
        commanded=CommandedState(),
    )


def test_solar_only_promises_only_what_no_clock_can_change() -> None:
    assert SolarOnlyPolicy().next_decision_at(_policy_ctx(True)) == FOREVER
    regulating = SolarOnlyPolicy(SolarOnlyParams(regulation="controller"))
    assert regulating.next_decision_at(_policy_ctx(True)) is None
    assert regulating.next_decision_at(_policy_ctx(False)) == FOREVER
    bridging = SolarOnlyPolicy(SolarOnlyParams(bridge_surplus_ratio=1.5))
    assert bridging.next_decision_at(_policy_ctx(True)) is None

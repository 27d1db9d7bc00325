"""The least-cost optimum, the evcc-style planner, and what `target`'s least-cost planner
does between readings and replans (issue 10, item 6's baselines)."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from optimizer.backtest.compare import COST_OPTIMUM_NAME, LABELS, compare
from optimizer.backtest.cost_optimum import session_least_cost
from optimizer.backtest.engine import BacktestInputs
from optimizer.backtest.optimum import ChargeLimits
from optimizer.interfaces import PvForecast, PvMode
from optimizer.limits import ChargerLimits
from optimizer.planning.plan import SlotMode
from optimizer.policies.base import CommandedState, PolicyContext
from optimizer.policies.evcc_plan import EvccPlanPolicy
from optimizer.policies.least_cost_plan import (
    BLOCKS_MAX,
    EARLY_GRID_PREMIUM_EUR_PER_KWH,
    SLOT_S,
    EnergyTracker,
    block_s_for,
    early_grid_premium,
    later_sun_share,
    planned_sun_w,
)
from optimizer.policies.target import TargetParams, TargetPolicy
from optimizer.prices.series import PriceSeries
from optimizer.site import GRAZ
from tests.conftest import SeriesPrices

T0 = datetime(2024, 6, 1, 18, 0, tzinfo=UTC)
LIMITS = ChargerLimits(min_current_a=6, max_current_a=16, phases=1, voltage_v=230.0)
SMALL = ChargeLimits(phases=1, voltage_v=230.0, min_current_a=6, max_current_a=8)


def _brute_force(surplus_w: list[float], wanted_wh: float, price: list[float]) -> float:
    """The least cost of any whole-amp schedule delivering at least `wanted_wh` (EUR)."""
    k = SMALL.watts_per_amp / 60.0
    options = [0, *range(SMALL.min_current_a, SMALL.max_current_a + 1)]
    best = np.inf
    for amps in itertools.product(options, repeat=len(surplus_w)):
        energy = np.asarray(amps) * k
        if energy.sum() < wanted_wh - 1e-9:
            continue
        grid = np.maximum(energy - np.maximum(surplus_w, 0.0) / 60.0, 0.0)
        best = min(best, float((grid * np.asarray(price)).sum() / 1000.0))
    return best


@pytest.mark.parametrize("seed", range(6))
def test_the_least_cost_optimum_lies_between_its_bound_and_a_schedule_it_found(seed: int) -> None:
    rng = np.random.default_rng(seed)
    surplus = list(rng.uniform(-500.0, 2500.0, 5))
    price = list(rng.uniform(0.1, 0.4, 5))
    wanted = float(rng.uniform(20.0, 120.0))
    result = session_least_cost(surplus, wanted, price, [0.0] * 5, limits=SMALL, step_s=60.0)
    exact = _brute_force(surplus, wanted, price)
    assert result.cost <= exact + 1e-9
    assert exact <= result.upper_eur + 1e-9
    assert result.feasible
    assert result.grid_wh + result.solar_wh == pytest.approx(wanted)


def test_the_optimum_takes_the_free_sun_and_the_cheapest_grid() -> None:
    sunny = session_least_cost([3000.0] * 60, 500.0, [0.3] * 60, [0.0] * 60, limits=SMALL,
                               step_s=60.0)  # fmt: skip
    assert sunny.cost == pytest.approx(0.0, abs=1e-9) and sunny.grid_wh == pytest.approx(0.0)
    prices = [0.3] * 30 + [0.1] * 30
    dark = session_least_cost([0.0] * 60, 500.0, prices, [0.0] * 60, limits=SMALL, step_s=60.0)
    assert dark.cost == pytest.approx(0.1 * 0.5, rel=1e-6)  # all of it in the cheap half hour
    too_much = session_least_cost([0.0] * 10, 1e6, [0.2] * 10, [0.0] * 10, limits=SMALL,
                                  step_s=60.0)  # fmt: skip
    assert not too_much.feasible
    assert too_much.deliverable_wh == pytest.approx(8 * 230.0 / 60.0 * 10)


def test_the_sun_the_car_takes_is_valued_at_the_export_price() -> None:
    result = session_least_cost([3000.0] * 60, 500.0, [0.3] * 60, [0.08] * 60, limits=SMALL,
                                step_s=60.0)  # fmt: skip
    assert result.cost == pytest.approx(0.08 * 0.5, rel=1e-6)


def _priced_inputs() -> BacktestInputs:
    start = datetime(2026, 6, 1, 16, 0, tzinfo=UTC)
    end = start + timedelta(hours=14)
    minutes = pd.date_range(start, end, freq="min", inclusive="left")
    hours = pd.date_range(start, end, freq="h", inclusive="left")
    price = 0.30 - 0.15 * ((hours.hour >= 0) & (hours.hour < 4))  # cheap 00:00-04:00 UTC
    sessions = pd.DataFrame(
        {"arrival": [start], "departure": [end - timedelta(minutes=30)], "energy_kwh": [6.0]}
    )
    return BacktestInputs(
        pv_w=pd.Series(0.0, index=minutes),
        house_w=pd.Series(300.0, index=minutes),
        sessions=sessions,
        start=start,
        end=end,
        site=GRAZ,
        prices=pd.Series(price, index=hours),
    )


def test_with_prices_target_is_compared_with_the_optimum_and_the_planning_baselines() -> None:
    comparison = compare(_priced_inputs(), ["target"])
    names = set(comparison.metrics)
    assert {"target", "fast", "target_window", "evcc_plan", COST_OPTIMUM_NAME} <= names
    assert all(name in LABELS for name in ("target_window", "evcc_plan", COST_OPTIMUM_NAME))
    best = _number(comparison.metrics[COST_OPTIMUM_NAME]["cost"])
    assert best == pytest.approx(0.15 * 6.0, rel=1e-3)  # all in the cheap hours
    for name in ("target", "fast", "target_window", "evcc_plan"):
        m = comparison.metrics[name]
        cost = _number(m["cost"])
        assert m["cost_ratio"] == pytest.approx(cost / best, abs=1e-3)
        assert cost >= best - 1e-6, name
        assert m["feasible_misses"] == 0, name
        assert m["deferred_writes"] == 0, name
    assert _number(comparison.metrics["evcc_plan"]["cost"]) < _number(
        comparison.metrics["fast"]["cost"]
    )


def _number(value: float | int | None) -> float:
    assert value is not None
    return float(value)


def _context(t_s: float, surplus_w: float = -300.0, **changes: object) -> PolicyContext:
    ctx = PolicyContext(
        now=T0 + timedelta(seconds=t_s),
        device_id="dev1",
        limits=LIMITS,
        plugged_in=True,
        charging=False,
        car_power_w=0.0,
        surplus_w=surplus_w,
        pv_w=surplus_w + 300.0,
        household_w=300.0,
        fresh=True,
        reading_age_s=0.0,
        session_energy_wh=0.0,
        commanded=CommandedState(),
        target_wh=3680.0,
        departure=T0 + timedelta(hours=12, minutes=15),
    )
    return replace(ctx, **changes)  # type: ignore[arg-type]


def test_evcc_plan_buys_the_whole_missing_energy_in_the_cheapest_slots_ignoring_the_sun() -> None:
    starts = [T0 + timedelta(hours=h) for h in range(13)]
    prices = [0.30] * 13
    prices[6] = 0.10  # 00:00-01:00 UTC, one hour at full power covers 3.68 kWh
    policy = EvccPlanPolicy(prices=SeriesPrices(PriceSeries.from_slots(starts, prices)))
    assert not policy.decide(_context(0, surplus_w=3000.0)).charging  # evcc's enable delay
    sunny_now = policy.decide(_context(61, surplus_w=3000.0))
    assert sunny_now.charging and sunny_now.pv_mode is PvMode.MAX_POWER
    assert "evcc plan" not in sunny_now.reason  # evcc's surplus charging, not the plan
    cheap = policy.decide(_context(6 * 3600))
    assert cheap.charging and cheap.current_a == 16 and "evcc plan" in cheap.reason
    met = policy.decide(_context(7 * 3600, session_energy_wh=3680.0))
    assert "evcc plan" not in met.reason  # the target met: evcc's surplus logic again


def test_the_energy_tracker_counts_from_the_command_not_from_the_reading() -> None:
    tracker = EnergyTracker()
    idle = _context(0, reading_age_s=0.0, session_energy_wh=1000.0)
    assert tracker.estimate(idle) == 1000.0
    tracker.set(idle.now, 3680.0)  # resumed at 16 A right after the reading
    later = replace(idle, now=idle.now + timedelta(minutes=30), reading_age_s=1800.0)
    assert tracker.estimate(later) == pytest.approx(1000.0 + 1840.0)
    tracker.set(later.now, 0.0)  # paused
    much_later = replace(idle, now=idle.now + timedelta(hours=2), reading_age_s=7200.0)
    assert tracker.estimate(much_later) == pytest.approx(2840.0)
    fresh = replace(much_later, reading_age_s=0.0, session_energy_wh=2800.0)
    assert tracker.estimate(fresh) == 2800.0  # a reading is the truth again
    in_pv_mode = replace(
        fresh,
        charging=True,
        car_power_w=2000.0,
        commanded=CommandedState(16, PvMode.EXCLUSIVE_PV, True),
    )
    tracker.forget()
    assert tracker.estimate(replace(in_pv_mode, reading_age_s=600.0)) == 2800.0


def test_the_plan_counts_on_the_central_sun_early_and_the_pessimistic_near_departure() -> None:
    n = 96 * 3  # 72 h of 15 min; the forecast covers 36 h
    step = 900.0
    central = np.full(144, 2000.0)
    forecast = PvForecast(T0, step, central, central / 4, central * 2, 0.0)
    ctx = replace(_context(0), forecast=forecast)
    pv, _, clear, _ = planned_sun_w(ctx, n, grid_time_s=3600.0)
    assert pv[0] == 2000.0 and clear[0] == 4000.0
    assert pv[-1] == 500.0  # the last stretch: pessimistic (repeated a day earlier)
    assert pv[60] == 2000.0  # within a day: the forecast itself
    far = pv[96:192]  # beyond a day: the forecast's half of the clear sky as sunny hours
    assert far.max() == 4000.0 and far.sum() == pytest.approx(2000.0 * far.size, rel=0.05)
    sure = int(np.argmax(pv == 500.0))
    assert sure * SLOT_S == pytest.approx(n * SLOT_S - 3600.0 - 3600.0, abs=SLOT_S)


def test_grid_bought_while_sun_may_still_come_pays_a_premium() -> None:
    surplus = np.array([0.0, 0.0, 3000.0, 3000.0, 0.0])
    premium = early_grid_premium(later_sun_share(surplus, 1500.0, LIMITS))
    assert premium[0] == EARLY_GRID_PREMIUM_EUR_PER_KWH  # 1.5 kWh of sun still to come
    assert premium[2] == pytest.approx(EARLY_GRID_PREMIUM_EUR_PER_KWH * 750.0 / 1500.0)
    assert premium[-1] == 0.0


def test_long_horizons_are_planned_in_longer_blocks() -> None:
    assert block_s_for(96) == 3600.0
    assert block_s_for(62 * 4) == 3 * 3600.0  # and hour blocks in the last 12 h
    n = 12 * 24 * 4
    assert block_s_for(n) / 3600.0 * (BLOCKS_MAX - 12) >= 12 * 24 - 12


@pytest.mark.parametrize("sun_share", [None, 0.75])
def test_a_car_leaving_a_fixed_current_without_enough_sun_is_paused_not_handed_to_the_pv_mode(
    sun_share: float | None,
) -> None:
    """At night, and under a surplus below the charger's minimum power (an evening's last
    sun, `NO_SUN_FRACTION`): the PV mode would start and stop the car with every cloud."""
    surplus_w = -300.0 if sun_share is None else sun_share * LIMITS.min_power_w
    params = TargetParams(target_kwh=3.68, planner="least_cost")
    policy = TargetPolicy(params)
    starts = [T0 + timedelta(hours=h) for h in range(13)]
    policy.least_cost.prices = SeriesPrices(PriceSeries.from_slots(starts, [0.2] * 13))
    charging = policy.decide(_context(11 * 3600))  # the last hour: charge now
    assert charging.charging and policy.least_cost.plan is not None
    assert policy.least_cost.plan.slot_at(charging.time).mode is SlotMode.FIXED  # type: ignore[union-attr]
    commanded = CommandedState(16, PvMode.MAX_POWER, True)
    done = _context(11.5 * 3600, surplus_w, session_energy_wh=3700.0, charging=True,
                    car_power_w=3680.0, commanded=commanded)  # fmt: skip
    after = policy.decide(done)
    assert not after.charging and "no sun to follow" in after.reason

"""The perfect-foresight optimum: hand-solvable cases, limits, and the upper-bound property."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.backtest.optimum import (
    ChargeLimits,
    current_caps_a,
    optimum_for_sessions,
    solve_session,
)

HOUR_S = 3600.0


def test_solar_only_truncates_surplus_to_whole_amps() -> None:
    # 1500 W / 230 V = 6.5 A -> 6 A; 5000 W / 230 V = 21.7 A -> 21 A; no sun -> 0 A.
    result = solve_session([1500.0, 5000.0, 0.0], math.inf, objective="solar_only")
    assert result.current_a.tolist() == [6, 21, 0]
    assert result.power_w.tolist() == pytest.approx([1380.0, 4830.0, 0.0])
    assert result.total_solar_wh == pytest.approx((1380.0 + 4830.0) * 300 / 3600)
    assert result.total_grid_wh == 0.0
    assert result.status == "optimal"


def test_solar_only_skips_steps_below_minimum_current() -> None:
    result = solve_session([1300.0, -500.0, 2000.0], math.inf, limits=ChargeLimits(phases=1))
    assert result.current_a.tolist() == [0, 0, 8]


def test_three_phases_need_three_times_the_surplus() -> None:
    result = solve_session([4000.0, 5000.0], math.inf, limits=ChargeLimits(phases=3))
    # 4000 / 690 = 5.8 A (below 6 A); 5000 / 690 = 7.2 A.
    assert result.current_a.tolist() == [0, 7]


def test_charging_stops_when_the_energy_wanted_is_reached() -> None:
    result = solve_session([5000.0] * 4, 1000.0, step_s=HOUR_S)
    assert result.total_energy_wh == pytest.approx(1000.0)
    assert result.shortfall_wh == 0.0
    assert result.target_met
    assert result.total_grid_wh == 0.0
    # Only the first step charges (partly); later steps are idle.
    assert result.current_a[1:].tolist() == [0, 0, 0]


def test_solar_only_reports_the_shortfall() -> None:
    result = solve_session([2300.0], 10_000.0, step_s=HOUR_S)
    assert result.total_energy_wh == pytest.approx(2300.0)
    assert result.shortfall_wh == pytest.approx(7700.0)
    assert not result.target_met


def test_target_uses_solar_first_then_grid() -> None:
    # 1 h steps: 6900 W of sun then night. 10 kWh wanted: 30 A in the sun (6900 Wh),
    # the remaining 3100 Wh from the grid at night.
    result = solve_session([6900.0, 0.0], 10_000.0, objective="target", step_s=HOUR_S)
    assert result.current_a[0] == 30
    assert result.total_energy_wh == pytest.approx(10_000.0)
    assert result.total_solar_wh == pytest.approx(6900.0)
    assert result.total_grid_wh == pytest.approx(3100.0)


def test_target_with_prices_buys_in_the_cheapest_step() -> None:
    result = solve_session(
        [0.0, 0.0, 0.0],
        7360.0,
        objective="target",
        step_s=HOUR_S,
        price_per_kwh=[0.30, 0.10, 0.20],
    )
    assert result.current_a.tolist() == [0, 32, 0]
    assert result.cost == pytest.approx(7.36 * 0.10)


def test_target_infeasible_delivers_what_it_can_and_reports_shortfall() -> None:
    result = solve_session([0.0, 1000.0], 20_000.0, objective="target", step_s=HOUR_S)
    assert result.current_a.tolist() == [32, 32]
    assert result.total_energy_wh == pytest.approx(2 * 7360.0)
    assert result.shortfall_wh == pytest.approx(20_000.0 - 2 * 7360.0)
    assert result.status == "optimal"


def test_fuse_limit_caps_the_car_by_the_household_load() -> None:
    limits = ChargeLimits(fuse_w=6000.0)
    house = np.array([4000.0, 5000.0, 1000.0])
    # headroom 2000 W -> 8 A; 1000 W -> 4 A (< 6 A, no charging); 5000 W -> 21 A.
    assert current_caps_a(3, limits, house).tolist() == [8, 0, 21]
    result = solve_session(
        [9000.0, 9000.0, 9000.0], math.inf, limits=limits, house_w=house, step_s=HOUR_S
    )
    assert result.current_a.tolist() == [8, 0, 21]
    assert np.all(house + result.power_w <= 6000.0 + 1e-9)


def test_fuse_limit_without_household_load_is_an_error() -> None:
    with pytest.raises(ValueError, match="house_w"):
        solve_session([1000.0], 1000.0, limits=ChargeLimits(fuse_w=5000.0))


def test_car_power_and_current_limits_apply() -> None:
    by_current = solve_session([9000.0], math.inf, limits=ChargeLimits(car_max_current_a=16))
    by_power = solve_session([9000.0], math.inf, limits=ChargeLimits(car_max_power_w=3700.0))
    assert by_current.current_a.tolist() == [16]
    assert by_power.current_a.tolist() == [16]  # 3700 / 230 = 16.09 A


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="surplus_w is not finite at step 1"):
        solve_session([1.0, float("nan")], 1.0)
    with pytest.raises(ValueError, match="house_w has 1 steps"):
        solve_session([1.0, 2.0], 1.0, house_w=[1.0])
    with pytest.raises(ValueError, match="phases"):
        ChargeLimits(phases=4)


def _heuristic_currents(
    surplus: np.ndarray, limits: ChargeLimits, delays: list[int], lag: int
) -> np.ndarray:
    """A simple feasible solar-only policy: act on `lag`-step-old surplus, truncate to
    whole amps, start only after `delay` steps of enough sun; never exceed today's sun."""
    cap_now = np.floor(np.maximum(surplus, 0) / limits.watts_per_amp + 1e-9)
    seen = np.concatenate([np.zeros(lag), surplus[: len(surplus) - lag]]) if lag else surplus
    wanted = np.minimum(np.floor(np.maximum(seen, 0) / limits.watts_per_amp), 32)
    currents = np.zeros(len(surplus), dtype=np.int64)
    run = 0
    for t in range(len(surplus)):
        run = run + 1 if wanted[t] >= 6 else 0
        amps = min(wanted[t], cap_now[t])
        if run > delays[t % len(delays)] and amps >= 6:
            currents[t] = int(amps)
    return currents


def _delivered_wh(currents: np.ndarray, limits: ChargeLimits, step_s: float, cap: float) -> float:
    return float(min(cap, (currents * limits.watts_per_amp * step_s / 3600).sum()))


surplus_lists = st.lists(st.floats(-3000, 12_000), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(
    surplus=surplus_lists,
    phases=st.sampled_from([1, 3]),
    energy_kwh=st.floats(0.0, 30.0),
    delays=st.lists(st.integers(0, 3), min_size=1, max_size=5),
    lag=st.integers(0, 2),
)
def test_optimum_is_never_below_a_feasible_heuristic(
    surplus: list[float], phases: int, energy_kwh: float, delays: list[int], lag: int
) -> None:
    limits = ChargeLimits(phases=phases)
    array = np.array(surplus)
    currents = _heuristic_currents(array, limits, delays, lag)
    assert np.all(currents * limits.watts_per_amp <= np.maximum(array, 0) + 1e-6)
    heuristic_wh = _delivered_wh(currents, limits, 300.0, energy_kwh * 1000)
    result = solve_session(array, energy_kwh * 1000, limits=limits)
    assert result.total_grid_wh == pytest.approx(0.0, abs=1e-6)
    assert result.total_solar_wh >= heuristic_wh - 1e-6
    assert result.total_energy_wh <= energy_kwh * 1000 + 1e-6


@settings(max_examples=40, deadline=None)
@given(surplus=surplus_lists, energy_kwh=st.floats(0.5, 20.0), amps=st.integers(6, 32))
def test_target_optimum_never_uses_more_grid_than_charging_at_once(
    surplus: list[float], energy_kwh: float, amps: int
) -> None:
    """Charging at a fixed current from arrival is feasible; the optimum does no worse."""
    limits = ChargeLimits()
    array = np.array(surplus)
    wanted = energy_kwh * 1000
    step_wh = amps * limits.watts_per_amp * 300 / 3600
    energy = np.clip(wanted - step_wh * np.arange(len(array)), 0, step_wh)
    solar = (
        energy
        / step_wh
        * np.minimum(amps * limits.watts_per_amp, np.maximum(array, 0))
        * (300 / 3600)
    )
    naive_grid = float((energy - solar).sum())
    result = solve_session(array, wanted, objective="target", limits=limits)
    assert result.total_energy_wh >= float(energy.sum()) - 1e-6
    if result.total_energy_wh <= float(energy.sum()) + 1e-6:
        assert result.total_grid_wh <= naive_grid + 1e-6
    assert result.total_energy_wh + result.shortfall_wh == pytest.approx(wanted)


def test_optimum_for_sessions_uses_only_steps_inside_each_session() -> None:
    index = pd.date_range("2024-06-01 00:00", periods=24 * 12, freq="5min", tz="Europe/Madrid")
    surplus = pd.Series(np.where((index.hour >= 10) & (index.hour < 16), 3000.0, -300.0), index)
    sessions = pd.DataFrame(
        {
            "arrival": [pd.Timestamp("2024-06-01 09:02", tz="Europe/Madrid")],
            "departure": [pd.Timestamp("2024-06-01 12:00", tz="Europe/Madrid")],
            "energy_kwh": [50.0],
            "max_current_a": [10.0],
            "phases": [1],
        }
    )
    result = optimum_for_sessions(surplus, sessions)
    row = result.sessions.iloc[0]
    # Steps from 09:05 to 11:55: 35 steps, of which 24 sunny (10:00-12:00) at 10 A.
    assert row["steps"] == 35
    assert row["solar_wh"] == pytest.approx(24 * 2300 * 300 / 3600)
    assert row["grid_wh"] == 0.0
    assert result.totals["sessions"] == 1.0
    assert result.totals["target_met"] == 0.0
    assert "cost" not in result.totals
    assert result.steps["current_a"].max() == 10
    assert len(result.steps) == 35


def test_optimum_for_sessions_refuses_uncovered_sessions() -> None:
    index = pd.date_range("2024-06-01 10:00", periods=12, freq="5min", tz="UTC")
    sessions = pd.DataFrame(
        {
            "arrival": [pd.Timestamp("2024-06-01 10:00", tz="UTC")],
            "departure": [pd.Timestamp("2024-06-01 12:00", tz="UTC")],
            "energy_kwh": [5.0],
        }
    )
    with pytest.raises(ValueError, match="surplus_w has no data at 2024-06-01 11:00"):
        optimum_for_sessions(pd.Series(1000.0, index), sessions)

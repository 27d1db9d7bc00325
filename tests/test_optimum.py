"""The perfect-foresight optimum: hand-solvable cases, limits, and the upper-bound property."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.simulator.world.bookkeeping import SessionLog
from adapters.simulator.world.car import Car
from adapters.simulator.world.charger import SimCharger
from adapters.simulator.world.scenario import CarConfig, DeviceConfig
from optimizer.backtest.optimum import (
    CarBattery,
    ChargeLimits,
    Method,
    current_caps_a,
    optimum_for_sessions,
    replay,
    solve_session,
)
from optimizer.interfaces import PvMode

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


# -- the car's taper, against the world's own charger and car -----------------------------

MINUTE_S = 60.0
T0 = pd.Timestamp("2017-09-09 10:00", tz="UTC").to_pydatetime()


def _world_charger(battery: CarBattery, phases: int = 1) -> SimCharger:
    """The world's charger (60 s steps, no PV-mode delay) with `battery` plugged in."""
    config = CarConfig(
        battery_kwh=battery.capacity_wh / 1000.0,
        max_current_a=int(battery.max_current_a),
        phases=phases,  # type: ignore[arg-type]
        taper_start_soc=battery.taper_start_soc,
        taper_stop_a=battery.taper_stop_a,
        charge_efficiency=battery.charge_efficiency,
    )
    device = DeviceConfig(device_id="d", phases=phases, car=config)  # type: ignore[arg-type]
    charger = SimCharger(device, start=T0, pv_mode_delay_s=0.0, regulation_interval_s=5.0)
    car = Car.from_config(config, battery.arrival_soc)
    charger.plug_in(car, SessionLog("d", T0, None, arrival_soc=car.soc, soc=car.soc))
    return charger


def _world_run(battery: CarBattery, surplus: np.ndarray, mode: PvMode, amps: int = 16) -> float:
    """Energy (Wh) the world's charger puts in the car in `mode` at `amps`, step by step."""
    charger = _world_charger(battery)
    charger.set_pv_mode(mode)
    charger.set_intensity(amps)
    house = np.full(surplus.shape, 500.0)
    for t in range(surplus.shape[0]):
        charger.charge(surplus[t : t + 1] + house[t : t + 1], house[t : t + 1], t, MINUTE_S)
    assert charger.session is not None
    assert charger.session.grid_wh == pytest.approx(0.0, abs=1e-6) or mode == PvMode.MAX_POWER
    return charger.session.energy_wh


def _world_best_follower(battery: CarBattery, surplus: np.ndarray) -> tuple[float, float]:
    """The best grid-free choice each minute, as the world's car answers it: offer at
    least the car's taper current if the surplus covers it, else the surplus in whole
    amps (6 A or nothing). Returns (energy, grid) in Wh."""
    charger = _world_charger(battery)
    house = np.full(surplus.shape, 500.0)
    for t in range(surplus.shape[0]):
        car = charger.car
        assert car is not None
        accepted, room = car.accepted_current_a(), surplus[t] / 230.0
        if 0 < accepted <= room:
            offer = min(32, max(6, math.ceil(accepted)))
        else:
            offer = min(32, math.floor(room)) if room >= 6 else 0
        if offer:
            charger.set_intensity(offer)
            charger.start()
        else:
            charger.pause()
        charger.charge(surplus[t : t + 1] + house[t : t + 1], house[t : t + 1], t, MINUTE_S)
    assert charger.session is not None
    return charger.session.energy_wh, charger.session.grid_wh


@pytest.mark.parametrize("method", ["auto", "milp"])
def test_a_tapering_car_takes_what_the_worlds_car_takes(method: Method) -> None:
    """A car at 90 % with plenty of sun: 3 h at 16 A would be 11 kWh; the world's car,
    tapering from 8 A down, takes ~1 kWh. The optimum delivers what the world does."""
    battery = CarBattery(10_000.0, 0.9, 16.0, charge_efficiency=0.92)
    surplus = np.full(180, 8000.0)
    world_wh = _world_run(battery, surplus, PvMode.MAX_POWER)
    result = solve_session(surplus, math.inf, car=battery, step_s=MINUTE_S, method=method)
    assert world_wh < 0.1 * 16 * 230 * 3  # the taper bites
    assert result.total_energy_wh == pytest.approx(world_wh, rel=1e-3)
    assert result.total_grid_wh == pytest.approx(0.0, abs=1e-6)
    # Hand check of the first step: 8 A from 90 % SoC for a minute.
    assert result.energy_wh[0] == pytest.approx(16 * 0.1 / 0.2 * 230 / 60)


@pytest.mark.parametrize("method", ["auto", "milp"])
def test_a_tapering_car_fills_from_a_surplus_below_the_minimum_current(method: Method) -> None:
    """At 95 % the car accepts 4 A: offered 6 A it draws 4 A, which 1000 W (4.3 A) covers
    with no grid, as the world's PV+min mode shows."""
    battery = CarBattery(10_000.0, 0.95, 16.0, charge_efficiency=0.92)
    surplus = np.full(60, 1000.0)
    world_wh = _world_run(battery, surplus, PvMode.PV_MIN, amps=6)
    result = solve_session(surplus, math.inf, car=battery, step_s=MINUTE_S, method=method)
    assert result.total_energy_wh == pytest.approx(world_wh, rel=1e-3)
    # By hand: it fills until it accepts less than 1 A, at SoC 1 - 1 A * 0.2 / 16 A =
    # 98.75 %: (0.9875 - 0.95) * 10 kWh / 0.92 = 407.6 Wh, plus at most one step at 1 A.
    assert 407.6 <= result.total_energy_wh <= 407.6 + 230 / 60 + 0.1
    assert result.total_grid_wh == pytest.approx(0.0, abs=1e-6)
    assert set(result.current_a[result.current_a > 0].tolist()) == {6}


def test_taper_stop_current_ends_the_session_as_in_the_world() -> None:
    battery = CarBattery(2_000.0, 0.97, 16.0, taper_stop_a=2.0, charge_efficiency=0.92)
    surplus = np.full(240, 8000.0)
    world_wh = _world_run(battery, surplus, PvMode.MAX_POWER)
    result = solve_session(surplus, math.inf, car=battery, step_s=MINUTE_S)
    slack_wh = 2.0 * 230 * MINUTE_S / 3600  # one step at the stop current
    assert world_wh - slack_wh <= result.total_energy_wh <= world_wh + slack_wh
    assert result.total_energy_wh <= battery.full_after_wh(230 * MINUTE_S / 3600) + 1e-6


def test_replay_is_the_worlds_physics() -> None:
    battery = CarBattery(10_000.0, 0.85, 16.0, charge_efficiency=0.92)
    offers = np.array([16, 16, 0, 6, 32, 16])
    run = replay(offers, 230 * MINUTE_S / 3600, battery)
    charger = _world_charger(battery)
    charger.set_pv_mode(PvMode.MAX_POWER)
    for t, offer in enumerate(offers):
        if offer:
            charger.set_intensity(int(offer))
            charger.start()
        else:
            charger.pause()
        before = charger.session.energy_wh if charger.session else 0.0
        charger.charge(np.array([9000.0]), np.array([0.0]), t, MINUTE_S)
        assert charger.session is not None
        assert run.energy_wh[t] == pytest.approx(charger.session.energy_wh - before)


def test_bad_car_is_refused() -> None:
    with pytest.raises(ValueError, match=r"CarBattery\.arrival_soc must be in 0\.\.1"):
        CarBattery(10_000.0, 1.5, 16.0)


@settings(max_examples=40, deadline=None)
@given(
    surplus=st.lists(st.floats(-1000, 6000), min_size=1, max_size=90),
    soc=st.floats(0.6, 1.0),
    capacity_kwh=st.floats(1.0, 20.0),
    stop_a=st.sampled_from([0.0, 1.0, 3.0]),
)
def test_solar_optimum_equals_the_worlds_best_grid_free_follower(
    surplus: list[float], soc: float, capacity_kwh: float, stop_a: float
) -> None:
    """With the taper, charging as much as the sun allows each minute is optimal (the
    energy after a step grows with the energy before it), so the MILP must match the
    world's best minute-by-minute follower: never above it (it claims nothing the
    world's car refuses), never below it by more than one step at the stop current."""
    battery = CarBattery(
        capacity_kwh * 1000, soc, 16.0, taper_stop_a=stop_a, charge_efficiency=0.92
    )
    array = np.array(surplus)
    follower_wh, follower_grid = _world_best_follower(battery, array)
    assert follower_grid == pytest.approx(0.0, abs=1e-6)
    result = solve_session(array, math.inf, car=battery, step_s=MINUTE_S)
    by_milp = solve_session(array, math.inf, car=battery, step_s=MINUTE_S, method="milp")
    slack = stop_a * 230 * MINUTE_S / 3600 + 1e-3
    assert result.status == by_milp.status == "optimal"
    for found in (result, by_milp):
        assert found.total_grid_wh == pytest.approx(0.0, abs=1e-6)
        assert follower_wh - slack <= found.total_energy_wh <= follower_wh + slack
    device_wh = _world_run(battery, np.maximum(array, 0.0), PvMode.EXCLUSIVE_PV, amps=32)
    assert result.total_solar_wh >= device_wh - slack


# -- real data: the optimum bounds the charger's own grid-free follower, session by session --


@pytest.mark.parametrize("start", ["2017-06-16", "2017-09-08"])
def test_optimum_bounds_the_devices_exclusive_pv_on_real_2017(start: str) -> None:
    """Three real days including a sunny weekend, where the car fills into its taper:
    in every session where the charger's own exclusive-PV mode drew no grid, the
    optimum's solar energy is at least the device's (less one step at the stop current)."""
    from adapters.datasets import DatasetUnavailable
    from optimizer.backtest.compare import solve_optimum
    from optimizer.backtest.dataset import load_real_2017
    from optimizer.backtest.engine import BacktestSetup, baseline_contender, run_backtest

    try:
        inputs = load_real_2017(start, 3)
    except DatasetUnavailable as error:  # pragma: no cover - the data packages are installed
        pytest.skip(str(error))
    setup = BacktestSetup()
    device = run_backtest(inputs, baseline_contender("device_exclusive_pv"), setup)
    optimum = solve_optimum(device)
    sessions = device.sessions
    assert len(optimum.sessions) == len(sessions)
    slack_wh = setup.car.taper_stop_a * 230.0 * setup.step_s / 3600.0 * setup.car.phases
    grid_free = sessions["grid_wh"].abs().to_numpy() < 1e-6
    assert grid_free.any()
    for i in np.flatnonzero(grid_free):
        assert optimum.sessions["solar_wh"].iloc[i] >= sessions["solar_wh"].iloc[i] - slack_wh
    assert (optimum.sessions["status"] == "optimal").all()
    assert optimum.totals["grid_wh"] == pytest.approx(0.0, abs=1e-6)
    # Nothing beyond what the car can take: at most its headroom to full.
    assert (optimum.sessions["energy_wh"] <= sessions["headroom_wh"].to_numpy() + 1e-6).all()

"""`HomeBattery`: self-consumption dispatch keeps its state of charge, limits and energy."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.simulator.world import HomeBattery, HomeBatteryConfig

POWER = st.floats(0.0, 12000.0)
STEP = st.tuples(POWER, POWER, POWER)  # PV, household, car (W)


@st.composite
def configs(draw: st.DrawFn) -> HomeBatteryConfig:
    min_soc = draw(st.floats(0.0, 0.5))
    return HomeBatteryConfig(
        capacity_kwh=draw(st.floats(0.5, 30.0)),
        max_charge_w=draw(st.floats(100.0, 10000.0)),
        max_discharge_w=draw(st.floats(100.0, 10000.0)),
        min_soc=min_soc,
        round_trip_efficiency=draw(st.floats(0.5, 1.0)),
        initial_soc=draw(st.floats(min_soc, 1.0)),
    )


@settings(max_examples=150, deadline=None)
@given(configs(), st.lists(STEP, min_size=1, max_size=60), st.sampled_from([1.0, 60.0, 300.0]))
def test_dispatch_keeps_soc_limits_and_energy(
    config: HomeBatteryConfig, steps: list[tuple[float, float, float]], dt: float
) -> None:
    battery = HomeBattery(config)
    stored_before = config.initial_soc * battery.capacity_wh
    way = math.sqrt(config.round_trip_efficiency)
    for pv, house, car in steps:
        net = house + car - pv
        power = battery.step(pv, house, car, dt)
        assert config.min_soc - 1e-9 <= battery.soc <= 1.0 + 1e-9
        assert -config.max_charge_w - 1e-6 <= power <= config.max_discharge_w + 1e-6
        assert power * net >= 0.0 and abs(power) <= abs(net) + 1e-6  # never from/to the grid
    f = battery.flows
    stored_after = battery.soc * battery.capacity_wh
    assert stored_after - stored_before == pytest.approx(
        f.charged_wh * way - f.discharged_wh / way, abs=1e-6 * battery.capacity_wh
    )
    assert 0.0 <= f.to_car_wh <= f.discharged_wh + 1e-9


@settings(max_examples=100, deadline=None)
@given(configs(), st.lists(STEP, min_size=1, max_size=60))
def test_the_homes_flows_balance(
    config: HomeBatteryConfig, steps: list[tuple[float, float, float]]
) -> None:
    battery = HomeBattery(config)
    pv_wh = load_wh = 0.0
    for pv, house, car in steps:
        battery.step(pv, house, car, 60.0)
        pv_wh += pv / 60.0
        load_wh += (house + car) / 60.0
    f = battery.flows
    sources = pv_wh + f.grid_import_wh + f.discharged_wh
    sinks = load_wh + f.grid_export_wh + f.charged_wh
    assert sources == pytest.approx(sinks, rel=1e-9, abs=1e-6)


def test_it_covers_the_house_first_then_the_car() -> None:
    battery = HomeBattery(HomeBatteryConfig(capacity_kwh=10.0, max_discharge_w=2000.0))
    assert battery.step(pv_w=0.0, household_w=500.0, car_w=3000.0, dt_s=3600.0) == 2000.0
    assert battery.flows.to_car_wh == pytest.approx(1500.0)  # 2000 W - the house's 500 W
    assert battery.flows.grid_import_wh == pytest.approx(1500.0)


def test_it_stops_at_its_reserve_and_when_full() -> None:
    battery = HomeBattery(HomeBatteryConfig(capacity_kwh=1.0, min_soc=0.2, initial_soc=0.2))
    assert battery.step(0.0, 800.0, 0.0, 60.0) == 0.0  # at the reserve: the grid pays
    full = HomeBattery(HomeBatteryConfig(capacity_kwh=1.0, initial_soc=1.0))
    assert full.step(3000.0, 500.0, 0.0, 60.0) == 0.0  # full: everything is exported
    assert full.flows.grid_export_wh == pytest.approx(2500.0 / 60.0)


def test_config_refuses_a_start_below_the_reserve() -> None:
    with pytest.raises(ValueError, match="initial_soc must not be below min_soc"):
        HomeBatteryConfig(min_soc=0.3, initial_soc=0.2)

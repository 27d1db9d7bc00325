"""The controller in a home with a battery: the car does not drain it unless allowed.

A clear summer day, the car home from 09:00 to 22:00 wanting more than the sun gives,
a 10 kWh battery in self-consumption mode. The charger's own exclusive-PV mode follows
its meter, which the battery holds at zero: once charging it keeps its current while
the battery covers the fading sun (the drain). `solar_only` and `min_solar` (both
letting the charger regulate, the default) must keep the battery out of the car with
`battery_to_car` off, and let it in with it on. (`min_solar`'s minimum then waits
until the battery reaches its reserve; this car leaves before it does.)

If the estimate ignored the battery (surplus = PV - the meter's household), govern
would see no car drawing beyond the surplus, and these tests fail.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from adapters.simulator.world import HomeBatteryConfig
from optimizer.backtest.compare import contenders
from optimizer.backtest.engine import BacktestInputs, BacktestSetup, run_backtest
from optimizer.site import GRAZ

START = datetime(2026, 6, 21, tzinfo=GRAZ.tz).astimezone(UTC)
BATTERY = HomeBatteryConfig(capacity_kwh=10.0, max_charge_w=3000.0, initial_soc=0.5)


def _day() -> BacktestInputs:
    """A clear day (6 kW peak at 13:00 local), 400 W of household, 1.5 kW 18-21 h."""
    end = START + timedelta(days=1)
    index = pd.date_range(START, end, freq="60s", inclusive="left")
    hour = (index.tz_convert(GRAZ.tz).hour + index.tz_convert(GRAZ.tz).minute / 60).to_numpy()
    pv = 6000.0 * np.clip(np.sin(np.pi * (hour - 5.5) / 15.0), 0.0, None) ** 1.5
    house = np.where((hour >= 18) & (hour < 21), 1500.0, 400.0)
    local = START.astimezone(GRAZ.tz)
    sessions = pd.DataFrame(
        {
            "arrival": [pd.Timestamp(local.replace(hour=9)).tz_convert(UTC)],
            "departure": [pd.Timestamp(local.replace(hour=22)).tz_convert(UTC)],
            "energy_kwh": [60.0],
        }
    )
    return BacktestInputs(
        pv_w=pd.Series(pv, index=index),
        house_w=pd.Series(house, index=index),
        sessions=sessions,
        start=START,
        end=end,
        site=GRAZ,
    )


def _battery_to_car_wh(contender: str, *, allowed: bool, battery: bool = True) -> float:
    by_name = {c.name: c for c in contenders(["solar_only", "min_solar"])}
    setup = BacktestSetup(home_battery=BATTERY if battery else None, battery_to_car=allowed)
    result = run_backtest(_day(), by_name[contender], setup)
    return result.totals.get("battery_to_car_wh", 0.0)


@pytest.fixture(scope="module")
def drained_wh() -> float:
    """What the charger's own exclusive-PV mode drains from the battery into the car."""
    return _battery_to_car_wh("device_exclusive_pv", allowed=False)


def test_the_chargers_own_pv_mode_drains_the_battery(drained_wh: float) -> None:
    assert drained_wh > 3000.0


@pytest.mark.parametrize("policy", ["solar_only", "min_solar"])
def test_policy_keeps_the_battery_out_of_the_car(policy: str, drained_wh: float) -> None:
    kept_out = _battery_to_car_wh(policy, allowed=False)
    allowed = _battery_to_car_wh(policy, allowed=True)
    assert allowed > 3000.0  # battery_to_car on: the charger's mode may drain it
    assert kept_out < 0.1 * min(drained_wh, allowed), (kept_out, allowed, drained_wh)


def test_without_a_battery_nothing_comes_from_one() -> None:
    assert _battery_to_car_wh("solar_only", allowed=False, battery=False) == 0.0

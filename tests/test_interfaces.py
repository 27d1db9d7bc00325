"""The controller's ports: value types behave as documented."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np

from optimizer.interfaces import ApiCall, ChargeState, PvForecast, Quota
from tests.conftest import make_reading

T0 = datetime(2026, 6, 21, 12, tzinfo=UTC)


def test_unknown_charge_state_codes_are_faults_not_errors() -> None:
    assert ChargeState.from_code(2) is ChargeState.CHARGING
    assert ChargeState.from_code(7) is ChargeState.FAULT
    assert ChargeState.from_code(-1) is ChargeState.FAULT
    assert not ChargeState.FAULT.plugged_in


def test_surplus_excludes_the_car_from_the_household() -> None:
    r = replace(make_reading(0), pv_power_w=3000.0, house_power_w=1880.0)  # car 1380 W
    assert r.household_w == 500.0
    assert r.surplus_w == 2500.0


def test_surplus_does_not_count_a_discharging_home_battery_as_sun() -> None:
    # household 500 W, car 1380 W, the battery gives 1200 W: the meter shows 680 W
    r = replace(make_reading(0), pv_power_w=1000.0, house_power_w=680.0, battery_w=1200.0)
    assert r.household_w == 0.0  # the meter's view
    assert r.surplus_w == 500.0  # PV - the household's own 500 W


def test_forecast_energy_integrates_power_over_time() -> None:
    ones = np.full(120, 1000.0)
    f = PvForecast(T0, 60.0, ones, ones / 2, ones, 0.0)
    assert f.energy_wh(T0 + timedelta(hours=1)) == 1000.0
    assert f.energy_wh(T0 + timedelta(hours=1), pessimistic=True) == 500.0
    assert f.energy_wh(T0 + timedelta(hours=5)) == 2000.0


def test_a_calls_quota_day_is_the_one_ending_at_the_answers_reset() -> None:
    our_time = datetime(2026, 6, 20, 23, 59, tzinfo=UTC)  # the server's clock read 00:01
    call = ApiCall(our_time, "A", "currentstatecharge", 200, 0.1, Quota(1000, 999, 86400 - 60))
    assert call.quota_day_anchor == datetime(2026, 6, 21, 11, 58, tzinfo=UTC)  # its middle
    for unusable in (None, 0.0, 2 * 86400.0):  # no reset, or one no quota day has
        quota = Quota(1000, 999, unusable)
        assert ApiCall(our_time, "A", "x", 200, 0.1, quota).quota_day_anchor == our_time
    assert ApiCall(our_time, "A", "x", None, 5.0).quota_day_anchor == our_time  # no answer

"""`estimate`: the policy's context from the last reading and the forecast, in numbers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.cycle.estimate import CLEAR_SKY_MIN_W, MAX_PV_SCALE, estimate, pv_now_w
from optimizer.cycle.forecast_cache import value_at
from optimizer.cycle.observation import LastReading
from optimizer.interfaces import ChargerReading, PvForecast
from optimizer.limits import ChargerLimits
from optimizer.policies.base import CommandedState, PolicyContext
from tests.conftest import FakeCharger, FakeClock, World

T0 = datetime(2024, 6, 1, 10, 0, tzinfo=UTC)
LIMITS = ChargerLimits()


def _reading(pv_w: float = 3000.0, household_w: float = 570.0, car_a: int = 1) -> ChargerReading:
    """A reading at T0 of a car drawing `car_a` A at 230 V (none: plugged in, paused)."""
    charger = FakeCharger(FakeClock(T0), World(pv_w=pv_w, household_w=household_w))
    charger.setpoint = car_a
    charger.running = car_a > 0
    return charger.read()


def _forecast(clear_sky: list[float], central: float = 1234.0) -> PvForecast:
    """Five-minute steps from T0 with the given clear sky (W) and a flat central value."""
    n = len(clear_sky)
    return PvForecast(
        start=T0,
        step_s=300.0,
        central_w=np.full(n, central),
        pessimistic_w=np.full(n, central),
        clear_sky_w=np.array(clear_sky, dtype=np.float64),
        variability=0.3,
    )


def _estimate(
    now: datetime, last: LastReading | None, forecast: PvForecast | None, *, fresh: bool
) -> PolicyContext:
    return estimate(
        now,
        last,
        forecast,
        fresh=fresh,
        device_id="dev1",
        limits=LIMITS,
        commanded=CommandedState(current_a=8),
        session_energy_wh=1500.0,
        target_wh=7000.0,
        departure=T0 + timedelta(hours=8),
        budget_nearly_out=True,
        timezone=UTC,
    )


def test_without_a_reading_nothing_is_known() -> None:
    ctx = _estimate(T0, None, _forecast([1000.0]), fresh=False)
    assert (ctx.pv_w, ctx.household_w, ctx.surplus_w) == (None, None, None)
    assert (ctx.plugged_in, ctx.charging, ctx.car_power_w, ctx.reading_age_s) == (
        None,
        False,
        0.0,
        None,
    )


def test_a_fresh_reading_gives_surplus_pv_minus_household_without_the_car() -> None:
    fc = _forecast([1000.0, 2000.0])
    last = LastReading.of(T0, _reading(pv_w=3000.0, household_w=570.0, car_a=1), fc)
    ctx = _estimate(T0 + timedelta(minutes=6), last, fc, fresh=True)
    assert ctx.pv_w == 3000.0  # fresh: the reading itself, no scaling
    assert ctx.household_w == 570.0
    assert ctx.surplus_w == 2430.0
    assert (ctx.plugged_in, ctx.charging, ctx.car_power_w) == (True, True, 230.0)
    assert ctx.reading_age_s == 360.0
    assert (ctx.session_energy_wh, ctx.target_wh, ctx.budget_nearly_out) == (1500.0, 7000.0, True)
    assert ctx.commanded == CommandedState(current_a=8)
    assert ctx.forecast is fc


def test_between_reads_pv_follows_the_clear_sky_ratio() -> None:
    fc = _forecast([1000.0, 1500.0])
    last = LastReading.of(T0, _reading(pv_w=2000.0, household_w=500.0, car_a=0), fc)
    assert last.clear_sky_w == 1000.0
    ctx = _estimate(T0 + timedelta(minutes=5), last, fc, fresh=False)
    assert ctx.pv_w == pytest.approx(3000.0)  # 2000 W x 1500/1000
    assert ctx.surplus_w == pytest.approx(2500.0)


def test_the_clear_sky_ratio_is_capped_at_three() -> None:
    fc = _forecast([100.0, 1000.0])
    last = LastReading.of(T0, _reading(pv_w=200.0, household_w=0.0, car_a=0), fc)
    ctx = _estimate(T0 + timedelta(minutes=5), last, fc, fresh=False)
    assert ctx.pv_w == pytest.approx(600.0)  # x3, not x10


def test_at_night_the_central_forecast_stands_in_for_a_ratio() -> None:
    fc = _forecast([40.0, 10.0], central=25.0)
    last = LastReading.of(T0, _reading(pv_w=300.0, household_w=0.0, car_a=0), fc)
    ctx = _estimate(T0 + timedelta(minutes=5), last, fc, fresh=False)
    assert ctx.pv_w == 25.0


def test_at_dawn_a_noisy_ratio_keeps_the_last_reading() -> None:
    fc = _forecast([40.0, 400.0])
    last = LastReading.of(T0, _reading(pv_w=300.0, household_w=0.0, car_a=0), fc)
    ctx = _estimate(T0 + timedelta(minutes=5), last, fc, fresh=False)
    assert ctx.pv_w == 300.0  # clear sky at the read below 50 W, now above: no scaling


def test_outside_the_forecast_the_reading_is_kept() -> None:
    fc = _forecast([1000.0])
    last = LastReading.of(T0, _reading(pv_w=2000.0, household_w=0.0, car_a=0), fc)
    ctx = _estimate(T0 + timedelta(hours=1), last, fc, fresh=False)
    assert ctx.pv_w == 2000.0


def _battery_estimate(battery_w: float, *, battery_to_car: bool) -> PolicyContext:
    """PV 3000 W, the household's own 600 W, the car drawing 2300 W, the battery at
    `battery_w` (+ discharging): the meter's household is 600 - battery_w."""
    reading = replace(
        _reading(pv_w=3000.0, household_w=600.0, car_a=10),
        battery_w=battery_w,
    )
    reading = replace(reading, house_power_w=reading.house_power_w - battery_w)
    return estimate(
        T0,
        LastReading.of(T0, reading, None),
        None,
        fresh=True,
        device_id="dev1",
        limits=LIMITS,
        commanded=CommandedState(),
        session_energy_wh=0.0,
        target_wh=None,
        departure=None,
        budget_nearly_out=False,
        timezone=UTC,
        battery_to_car=battery_to_car,
    )


@pytest.mark.parametrize("battery_w", [-1500.0, 0.0, 1200.0])
def test_the_battery_is_never_surplus_by_default(battery_w: float) -> None:
    ctx = _battery_estimate(battery_w, battery_to_car=False)
    assert ctx.household_w == pytest.approx(600.0)  # the household's own, whatever the battery
    assert ctx.surplus_w == pytest.approx(2400.0)  # PV - household: a charging battery's
    assert ctx.battery_w == battery_w  # power is the car's, a discharging one's is not


def test_battery_to_car_counts_the_discharge_as_surplus() -> None:
    assert _battery_estimate(1200.0, battery_to_car=True).surplus_w == pytest.approx(3600.0)
    assert _battery_estimate(-1500.0, battery_to_car=True).surplus_w == pytest.approx(2400.0)


def _pv_now_w_first_formulation(
    now: datetime, last: LastReading, forecast: PvForecast, *, fresh: bool
) -> float:
    """`pv_now_w` as first written: each series looked up on its own (`value_at`)."""
    pv = last.reading.pv_power_w
    if fresh:
        return pv
    cs_then = last.clear_sky_w
    cs_now = value_at(forecast.clear_sky_w, forecast, now)
    if cs_then is not None and cs_now is not None and cs_then >= CLEAR_SKY_MIN_W:
        return pv * min(cs_now / cs_then, MAX_PV_SCALE)
    central = value_at(forecast.central_w, forecast, now)
    if central is not None and cs_now is not None and cs_now < CLEAR_SKY_MIN_W:
        return central
    return pv


_power = st.floats(0.0, 10_000.0) | st.sampled_from([0.0, 49.999, 50.0, 50.001])


@settings(max_examples=300, deadline=None)
@given(
    clear=st.lists(_power, min_size=1, max_size=6),
    central=st.lists(_power, min_size=6, max_size=6),
    cs_then=st.none() | _power,
    pv_w=_power,
    offset_s=st.integers(-400, 2200) | st.floats(-400.0, 2200.0),
    fresh=st.booleans(),
)
def test_pv_now_is_the_first_formulation_to_the_bit(
    clear: list[float],
    central: list[float],
    cs_then: float | None,
    pv_w: float,
    offset_s: float,
    fresh: bool,
) -> None:
    fc = PvForecast(
        start=T0,
        step_s=300.0,
        central_w=np.array(central[: len(clear)], dtype=np.float64),
        pessimistic_w=np.zeros(len(clear)),
        clear_sky_w=np.array(clear, dtype=np.float64),
        variability=0.3,
    )
    last = LastReading(_reading(pv_w=pv_w), T0, True, True, cs_then)
    now = T0 + timedelta(seconds=offset_s)
    got = pv_now_w(now, last, fc, fresh=fresh)
    want = _pv_now_w_first_formulation(now, last, fc, fresh=fresh)
    assert type(got) is float and np.float64(got).view(np.int64) == np.float64(want).view(np.int64)

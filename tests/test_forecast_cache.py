"""The forecast cache: one forecaster call per `forecast_refresh_s`, failures as values."""

from __future__ import annotations

from datetime import timedelta

from optimizer.cycle.forecast_cache import ForecastCache, value_at
from optimizer.cycle.settings import ControllerSettings
from tests.conftest import T0, FakeForecaster, flat_forecast

SETTINGS = ControllerSettings(
    forecast_refresh_s=900.0, forecast_step_s=300.0, forecast_horizon_s=3600.0
)


def test_the_forecast_is_re_asked_only_every_refresh_interval() -> None:
    forecaster = FakeForecaster()
    cache = ForecastCache(forecaster, SETTINGS)
    now = T0 + timedelta(seconds=70)
    first = cache.at(now)
    assert first.error is None and first.forecast is not None
    assert first.forecast.start == T0  # aligned to the 300 s step
    assert len(first.forecast) == 12  # one hour of 5-minute steps
    assert cache.at(now + timedelta(seconds=899)).forecast is first.forecast
    assert forecaster.requests == 1
    assert cache.at(now + timedelta(seconds=900)).forecast is not first.forecast
    assert forecaster.requests == 2


def test_a_failed_refresh_keeps_the_old_forecast_and_returns_the_error() -> None:
    forecaster = FakeForecaster()
    cache = ForecastCache(forecaster, SETTINGS)
    old = cache.at(T0).forecast
    forecaster.fail = True
    failed = cache.at(T0 + timedelta(seconds=900))
    assert failed.forecast is old
    assert failed.error == "forecast failed: RuntimeError: no weather data"
    again = cache.at(T0 + timedelta(seconds=1000))  # not re-asked before the next refresh
    assert again.error is None and forecaster.requests == 2


def test_value_at_is_none_outside_the_forecast() -> None:
    fc = flat_forecast(T0, 2, central=1000.0)
    fc.central_w[1] = 2000.0
    assert value_at(fc.central_w, fc, T0 + timedelta(seconds=299)) == 1000.0
    assert value_at(fc.central_w, fc, T0 + timedelta(seconds=300)) == 2000.0
    assert value_at(fc.central_w, fc, T0 + timedelta(seconds=600)) is None
    assert value_at(fc.central_w, fc, T0 - timedelta(seconds=1)) is None

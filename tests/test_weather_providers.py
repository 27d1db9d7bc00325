"""Weather providers on fixtures in their published shapes (tests/data/weather/README.md).

No test touches the network: every provider runs over an `httpx.MockTransport`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import pytest

from adapters.weather.cache import DiskWeatherCache
from adapters.weather.forecast_solar import ForecastSolar
from adapters.weather.open_meteo import OpenMeteo
from adapters.weather.registry import build_provider, build_weather_source
from adapters.weather.solcast import Solcast
from optimizer.forecast.config import ForecastConfig
from optimizer.forecast.weather import WeatherQuotaExceeded, WeatherSourceError
from optimizer.site import GRAZ
from tests.conftest import FakeClock

DATA = Path(__file__).parent / "data" / "weather"
NOON_S = datetime(2024, 6, 1, 10, 0, tzinfo=UTC).timestamp()
Handler = Callable[[httpx.Request], httpx.Response]


def fixture(name: str) -> object:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def answering(body: object, status: int = 200, seen: list[httpx.Request] | None = None) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, json=body)

    return handle


def transport(handler: Handler) -> httpx.MockTransport:
    return httpx.MockTransport(handler)


def test_open_meteo_asks_the_array_plane_and_gives_utc_power_in_w() -> None:
    seen: list[httpx.Request] = []
    om = OpenMeteo(GRAZ, transport=transport(answering(fixture(
        "open_meteo_minutely15_2024-06-01.json"), seen=seen)))  # fmt: skip
    series = om.fetch(NOON_S)
    params = seen[0].url.params
    assert params["tilt"] == "30.0" and params["azimuth"] == "0.0"  # 180 (south) is 0 there
    assert params["timezone"] == "GMT"
    # the first quarter hour's mean stands at 23:52:30 UTC the day before
    assert series.times_s[0] == datetime(2024, 5, 31, 23, 52, 30, tzinfo=UTC).timestamp()
    power = series.at(np.asarray([NOON_S]))
    assert 5_000.0 < power.central_w[0] <= GRAZ.arrays[0].kwp * 1000.0  # ~900 W/m2 on 8 kWp
    night = series.at(np.asarray([datetime(2024, 6, 1, 1, tzinfo=UTC).timestamp()]))
    assert night.central_w[0] == 0.0
    assert series.pessimistic_w is None  # no quantile: the forecaster uses the climatology
    assert np.isnan(series.central_w).sum() == 1  # the null stays unknown
    assert np.isnan(series.at(np.asarray([NOON_S + 3 * 86_400.0])).central_w[0])


def test_forecast_solar_reads_local_times_and_keeps_its_rate_limit() -> None:
    fs = ForecastSolar(GRAZ, transport=transport(answering(fixture(
        "forecast_solar_estimate_2024-06-01.json"))))  # fmt: skip
    series = fs.fetch(NOON_S)
    # "2024-06-01 07:00:00" in Europe/Vienna (CEST) is 05:00 UTC
    watts = fixture("forecast_solar_estimate_2024-06-01.json")["result"]["watts"]  # type: ignore[index]
    seven = datetime(2024, 6, 1, 5, tzinfo=UTC).timestamp()
    assert series.at(np.asarray([seven])).central_w[0] == watts["2024-06-01 07:00:00"]
    assert series.times_s[0] == datetime(2024, 6, 1, 3, 12, 9, tzinfo=UTC).timestamp()
    assert fs.budget.left(NOON_S) == 11


def test_forecast_solar_quota_refuses_the_13th_call_before_the_network() -> None:
    seen: list[httpx.Request] = []
    fs = ForecastSolar(GRAZ, transport=transport(answering(fixture(
        "forecast_solar_estimate_2024-06-01.json"), seen=seen)))  # fmt: skip
    for _ in range(12):
        fs.fetch(NOON_S)
    with pytest.raises(WeatherQuotaExceeded, match="12 per 1 h"):
        fs.fetch(NOON_S + 60.0)
    assert len(seen) == 12
    fs.fetch(NOON_S + 3600.0)  # the window slid by
    assert len(seen) == 13


def test_forecast_solar_429_is_one_line_and_spends_the_hour() -> None:
    fs = ForecastSolar(
        GRAZ, transport=transport(answering(fixture("forecast_solar_429.json"), 429))
    )
    with pytest.raises(WeatherSourceError) as error:
        fs.fetch(NOON_S)
    assert str(error.value) == "forecast_solar: rate limited by api.forecast.solar (HTTP 429)"
    assert fs.budget.left(NOON_S + 60.0) == 0


def test_solcast_keeps_p10_in_w_and_never_shows_the_key() -> None:
    seen: list[httpx.Request] = []
    sc = Solcast("abcd-1234", "SECRET-KEY", transport=transport(answering(fixture(
        "solcast_rooftop_forecasts_2024-06-01.json"), seen=seen)))  # fmt: skip
    series = sc.fetch(NOON_S)
    assert seen[0].headers["Authorization"] == "Bearer SECRET-KEY"
    assert seen[0].url.path == "/rooftop_sites/abcd-1234/forecasts"
    # period ending 00:30 UTC is placed at 00:15
    assert series.times_s[0] == datetime(2024, 6, 1, 0, 15, tzinfo=UTC).timestamp()
    assert series.pessimistic_w is not None
    assert np.all(series.pessimistic_w <= series.central_w)
    assert series.central_w.max() == pytest.approx(6000.0, rel=0.01)  # kW -> W
    refused = Solcast("abcd-1234", "SECRET-KEY", transport=transport(answering({}, 401)))
    with pytest.raises(WeatherSourceError) as error:
        refused.fetch(NOON_S)
    assert "SECRET" not in str(error.value) and "401" in str(error.value)


def test_solcast_budget_is_ten_a_day() -> None:
    body = fixture("solcast_rooftop_forecasts_2024-06-01.json")
    sc = Solcast("abcd-1234", "k", transport=transport(answering(body)))
    for i in range(10):
        sc.fetch(NOON_S + i)
    with pytest.raises(WeatherQuotaExceeded):
        sc.fetch(NOON_S + 3600.0)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ("<html>Bad gateway</html>", 200, "not JSON: '<html>Bad gateway</html>'"),
        ({"forecasts": "nope"}, 200, "unexpected answer: forecasts"),
        ({"forecasts": []}, 200, "fewer than 2 forecasts"),
        ({}, 503, "answered HTTP 503"),
    ],
)
def test_garbage_is_one_line(body: object, status: int, message: str) -> None:
    sc = Solcast("abcd-1234", "k", transport=transport(answering(body, status)))
    with pytest.raises(WeatherSourceError) as error:
        sc.fetch(NOON_S)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_unreachable_service_is_one_line() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    om = OpenMeteo(GRAZ, transport=transport(refuse))
    reason = r"cannot reach api\.open-meteo\.com: ConnectError"
    with pytest.raises(WeatherSourceError, match=reason):
        om.fetch(NOON_S)


def test_the_feed_keeps_the_last_forecast_logs_once_then_falls_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    answers: list[httpx.Response] = [httpx.Response(200, json=fixture(
        "solcast_rooftop_forecasts_2024-06-01.json"))]  # fmt: skip

    def handle(request: httpx.Request) -> httpx.Response:
        return answers.pop(0) if answers else httpx.Response(500)

    clock = FakeClock()
    config = ForecastConfig(
        provider="solcast", refresh_min=180, solcast={"resource_id": "abcd-1234"}
    )
    feed = build_weather_source(config.model_copy(update={"cache_dir": str(tmp_path)}), GRAZ,
                                clock, {"SOLCAST_API_KEY": "k"}, transport(handle))  # fmt: skip
    assert feed is not None
    at = np.asarray([clock.now().timestamp() + 3600.0])
    assert feed.pv_power(at) is None  # nothing fetched yet: only the refresh job asks
    feed.refresh(clock.now())
    first = feed.pv_power(at)
    assert first is not None and first.central_w[0] > 0
    with caplog.at_level(logging.WARNING):
        for _ in range(5):
            clock.advance(4 * 3600.0)
            feed.refresh(clock.now())
            kept = feed.pv_power(at)
            assert kept is not None and kept.central_w[0] == first.central_w[0]
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert (
        "solcast" in warnings[0].getMessage()
        and "keeping the last forecast" in warnings[0].getMessage()
    )
    clock.advance(24 * 3600.0)
    assert feed.pv_power(at) is None  # too old: the offline default
    # the calls and the forecast survived on disk for the next start
    saved = json.loads((tmp_path / "solcast.json").read_text())
    assert len(saved["calls"]) >= 1 and saved["series"]["source"] == "solcast"


def test_a_restart_does_not_spend_the_quota_again(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []
    body = fixture("solcast_rooftop_forecasts_2024-06-01.json")
    config = ForecastConfig(provider="solcast", refresh_min=180, cache_dir=str(tmp_path),
                            solcast={"resource_id": "abcd-1234"})  # fmt: skip
    clock = FakeClock()
    for _ in range(3):
        feed = build_weather_source(config, GRAZ, clock, {"SOLCAST_API_KEY": "k"},
                                    transport(answering(body, seen=seen)))  # fmt: skip
        assert feed is not None
        feed.refresh(clock.now())
        assert feed.pv_power(np.asarray([clock.now().timestamp()])) is not None
    assert len(seen) == 1  # the cached forecast was fresh: no second call
    cache = DiskWeatherCache(tmp_path)
    assert len(cache.load("solcast")[1]) == 1


def test_registry_offline_is_nothing_and_solcast_needs_its_key() -> None:
    assert build_provider(ForecastConfig(), GRAZ, {}) is None
    config = ForecastConfig(
        provider="solcast", refresh_min=180, solcast={"resource_id": "abcd-1234"}
    )
    with pytest.raises(WeatherSourceError, match="set SOLCAST_API_KEY"):
        build_provider(config, GRAZ, {})


def test_forecast_solar_sums_arrays_and_never_half_asks() -> None:
    seen: list[httpx.Request] = []
    east_west = GRAZ.model_copy(update={"arrays": (
        GRAZ.arrays[0].model_copy(update={"azimuth_deg": 90.0, "kwp": 4.0}),
        GRAZ.arrays[0].model_copy(update={"azimuth_deg": 270.0, "kwp": 4.0}),
    )})  # fmt: skip
    body = fixture("forecast_solar_estimate_2024-06-01.json")
    fs = ForecastSolar(east_west, transport=transport(answering(body, seen=seen)))
    series = fs.fetch(NOON_S)
    assert [r.url.path.split("/")[-2:] for r in seen] == [["-90", "4"], ["90", "4"]]
    assert series.central_w.max() == pytest.approx(2 * 6500.0 * np.sin(7 * np.pi / 15), abs=2)
    for _ in range(5):
        fs.fetch(NOON_S)
    with pytest.raises(WeatherQuotaExceeded):
        fs.fetch(NOON_S)
    assert len(seen) == 12


def test_an_unwritable_cache_is_logged_once_and_a_bad_file_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    cache = DiskWeatherCache(blocked / "weather")
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            cache.save("solcast", None, [1.0])
    assert len(caplog.records) == 1 and "cannot write the cache" in caplog.records[0].getMessage()
    (tmp_path / "solcast.json").write_text("{garbage")
    assert DiskWeatherCache(tmp_path).load("solcast") == (None, [])

"""Open-Meteo (`/v1/forecast`, no key): tilted irradiance per array, turned into PV power here.

    GET https://api.open-meteo.com/v1/forecast?latitude=47.05&longitude=15.44
        &minutely_15=global_tilted_irradiance,temperature_2m&tilt=30&azimuth=0
        &timezone=GMT&forecast_days=2

One call per array (the service takes one plane per call; Open-Meteo's azimuth is
0 = south, -90 = east, ours 180 = south). `minutely_15` values are the mean of the
preceding 15 minutes (Open-Meteo's documentation, "Weather variables"), so each is
placed at the middle of its quarter hour; null values are NaN. The plane irradiance
becomes AC power through the project's one PV model (`optimizer.pvmodel.pv_from_poa`:
Faiman cell temperature at the forecast air temperature, PVWatts, the inverter's limit).
Free for non-commercial use (10,000 calls a day); the budget here is 100 a day and the
forecast is asked again every `refresh_s` (Open-Meteo updates its models every 15 min at
best).
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from adapters.weather.http import Answer
from adapters.weather.per_array import PerArrayProvider
from optimizer.site import ArrayConfig

URL = "https://api.open-meteo.com/v1/forecast"
QUARTER_S = 900.0
DAILY_CALLS = 100


class Minutely15(Answer):
    time: list[str]
    global_tilted_irradiance: list[float | None]
    temperature_2m: list[float | None] | None = None


class OpenMeteoAnswer(Answer):
    utc_offset_seconds: int = 0
    minutely_15: Minutely15


class OpenMeteo(PerArrayProvider):
    """Open-Meteo's 15-minute tilted irradiance for each array, as the site's PV power (W)."""

    name = "open_meteo"
    calls_per_window = DAILY_CALLS
    window_s = 86_400.0
    outside_w = np.nan

    def array_power(self, array: ArrayConfig, now_s: float) -> tuple[np.ndarray, np.ndarray]:
        params: dict[str, str | float] = {
            "latitude": self.site.latitude,
            "longitude": self.site.longitude,
            "minutely_15": "global_tilted_irradiance,temperature_2m",
            "tilt": array.tilt_deg,
            "azimuth": south_zero_azimuth(array.azimuth_deg),
            "timezone": "GMT",
            "forecast_days": 2,
        }
        answer = self._http.parse(OpenMeteoAnswer, self._http.get_json(URL, now_s, params=params))
        rows = answer.minutely_15
        if len(rows.global_tilted_irradiance) != len(rows.time) or len(rows.time) < 2:
            raise self._http.error("unexpected answer: minutely_15 arrays of unequal length")
        try:
            starts = [datetime.fromisoformat(t) for t in rows.time]
        except ValueError:
            raise self._http.error("unexpected answer: minutely_15.time is not ISO 8601") from None
        offset = answer.utc_offset_seconds
        times = (
            np.asarray([_naive_epoch(t) - offset for t in starts], dtype=np.float64) - QUARTER_S / 2
        )
        poa = np.asarray(
            [np.nan if v is None else v for v in rows.global_tilted_irradiance], dtype=np.float64
        )
        temps = rows.temperature_2m or [None] * len(rows.time)
        temp = np.asarray([20.0 if v is None else v for v in temps], dtype=np.float64)
        return times, _pv_w(array, times, poa, temp)


def south_zero_azimuth(azimuth_deg: float) -> float:
    """Ours (pvlib: 180 = south, clockwise from north) as Open-Meteo's and forecast.solar's
    (0 = south, -90 = east, 90 = west)."""
    return ((azimuth_deg - 180.0 + 180.0) % 360.0) - 180.0


def _naive_epoch(t: datetime) -> float:
    """Epoch seconds of a naive time read as UTC (Open-Meteo's times carry no offset)."""
    return (t - datetime(1970, 1, 1)).total_seconds()


def _pv_w(
    array: ArrayConfig, times_s: np.ndarray, poa: np.ndarray, temp_c: np.ndarray
) -> np.ndarray:
    """AC power (W) of `array` from its plane irradiance, by the project's PV model."""
    import pandas as pd

    from optimizer.pvmodel import pv_from_poa

    index = pd.to_datetime(times_s, unit="s", utc=True)
    ac = pv_from_poa(array, pd.Series(poa, index=index), pd.Series(temp_c, index=index))
    return np.where(np.isnan(poa), np.nan, ac.to_numpy(dtype=np.float64))

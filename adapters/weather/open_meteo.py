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

`answer_power` turns one answer into an array's power wherever it comes from (this
provider, or an archive of answers replayed by a backtest): the `minutely_15` block or
the `hourly` one (values the mean of the preceding hour, placed at its middle), with
`global_tilted_irradiance` (the array's plane, as asked) or `shortwave_radiation` (GHI,
split by Erbs and transposed onto the plane by `optimizer.pvmodel.plane_from_ghi`).
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from adapters.weather.http import Answer
from adapters.weather.per_array import PerArrayProvider
from optimizer.site import ArrayConfig, SiteConfig

URL = "https://api.open-meteo.com/v1/forecast"
QUARTER_S = 900.0
HOUR_S = 3600.0
DAILY_CALLS = 100


class Block(Answer):
    """One time block of an answer (`minutely_15` or `hourly`): times and variables."""

    time: list[str]
    global_tilted_irradiance: list[float | None] | None = None
    shortwave_radiation: list[float | None] | None = None
    temperature_2m: list[float | None] | None = None


class OpenMeteoAnswer(Answer):
    utc_offset_seconds: int = 0
    minutely_15: Block | None = None
    hourly: Block | None = None


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
        try:
            return answer_power(answer, array, self.site)
        except ValueError as exc:
            raise self._http.error(f"unexpected answer: {exc}") from None


def answer_power(
    answer: OpenMeteoAnswer, array: ArrayConfig, site: SiteConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Times (epoch s, the middle of each period) and AC power (W) of `array` from one
    answer (see the module docstring); ValueError (one line) for an unusable answer.

    `global_tilted_irradiance` is taken as the irradiance on `array`'s plane (the
    answer does not say which plane it was asked for); `shortwave_radiation` is
    transposed onto it. Null values are NaN; a missing temperature is 20 degC.
    """
    rows, period_s, name = _block(answer)
    n = len(rows.time)
    if n < 2:
        raise ValueError(f"{name}: fewer than two times")
    if rows.global_tilted_irradiance is not None:
        values, ghi = rows.global_tilted_irradiance, False
    elif rows.shortwave_radiation is not None:
        values, ghi = rows.shortwave_radiation, True
    else:
        raise ValueError(f"{name}: neither global_tilted_irradiance nor shortwave_radiation")
    if len(values) != n or (rows.temperature_2m is not None and len(rows.temperature_2m) != n):
        raise ValueError(f"{name}: arrays of unequal length")
    try:
        starts = [datetime.fromisoformat(t) for t in rows.time]
    except ValueError:
        raise ValueError(f"{name}.time is not ISO 8601") from None
    offset = answer.utc_offset_seconds
    times = np.asarray([_naive_epoch(t) - offset for t in starts], dtype=np.float64) - period_s / 2
    if not bool(np.all(np.diff(times) > 0)):
        raise ValueError(f"{name}.time is not increasing")
    irradiance = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
    temps = rows.temperature_2m or [None] * n
    temp = np.asarray([20.0 if v is None else v for v in temps], dtype=np.float64)
    poa = _plane_from_ghi(site, array, times, irradiance) if ghi else irradiance
    return times, _pv_w(array, times, poa, temp)


def _block(answer: OpenMeteoAnswer) -> tuple[Block, float, str]:
    """The answer's `minutely_15` block if it has one, else its `hourly` block."""
    if answer.minutely_15 is not None:
        return answer.minutely_15, QUARTER_S, "minutely_15"
    if answer.hourly is not None:
        return answer.hourly, HOUR_S, "hourly"
    raise ValueError("neither minutely_15 nor hourly")


def _plane_from_ghi(
    site: SiteConfig, array: ArrayConfig, times_s: np.ndarray, ghi: np.ndarray
) -> np.ndarray:
    """Irradiance on `array`'s plane (W/m2) from GHI (NaN stays NaN)."""
    import pandas as pd

    from optimizer.pvmodel import plane_from_ghi

    index = pd.to_datetime(times_s, unit="s", utc=True)
    poa = plane_from_ghi(site, array, index, np.nan_to_num(ghi))
    return np.where(np.isnan(ghi), np.nan, poa)


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

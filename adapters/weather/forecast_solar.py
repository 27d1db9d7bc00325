"""forecast.solar (`/estimate/:lat/:lon/:dec/:az/:kwp`, free without a key): PV power per array.

    GET https://api.forecast.solar/estimate/47.05/15.44/30/0/8
    {"result": {"watts": {"2024-06-01 05:12:00": 0, "2024-06-01 06:00:00": 410, ...},
                "watt_hours_period": {...}, "watt_hours": {...}, "watt_hours_day": {...}},
     "message": {"code": 0, "type": "success", "text": "",
                 "info": {"timezone": "Europe/Vienna", ...},
                 "ratelimit": {"period": 3600, "limit": 12, "remaining": 11}}}

`watts` are instantaneous estimates (W) at local times of `message.info.timezone`
(the documentation's "Estimate" page); they are interpolated linearly. One call per
array (the free plan takes one plane; azimuth -180..180, 0 = south). The free plan
allows 12 calls an hour per IP: the budget is 12 an hour, and `ratelimit.remaining`
of 0 (or a 429) spends the rest of the hour.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from adapters.weather.http import Answer
from adapters.weather.open_meteo import south_zero_azimuth
from adapters.weather.per_array import PerArrayProvider
from optimizer.site import ArrayConfig

URL = "https://api.forecast.solar/estimate"
HOURLY_CALLS = 12


class Result(Answer):
    watts: dict[str, float]


class Info(Answer):
    timezone: str


class RateLimit(Answer):
    remaining: int | None = None


class Message(Answer):
    info: Info
    ratelimit: RateLimit | None = None


class ForecastSolarAnswer(Answer):
    result: Result
    message: Message


class ForecastSolar(PerArrayProvider):
    """forecast.solar's estimate of each array, summed (W; 0 W outside an answer's span)."""

    name = "forecast_solar"
    calls_per_window = HOURLY_CALLS
    window_s = 3600.0
    outside_w = 0.0

    def array_power(self, array: ArrayConfig, now_s: float) -> tuple[np.ndarray, np.ndarray]:
        s = self.site
        url = (
            f"{URL}/{s.latitude:.4f}/{s.longitude:.4f}/{array.tilt_deg:g}/"
            f"{south_zero_azimuth(array.azimuth_deg):g}/{array.kwp:g}"
        )
        answer = self._http.parse(ForecastSolarAnswer, self._http.get_json(url, now_s))
        limit = answer.message.ratelimit
        if limit is not None and limit.remaining is not None and limit.remaining <= 0:
            self.budget.exhaust(now_s)
        try:
            zone = ZoneInfo(answer.message.info.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise self._http.error(
                f"unexpected answer: unknown time zone {answer.message.info.timezone!r}"
            ) from None
        try:
            points = sorted(
                (datetime.fromisoformat(k).replace(tzinfo=zone).timestamp(), float(w))
                for k, w in answer.result.watts.items()
            )
        except ValueError:
            raise self._http.error("unexpected answer: result.watts has a bad time") from None
        if len(points) < 2:
            raise self._http.error("unexpected answer: result.watts has fewer than 2 times")
        times = np.asarray([p[0] for p in points], dtype=np.float64)
        watts = np.clip(np.asarray([p[1] for p in points], dtype=np.float64), 0.0, None)
        return times, watts

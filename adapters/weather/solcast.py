"""Solcast rooftop sites (`/rooftop_sites/:id/forecasts`, key from SOLCAST_API_KEY): PV, p10, p90.

    GET https://api.solcast.com.au/rooftop_sites/abcd-1234/forecasts?format=json&hours=48
    Authorization: Bearer <key>
    {"forecasts": [{"pv_estimate": 2.1, "pv_estimate10": 1.4, "pv_estimate90": 2.6,
                    "period_end": "2024-06-01T10:30:00.0000000Z", "period": "PT30M"}, ...]}

`pv_estimate*` are the mean power (kW) over the period ending at `period_end`
(Solcast's API documentation, "Rooftop Sites: Forecasts"); each is placed at the
middle of its period. `pv_estimate10` is the provider's own low quantile, which the
forecaster keeps. The hobbyist plan allows 10 calls a day: the budget is 10 a day.
The key goes in the Authorization header and never into a message or a log line.
"""

from __future__ import annotations

import re
from datetime import datetime

import httpx
import numpy as np

from adapters.weather.http import Answer, WeatherHttp
from optimizer.forecast.weather import CallBudget, WeatherSeries

URL = "https://api.solcast.com.au/rooftop_sites"
DAILY_CALLS = 10
PERIOD = re.compile(r"^PT(\d+)M$")
FRACTION = re.compile(r"\.(\d{1,6})\d*")
"""Solcast writes 7 fractional digits; Python reads at most 6."""


class Period(Answer):
    pv_estimate: float
    pv_estimate10: float | None = None
    pv_estimate90: float | None = None
    period_end: str
    period: str


class SolcastAnswer(Answer):
    forecasts: list[Period]


class Solcast:
    """A Solcast rooftop site's PV forecast (W), with its p10 as the pessimistic quantile."""

    name = "solcast"

    def __init__(
        self,
        resource_id: str,
        api_key: str,
        *,
        refresh_s: float = 3 * 3600.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._url = f"{URL}/{resource_id}/forecasts"
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self.refresh_s = refresh_s
        self.budget = CallBudget(DAILY_CALLS, 86_400.0)
        self._http = WeatherHttp(self.name, self.budget, transport)

    def fetch(self, now_s: float) -> WeatherSeries:
        data = self._http.get_json(
            self._url, now_s, params={"format": "json", "hours": 48}, headers=self._headers
        )
        rows = self._http.parse(SolcastAnswer, data).forecasts
        if len(rows) < 2:
            raise self._http.error("unexpected answer: fewer than 2 forecasts")
        times = np.asarray([self._middle(r) for r in rows], dtype=np.float64)
        order = np.argsort(times)
        central = np.asarray([r.pv_estimate for r in rows], dtype=np.float64) * 1000.0
        low = np.asarray(
            [r.pv_estimate if r.pv_estimate10 is None else r.pv_estimate10 for r in rows],
            dtype=np.float64,
        )
        return WeatherSeries(
            self.name,
            now_s,
            times[order],
            np.clip(central[order], 0.0, None),
            np.clip(low[order] * 1000.0, 0.0, None),
        )

    def _middle(self, row: Period) -> float:
        """Epoch seconds of the middle of the row's period."""
        match = PERIOD.match(row.period)
        text = FRACTION.sub(r".\1", row.period_end).replace("Z", "+00:00")
        try:
            end = datetime.fromisoformat(text)
        except ValueError:
            end = None
        if match is None or end is None or end.tzinfo is None:
            raise self._http.error(
                f"unexpected answer: period {row.period!r} ending {row.period_end!r}"
            )
        return end.timestamp() - int(match.group(1)) * 30.0

"""Nord Pool: day-ahead prices of the Nordic, Baltic and other areas it runs.

The public data portal's JSON (the one its web page reads since the 2024
portal change; no key): `GET https://dataportal-api.nordpoolgroup.com/api/
DayAheadPrices?date=YYYY-MM-DD&market=DayAhead&deliveryArea=SE3&currency=EUR`
for one CET delivery day. Answer: `{"deliveryDateCET": "2025-06-01",
"version": 3, "updatedAt": ..., "deliveryAreas": ["SE3"], "market":
"DayAhead", "multiAreaEntries": [{"deliveryStart": "2025-05-31T22:00:00Z",
"deliveryEnd": "2025-05-31T23:00:00Z", "entryPerArea": {"SE3": 41.27}}],
"currency": "EUR", "exchangeRate": 1, "areaStates": [{"state": "Final",
"areas": ["SE3"]}]}`, prices in currency/MWh; HTTP 204 with no body while
the day is not published. Nord Pool's terms forbid heavy automatic
extraction: the feed asks once a day per delivery day and caches.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx

from adapters.prices.http import Answer, HttpProvider
from optimizer.prices.port import PriceSource, day_ahead_publication
from optimizer.prices.retail import eur_per_mwh_to_kwh
from optimizer.prices.series import PriceSeries, PriceSeriesError, concat

URL = "https://dataportal-api.nordpoolgroup.com/api/DayAheadPrices"
CET = ZoneInfo("Europe/Oslo")
PUBLISHED_AT = time(13, 15)


class NordPoolEntry(Answer):
    deliveryStart: datetime
    deliveryEnd: datetime
    entryPerArea: dict[str, float]


class NordPoolAnswer(Answer):
    currency: str
    multiAreaEntries: list[NordPoolEntry]


class NordPool(HttpProvider, PriceSource):
    """Day-ahead prices (EUR/kWh) of delivery area `area` (e.g. "SE3", "NO1", "FI")."""

    def __init__(self, area: str, *, transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(f"nordpool-{area.lower()}", transport)
        self.area = area

    def publishes_at(self, day: date) -> datetime:
        return day_ahead_publication(day, PUBLISHED_AT, CET)

    def prices(self, start: datetime, end: datetime) -> PriceSeries:
        first = start.astimezone(CET).date()
        last = (end - timedelta(microseconds=1)).astimezone(CET).date()
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        return concat([self._day(day).window(start, end) for day in days])

    def _day(self, day: date) -> PriceSeries:
        params = {
            "date": day.isoformat(),
            "market": "DayAhead",
            "deliveryArea": self.area,
            "currency": "EUR",
        }
        response = self.request("GET", URL, params=params)
        if response.status_code == 204:
            return PriceSeries.empty()
        answer = self.parse(NordPoolAnswer, self.json(response))
        if answer.currency != "EUR":
            raise self.error(f"prices in {answer.currency}, not EUR")
        entries = answer.multiAreaEntries
        if any(self.area not in e.entryPerArea for e in entries):
            raise self.error(f"no price for area {self.area} in the answer", retryable=False)
        try:
            return PriceSeries.from_slots(
                [e.deliveryStart.astimezone(UTC) for e in entries],
                [eur_per_mwh_to_kwh(e.entryPerArea[self.area]) for e in entries],
                interval=entries[0].deliveryEnd - entries[0].deliveryStart if entries else None,
                source=f"Nord Pool day-ahead {self.area}",
            )
        except PriceSeriesError as exc:
            raise self.error(f"unusable prices: {exc}") from None

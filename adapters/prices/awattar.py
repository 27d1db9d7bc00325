"""aWATTar (Austria, Germany): EPEX day-ahead prices as its HOURLY tariff bills them.

`GET https://api.awattar.{at,de}/v1/marketdata?start=MS&end=MS` (epoch
milliseconds, no key; aWATTar asks clients to stay under 100 calls a day).
Answer: `{"object": "list", "data": [{"start_timestamp": MS, "end_timestamp":
MS, "marketprice": 42.09, "unit": "Eur/MWh"}], "url": "/at/v1/marketdata"}`
(aWATTar's API documentation). Prices are spot, EUR/MWh, without aWATTar's
markup, fees or VAT: set `[prices.retail]`. Tomorrow is there from about
14:00 CET.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import httpx

from adapters.prices.http import Answer, HttpProvider
from optimizer.prices.port import PriceSource, day_ahead_publication
from optimizer.prices.retail import eur_per_mwh_to_kwh
from optimizer.prices.series import PriceSeries, PriceSeriesError

URL = "https://api.awattar.{country}/v1/marketdata"
VIENNA = ZoneInfo("Europe/Vienna")
PUBLISHED_AT = time(14, 0)
UNITS = ("eur/mwh", "eur/kwh")


class AwattarEntry(Answer):
    start_timestamp: int
    end_timestamp: int
    marketprice: float
    unit: str


class AwattarAnswer(Answer):
    data: list[AwattarEntry]


class Awattar(HttpProvider, PriceSource):
    """aWATTar's market data for `country` "at" or "de" (spot, EUR/kWh)."""

    def __init__(
        self, country: Literal["at", "de"] = "at", *, transport: httpx.BaseTransport | None = None
    ) -> None:
        super().__init__(f"awattar-{country}", transport)
        self.url = URL.format(country=country)

    def publishes_at(self, day: date) -> datetime:
        return day_ahead_publication(day, PUBLISHED_AT, VIENNA)

    def prices(self, start: datetime, end: datetime) -> PriceSeries:
        params = {"start": str(_ms(start)), "end": str(_ms(end))}
        answer = self.parse(AwattarAnswer, self.json(self.request("GET", self.url, params=params)))
        starts, values = [], []
        for entry in answer.data:
            unit = entry.unit.lower()
            if unit not in UNITS:
                raise self.error(f"unknown unit {entry.unit!r} (expected Eur/MWh)")
            begin = datetime.fromtimestamp(entry.start_timestamp / 1000, UTC)
            if start <= begin < end:
                starts.append(begin)
                per_kwh = entry.marketprice if unit == "eur/kwh" else None
                values.append(
                    per_kwh if per_kwh is not None else eur_per_mwh_to_kwh(entry.marketprice)
                )
        try:
            return PriceSeries.from_slots(
                starts, values, interval=_interval(answer.data), source=f"aWATTar {self.url}"
            )
        except PriceSeriesError as exc:
            raise self.error(f"unusable prices: {exc}") from None


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _interval(entries: list[AwattarEntry]) -> timedelta:
    """The length of the first entry (an hour when there is none)."""
    if not entries:
        return timedelta(hours=1)
    return timedelta(milliseconds=entries[0].end_timestamp - entries[0].start_timestamp)

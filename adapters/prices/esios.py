"""Spain's PVPC from ESIOS (Red Eléctrica): the regulated household price, per hour or quarter.

`GET https://api.esios.ree.es/indicators/{id}?start_date=...&end_date=...` with a
personal token (`x-api-key` header; ask REE for one: consultasios@ree.es),
from the environment variable `ESIOS_API_TOKEN`. Indicator 1001 is the PVPC
2.0TD energy term (EUR/MWh, access tolls and charges included, taxes not),
one value per zone (`geo_id` 8741 Peninsula, 8742 Canaries, 8743 Balearics,
8744 Ceuta, 8745 Melilla); indicator 1739 is the price paid for surplus
under simplified compensation (one value, `geo_id` 3 Spain).

The answer's shape (`{"indicator": {"id", "name", "magnitud", "tiempo", "geos",
"values": [{"value", "datetime", "datetime_utc", "tz_time", "geo_id",
"geo_name"}]}}`) is the one recorded in the `aiopvpc` repository's test files
(`tests/api_examples/PRICES_ESIOS_1001_*.json`, `PRICES_ESIOS_1739_*.json`);
`tests/data/prices/` keeps our own fixtures in that shape. REE publishes the
next day at about 20:15 Europe/Madrid; the feed asks from 20:30.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx

from adapters.prices.http import Answer, HttpProvider
from optimizer.prices.port import PriceSource, day_ahead_publication
from optimizer.prices.retail import eur_per_mwh_to_kwh
from optimizer.prices.series import PriceSeries, PriceSeriesError

BASE_URL = "https://api.esios.ree.es/indicators"
IMPORT_INDICATOR = 1001
EXPORT_INDICATOR = 1739
GEO_IDS = {"peninsula": 8741, "canarias": 8742, "baleares": 8743, "ceuta": 8744, "melilla": 8745}
SPAIN_GEO_ID = 3
MADRID = ZoneInfo("Europe/Madrid")
PUBLISHED_AT = time(20, 30)


class EsiosValue(Answer):
    value: float
    datetime_utc: datetime
    geo_id: int


class EsiosIndicator(Answer):
    id: int
    name: str
    values: list[EsiosValue]


class EsiosAnswer(Answer):
    indicator: EsiosIndicator


class EsiosPvpc(HttpProvider, PriceSource):
    """PVPC import prices (indicator 1001, one zone) and the surplus price (1739)."""

    def __init__(
        self,
        token: str,
        zone: str = "peninsula",
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__("esios-pvpc", transport)
        if zone not in GEO_IDS:
            raise ValueError(f"unknown PVPC zone {zone!r}; one of {', '.join(GEO_IDS)}")
        self._token = token
        self.geo_id = GEO_IDS[zone]

    def publishes_at(self, day: date) -> datetime:
        return day_ahead_publication(day, PUBLISHED_AT, MADRID)

    def prices(self, start: datetime, end: datetime) -> PriceSeries:
        imports = self._indicator(IMPORT_INDICATOR, self.geo_id, start, end)
        exports = self._indicator(EXPORT_INDICATOR, SPAIN_GEO_ID, start, end)
        starts = sorted(imports)
        source = f"ESIOS (REE) indicators {IMPORT_INDICATOR}/{EXPORT_INDICATOR}, geo {self.geo_id}"
        export_values = [exports[s] for s in starts] if all(s in exports for s in starts) else None
        try:
            return PriceSeries.from_slots(
                starts, [imports[s] for s in starts], export_values, source=source
            )
        except PriceSeriesError as exc:
            raise self.error(f"unusable prices: {exc}") from None

    def _indicator(
        self, indicator: int, geo_id: int, start: datetime, end: datetime
    ) -> dict[datetime, float]:
        local_start = start.astimezone(MADRID)
        local_end = (end - timedelta(seconds=1)).astimezone(MADRID)
        response = self.request(
            "GET",
            f"{BASE_URL}/{indicator}",
            params={
                "start_date": local_start.strftime("%Y-%m-%dT%H:%M"),
                "end_date": local_end.strftime("%Y-%m-%dT%H:%M"),
            },
            headers={"Accept": "application/json", "x-api-key": self._token},
        )
        answer = self.parse(EsiosAnswer, self.json(response))
        if answer.indicator.id != indicator:
            raise self.error(f"asked for indicator {indicator}, got {answer.indicator.id}")
        prices: dict[datetime, float] = {}
        for item in answer.indicator.values:
            when = item.datetime_utc.astimezone(UTC)
            if item.geo_id == geo_id and start <= when < end:
                if when in prices:
                    raise self.error(f"indicator {indicator}: {when.isoformat()} appears twice")
                prices[when] = eur_per_mwh_to_kwh(item.value)
        return prices

"""ENTSO-E Transparency Platform: day-ahead prices of any bidding zone (document A44).

`GET https://web-api.tp.entsoe.eu/api?documentType=A44&in_Domain=EIC&out_Domain=EIC
&periodStart=yyyyMMddHHmm&periodEnd=yyyyMMddHHmm&securityToken=TOKEN`, the token
from the environment variable `ENTSOE_API_KEY` (never logged: errors name the
host only). The answer is a `Publication_MarketDocument` (namespace
`urn:iec62325.351:tc57wg16:451-3:publicationdocument:7:3`): `TimeSeries` ->
`Period` (`timeInterval/start`, `resolution` PT15M or PT60M) -> `Point`
(`position` from 1, `price.amount` in EUR/MWh). With curve type A03 a point
equal to the one before is left out, so missing positions repeat the last
price. No data is an `Acknowledgement_MarketDocument` with a `Reason/text`.
Where a zone publishes two resolutions (DE-LU since the 15-minute market),
the finest is used. Parsed with the standard library's `xml.etree`; the
`entsoe-py` client was not used: it brings `requests` (no injectable httpx
transport for tests) and pandas-level parsing for three XML elements.
EPEX results come at about 12:45 CET; the feed asks from 13:15.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx

from adapters.prices.http import HttpProvider, snippet
from optimizer.prices.port import PriceSource, day_ahead_publication
from optimizer.prices.retail import eur_per_mwh_to_kwh
from optimizer.prices.series import PriceSeries, PriceSeriesError

BASE_URL = "https://web-api.tp.entsoe.eu/api"
TOKEN_ENV = "ENTSOE_API_KEY"
CET = ZoneInfo("Europe/Brussels")
PUBLISHED_AT = time(13, 15)
RESOLUTIONS = {
    "PT15M": timedelta(minutes=15),
    "PT30M": timedelta(minutes=30),
    "PT60M": timedelta(hours=1),
}
EIC = re.compile(r"^[0-9A-Z]{2}[0-9A-Z-]{14}$")


class EntsoeDayAhead(HttpProvider, PriceSource):
    """Day-ahead spot prices (EUR/kWh) of the bidding zone with EIC code `zone`."""

    def __init__(
        self, token: str, zone: str, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        super().__init__("entsoe", transport)
        if not EIC.match(zone):
            raise ValueError(f"bidding zone {zone!r} is not an EIC code (e.g. 10Y1001A1001A82H)")
        self._token = token
        self.zone = zone

    def publishes_at(self, day: date) -> datetime:
        return day_ahead_publication(day, PUBLISHED_AT, CET)

    def prices(self, start: datetime, end: datetime) -> PriceSeries:
        response = self.request(
            "GET",
            BASE_URL,
            params={
                "documentType": "A44",
                "in_Domain": self.zone,
                "out_Domain": self.zone,
                "periodStart": f"{start.astimezone(UTC):%Y%m%d%H%M}",
                "periodEnd": f"{end.astimezone(UTC):%Y%m%d%H%M}",
                "securityToken": self._token,
            },
        )
        points = self._points(response)
        if not points:
            return PriceSeries.empty(source=f"ENTSO-E A44 {self.zone}")
        step = min(points)
        chosen = {t: p for t, p in points[step].items() if start <= t < end}
        starts = sorted(chosen)
        try:
            return PriceSeries.from_slots(
                starts,
                [chosen[t] for t in starts],
                interval=step,
                source=f"ENTSO-E A44 {self.zone}",
            )
        except PriceSeriesError as exc:
            raise self.error(f"unusable prices: {exc}") from None

    def _points(self, response: httpx.Response) -> dict[timedelta, dict[datetime, float]]:
        """Prices (EUR/kWh) by resolution and interval start; empty when there is no data."""
        try:
            root = ET.fromstring(response.content)
        except ET.ParseError:
            raise self.error(f"answered something that is not XML: {snippet(response)}") from None
        kind = root.tag.rsplit("}", 1)[-1]
        if kind == "Acknowledgement_MarketDocument":
            reason = root.findtext(".//{*}Reason/{*}text") or "no reason given"
            if "No matching data" in reason:
                return {}
            raise self.error(f"refused the request: {' '.join(reason.split())}")
        if kind != "Publication_MarketDocument":
            raise self.error(f"answered a {kind!r}, not a Publication_MarketDocument")
        points: dict[timedelta, dict[datetime, float]] = {}
        for period in root.iterfind(".//{*}TimeSeries/{*}Period"):
            step, prices = self._period(period)
            by_start = points.setdefault(step, {})
            for when, price in prices.items():
                by_start.setdefault(when, price)
        return points

    def _period(self, period: ET.Element) -> tuple[timedelta, dict[datetime, float]]:
        start_text = period.findtext("{*}timeInterval/{*}start")
        end_text = period.findtext("{*}timeInterval/{*}end")
        resolution = period.findtext("{*}resolution")
        if start_text is None or end_text is None or resolution not in RESOLUTIONS:
            raise self.error(f"a Period without a usable timeInterval or resolution ({resolution})")
        step = RESOLUTIONS[resolution]
        try:
            first, last = _utc(start_text), _utc(end_text)
        except ValueError:
            raise self.error(
                f"a timeInterval that is not yyyy-mm-ddThh:mmZ: {start_text}"
            ) from None
        given: dict[int, float] = {}
        for point in period.iterfind("{*}Point"):
            try:
                given[int(point.findtext("{*}position") or "")] = float(
                    point.findtext("{*}price.amount") or ""
                )
            except ValueError:
                raise self.error("a Point without a numeric position or price.amount") from None
        count = int((last - first) / step)
        prices: dict[datetime, float] = {}
        price: float | None = None
        for position in range(1, count + 1):
            price = given.get(position, price)  # curve A03: a left-out point repeats the last
            if price is None:
                raise self.error(f"Period from {start_text} has no price at position 1")
            prices[first + (position - 1) * step] = eur_per_mwh_to_kwh(price)
        return step, prices


def _utc(text: str) -> datetime:
    """ENTSO-E's `2025-08-21T22:00Z` as a UTC datetime."""
    return datetime.strptime(text.strip(), "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC)

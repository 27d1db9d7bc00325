"""Tibber: the household's own retail prices (GraphQL, today and tomorrow).

`POST https://api.tibber.com/v1-beta/gql` with `Authorization: Bearer TOKEN`
(the token from the environment variable `TIBBER_TOKEN`) and the query
below. Answer (Tibber's developer reference, `PriceInfo`/`Price`):
`{"data": {"viewer": {"homes": [{"currentSubscription": {"priceInfo":
{"today": [{"total", "energy", "tax", "startsAt", "currency"}], "tomorrow":
[...]}}}]}}}`; GraphQL failures come as `{"errors": [{"message"}]}`. `total`
is what the household pays per kWh (energy + tax, VAT included), so no retail
formula is needed. `tomorrow` is empty until about 13:00 CET. Only today and
tomorrow exist: other days come back empty.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import httpx

from adapters.prices.http import Answer, HttpProvider
from optimizer.prices.port import PriceSource, day_ahead_publication
from optimizer.prices.series import PriceSeries, PriceSeriesError

URL = "https://api.tibber.com/v1-beta/gql"
TOKEN_ENV = "TIBBER_TOKEN"
CET = ZoneInfo("Europe/Oslo")
PUBLISHED_AT = time(13, 15)
QUERY = (
    "{ viewer { homes { currentSubscription { priceInfo {"
    " today { total energy tax startsAt currency }"
    " tomorrow { total energy tax startsAt currency } } } } } }"
)


class TibberPrice(Answer):
    total: float
    energy: float
    tax: float
    startsAt: datetime
    currency: str = "EUR"


class TibberPriceInfo(Answer):
    today: list[TibberPrice]
    tomorrow: list[TibberPrice]


class TibberSubscription(Answer):
    priceInfo: TibberPriceInfo


class TibberHome(Answer):
    currentSubscription: TibberSubscription | None


class TibberViewer(Answer):
    homes: list[TibberHome]


class TibberData(Answer):
    viewer: TibberViewer


class TibberAnswer(Answer):
    data: TibberData


class Tibber(HttpProvider, PriceSource):
    """The retail price (`total`, EUR/kWh) of the account's home number `home`."""

    def __init__(
        self, token: str, home: int = 0, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        super().__init__("tibber", transport)
        self._token = token
        self.home = home

    def publishes_at(self, day: date) -> datetime:
        return day_ahead_publication(day, PUBLISHED_AT, CET)

    def prices(self, start: datetime, end: datetime) -> PriceSeries:
        response = self.request(
            "POST",
            URL,
            headers={"Authorization": f"Bearer {self._token}"},
            body={"query": QUERY},
        )
        raw = self.json(response)
        if isinstance(raw, dict) and raw.get("errors"):
            first = raw["errors"][0]
            message = first.get("message", first) if isinstance(first, dict) else first
            raise self.error(f"GraphQL error: {message}")
        homes = self.parse(TibberAnswer, raw).data.viewer.homes
        home = homes[self.home] if 0 <= self.home < len(homes) else None
        if home is None or home.currentSubscription is None:
            raise self.error(
                f"no home {self.home} with a subscription ({len(homes)} homes)", retryable=False
            )
        info = home.currentSubscription.priceInfo
        entries = [
            p for p in info.today + info.tomorrow if start <= p.startsAt.astimezone(UTC) < end
        ]
        foreign = sorted({p.currency for p in entries} - {"EUR"})
        if foreign:
            raise self.error(f"prices in {', '.join(foreign)}, not EUR", retryable=False)
        try:
            return PriceSeries.from_slots(
                [p.startsAt for p in entries], [p.total for p in entries], source="Tibber total"
            )
        except PriceSeriesError as exc:
            raise self.error(f"unusable prices: {exc}") from None

"""Any JSON price feed: a URL, where the list of prices is, and what its keys mean.

For providers without their own adapter (a supplier's own API, a home
automation server, a file server). The answer must hold a list of objects at
`items` (a dotted path, e.g. `data` or `result.prices`; "" for a top-level
list), each with an interval start under `start_key` (ISO 8601 text, or epoch
seconds or milliseconds) and a price under `price_key` in `unit` (EUR/kWh,
EUR/MWh or ct/kWh). Intervals are inferred from the starts. Extra headers
(e.g. a key) can come from an environment variable named in the config, so
the key is never in the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import httpx

from adapters.prices.http import HttpProvider
from optimizer.prices.port import PriceSource
from optimizer.prices.series import PriceSeries, PriceSeriesError

Unit = Literal["EUR/kWh", "EUR/MWh", "ct/kWh"]
TO_EUR_PER_KWH: dict[str, float] = {"EUR/kWh": 1.0, "EUR/MWh": 1e-3, "ct/kWh": 1e-2}
EPOCH_MS_ABOVE = 1e11
"""Epoch numbers above this are milliseconds (1e11 s is the year 5138)."""


class JsonUrlPrices(HttpProvider, PriceSource):
    """Prices from `url` (GET), found at `items` with `start_key` and `price_key`."""

    def __init__(
        self,
        url: str,
        *,
        items: str = "data",
        start_key: str = "start",
        price_key: str = "price",
        unit: Unit = "EUR/kWh",
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(f"json-{httpx.URL(url).host}", transport)
        self.url = url
        self.items = items
        self.start_key = start_key
        self.price_key = price_key
        self.factor = TO_EUR_PER_KWH[unit]
        self._headers = dict(headers or {})

    def prices(self, start: datetime, end: datetime) -> PriceSeries:
        data = self.json(self.request("GET", self.url, headers=self._headers))
        entries = self._at_path(data)
        starts: list[datetime] = []
        values: list[float] = []
        for i, entry in enumerate(entries):
            begin, price = self._entry(entry, i)
            if start <= begin < end:
                starts.append(begin)
                values.append(price * self.factor)
        try:
            return PriceSeries.from_slots(starts, values, source=f"JSON {self.url}")
        except PriceSeriesError as exc:
            raise self.error(f"unusable prices: {exc}") from None

    def _at_path(self, data: Any) -> list[Any]:
        node = data
        for part in [p for p in self.items.split(".") if p]:
            if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            elif isinstance(node, dict) and part in node:
                node = node[part]
            else:
                raise self.error(f"no '{part}' on the path '{self.items}' in the answer")
        if not isinstance(node, list):
            raise self.error(f"'{self.items or 'the answer'}' is not a list")
        return node

    def _entry(self, entry: Any, index: int) -> tuple[datetime, float]:
        if not isinstance(entry, dict):
            raise self.error(f"item {index} is not an object")
        try:
            raw_start, raw_price = entry[self.start_key], entry[self.price_key]
            return _time(raw_start), float(raw_price)
        except KeyError as exc:
            raise self.error(f"item {index} has no key {exc}") from None
        except (TypeError, ValueError):
            raise self.error(f"item {index}: unreadable start or price") from None


def _time(value: Any) -> datetime:
    """ISO 8601 text (an offset is required) or epoch seconds/milliseconds, as UTC."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > EPOCH_MS_ABOVE else value
        return datetime.fromtimestamp(seconds, UTC)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("a time without offset")
    return parsed.astimezone(UTC)

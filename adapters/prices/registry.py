"""`build_price_source`: the `[prices]` config's provider, built (tokens from the environment).

The one place that maps a provider name to its adapter; the composition root
(`optimizer.composition.build_price_feed`) calls it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import time
from zoneinfo import ZoneInfo

import httpx

from optimizer.prices.calendar import HolidayCalendar
from optimizer.prices.config import PricesConfig
from optimizer.prices.port import PriceSource, PriceSourceError
from optimizer.prices.tariffs import day_night_tariff, flat_tariff, parse_hhmm, spain_20td_tariff

TOKEN_ENV = {"pvpc": "ESIOS_API_TOKEN", "entsoe": "ENTSOE_API_KEY", "tibber": "TIBBER_TOKEN"}


@dataclass(frozen=True)
class ProviderRequest:
    """What a builder gets: the `[prices]` config, the site's zone, the environment, a transport."""

    config: PricesConfig
    timezone: ZoneInfo
    env: Mapping[str, str]
    transport: httpx.BaseTransport | None

    def token(self, provider: str) -> str:
        """The provider's token from the environment; `PriceSourceError` when it is not set."""
        name = TOKEN_ENV[provider]
        token = self.env.get(name, "").strip()
        if not token:
            raise PriceSourceError(provider, f"set {name} in the environment", retryable=False)
        return token


def build_price_source(
    config: PricesConfig,
    timezone: ZoneInfo,
    env: Mapping[str, str],
    transport: httpx.BaseTransport | None = None,
) -> PriceSource:
    """The configured provider; `PriceSourceError` (not retryable) when its token is not set."""
    return BUILDERS[config.provider](ProviderRequest(config, timezone, env, transport))


def _flat(r: ProviderRequest) -> PriceSource:
    assert r.config.flat is not None
    return flat_tariff(r.config.flat.price_eur_per_kwh, r.timezone)


def _day_night(r: ProviderRequest) -> PriceSource:
    o = r.config.day_night
    assert o is not None
    night: tuple[time, time] = (parse_hhmm(o.night_start), parse_hhmm(o.night_end))
    return day_night_tariff(
        o.day_eur_per_kwh,
        o.night_eur_per_kwh,
        r.timezone,
        night,
        calendar=HolidayCalendar(o.holidays_country),
        night_all_day_off=o.weekends_and_holidays_at_night_price,
    )


def _spain(r: ProviderRequest) -> PriceSource:
    o = r.config.spain_20td
    assert o is not None
    return spain_20td_tariff(o.p1_eur_per_kwh, o.p2_eur_per_kwh, o.p3_eur_per_kwh)


def _pvpc(r: ProviderRequest) -> PriceSource:
    from adapters.prices.esios import EsiosPvpc

    return EsiosPvpc(r.token("pvpc"), r.config.pvpc.zone, transport=r.transport)


def _entsoe(r: ProviderRequest) -> PriceSource:
    from adapters.prices.entsoe import EntsoeDayAhead

    assert r.config.entsoe is not None
    return EntsoeDayAhead(r.token("entsoe"), r.config.entsoe.zone, transport=r.transport)


def _awattar(r: ProviderRequest) -> PriceSource:
    from adapters.prices.awattar import Awattar

    return Awattar(r.config.awattar.country, transport=r.transport)


def _tibber(r: ProviderRequest) -> PriceSource:
    from adapters.prices.tibber import Tibber

    return Tibber(r.token("tibber"), r.config.tibber.home, transport=r.transport)


def _nordpool(r: ProviderRequest) -> PriceSource:
    from adapters.prices.nordpool import NordPool

    assert r.config.nordpool is not None
    return NordPool(r.config.nordpool.area, transport=r.transport)


def _csv(r: ProviderRequest) -> PriceSource:
    from adapters.prices.csv_file import CsvPrices

    o = r.config.csv
    assert o is not None
    return CsvPrices(o.path, ZoneInfo(o.timezone) if o.timezone else r.timezone)


def _json_url(r: ProviderRequest) -> PriceSource:
    from adapters.prices.json_url import JsonUrlPrices

    o = r.config.json_url
    assert o is not None
    headers = {}
    if o.header_name and o.header_env:
        value = r.env.get(o.header_env, "").strip()
        if not value:
            raise PriceSourceError(
                "json_url", f"set {o.header_env} in the environment", retryable=False
            )
        headers[o.header_name] = value
    return JsonUrlPrices(
        o.url,
        items=o.items,
        start_key=o.start_key,
        price_key=o.price_key,
        unit=o.unit,
        headers=headers,
        transport=r.transport,
    )


BUILDERS: dict[str, Callable[[ProviderRequest], PriceSource]] = {
    "flat": _flat,
    "day_night": _day_night,
    "spain_20td": _spain,
    "pvpc": _pvpc,
    "entsoe": _entsoe,
    "awattar": _awattar,
    "tibber": _tibber,
    "nordpool": _nordpool,
    "csv": _csv,
    "json_url": _json_url,
}

"""`build_price_source`: the `[prices]` config's provider, built (tokens from the environment).

The one place that maps a provider name to its adapter; the composition root
(`optimizer.composition.build_price_feed`) calls it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import time
from zoneinfo import ZoneInfo

import httpx

from optimizer.prices.calendar import HolidayCalendar
from optimizer.prices.config import PricesConfig
from optimizer.prices.port import PriceSource, PriceSourceError
from optimizer.prices.tariffs import day_night_tariff, flat_tariff, parse_hhmm, spain_20td_tariff

TOKEN_ENV = {"pvpc": "ESIOS_API_TOKEN", "entsoe": "ENTSOE_API_KEY", "tibber": "TIBBER_TOKEN"}

Builder = Callable[
    [PricesConfig, ZoneInfo, Mapping[str, str], "httpx.BaseTransport | None"], PriceSource
]


def build_price_source(
    config: PricesConfig,
    timezone: ZoneInfo,
    env: Mapping[str, str],
    transport: httpx.BaseTransport | None = None,
) -> PriceSource:
    """The configured provider; `PriceSourceError` (not retryable) when its token is not set."""
    return BUILDERS[config.provider](config, timezone, env, transport)


def _token(provider: str, env: Mapping[str, str]) -> str:
    name = TOKEN_ENV[provider]
    token = env.get(name, "").strip()
    if not token:
        raise PriceSourceError(provider, f"set {name} in the environment", retryable=False)
    return token


def _flat(
    c: PricesConfig, tz: ZoneInfo, env: Mapping[str, str], t: httpx.BaseTransport | None
) -> PriceSource:
    assert c.flat is not None
    return flat_tariff(c.flat.price_eur_per_kwh, tz)


def _day_night(
    c: PricesConfig, tz: ZoneInfo, env: Mapping[str, str], t: httpx.BaseTransport | None
) -> PriceSource:
    o = c.day_night
    assert o is not None
    night: tuple[time, time] = (parse_hhmm(o.night_start), parse_hhmm(o.night_end))
    return day_night_tariff(
        o.day_eur_per_kwh,
        o.night_eur_per_kwh,
        tz,
        night,
        calendar=HolidayCalendar(o.holidays_country),
        night_all_day_off=o.weekends_and_holidays_at_night_price,
    )


def _spain(
    c: PricesConfig, tz: ZoneInfo, env: Mapping[str, str], t: httpx.BaseTransport | None
) -> PriceSource:
    o = c.spain_20td
    assert o is not None
    return spain_20td_tariff(o.p1_eur_per_kwh, o.p2_eur_per_kwh, o.p3_eur_per_kwh)


def _pvpc(
    c: PricesConfig, tz: ZoneInfo, env: Mapping[str, str], t: httpx.BaseTransport | None
) -> PriceSource:
    from adapters.prices.esios import EsiosPvpc

    return EsiosPvpc(_token("pvpc", env), c.pvpc.zone, transport=t)


def _entsoe(
    c: PricesConfig, tz: ZoneInfo, env: Mapping[str, str], t: httpx.BaseTransport | None
) -> PriceSource:
    from adapters.prices.entsoe import EntsoeDayAhead

    assert c.entsoe is not None
    return EntsoeDayAhead(_token("entsoe", env), c.entsoe.zone, transport=t)


def _awattar(
    c: PricesConfig, tz: ZoneInfo, env: Mapping[str, str], t: httpx.BaseTransport | None
) -> PriceSource:
    from adapters.prices.awattar import Awattar

    return Awattar(c.awattar.country, transport=t)


def _tibber(
    c: PricesConfig, tz: ZoneInfo, env: Mapping[str, str], t: httpx.BaseTransport | None
) -> PriceSource:
    from adapters.prices.tibber import Tibber

    return Tibber(_token("tibber", env), c.tibber.home, transport=t)


def _nordpool(
    c: PricesConfig, tz: ZoneInfo, env: Mapping[str, str], t: httpx.BaseTransport | None
) -> PriceSource:
    from adapters.prices.nordpool import NordPool

    assert c.nordpool is not None
    return NordPool(c.nordpool.area, transport=t)


def _csv(
    c: PricesConfig, tz: ZoneInfo, env: Mapping[str, str], t: httpx.BaseTransport | None
) -> PriceSource:
    from adapters.prices.csv_file import CsvPrices

    assert c.csv is not None
    return CsvPrices(c.csv.path, ZoneInfo(c.csv.timezone) if c.csv.timezone else tz)


def _json_url(
    c: PricesConfig, tz: ZoneInfo, env: Mapping[str, str], t: httpx.BaseTransport | None
) -> PriceSource:
    from adapters.prices.json_url import JsonUrlPrices

    o = c.json_url
    assert o is not None
    headers = {}
    if o.header_name and o.header_env:
        value = env.get(o.header_env, "").strip()
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
        transport=t,
    )


BUILDERS: dict[str, Builder] = {
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

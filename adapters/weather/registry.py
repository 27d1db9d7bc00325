"""`build_weather_source`: the `[forecast]` provider as the forecaster's `ForecastSource`.

The one place that maps a provider name to its adapter; the composition root
(`optimizer.composition.build_weather_source`) calls it. "offline" builds nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from adapters.weather.cache import DiskWeatherCache
from adapters.weather.forecast_solar import ForecastSolar
from adapters.weather.open_meteo import OpenMeteo
from adapters.weather.solcast import Solcast
from optimizer.forecast.config import ForecastConfig
from optimizer.forecast.weather import WeatherFeed, WeatherProvider, WeatherSourceError
from optimizer.interfaces import Clock
from optimizer.site import SiteConfig

SOLCAST_KEY_ENV = "SOLCAST_API_KEY"


def build_provider(
    config: ForecastConfig,
    site: SiteConfig,
    env: Mapping[str, str],
    transport: httpx.BaseTransport | None = None,
) -> WeatherProvider | None:
    """The configured provider (None for "offline"); `WeatherSourceError` without a key."""
    refresh_s = config.refresh_min * 60.0
    if config.provider == "open_meteo":
        return OpenMeteo(site, refresh_s=refresh_s, transport=transport)
    if config.provider == "forecast_solar":
        return ForecastSolar(site, refresh_s=refresh_s, transport=transport)
    if config.provider == "solcast":
        key = env.get(SOLCAST_KEY_ENV, "").strip()
        if not key:
            raise WeatherSourceError("solcast", f"set {SOLCAST_KEY_ENV} in the environment")
        assert config.solcast is not None  # the config validates it
        return Solcast(config.solcast.resource_id, key, refresh_s=refresh_s, transport=transport)
    return None


def build_weather_source(
    config: ForecastConfig,
    site: SiteConfig,
    clock: Clock,
    env: Mapping[str, str],
    transport: httpx.BaseTransport | None = None,
) -> WeatherFeed | None:
    """The feed over the configured provider with its disk cache (None for "offline")."""
    provider = build_provider(config, site, env, transport)
    if provider is None:
        return None
    return WeatherFeed(provider, clock, DiskWeatherCache(config.cache_dir))

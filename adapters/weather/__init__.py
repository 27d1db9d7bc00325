"""Weather forecasts of PV power over httpx: Open-Meteo, forecast.solar and Solcast.

Each provider (one module each) implements `optimizer.forecast.weather.WeatherProvider`:
one `fetch` asks the service for the site's arrays, spends calls on the provider's
`CallBudget` and answers a `WeatherSeries` (W) or raises a one-line
`WeatherSourceError`. `registry.build_weather_source` picks one from `[forecast]`;
`cache.DiskWeatherCache` keeps its last forecast and call times on disk.

httpx and pydantic rather than the vendor libraries (`openmeteo-requests` answers
FlatBuffers through its own retrying session; `forecast-solar` and `pysolcast` are
asyncio/aiohttp or requests clients): with httpx every provider takes an injected
transport in tests, so no test touches the network, and the daemon holds one HTTP stack.
"""

"""`[forecast]`: which weather service, if any, forecasts beyond the nowcast.

    [forecast]
    provider = "open_meteo"     # "open_meteo" | "forecast_solar" | "solcast" | "offline"
    refresh_min = 30            # ask again after this long (each provider has its minimum)
    nowcast_full_h = 1.0        # the nowcast alone up to here ...
    weather_full_h = 4.0        # ... the weather alone from here, a smooth crossover between
    [forecast.solcast]
    resource_id = "abcd-1234-ef56-7890"   # the rooftop site (key from SOLCAST_API_KEY)

The default, `offline`, is clear sky + nowcast + the site's learned climatology: no
network at all. Keys never go in the file: Solcast's comes from `SOLCAST_API_KEY`.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from optimizer.forecast.blend import Crossover

WeatherProviderName = Literal["open_meteo", "forecast_solar", "solcast", "offline"]
DEFAULT_CACHE_DIR = "~/.cache/v2c-solar/weather"

MIN_REFRESH_MIN: dict[str, float] = {"open_meteo": 15.0, "forecast_solar": 15.0, "solcast": 150.0}
"""The shortest refresh each provider's quota allows: Open-Meteo updates its models every
15 min at best; forecast.solar free allows 12 calls an hour (one per array, so 15 min leaves
room for three arrays); Solcast's hobbyist plan allows 10 calls a day (every 2.5 h)."""


class SolcastOptions(BaseModel):
    """`[forecast.solcast]`: the rooftop site set up in the Solcast account."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    resource_id: str = Field(min_length=4, max_length=64, pattern=r"^[0-9A-Za-z-]+$")


class ForecastConfig(BaseModel):
    """`[forecast]`: the weather provider, its refresh and the crossover from the nowcast."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: WeatherProviderName = "offline"
    refresh_min: float = Field(default=60.0, le=24 * 60.0, description="minutes")
    nowcast_full_h: float = Field(default=1.0, ge=0.0, le=24.0, description="hours")
    weather_full_h: float = Field(default=4.0, gt=0.0, le=48.0, description="hours")
    cache_dir: str = DEFAULT_CACHE_DIR
    solcast: SolcastOptions | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.provider == "solcast" and self.solcast is None:
            raise ValueError('provider "solcast" needs [forecast.solcast] resource_id')
        least = MIN_REFRESH_MIN.get(self.provider, 0.0)
        if self.refresh_min < least:
            raise ValueError(
                f"refresh_min: {self.provider} allows at least {least:g} (got {self.refresh_min:g})"
            )
        if self.weather_full_h <= self.nowcast_full_h:
            raise ValueError(
                f"weather_full_h ({self.weather_full_h:g}) must be after nowcast_full_h "
                f"({self.nowcast_full_h:g})"
            )
        return self

    @property
    def crossover(self) -> Crossover:
        """The blend's crossover, in seconds."""
        return Crossover(self.nowcast_full_h * 3600.0, self.weather_full_h * 3600.0)

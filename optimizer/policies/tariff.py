"""Electricity prices for the car: a flat import price and an optional cheap window.

Used by the `target` policy (grid top-ups go into the cheap window first) and
by the controller (the cost of a session's grid energy). Times of day are local
to the site ("HH:MM"); a window may wrap midnight ("22:00" to "06:00").

`[tariff]` is one case of the time-of-use tariffs of `optimizer.prices`: a
"cheap" period in its window every day, "standard" the rest of the time
(`as_tariff`); its prices are that tariff's.
"""

from __future__ import annotations

from datetime import datetime, time, tzinfo
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, field_validator

from optimizer.prices.tariffs import TimeOfUseTariff, TouPeriod, in_daily_window, parse_hhmm

__all__ = ["TariffConfig", "in_daily_window", "parse_hhmm"]


class TariffConfig(BaseModel):
    """`[tariff]`: what grid energy costs (per kWh, in `currency`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    currency: str = "EUR"
    import_price_per_kwh: float = Field(ge=0.0)
    cheap_price_per_kwh: float | None = Field(default=None, ge=0.0)
    cheap_start: str | None = Field(default=None, description='Local "HH:MM"')
    cheap_end: str | None = Field(default=None, description='Local "HH:MM"')

    @field_validator("cheap_start", "cheap_end")
    @classmethod
    def _valid_time(cls, value: str | None) -> str | None:
        if value is not None:
            parse_hhmm(value)
        return value

    @property
    def cheap_window(self) -> tuple[time, time] | None:
        """The cheap window's local start and end, if both are configured."""
        if self.cheap_start is None or self.cheap_end is None:
            return None
        return parse_hhmm(self.cheap_start), parse_hhmm(self.cheap_end)

    def in_cheap_window(self, when: datetime, tz: tzinfo) -> bool:
        """Whether `when` falls in the cheap window (False when none is configured)."""
        window = self.cheap_window
        if window is None:
            return False
        return in_daily_window(when.astimezone(tz).time(), *window)

    def as_tariff(self, tz: tzinfo) -> TimeOfUseTariff:
        """This tariff as a time-of-use tariff in the site's zone `tz`."""
        return _time_of_use(self, tz)

    def price_per_kwh(self, when: datetime, tz: tzinfo) -> float:
        """Import price at `when`."""
        return self.as_tariff(tz).price_at(when)


@lru_cache(maxsize=16)
def _time_of_use(config: TariffConfig, tz: tzinfo) -> TimeOfUseTariff:
    periods = [TouPeriod("standard", config.import_price_per_kwh)]
    window = config.cheap_window
    if config.cheap_price_per_kwh is not None and window is not None:
        periods.insert(0, TouPeriod("cheap", config.cheap_price_per_kwh, (window,)))
    return TimeOfUseTariff("tariff", periods, tz)

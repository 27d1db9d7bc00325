"""Electricity prices for the car: a flat import price and an optional cheap window.

Used by the `target` policy (grid top-ups go into the cheap window first) and
by the controller (the cost of a session's grid energy). Times of day are local
to the site ("HH:MM"); a window may wrap midnight ("22:00" to "06:00").
"""

from __future__ import annotations

from datetime import datetime, time, tzinfo

from pydantic import BaseModel, ConfigDict, Field, field_validator


def parse_hhmm(value: str) -> time:
    """Parse a local time of day "HH:MM" (24 h); a clear ValueError otherwise."""
    try:
        hours_s, minutes_s = value.split(":")
        parsed = time(int(hours_s), int(minutes_s))
    except ValueError:
        raise ValueError("expected a local time of day as HH:MM (24 h)") from None
    return parsed


def in_daily_window(local: time, start: time, end: time) -> bool:
    """Whether a local time of day lies in [start, end), wrapping midnight if end <= start."""
    if start < end:
        return start <= local < end
    return local >= start or local < end


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

    def price_per_kwh(self, when: datetime, tz: tzinfo) -> float:
        """Import price at `when`."""
        if self.cheap_price_per_kwh is not None and self.in_cheap_window(when, tz):
            return self.cheap_price_per_kwh
        return self.import_price_per_kwh

"""The prices port: `PriceSource`, what every tariff and price provider offers.

A static tariff (flat, time of use) knows every future price; a day-ahead
market publishes tomorrow's prices once a day (EPEX about 12:45-13:00 CET,
Spain's PVPC about 20:15-20:30 Europe/Madrid). `publishes_at` declares that
ability with a default (always known), so the `PriceFeed` asks instead of
sniffing what kind of source it holds. Providers live in `adapters/prices/`;
nothing here knows HTTP.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Protocol

from optimizer.prices.series import PriceSeries, PriceSlot

SLOT_LOOKUP_SPAN = timedelta(seconds=1)
"""The window `PriceSource.slot_at` asks around a time: any interval holding it overlaps it."""


class PriceSourceError(Exception):
    """A provider could not deliver prices; the message is one line naming it and why.

    `retryable` False means asking again will not help (bad token, unknown area).
    """

    def __init__(self, provider: str, reason: str, *, retryable: bool = True) -> None:
        self.provider = provider
        self.reason = reason
        self.retryable = retryable
        super().__init__(f"{provider}: {reason}")


class PriceSource(Protocol):
    """Import and export prices (EUR/kWh) for a stretch of time.

    Implementations inherit this class for the defaults of the optional abilities.
    """

    @property
    def name(self) -> str:
        """Short name for logs, cache files and tables (e.g. "awattar-at")."""
        ...

    def prices(self, start: datetime, end: datetime) -> PriceSeries:
        """Every interval overlapping [start, end) that the source knows (UTC).

        May return fewer intervals than asked (tomorrow is not published yet);
        raises `PriceSourceError` when the provider fails or answers garbage.
        """
        ...

    def slot_at(self, when: datetime) -> PriceSlot | None:
        """The interval in force at `when` (UTC) as the source knows it then; None: unknown.

        By default the interval of `prices` over the second from `when` holding it; a
        source that can look one interval up directly overrides this (a decision asks
        once per interval, a backtest ~9,000 times a year). Raises `PriceSourceError`
        as `prices` does.
        """
        return self.prices(when, when + SLOT_LOOKUP_SPAN).at(when)

    def publishes_at(self, day: date) -> datetime | None:
        """When `day`'s prices become known (UTC); None: they are always known.

        By default None: a static tariff's future is its schedule.
        """
        return None


def day_ahead_publication(day: date, local: time, timezone: tzinfo) -> datetime:
    """When a day-ahead market publishes `day`'s prices: `local` on the day before (UTC)."""
    return datetime.combine(day - timedelta(days=1), local, tzinfo=timezone).astimezone(UTC)

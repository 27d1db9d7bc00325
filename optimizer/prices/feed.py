"""`PriceFeed`: when to ask a price provider, what to keep, and what to say when it fails.

The feed works in local days of the site's zone. A day's prices are asked for
once they are published (`PriceSource.publishes_at`: tomorrow's day-ahead
prices after the auction, about 13:00 CET for EPEX and 20:30 Europe/Madrid
for PVPC; a static tariff always), kept in memory and in the `PriceCache`
(one entry per provider and day; a static tariff, which publishes nothing,
is only kept in memory, so a changed config takes effect), and never asked
for again once a whole day is known. A day that comes back empty (not
published yet) or fails is asked again after `retry_s`.

When the provider fails, the prices already known stay in use and the feed
logs ONE warning naming the provider and the reason; the next failures are
quiet (debug) until it answers again, which is logged once too. Every series
records its source and fetch time; the retail formula and the export price
are applied on the way out, so the cache holds what the provider said.

Two ways to use it. `prices` fetches what it lacks on the spot (`v2c-solar prices
show`). The daemon splits the two: `refresh` (its background job, which may block
on the provider) fetches today and tomorrow when due and says when to come back
(the next publication, a retry, or local midnight); `known` (`FeedInMemory`, what
the control cycle and the planner read) answers from memory only and never waits.
The refresh thread only ever puts whole `PriceSeries` values into a dict the cycle
reads, each put or get atomic, so the two need no lock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Literal, Protocol

from optimizer.interfaces import Clock
from optimizer.prices.port import PriceSource, PriceSourceError
from optimizer.prices.retail import RetailFormula
from optimizer.prices.series import PriceSeries, concat
from optimizer.prices.tariffs import local_day_bounds

log = logging.getLogger(__name__)

DEFAULT_RETRY_S = 900.0
"""How long after a failure or an empty answer a day is asked for again (s)."""

ExportRule = float | Literal["provider", "spot"] | None
"""Export price: a constant (EUR/kWh), the provider's own export series, the spot
(import price before the retail formula), or None (unknown)."""


class PriceCache(Protocol):
    """Where whole days of a provider's prices are kept between runs."""

    def load(self, provider: str, day: date) -> PriceSeries | None:
        """The provider's prices for local day `day`, None if not kept (or unreadable)."""
        ...

    def save(self, provider: str, day: date, series: PriceSeries) -> None:
        """Keep a whole day; must not raise for a full or read-only disk (log instead)."""
        ...


class MemoryPriceCache(PriceCache):
    """A cache that lives as long as the process (tests, backtests)."""

    def __init__(self) -> None:
        self.days: dict[tuple[str, date], PriceSeries] = {}

    def load(self, provider: str, day: date) -> PriceSeries | None:
        return self.days.get((provider, day))

    def save(self, provider: str, day: date, series: PriceSeries) -> None:
        self.days[(provider, day)] = series


@dataclass
class _Outage:
    """The provider's current failure (logged once) and when each day may be asked again."""

    reason: str | None = None
    retry_after: dict[date, datetime] = field(default_factory=dict)


class PriceFeed:
    """The prices a planner sees: fetched when published, cached, kept through outages."""

    def __init__(
        self,
        source: PriceSource,
        clock: Clock,
        timezone: tzinfo,
        cache: PriceCache | None = None,
        *,
        retail: RetailFormula | None = None,
        export: ExportRule = None,
        retry_s: float = DEFAULT_RETRY_S,
    ) -> None:
        self.source = source
        self.clock = clock
        self.timezone = timezone
        self.cache = cache if cache is not None else MemoryPriceCache()
        self.retail = retail or RetailFormula()
        self.export = export
        self.retry = timedelta(seconds=retry_s)
        self._days: dict[date, PriceSeries] = {}
        self._outage = _Outage()
        self.label = "prices"
        """What its log lines start with: a fleet's shared feed names the homes it serves."""

    @property
    def failing(self) -> str | None:
        """Why the provider is failing now, None while it answers."""
        return self._outage.reason

    def prices(self, start: datetime, end: datetime) -> PriceSeries:
        """What is known of [start, end) (UTC): retail import and export prices, EUR/kWh.

        Fetches the days that are published and not known yet; a day that is not
        known is simply missing (the series ends early or is empty).
        """
        parts = [self._day(day).window(start, end) for day in self._local_days(start, end)]
        return self._priced(concat(self._contiguous(parts)))

    def publishes_at(self, day: date) -> datetime | None:
        """When `day`'s prices become known: the source's (a planner looks for them then)."""
        return self.source.publishes_at(day)

    def known(self, start: datetime, end: datetime) -> PriceSeries:
        """What memory holds of [start, end) (UTC), priced as `prices` prices it; never
        fetches, never reads the disk: a control cycle's view. A missing day ends it, except
        at the start (a planner asking from an hour ago just after midnight, yesterday
        never fetched since a restart, still gets today and tomorrow)."""
        empty = PriceSeries.empty()
        parts = [
            self._days.get(day, empty).window(start, end) for day in self._local_days(start, end)
        ]
        while parts and not len(parts[0]):
            parts.pop(0)
        return self._priced(concat(self._contiguous(parts)))

    def refresh(self, now: datetime) -> datetime:
        """Fetch today's and tomorrow's prices (local days at `now`) where due, from the
        disk cache first; when to refresh again (UTC). May block on the provider: the
        daemon runs it in the background, never inside a control cycle."""
        today = now.astimezone(self.timezone).date()
        days = (today, today + timedelta(days=1))
        for day in days:
            self._day(day)
        return self.next_refresh(now, days)

    def load_cached(self, now: datetime) -> None:
        """Today's and tomorrow's prices (local days at `now`) from the cache into memory,
        never the network: a restarted daemon's first cycles see them before its first
        refresh has run."""
        today = now.astimezone(self.timezone).date()
        for day in (today, today + timedelta(days=1)):
            if self.source.publishes_at(day) is None:
                continue  # a static tariff is not cached: the refresh computes it
            cached = self.cache.load(self.source.name, day)
            if cached is not None and self._whole(day, cached):
                self._days[day] = cached

    def next_refresh(self, now: datetime, days: tuple[date, ...]) -> datetime:
        """The earliest of: each of `days` not wholly known yet at its publication time or
        its retry, and the next local midnight (a new day to ask for)."""
        midnight, _ = local_day_bounds(days[-1], self.timezone)
        due = [midnight]
        for day in days:
            if self._whole(day, self._days.get(day, PriceSeries.empty())):
                continue
            published = self.source.publishes_at(day)
            if published is not None and now < published:
                due.append(published)
            else:
                due.append(self._outage.retry_after.get(day, now + self.retry))
        return min(due)

    def _local_days(self, start: datetime, end: datetime) -> list[date]:
        first = start.astimezone(self.timezone).date()
        last = (end - timedelta(microseconds=1)).astimezone(self.timezone).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    @staticmethod
    def _contiguous(parts: list[PriceSeries]) -> list[PriceSeries]:
        """The leading run of parts that join without a gap (a missing day ends it)."""
        run: list[PriceSeries] = []
        for part in parts:
            if not len(part):
                break
            if run and run[-1].end != part.start:
                break
            run.append(part)
        return run

    def _day(self, day: date) -> PriceSeries:
        known = self._days.get(day)
        if known is not None and self._whole(day, known):
            return known
        published = self.source.publishes_at(day) is not None  # a static tariff needs no cache
        cached = self.cache.load(self.source.name, day) if published else None
        if cached is not None and self._whole(day, cached):
            self._days[day] = cached
            return cached
        if self._due(day):
            self._fetch(day)
        return self._days.get(day, PriceSeries.empty())

    def _whole(self, day: date, series: PriceSeries) -> bool:
        start, end = local_day_bounds(day, self.timezone)
        return (
            series.start is not None
            and series.start <= start
            and series.end is not None
            and series.end >= end
        )

    def _due(self, day: date) -> bool:
        now = self.clock.now()
        published = self.source.publishes_at(day)
        if published is not None and now < published:
            return False
        return now >= self._outage.retry_after.get(day, now)

    def _fetch(self, day: date) -> None:
        start, end = local_day_bounds(day, self.timezone)
        now = self.clock.now()
        try:
            fetched = self.source.prices(start, end)
        except PriceSourceError as exc:
            self._outage.retry_after[day] = now + self.retry
            self._failed(exc)
            return
        self._recovered()
        series = replace(
            fetched, source=f"{fetched.source} (fetched {now.astimezone(UTC):%Y-%m-%dT%H:%MZ})"
        )
        if len(series):
            self._days[day] = series
        if self._whole(day, series):
            if self.source.publishes_at(day) is not None:
                self.cache.save(self.source.name, day, series)
            self._outage.retry_after.pop(day, None)
        else:
            self._outage.retry_after[day] = now + self.retry

    def _failed(self, exc: PriceSourceError) -> None:
        reason = str(exc)
        if self._outage.reason is None:
            until = (
                f"asking again every {self.retry.total_seconds() / 60:.0f} min"
                if exc.retryable
                else "until the configuration is fixed"
            )
            log.warning("%s: %s; keeping the last known prices, %s", self.label, reason, until)
        else:
            log.debug("%s: still failing: %s", self.label, reason)
        self._outage.reason = reason

    def _recovered(self) -> None:
        if self._outage.reason is not None:
            log.warning("%s: %s answers again", self.label, self.source.name)
        self._outage.reason = None

    def _priced(self, raw: PriceSeries) -> PriceSeries:
        retail = self.retail.apply(raw)
        if self.export is None:
            return retail.with_exports(None)
        if self.export == "provider":
            return retail.with_exports(raw.exports)
        if self.export == "spot":
            return retail.with_exports(raw.imports, f"{retail.source}; export = spot")
        return retail.with_exports([float(self.export)] * len(raw))


class FeedInMemory(PriceSource):
    """A `PriceFeed` as the control cycle and the planners see it: `PriceFeed.known`,
    memory only (the daemon's background job fills it with `PriceFeed.refresh`)."""

    def __init__(self, feed: PriceFeed) -> None:
        self.feed = feed

    @property
    def name(self) -> str:
        return self.feed.source.name

    def prices(self, start: datetime, end: datetime) -> PriceSeries:
        return self.feed.known(start, end)

    def publishes_at(self, day: date) -> datetime | None:
        """The feed's source's publication time: the least-cost planner looks for a new
        day's prices in memory from then on (the refresh job fetches them then)."""
        return self.feed.publishes_at(day)

"""The price feed as the daemon uses it: `refresh` in the background at the provider's
publication time, `known` (memory only) for the cycles, and the per-interval import price
lookup every decision makes (`optimizer.cycle.price`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from optimizer.cycle.price import ImportPrice
from optimizer.prices import PriceSeries, PriceSourceError
from optimizer.prices.feed import FeedInMemory, MemoryPriceCache, PriceFeed
from optimizer.prices.port import PriceSource
from optimizer.prices.tariffs import flat_tariff, local_day_bounds
from tests.conftest import FakeClock
from tests.test_prices import VIENNA, DayAheadSource

H = timedelta(hours=1)


def _at(hour: int, minute: int = 0, day: int = 1) -> datetime:
    return datetime(2024, 6, day, hour, minute, tzinfo=VIENNA).astimezone(UTC)


def _feed(clock: FakeClock, source: PriceSource) -> PriceFeed:
    return PriceFeed(source, clock, VIENNA, MemoryPriceCache(), retry_s=900)


def test_refresh_fetches_today_then_comes_back_at_tomorrows_publication() -> None:
    clock = FakeClock(_at(6))
    source = DayAheadSource()
    feed = _feed(clock, source)
    nxt = feed.refresh(clock.now())
    assert source.asked == [local_day_bounds(date(2024, 6, 1), VIENNA)]
    assert nxt == _at(13)  # tomorrow's publication
    clock.t = nxt
    assert feed.refresh(clock.now()) == _at(0, day=2)  # both days known: local midnight
    assert len(source.asked) == 2
    clock.t = _at(0, day=2)
    assert feed.refresh(clock.now()) == _at(13, day=2)  # June 2 known; June 3 at 13:00
    assert len(source.asked) == 2  # nothing to ask at midnight


def test_a_failed_refresh_comes_back_after_the_retry_and_keeps_what_it_had() -> None:
    clock = FakeClock(_at(13, 5))
    source = DayAheadSource()
    feed = _feed(clock, source)
    feed.refresh(clock.now())
    source.failure = PriceSourceError("fake", "HTTP 429")
    clock.t = _at(0, day=2) + timedelta(minutes=1)
    nxt = feed.refresh(clock.now())  # June 2 known; June 3 not published until 13:00
    assert nxt == _at(13, day=2)
    clock.t = nxt
    assert feed.refresh(clock.now()) == nxt + timedelta(minutes=15)  # failed: the retry
    assert feed.failing == "fake: HTTP 429"
    assert len(feed.known(_at(0, day=2), _at(0, day=3))) == 24  # today kept


def test_known_never_asks_the_provider() -> None:
    clock = FakeClock(_at(14))
    source = DayAheadSource()
    feed = _feed(clock, source)
    memory = FeedInMemory(feed)
    assert len(memory.prices(_at(0), _at(0, day=3))) == 0
    assert source.asked == []
    feed.refresh(clock.now())
    series = memory.prices(_at(0), _at(0, day=3))
    assert len(series) == 48 and memory.name == "fake"
    assert len(source.asked) == 2


def test_an_unknown_yesterday_does_not_hide_today() -> None:
    clock = FakeClock(_at(0, 30, day=2))  # just after midnight, after a restart
    feed = _feed(clock, DayAheadSource())
    feed.refresh(clock.now())
    series = feed.known(clock.now() - H, _at(0, day=3))
    assert series.start == _at(0, day=2) and len(series) == 24


def test_a_static_tariff_refreshes_at_local_midnight() -> None:
    clock = FakeClock(_at(10))
    feed = _feed(clock, flat_tariff(0.2))
    assert feed.refresh(clock.now()) == _at(0, day=2)
    assert feed.known(_at(10), _at(11)).imports == (0.2,) * 4  # 15-minute intervals


class CountingSource(PriceSource):
    """Hourly prices equal to the hour's number (EUR/kWh); counts the lookups."""

    def __init__(self, known_until: datetime | None = None) -> None:
        self.calls = 0
        self.known_until = known_until

    @property
    def name(self) -> str:
        return "counting"

    def prices(self, start: datetime, end: datetime) -> PriceSeries:
        self.calls += 1
        first = start.replace(minute=0, second=0, microsecond=0)
        if self.known_until is not None and first >= self.known_until:
            return PriceSeries.empty()
        return PriceSeries.from_slots([first], [float(first.hour)], interval=H)


def test_the_import_price_is_looked_up_once_per_interval() -> None:
    source = CountingSource()
    price = ImportPrice(source)
    t = datetime(2024, 6, 1, 10, 0, tzinfo=UTC)
    assert [price.at(t + timedelta(minutes=m)) for m in range(0, 60, 5)] == [10.0] * 12
    assert source.calls == 1
    assert price.at(t + H) == 11.0 and source.calls == 2


def test_an_unknown_import_price_is_none_and_asked_again_each_time() -> None:
    t = datetime(2024, 6, 1, 10, 0, tzinfo=UTC)
    source = CountingSource(known_until=t)
    price = ImportPrice(source)
    assert price.at(t) is None and price.at(t + timedelta(minutes=1)) is None
    assert source.calls == 2  # the refresh may have brought it meanwhile
    assert ImportPrice(None).at(t) is None


def test_a_source_that_fails_gives_no_price_and_no_error() -> None:
    class Failing(CountingSource):
        def prices(self, start: datetime, end: datetime) -> PriceSeries:
            raise PriceSourceError("failing", "down")

    assert ImportPrice(Failing()).at(datetime(2024, 6, 1, tzinfo=UTC)) is None


@pytest.mark.parametrize("minute", [0, 14, 59])
def test_the_lookup_finds_the_interval_holding_the_time(minute: int) -> None:
    t = datetime(2024, 6, 1, 10, minute, 59, tzinfo=UTC)
    assert ImportPrice(CountingSource()).at(t) == 10.0

"""optimizer/prices: the series, the retail formula, tariffs and calendars, the feed, the config."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from optimizer.config import ConfigError, parse_config
from optimizer.policies.tariff import TariffConfig
from optimizer.prices import PriceSeries, PriceSeriesError, PriceSourceError, RetailFormula
from optimizer.prices.calendar import DayKind, HolidayCalendar
from optimizer.prices.feed import ExportRule, FeedInMemory, MemoryPriceCache, PriceFeed
from optimizer.prices.port import PriceSource, day_ahead_publication
from optimizer.prices.series import concat
from optimizer.prices.tariffs import (
    day_night_tariff,
    flat_tariff,
    local_day_bounds,
    spain_20td_tariff,
)
from tests.conftest import FakeClock

MADRID = ZoneInfo("Europe/Madrid")
VIENNA = ZoneInfo("Europe/Vienna")
H = timedelta(hours=1)
T = datetime(2024, 6, 1, tzinfo=UTC)


def hourly(n: int, start: datetime = T, first: float = 0.1) -> PriceSeries:
    return PriceSeries.from_slots(
        [start + i * H for i in range(n)], [first + i / 100 for i in range(n)], source="test"
    )


# --------------------------------------------------------------------------- series


def test_a_series_answers_the_price_in_force_and_nothing_outside() -> None:
    series = hourly(3)
    slot = series.at(T + timedelta(minutes=90))
    assert slot is not None
    assert (slot.start, slot.end, slot.import_eur_per_kwh) == (T + H, T + 2 * H, 0.11)
    assert series.at(T - timedelta(seconds=1)) is None
    assert series.at(T + 3 * H) is None
    assert series.at(datetime(2024, 6, 1, 2, 30, tzinfo=VIENNA)) == series.at(
        T + timedelta(minutes=30)
    )


def test_a_window_keeps_the_intervals_that_overlap_it() -> None:
    window = hourly(6).window(T + timedelta(minutes=90), T + timedelta(hours=3, minutes=1))
    assert window.starts == (T + H, T + 2 * H, T + 3 * H)
    assert window.source == "test"
    assert len(hourly(6).window(T + 7 * H, T + 9 * H)) == 0


@pytest.mark.parametrize(
    ("starts", "message"),
    [
        ([T, T + H, T + H], "appears twice"),
        ([T, T + H, T + 3 * H], "gap: 1 interval(s) missing"),
        ([T, T + H, T], "not in time order"),
        ([T, T + timedelta(minutes=20)], "is not one of"),
    ],
)
def test_a_series_refuses_duplicates_gaps_and_disorder(
    starts: list[datetime], message: str
) -> None:
    with pytest.raises(
        PriceSeriesError, match="^.*" + message.replace("(", r"\(").replace(")", r"\)")
    ):
        PriceSeries.from_slots(starts, [0.1] * len(starts), interval=starts[1] - starts[0])


def test_a_series_refuses_naive_times_and_nan() -> None:
    with pytest.raises(PriceSeriesError, match="not a UTC time"):
        PriceSeries((datetime(2024, 6, 1),), (0.1,), H)
    with pytest.raises(PriceSeriesError, match="not a number"):
        PriceSeries.from_slots([T, T + H], [0.1, float("nan")])


def test_negative_prices_are_prices() -> None:
    assert hourly(2, first=-0.05).imports == (-0.05, -0.04)


def test_concat_joins_back_to_back_days() -> None:
    joined = concat([hourly(2), PriceSeries.empty(), hourly(2, T + 2 * H)])
    assert joined.starts == tuple(T + i * H for i in range(4))
    with pytest.raises(PriceSeriesError, match="gap"):
        concat([hourly(2), hourly(2, T + 3 * H)])


# --------------------------------------------------------------------------- retail


def test_the_retail_formula_is_markup_then_fees_then_vat() -> None:
    formula = RetailFormula(markup=0.03, fees_eur_per_kwh=0.15, vat=0.20)
    assert formula.price(0.1) == pytest.approx((0.1 * 1.03 + 0.15) * 1.2)
    assert formula.price(-0.05) == pytest.approx((-0.05 * 1.03 + 0.15) * 1.2)
    retail = formula.apply(hourly(2))
    assert retail.imports == pytest.approx([formula.price(0.1), formula.price(0.11)])
    assert "retail (spot x 1.03 + 0.15 EUR/kWh) x 1.2" in retail.source
    assert RetailFormula().apply(hourly(2)) == hourly(2)


# --------------------------------------------------------------------------- tariffs


def _at(day: date, hour: int, tz: ZoneInfo = MADRID) -> datetime:
    return datetime.combine(day, time(hour, 30), tzinfo=tz)


def test_spain_20td_periods_on_a_working_day() -> None:
    tariff = spain_20td_tariff(0.3, 0.2, 0.1)
    tuesday = date(2024, 6, 4)
    periods = "".join(tariff.period_at(_at(tuesday, h)).name[1] for h in range(24))
    assert periods == "333333332211112222111122"


def test_spain_20td_is_valley_all_day_on_weekends_and_fixed_national_holidays() -> None:
    tariff = spain_20td_tariff(0.3, 0.2, 0.1)
    for day in (date(2024, 6, 1), date(2024, 6, 2), date(2024, 1, 6), date(2025, 12, 8)):
        assert {tariff.period_at(_at(day, h)).name for h in range(24)} == {"P3"}, day
    # Good Friday has no fixed date: CNMC Circular 3/2020 leaves it a working day.
    assert tariff.period_at(_at(date(2024, 3, 29), 11)).name == "P1"


def test_a_time_of_use_day_keeps_its_wall_clock_hours_across_the_clock_changes() -> None:
    tariff = spain_20td_tariff(0.3, 0.2, 0.1)
    for day, hours in ((date(2024, 3, 31), 23), (date(2024, 10, 27), 25)):
        start, end = local_day_bounds(day, MADRID)
        series = tariff.prices(start, end)
        assert len(series) == hours * 4
        assert set(series.imports) == {0.1}  # both are Sundays
    monday_start, monday_end = local_day_bounds(date(2024, 10, 28), MADRID)
    monday = tariff.prices(monday_start, monday_end)
    peak = [s.start.astimezone(MADRID).hour for s in monday.slots() if s.import_eur_per_kwh == 0.3]
    assert sorted(set(peak)) == [10, 11, 12, 13, 18, 19, 20, 21]


def test_holiday_calendar_kinds_and_fixed_dates() -> None:
    spain = HolidayCalendar("es")
    assert spain.kind(date(2024, 3, 29)) is DayKind.HOLIDAY  # Good Friday, national in `holidays`
    assert HolidayCalendar("ES", fixed_date_only=True).kind(date(2024, 3, 29)) is DayKind.WORKDAY
    assert spain.kind(date(2024, 6, 1)) is DayKind.WEEKEND
    assert HolidayCalendar(None).kind(date(2024, 12, 25)) is DayKind.WORKDAY
    with pytest.raises(ValueError, match="unknown holiday country 'XX'"):
        HolidayCalendar("XX")


def test_day_night_tariff_with_weekends_at_the_night_price() -> None:
    tariff = day_night_tariff(
        0.3,
        0.15,
        VIENNA,
        (time(22), time(6)),
        calendar=HolidayCalendar("AT"),
        night_all_day_off=True,
    )
    assert tariff.price_at(_at(date(2024, 6, 4), 23, VIENNA)) == 0.15
    assert tariff.price_at(_at(date(2024, 6, 4), 5, VIENNA)) == 0.15
    assert tariff.price_at(_at(date(2024, 6, 4), 12, VIENNA)) == 0.3
    assert tariff.price_at(_at(date(2024, 6, 1), 12, VIENNA)) == 0.15  # Saturday
    assert tariff.price_at(_at(date(2024, 5, 30), 12, VIENNA)) == 0.15  # Corpus Christi (AT)


def test_flat_tariff_with_an_export_price() -> None:
    series = flat_tariff(0.25, export_eur_per_kwh=0.07).prices(T, T + H)
    assert series.imports == (0.25,) * 4 and series.exports == (0.07,) * 4
    assert series.interval == timedelta(minutes=15)


def test_tariff_config_is_a_time_of_use_tariff_with_the_same_prices() -> None:
    config = TariffConfig(
        import_price_per_kwh=0.3, cheap_price_per_kwh=0.18, cheap_start="22:00", cheap_end="06:00"
    )
    tariff = config.as_tariff(VIENNA)
    for minutes in range(0, 48 * 60, 15):
        when = T + timedelta(minutes=minutes)
        expected = 0.18 if config.in_cheap_window(when, VIENNA) else 0.3
        assert config.price_per_kwh(when, VIENNA) == expected == tariff.price_at(when)
    assert TariffConfig(import_price_per_kwh=0.3).price_per_kwh(T, VIENNA) == 0.3


# --------------------------------------------------------------------------- feed


class DayAheadSource(PriceSource):
    """Hourly prices, tomorrow's published at 13:00 Vienna; failures on demand."""

    def __init__(self) -> None:
        self.asked: list[tuple[datetime, datetime]] = []
        self.failure: PriceSourceError | None = None
        self.published_through: datetime | None = None

    @property
    def name(self) -> str:
        return "fake"

    def publishes_at(self, day: date) -> datetime:
        return day_ahead_publication(day, time(13), VIENNA)

    def prices(self, start: datetime, end: datetime) -> PriceSeries:
        self.asked.append((start, end))
        if self.failure is not None:
            raise self.failure
        stop = end if self.published_through is None else min(end, self.published_through)
        n = max(0, int((stop - start) / H))
        return PriceSeries.from_slots(
            [start + i * H for i in range(n)], [0.1] * n, interval=H, source="fake"
        )


JUNE_1 = local_day_bounds(date(2024, 6, 1), VIENNA)
JUNE_2 = local_day_bounds(date(2024, 6, 2), VIENNA)


def _feed(
    clock: FakeClock,
    source: PriceSource,
    retail: RetailFormula | None = None,
    export: ExportRule = None,
) -> PriceFeed:
    return PriceFeed(
        source, clock, VIENNA, MemoryPriceCache(), retail=retail, export=export, retry_s=900
    )


def test_the_feed_says_when_its_source_publishes() -> None:
    clock = FakeClock(datetime(2024, 6, 1, 10, tzinfo=VIENNA).astimezone(UTC))
    source = DayAheadSource()
    day = date(2024, 6, 2)
    feed = _feed(clock, source)
    published = feed.publishes_at(day)
    assert published is not None and published == source.publishes_at(day)
    assert FeedInMemory(feed).publishes_at(day) == published  # what the daemon's planner asks


def test_the_feed_asks_for_tomorrow_only_once_published_and_then_never_again() -> None:
    clock = FakeClock(datetime(2024, 6, 1, 10, tzinfo=VIENNA).astimezone(UTC))
    source = DayAheadSource()
    feed = _feed(clock, source)
    today, tomorrow = JUNE_1, JUNE_2
    assert len(feed.prices(today[0], tomorrow[1])) == 24  # tomorrow not published yet
    assert source.asked == [today]
    clock.t = datetime(2024, 6, 1, 13, 0, tzinfo=VIENNA).astimezone(UTC)
    series = feed.prices(today[0], tomorrow[1])
    assert len(series) == 48 and "fetched 2024-06-01T11:00Z" in series.source
    assert source.asked == [today, tomorrow]
    feed.prices(today[0], tomorrow[1])
    assert len(source.asked) == 2


def test_a_partial_day_is_asked_again_after_the_retry_time() -> None:
    clock = FakeClock(datetime(2024, 6, 1, 14, tzinfo=VIENNA).astimezone(UTC))
    source = DayAheadSource()
    start, end = local_day_bounds(date(2024, 6, 2), VIENNA)
    source.published_through = start + 12 * H
    feed = _feed(clock, source)
    assert len(feed.prices(start, end)) == 12
    feed.prices(start, end)
    assert len(source.asked) == 1
    clock.t += timedelta(minutes=15)
    source.published_through = None
    assert len(feed.prices(start, end)) == 24 and len(source.asked) == 2


def test_an_outage_keeps_the_known_prices_and_logs_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(datetime(2024, 6, 1, 14, tzinfo=VIENNA).astimezone(UTC))
    source = DayAheadSource()
    feed = _feed(clock, source)
    today, tomorrow = JUNE_1, JUNE_2
    feed.prices(*today)
    source.failure = PriceSourceError("fake", "rate limited by fake.example (HTTP 429)")
    caplog.set_level(logging.WARNING, "optimizer.prices.feed")
    for _ in range(8):  # cycles for two hours
        clock.t += timedelta(minutes=15)
        assert len(feed.prices(today[0], tomorrow[1])) == 24  # today kept, tomorrow missing
    assert [r.getMessage() for r in caplog.records] == [
        "prices: fake: rate limited by fake.example (HTTP 429); keeping the last known prices, "
        "asking again every 15 min"
    ]
    assert feed.failing == "fake: rate limited by fake.example (HTTP 429)"
    assert len(source.asked) == 1 + 8  # once per retry time, not once per call
    source.failure = None
    clock.t += timedelta(minutes=15)
    assert len(feed.prices(today[0], tomorrow[1])) == 48
    assert caplog.records[-1].getMessage() == "prices: fake answers again"
    assert feed.failing is None


def test_whole_days_go_to_the_cache_and_come_back_without_asking() -> None:
    clock = FakeClock(datetime(2024, 6, 1, 14, tzinfo=VIENNA).astimezone(UTC))
    cache = MemoryPriceCache()
    source = DayAheadSource()
    start, end = local_day_bounds(date(2024, 6, 1), VIENNA)
    PriceFeed(source, clock, VIENNA, cache).prices(start, end)
    assert list(cache.days) == [("fake", date(2024, 6, 1))]
    again = DayAheadSource()
    assert len(PriceFeed(again, clock, VIENNA, cache).prices(start, end)) == 24
    assert again.asked == []


def test_the_feed_applies_the_retail_formula_and_the_export_rule() -> None:
    clock = FakeClock(datetime(2024, 6, 1, 14, tzinfo=VIENNA).astimezone(UTC))
    retail = RetailFormula(fees_eur_per_kwh=0.1)
    start, end = local_day_bounds(date(2024, 6, 1), VIENNA)
    spot = _feed(clock, DayAheadSource(), retail=retail, export="spot").prices(start, end)
    assert spot.imports[0] == pytest.approx(0.2) and spot.exports is not None
    assert spot.exports[0] == pytest.approx(0.1)
    fixed = _feed(clock, DayAheadSource(), export=0.05).prices(start, end)
    assert fixed.exports == (0.05,) * 24
    assert _feed(clock, DayAheadSource()).prices(start, end).exports is None


def test_a_static_tariff_is_always_known_and_not_cached() -> None:
    clock = FakeClock(T)
    cache = MemoryPriceCache()
    feed = PriceFeed(flat_tariff(0.2), clock, VIENNA, cache)
    start, end = local_day_bounds(date(2030, 1, 1), VIENNA)
    assert len(feed.prices(start, end)) == 96
    assert cache.days == {}
    assert flat_tariff(0.2).publishes_at(date(2030, 1, 1)) is None  # the port's default


# --------------------------------------------------------------------------- config

BASE = {
    "site": {
        "latitude": 40.4,
        "longitude": -3.7,
        "timezone": "Europe/Madrid",
        "arrays": [{"kwp": 5.0, "tilt_deg": 30.0, "azimuth_deg": 180.0}],
    },
    "chargers": [{"device_id": "X"}],
}


def _with_prices(prices: dict[str, object]) -> dict[str, object]:
    return {**BASE, "prices": prices}


def test_a_prices_section_is_validated() -> None:
    config = parse_config(
        _with_prices(
            {
                "provider": "awattar",
                "export": "spot",
                "awattar": {"country": "de"},
                "retail": {"markup": 0.03, "fees_eur_per_kwh": 0.15, "vat": 0.19},
            }
        )
    )
    assert config.prices is not None and config.prices.awattar.country == "de"
    assert parse_config(BASE).prices is None


@pytest.mark.parametrize(
    ("prices", "message"),
    [
        ({"provider": "octopus"}, "config: prices.provider: Input should be 'flat', "),
        (
            {"provider": "entsoe"},
            "config: prices: provider 'entsoe' needs its options in [prices.entsoe]",
        ),
        (
            {"provider": "entsoe", "entsoe": {"zone": "DE"}},
            "config: prices.entsoe.zone: must be a 16-character EIC code",
        ),
        (
            {"provider": "flat", "flat": {"price_eur_per_kwh": 250.0}},
            "config: prices.flat.price_eur_per_kwh: must be <= 10 (got 250.0)",
        ),
        (
            {"provider": "awattar", "retail": {"vat": 20}},
            "config: prices.retail.vat: must be <= 0.5 (got 20)",
        ),
        (
            {"provider": "awattar", "awattar": {"land": "at"}},
            "config: unknown key 'land' in [prices.awattar]",
        ),
        (
            {
                "provider": "day_night",
                "day_night": {
                    "day_eur_per_kwh": 0.3,
                    "night_eur_per_kwh": 0.1,
                    "night_start": "25:00",
                },
            },
            "config: prices.day_night.night_start: expected a local time of day as HH:MM",
        ),
        (
            {
                "provider": "day_night",
                "day_night": {
                    "day_eur_per_kwh": 0.3,
                    "night_eur_per_kwh": 0.1,
                    "holidays_country": "XX",
                },
            },
            "config: prices.day_night.holidays_country: unknown holiday country 'XX'",
        ),
    ],
)
def test_a_bad_prices_section_is_one_line_naming_the_key(
    prices: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(_with_prices(prices))
    assert str(caught.value).startswith(message), str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_commented_prices_section_of_home_toml_is_a_valid_config() -> None:
    """Uncommented, every documented [prices] key loads (the comments cannot rot)."""
    import re
    import tomllib
    from pathlib import Path

    text = (Path(__file__).parents[1] / "config" / "home.toml").read_text()
    head, _, tail = text.partition("\n# [prices]\n")
    tail = tail.split("\n# --- ")[0]  # up to the next section of the file
    setting = re.compile(r"^# (\[prices[.\w]*\](?:\s+#.*)?|\w+ = .*)$")
    lines = [
        m.group(1) for line in ("# [prices]\n" + tail).splitlines() if (m := setting.match(line))
    ]
    config = parse_config(tomllib.loads(head + "\n" + "\n".join(lines)), "home.toml")
    assert config.prices is not None and config.prices.provider == "awattar"
    assert config.prices.options() is not None and config.prices.export == 0.08
    assert config.prices.entsoe is not None and config.prices.json_url is not None
    assert len(lines) > 30

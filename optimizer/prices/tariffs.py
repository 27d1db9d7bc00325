"""Static tariffs as price sources: flat, time of use (Spain's 2.0TD, day/night).

A time-of-use tariff names periods, each with a price, the kinds of day it
applies to (`DayKind`: working day, weekend, holiday) and local windows of
the day; the first period that matches a local time sets the price, the
last period is the rest of the time. Local times are in the tariff's zone,
so a window keeps its wall-clock hours across the clock changes (the 23-
and 25-hour days simply have one hour less or more of the night period).

Spain 2.0TD (household access tolls since June 2021, CNMC Circular 3/2020),
Peninsula, Balearics and Canaries: P1 (peak) 10-14 h and 18-22 h and P2
(flat) 8-10 h, 14-18 h and 22-24 h on working days; P3 (valley) 0-8 h, and
all day on Saturdays, Sundays, 6 January and national holidays with a fixed
date. Ceuta and Melilla shift P1/P2 by an hour and are not modelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from optimizer.prices.calendar import DayKind, HolidayCalendar
from optimizer.prices.port import PriceSource
from optimizer.prices.series import PriceSeries

ALL_DAYS = frozenset(DayKind)
WORKDAYS = frozenset({DayKind.WORKDAY})
DEFAULT_INTERVAL = timedelta(minutes=15)


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


Window = tuple[time, time]
"""A local [start, end) of the day; end <= start wraps midnight (00:00 = end of day)."""


@dataclass(frozen=True, slots=True)
class TouPeriod:
    """One period of a time-of-use tariff: its price on its days and windows (EUR/kWh)."""

    name: str
    import_eur_per_kwh: float
    windows: tuple[Window, ...] = ((time(0), time(0)),)
    days: frozenset[DayKind] = ALL_DAYS

    def applies(self, local: datetime, kind: DayKind) -> bool:
        """Whether the period holds at the local wall-clock time `local` on a `kind` day."""
        if kind not in self.days:
            return False
        return any(in_daily_window(local.time(), *w) for w in self.windows)


class TimeOfUseTariff(PriceSource):
    """Prices by local time of day and kind of day; always known (no publication time)."""

    def __init__(
        self,
        name: str,
        periods: Sequence[TouPeriod],
        timezone: tzinfo,
        calendar: HolidayCalendar | None = None,
        *,
        export_eur_per_kwh: float | None = None,
        interval: timedelta = DEFAULT_INTERVAL,
    ) -> None:
        if not periods:
            raise ValueError("a time-of-use tariff needs at least one period")
        self._name = name
        self.periods = tuple(periods)
        self.timezone = timezone
        self.calendar = calendar or HolidayCalendar(None)
        self.export_eur_per_kwh = export_eur_per_kwh
        self.interval = interval

    @property
    def name(self) -> str:
        return self._name

    def period_at(self, when: datetime) -> TouPeriod:
        """The period in force at `when` (the last period is everything else)."""
        local = when.astimezone(self.timezone)
        kind = self.calendar.kind(local.date())
        for period in self.periods[:-1]:
            if period.applies(local, kind):
                return period
        return self.periods[-1]

    def price_at(self, when: datetime) -> float:
        """Import price at `when` (EUR/kWh)."""
        return self.period_at(when).import_eur_per_kwh

    def prices(self, start: datetime, end: datetime) -> PriceSeries:
        """Every interval overlapping [start, end) on the UTC `interval` grid."""
        starts = grid(start, end, self.interval)
        imports = [self.price_at(s) for s in starts]
        exports = (
            None if self.export_eur_per_kwh is None else [self.export_eur_per_kwh] * len(starts)
        )
        return PriceSeries.from_slots(
            starts, imports, exports, interval=self.interval, source=f"tariff {self.name}"
        )


def grid(start: datetime, end: datetime, interval: timedelta) -> list[datetime]:
    """UTC interval starts covering [start, end), the first at or before `start`."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    first = epoch + (start.astimezone(UTC) - epoch) // interval * interval
    count = max(0, -((first - end.astimezone(UTC)) // interval))
    return [first + i * interval for i in range(count)]


def flat_tariff(
    price_eur_per_kwh: float, timezone: tzinfo = UTC, *, export_eur_per_kwh: float | None = None
) -> TimeOfUseTariff:
    """One price all the time."""
    return TimeOfUseTariff(
        "flat",
        [TouPeriod("flat", price_eur_per_kwh)],
        timezone,
        export_eur_per_kwh=export_eur_per_kwh,
    )


def day_night_tariff(
    day_eur_per_kwh: float,
    night_eur_per_kwh: float,
    timezone: tzinfo,
    night: Window = (time(22), time(6)),
    *,
    calendar: HolidayCalendar | None = None,
    night_all_day_off: bool = False,
    export_eur_per_kwh: float | None = None,
) -> TimeOfUseTariff:
    """A night price in the local `night` window; with `night_all_day_off` also all of
    weekends and holidays (as many two-rate meters bill)."""
    periods = [TouPeriod("night", night_eur_per_kwh, (night,))]
    if night_all_day_off:
        off = frozenset({DayKind.WEEKEND, DayKind.HOLIDAY})
        periods.append(TouPeriod("night", night_eur_per_kwh, days=off))
    periods.append(TouPeriod("day", day_eur_per_kwh))
    return TimeOfUseTariff(
        "day-night", periods, timezone, calendar, export_eur_per_kwh=export_eur_per_kwh
    )


SPAIN_20TD_P1: tuple[Window, ...] = ((time(10), time(14)), (time(18), time(22)))
SPAIN_20TD_P2: tuple[Window, ...] = ((time(8), time(10)), (time(14), time(18)), (time(22), time(0)))


def spain_20td_tariff(
    p1_eur_per_kwh: float,
    p2_eur_per_kwh: float,
    p3_eur_per_kwh: float,
    *,
    export_eur_per_kwh: float | None = None,
) -> TimeOfUseTariff:
    """Spain's 2.0TD periods (module doc) in Europe/Madrid with the national holidays."""
    from zoneinfo import ZoneInfo

    return TimeOfUseTariff(
        "spain-2.0td",
        [
            TouPeriod("P1", p1_eur_per_kwh, SPAIN_20TD_P1, WORKDAYS),
            TouPeriod("P2", p2_eur_per_kwh, SPAIN_20TD_P2, WORKDAYS),
            TouPeriod("P3", p3_eur_per_kwh),
        ],
        ZoneInfo("Europe/Madrid"),
        HolidayCalendar("ES", fixed_date_only=True),
        export_eur_per_kwh=export_eur_per_kwh,
    )


def local_day_bounds(day: date, timezone: tzinfo) -> tuple[datetime, datetime]:
    """UTC start and end of the local calendar day `day` (23, 24 or 25 hours)."""
    start = datetime.combine(day, time(0), tzinfo=timezone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=timezone)
    return start.astimezone(UTC), end.astimezone(UTC)

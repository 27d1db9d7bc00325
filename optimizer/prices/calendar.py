"""Which kind of day a date is for a tariff: a working day, a weekend day or a holiday.

Public holidays come from the `holidays` package (MIT, released monthly) for
a country and optionally a region. Some tariffs count only holidays with a
fixed date: Spain's 2.0TD access tolls treat national holidays as off-peak
"excluding both substitutable holidays and those without a fixed date"
(CNMC Circular 3/2020), so Good Friday stays a working day there.
`fixed_date_only` keeps a holiday only when the same holiday falls on the
same day of the year before or after (which drops Easter-bound days).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import holidays


class DayKind(StrEnum):
    """How a tariff treats a day."""

    WORKDAY = "workday"
    WEEKEND = "weekend"
    HOLIDAY = "holiday"


class HolidayCalendar:
    """Weekends (Saturday, Sunday) and a country's public holidays."""

    def __init__(
        self, country: str | None, subdiv: str | None = None, *, fixed_date_only: bool = False
    ) -> None:
        if country is not None and country.upper() not in _supported_countries():
            raise ValueError(f"unknown holiday country {country!r} (ISO 3166 code, e.g. 'ES')")
        self.country = None if country is None else country.upper()
        self.subdiv = subdiv
        self.fixed_date_only = fixed_date_only

    def kind(self, day: date) -> DayKind:
        """The kind of `day`: a holiday first, then a weekend, else a working day."""
        if day in self.holidays(day.year):
            return DayKind.HOLIDAY
        if day.weekday() >= 5:
            return DayKind.WEEKEND
        return DayKind.WORKDAY

    def holidays(self, year: int) -> frozenset[date]:
        """The holidays of `year` this calendar counts."""
        if self.country is None:
            return frozenset()
        return _holidays(self.country, self.subdiv, year, self.fixed_date_only)


def _supported_countries() -> dict[str, list[str]]:
    import holidays  # imported on use: the package is large and most tariffs need none

    return holidays.list_supported_countries()


@lru_cache(maxsize=64)
def _holidays(country: str, subdiv: str | None, year: int, fixed_only: bool) -> frozenset[date]:
    import holidays

    table = holidays.country_holidays(
        country, subdiv=subdiv, years=(year - 1, year, year + 1), observed=False
    )
    days = {d for d in table if d.year == year}
    if not fixed_only:
        return frozenset(days)
    return frozenset(d for d in days if _recurs_on_same_day(table, d))


def _recurs_on_same_day(table: holidays.HolidayBase, day: date) -> bool:
    names = set(table.get_list(day))
    for year in (day.year - 1, day.year + 1):
        try:
            other = day.replace(year=year)
        except ValueError:  # 29 February
            continue
        if names & set(table.get_list(other)):
            return True
    return False

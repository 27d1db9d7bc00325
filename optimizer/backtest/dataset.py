"""`real-2017`: a year of measured data for backtests, nothing invented but the car.

* PV: the Graz 2017 1-minute plane-of-array irradiance (sunpeek-exampledata,
  CC-BY-SA-4.0) through the site's PV model for `optimizer.site.GRAZ` (8 kWp,
  30 degree south, 7 kW inverter), `adapters.datasets.load_graz_pv`.
* Household: the UCI "Individual household electric power consumption" house
  (Sceaux near Paris, 1-minute, CC BY 4.0), `adapters.datasets.load_household_power`,
  moved onto 2017 by a whole number of weeks so weekdays line up: local wall-clock
  time in Paris + `HOUSEHOLD_SHIFT` (417 weeks = 2919 days) = local wall-clock time
  in Vienna. 2009-01-04 (a Sunday) becomes 2017-01-01 (a Sunday); the year 2017
  is covered by 2009-01-04 .. 2010-01-03 of the house. Both zones are CET/CEST, so
  the shift keeps the household's daily rhythm on the local clock; wall times that
  do not exist or occur twice at the 2017 clock changes are dropped and filled.
* Sessions: `optimizer.backtest.sessions.sample_sessions` with the commuter
  pattern in Europe/Vienna, seeded (default seed 2017).
* Prices (the cost column, and what `target`'s least-cost planner plans with): the hourly 2017
  day-ahead spot prices of the German-Austrian zone Graz was in (EPEX, via
  Energinet's Energi Data Service, CC BY 4.0, "Source: Energinet";
  `adapters.prices.de_at_2017`), billed as a dynamic retail tariff,
  `REAL_2017_RETAIL`: `(spot x 1.03 + 0.15 EUR/kWh) x 1.20`. The 3 % is the
  balancing-energy component aWATTar's HOURLY tariff adds to the EPEX price
  (awattar.com tariff pages); 0.15 EUR/kWh is a round figure for the rest of
  an Austrian household's energy price (supplier fee, grid charges, levies,
  electricity tax), the same round figure the project's own price study used
  (issue 10: "spot + 0.15 EUR/kWh"), not an actual 2017 bill; 20 % is
  Austria's VAT. The 2017 spot averaged 34.2 EUR/MWh, so the retail price
  averages about 0.22 EUR/kWh (147 hours below zero spot stay cheap, never
  negative retail). The data start at 00:00 UTC, so the first local hour of
  2017 (00:00-01:00 CET) has no price and costs nothing.

Gaps: gaps up to `MAX_FILLED_GAP_S` are interpolated; longer PV gaps (the Graz
logger's outages, about 8 % of the year, half of April) are set to 0 W and
longer household gaps to the household's median, and both are reported in
`BacktestInputs.notes`, so every policy and the optimum see the same data.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pandas as pd

from optimizer.backtest.engine import DEFAULT_STEP_S, BacktestInputs
from optimizer.backtest.inputs import resample_to_step
from optimizer.backtest.sessions import CommuterPattern, sample_sessions
from optimizer.prices.retail import RetailFormula
from optimizer.sessions import Pattern
from optimizer.site import GRAZ

DATASET_NAMES: tuple[str, ...] = ("real-2017",)
HOUSEHOLD_SHIFT = timedelta(weeks=417)
"""UCI wall-clock time + this = 2017 wall-clock time (whole weeks: weekdays line up)."""
MAX_FILLED_GAP_S = 3600.0
"""Gaps up to this long are interpolated (s)."""
YEAR_START = date(2017, 1, 1)
YEAR_END = date(2018, 1, 1)
DEFAULT_SEED = 2017
REAL_2017_RETAIL = RetailFormula(markup=0.03, fees_eur_per_kwh=0.15, vat=0.20)
"""The retail tariff `real-2017` bills its spot prices with (module doc: the numbers' sources)."""


MEASURED_PV_START = date(2017, 1, 3)
"""The first local day of the Graz PV record; the days before it are missing, not dark."""


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=GRAZ.tz)


def shifted_household(start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """The UCI house on [start, end) (UTC), moved to 2017 as the module doc says (W)."""
    from adapters.datasets import load_household_power

    margin = pd.Timedelta(days=1)
    src = load_household_power(start - HOUSEHOLD_SHIFT - margin, end - HOUSEHOLD_SHIFT + margin)
    wall = src.tz_convert("Europe/Paris").tz_localize(None)
    wall.index = wall.index + pd.Timedelta(HOUSEHOLD_SHIFT)
    local = wall.tz_localize(GRAZ.timezone, ambiguous="NaT", nonexistent="NaT")
    local = local[local.index.notna()]
    return local.tz_convert("UTC").rename("house_w")


def _filled(
    series: pd.Series, start: pd.Timestamp, end: pd.Timestamp, long_fill: float, name: str
) -> tuple[pd.Series, str]:
    series = series.rename(name)
    grid, report = resample_to_step(
        series,
        DEFAULT_STEP_S,
        start=start,
        end=end,
        max_gap_s=MAX_FILLED_GAP_S,
        on_long_gap="nan",
    )
    long_missing = grid.isna().sum()
    note = f"{report}; {long_missing} min in long gaps set to {long_fill:.0f} W"
    return grid.fillna(long_fill), note


def retail_prices_2017(start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """`REAL_2017_RETAIL` of the 2017 DE-AT spot price on [start, end) (EUR/kWh, hourly, UTC)."""
    from adapters.prices.de_at_2017 import day_ahead_de_at_2017

    retail = REAL_2017_RETAIL.apply(day_ahead_de_at_2017()).window(start, end)
    index = pd.DatetimeIndex(list(retail.starts), name="time")
    series = pd.Series(retail.imports, index=index, name="price_per_kwh", dtype="float64")
    series.attrs["source"] = retail.source
    return series


def load_real_2017(
    start: date | str = YEAR_START,
    days: int | None = None,
    *,
    seed: int = DEFAULT_SEED,
    pattern: Pattern | None = None,
) -> BacktestInputs:
    """`real-2017` from local midnight of `start` (Europe/Vienna) for `days` days.

    `days` None runs to the end of 2017; `pattern` samples the sessions (None: commuter).
    Raises ValueError when the window leaves 2017 and
    `adapters.datasets.DatasetUnavailable` when the data packages are missing.
    """
    from adapters.datasets import load_graz_pv

    first = date.fromisoformat(start) if isinstance(start, str) else start
    last = YEAR_END if days is None else first + timedelta(days=days)
    if days is not None and days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    if not YEAR_START <= first < last <= YEAR_END:
        raise ValueError(
            f"real-2017 covers 2017-01-01 .. 2017-12-31; asked for {first} .. "
            f"{last - timedelta(days=1)}"
        )
    t0 = pd.Timestamp(_local_midnight(first)).tz_convert("UTC")
    t1 = pd.Timestamp(_local_midnight(last)).tz_convert("UTC")
    raw_pv = load_graz_pv(GRAZ.arrays[0], t0, t1).dropna()
    if raw_pv.empty:
        raise ValueError(
            f"real-2017 has no measured PV in {first} .. {last - timedelta(days=1)} "
            f"(the Graz record starts {MEASURED_PV_START}); choose a later --start"
        )
    pv, pv_note = _filled(raw_pv, t0, t1, 0.0, "pv_w")
    raw_house = shifted_household(t0, t1).dropna()
    house, house_note = _filled(raw_house, t0, t1, float(raw_house.median()), "house_w")
    pattern = pattern or CommuterPattern()
    sessions = sample_sessions(pattern, t0, t1, tz=GRAZ.timezone, seed=seed)
    return BacktestInputs(
        pv_w=pv,
        house_w=house,
        sessions=sessions,
        start=t0.to_pydatetime(),
        end=t1.to_pydatetime(),
        site=GRAZ,
        prices=retail_prices_2017(t0, t1),
        notes=(
            f"real-2017 {first} .. {last - timedelta(days=1)} (Europe/Vienna)",
            pv_note,
            house_note,
            f"sessions: {pattern.kind} pattern, seed {seed}, {len(sessions)} sessions",
            f"prices: DE-AT day-ahead 2017 (Source: Energinet, CC BY 4.0) billed as "
            f"{REAL_2017_RETAIL.describe()}",
        ),
    )


def load_dataset(
    name: str, start: date | str | None = None, days: int | None = None, *, seed: int = DEFAULT_SEED
) -> BacktestInputs:
    """A named data set (see `DATASET_NAMES`)."""
    if name != "real-2017":
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASET_NAMES)}")
    return load_real_2017(start or YEAR_START, days, seed=seed)

"""The backtest's price column as the policies' `PriceSource`, published as day-ahead is.

`--prices FILE` and `--dataset real-2017` bill the car's grid energy from a price
series; `target`'s least-cost planner plans with the same series, through the same
port it uses at home. A day-ahead market publishes tomorrow's prices at about 13:00
local time (EPEX), so the source shows a plan made at `start` only the prices known
then: today's until 13:00, today's and tomorrow's after it. The rest of a longer
plan keeps the last known price (`optimizer.planning.slots.slot_prices`).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo

import numpy as np
import numpy.typing as npt
import pandas as pd

from optimizer.prices.port import PriceSource, day_ahead_publication
from optimizer.prices.series import PriceSeries, PriceSeriesError, PriceSlot

PUBLISHED_AT = time(13, 0)
"""Local time the next day's prices become known (EPEX day-ahead, about 12:45-13:00)."""


class DayAheadReplay(PriceSource):
    """A fixed price series, each day visible from 13:00 local on the day before."""

    def __init__(self, series: PriceSeries, timezone: tzinfo) -> None:
        self.series = series
        self.timezone = timezone

    @property
    def name(self) -> str:
        return "backtest prices"

    @classmethod
    def from_column(
        cls, prices: pd.Series, timezone: tzinfo, exports: pd.Series | None = None
    ) -> DayAheadReplay | None:
        """From the backtest's `price_per_kwh` series (EUR/kWh by UTC time) and the export
        prices in force at each interval's start (`exports`, None: the policy's own
        export price); None when the intervals are not regular 15, 30 or 60 minutes
        without gaps."""
        clean = prices.dropna().sort_index()
        index = pd.DatetimeIndex(clean.index).tz_convert("UTC")
        starts = [t.to_pydatetime() for t in index]
        try:
            series = PriceSeries.from_slots(starts, clean.to_numpy(dtype=float).tolist())
        except PriceSeriesError:
            return None
        if exports is not None:
            series = series.with_exports(export_at(exports, index).tolist())
        return cls(series, timezone)

    def prices(self, start: datetime, end: datetime) -> PriceSeries:
        """The intervals of [start, end) known at `start` (see the module docstring)."""
        return self.series.window(start, min(end, self.known_until(start)))

    def slot_at(self, when: datetime) -> PriceSlot | None:
        """The interval holding `when`, looked up directly: it is always published by
        then (`known_until(when)` is a midnight after `when`), so it is the one `prices`
        gives over the second from `when`, without cutting a window of the series."""
        return self.series.at(when)

    def publishes_at(self, day: date) -> datetime:
        """`day`'s prices are known from 13:00 local the day before (UTC)."""
        return day_ahead_publication(day, PUBLISHED_AT, self.timezone)

    def known_until(self, now: datetime) -> datetime:
        """End of the last day whose prices are published at `now` (UTC)."""
        local = now.astimezone(self.timezone)
        days = 2 if local.time() >= PUBLISHED_AT else 1
        midnight = datetime.combine(local.date() + timedelta(days=days), time(0), self.timezone)
        return midnight.astimezone(now.tzinfo)


def export_at(exports: pd.Series, times: pd.DatetimeIndex) -> npt.NDArray[np.float64]:
    """The export price (EUR/kWh) in force at each of `times`: the last one at or before
    it, the first one before the series. The planner sees one export price per import
    interval: a finer export series is sampled at the intervals' starts (the cost column
    bills every minute at the price in force)."""
    series = exports.astype("float64").dropna().sort_index()
    index = pd.DatetimeIndex(series.index).tz_convert("UTC")
    position = np.clip(index.searchsorted(times, side="right") - 1, 0, None)
    return series.to_numpy()[position]

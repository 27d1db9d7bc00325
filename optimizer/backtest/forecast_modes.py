"""What a backtest's forecaster may know beyond the measurements: `--forecast MODE`.

Each mode is a `ForecastSource` handed to the composition root (`build_site(weather=,
jobs=)`), the port the daemon's weather providers use at home, with the background job
that refreshes it where it has one: the controller, its forecaster, the blend with the
nowcast and the daemon's scheduling of the refresh are the same code in every mode.

* `offline` (the default): no source. The forecaster has the clear sky, the nowcast of
  the PV it has read and the site's learned climatology; it never sees a measurement
  after the simulated now.
* `oracle`: `TruePv`, the measured PV of the inputs at every future instant, as both the
  central and the pessimistic forecast, and the blend hands over to it at once (the
  nowcast keeps no weight beyond a minute). Nothing real forecasts that well: an
  **upper bound** of what a better forecast can be worth, and labelled so in every
  table and JSON. The forecaster scales a source's power by its learnt calibration
  ratio (the source speaks for the configured kWp), about 1 when the config matches
  the array, so even the oracle's power passes through that factor.
* `file:PATH`: archived forecasts replayed with their issue times (`ArchiveProvider`,
  read by `adapters.weather.archive`) through the daemon's own `WeatherFeed`, whose
  refresh runs as the daemon's background job at each issue time: at simulated time t
  the forecaster sees the latest forecast issued at or before t, never a later one; a
  forecast older than a day is dropped (the offline default takes over).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from optimizer.background import BackgroundJob
from optimizer.forecast.config import ForecastConfig
from optimizer.forecast.sources import FloatArray, ForecastSource, SourcePower
from optimizer.forecast.weather import (
    CallBudget,
    WeatherCache,
    WeatherFeed,
    WeatherSeries,
    WeatherSourceError,
)
from optimizer.interfaces import Clock

OFFLINE_LABEL = "offline"
ORACLE_LABEL = "oracle (upper bound)"
ORACLE_CAVEAT = "UPPER BOUND: the forecaster was given the measured future PV"
ORACLE_CROSSOVER = ForecastConfig(nowcast_full_h=0.0, weather_full_h=1.0 / 60.0)
"""The oracle's blend: the truth takes over from the nowcast within a minute."""

ARCHIVE_RETRY_S = 60.0
"""Before the archive's first issue, the feed asks again this often (s)."""


@dataclass(frozen=True)
class ModeInputs:
    """What a mode hands the composition root: the forecaster's source and the background
    jobs that keep it fresh (`build_site(weather=, jobs=)`)."""

    source: ForecastSource
    jobs: tuple[BackgroundJob, ...] = ()


@dataclass(frozen=True)
class ForecastMode:
    """One `--forecast` mode: its label, the source each run gets, the blend it needs.

    `make_source(clock)` builds a fresh source (and its jobs) per run (None: offline); `config`
    replaces the site's `[forecast]` blend settings (None: the defaults); `caveat` is a
    line every table made with the mode must show (None: nothing to warn about).
    """

    label: str
    make_source: Callable[[Clock], ModeInputs] | None = None
    config: ForecastConfig | None = None
    caveat: str | None = None


OFFLINE = ForecastMode(OFFLINE_LABEL)


class TruePv(ForecastSource):
    """The measured PV (W) at any instant, as a weather forecast that is never wrong."""

    def __init__(self, pv_w: pd.Series) -> None:
        values = pv_w.astype("float64").dropna().sort_index()
        if values.empty:
            raise ValueError("oracle: the inputs have no PV")
        self._t = pd.DatetimeIndex(values.index).tz_convert("UTC").as_unit("ns").asi8 / 1e9
        self._w = values.to_numpy()

    def pv_power(self, times_s: FloatArray) -> SourcePower:
        """The truth at `times_s` (linear between samples), NaN outside the data; both
        quantiles are the truth."""
        outside = (times_s < self._t[0]) | (times_s > self._t[-1])
        truth = np.where(outside, np.nan, np.interp(times_s, self._t, self._w))
        return SourcePower(truth, truth)


def oracle(pv_w: pd.Series) -> ForecastMode:
    """`--forecast oracle` over the inputs' PV."""
    return ForecastMode(
        ORACLE_LABEL,
        lambda _clock: ModeInputs(TruePv(pv_w)),
        ORACLE_CROSSOVER,
        caveat=ORACLE_CAVEAT,
    )


class ArchiveProvider:
    """Archived forecasts as a `WeatherProvider`: `fetch(now)` answers the latest one
    issued at or before `now` (`WeatherSeries.issued_s` is the issue time).

    `refresh_s` is the gap from the forecast last answered to the next issue, so the
    feed's refresh job comes back exactly when a newer forecast is issued; a replay has
    no quota."""

    name = "archive"

    def __init__(self, forecasts: Sequence[WeatherSeries]) -> None:
        self._forecasts = sorted(forecasts, key=lambda s: s.issued_s)
        self._issued = [s.issued_s for s in self._forecasts]
        self._answered: int | None = None
        self.budget = CallBudget(10**9, 1.0)

    @property
    def refresh_s(self) -> float:
        """Seconds from the last answered issue to the next one (a day after the last)."""
        i = self._answered
        if i is None:
            return ARCHIVE_RETRY_S
        if i + 1 < len(self._issued):
            return self._issued[i + 1] - self._issued[i]
        return 86400.0

    def fetch(self, now_s: float) -> WeatherSeries:
        """The latest forecast issued by `now_s`; `WeatherSourceError` before the first."""
        i = bisect_right(self._issued, now_s) - 1
        if i < 0:
            first = datetime.fromtimestamp(self._issued[0], UTC) if self._issued else None
            raise WeatherSourceError(self.name, f"no forecast issued yet (first: {first})")
        self._answered = i
        return self._forecasts[i]


class _NoCache(WeatherCache):
    """A replay keeps nothing between runs."""

    def load(self, provider: str) -> tuple[WeatherSeries | None, list[float]]:
        return None, []

    def save(self, provider: str, series: WeatherSeries | None, calls: Iterable[float]) -> None:
        return None


def archived(label: str, forecasts: Sequence[WeatherSeries]) -> ForecastMode:
    """`--forecast file:PATH`: `forecasts` replayed by issue time through a `WeatherFeed`."""
    if not forecasts:
        raise ValueError(f"{label}: no forecasts")

    def source(clock: Clock) -> ModeInputs:
        feed = WeatherFeed(ArchiveProvider(forecasts), clock, _NoCache())
        return ModeInputs(feed, (BackgroundJob("weather", feed.refresh),))

    return ForecastMode(label, source)


__all__ = [
    "OFFLINE",
    "OFFLINE_LABEL",
    "ORACLE_CAVEAT",
    "ORACLE_LABEL",
    "ArchiveProvider",
    "ForecastMode",
    "ModeInputs",
    "TruePv",
    "archived",
    "oracle",
]

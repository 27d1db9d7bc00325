"""PV and household power on the simulation grid, one UTC day at a time.

Either generated (clear-sky PV from `optimizer.pvmodel.clear_sky_pv` times the
cloud process; the household generator) or taken from real pandas series of
any step and time zone: finer series are averaged to the step, coarser ones
linearly interpolated; NaNs are bridged by interpolation (the backtest's
loaders report gaps before this). Days are seeded independently, so day d
is the same whatever was simulated before.

The clear sky is computed on a 5-minute grid in 32-day chunks and
interpolated (solar position is smooth; this keeps a simulated year at about
a second of pvlib time instead of several). A world of one home among many
that lives a day or two (a fleet) asks for 1-day chunks: the chunks' cache
holds few sites, and a 32-day chunk per home costs ~7x a 1-day one. The grid
points are the same, so is every value.
"""

from __future__ import annotations

import zlib
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import pandas as pd

from adapters.simulator.world.household import household_load
from adapters.simulator.world.scenario import Scenario
from adapters.simulator.world.weather import transmittance
from optimizer.pvmodel import clear_sky_pv
from optimizer.site import SiteConfig

FloatArray = npt.NDArray[np.float64]

DAY_S = 86400
CLEAR_SKY_STEP_S = 300
CLEAR_SKY_CHUNK_DAYS = 32


@lru_cache(maxsize=8)
def _clear_sky_chunk(site: SiteConfig, chunk: int, days: int) -> FloatArray:
    """Clear-sky PV (W) on a 5-min grid over `days` days + 1 sample, chunk of day ordinals."""
    first = date.fromordinal(chunk * days + 1)
    start = datetime.combine(first, time(0, 0), tzinfo=UTC)
    periods = days * DAY_S // CLEAR_SKY_STEP_S + 1
    times = pd.date_range(start, periods=periods, freq=f"{CLEAR_SKY_STEP_S}s")
    return clear_sky_pv(site, times).to_numpy(dtype=float)


def clear_sky_day(
    site: SiteConfig, day: date, step_s: float, chunk_days: int = CLEAR_SKY_CHUNK_DAYS
) -> FloatArray:
    """Clear-sky PV (W) for one UTC day on a grid of `step_s`, step values at step start;
    pvlib computes `chunk_days` days at once (module doc)."""
    ordinal = day.toordinal() - 1
    chunk, offset = divmod(ordinal, chunk_days)
    values = _clear_sky_chunk(site, chunk, chunk_days)
    per_day = DAY_S // CLEAR_SKY_STEP_S
    coarse = values[offset * per_day : (offset + 1) * per_day + 1]
    fine_t = np.arange(0.0, DAY_S, step_s) / CLEAR_SKY_STEP_S
    return np.interp(fine_t, np.arange(coarse.shape[0]), coarse)


class _Series:
    """A real power series prepared once for fast per-day lookups."""

    def __init__(self, name: str, series: pd.Series, step_s: float) -> None:
        if not isinstance(series, pd.Series) or not isinstance(series.index, pd.DatetimeIndex):
            raise ValueError(f"{name}: must be a pandas Series with a DatetimeIndex")
        if series.index.tz is None:
            raise ValueError(f"{name}: index must be timezone-aware")
        values = pd.to_numeric(series, errors="coerce").astype(float)
        values = values[~values.index.duplicated()].sort_index().dropna()
        if values.empty:
            raise ValueError(f"{name}: no numeric values")
        if (values < 0).any():
            first = values.index[values.to_numpy() < 0][0]
            raise ValueError(f"{name}: negative power at {first.isoformat()}")
        values.index = values.index.tz_convert("UTC").as_unit("ns")
        ns = values.index.asi8
        # The median of the gaps (ns) taken on floats: the same value (the gaps are exact
        # in float64 and np.median averages its middle pair in float64 either way), but
        # numpy's int64 partition took ~90 ms on a year of minutes, about 1 % of a year.
        gaps = np.diff(ns).astype(np.float64)
        spacing = float(np.median(gaps)) / 1e9 if len(values) > 1 else step_s
        if spacing < step_s:
            values = values.resample(f"{int(step_s)}s").mean().dropna()
        self.name = name
        self.t = values.index.as_unit("ns").asi8.astype(float) / 1e9
        self.v = values.to_numpy(dtype=float)

    def day(self, day: date, step_s: float) -> FloatArray:
        start = datetime.combine(day, time(0, 0), tzinfo=UTC).timestamp()
        grid = start + np.arange(0.0, DAY_S, step_s)
        if grid[0] < self.t[0] - step_s or grid[-1] > self.t[-1] + step_s:
            first = datetime.fromtimestamp(self.t[0], UTC).isoformat()
            last = datetime.fromtimestamp(self.t[-1], UTC).isoformat()
            raise ValueError(
                f"{self.name}: does not cover {day.isoformat()} (UTC); it covers {first} .. {last}"
            )
        return np.interp(grid, self.t, self.v)


class DayInputs:
    """PV (shared) and household (per device) power for each simulated UTC day.

    `clear_sky_chunk_days`: days of clear sky computed per pvlib call (module doc).
    """

    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        step_s: float,
        pv_w: pd.Series | None = None,
        house_w: pd.Series | None = None,
        clear_sky_chunk_days: int = CLEAR_SKY_CHUNK_DAYS,
    ) -> None:
        if clear_sky_chunk_days < 1:
            raise ValueError(f"clear_sky_chunk_days must be >= 1, got {clear_sky_chunk_days}")
        self.clear_sky_chunk_days = clear_sky_chunk_days
        self.scenario = scenario
        self.seed = seed
        self.step_s = step_s
        self._pv = _Series("pv_w", pv_w, step_s) if pv_w is not None else None
        self._house = _Series("house_w", house_w, step_s) if house_w is not None else None
        self._pv_cache: dict[date, FloatArray] = {}
        self._house_cache: dict[tuple[str, date], FloatArray] = {}
        self._list_cache: dict[tuple[str, date], list[float]] = {}

    def as_list(self, device_id: str | None, day: date) -> list[float]:
        """PV (`device_id` None) or a device's household power as Python floats, cached.

        Short segments read single steps; Python lists are much faster there than numpy.
        """
        key = (device_id or "", day)
        cached = self._list_cache.get(key)
        if cached is None:
            if len(self._list_cache) > 16:
                self._list_cache.clear()
            values = self.pv(day) if device_id is None else self.household(device_id, day)
            cached = values.tolist()
            self._list_cache[key] = cached
        return cached

    def pv(self, day: date) -> FloatArray:
        """PV power (W) on the day's grid."""
        cached = self._pv_cache.get(day)
        if cached is None:
            self._forget_before(day - timedelta(days=1))
            if len(self._pv_cache) > 4:
                self._pv_cache.clear()
            cached = self._make_pv(day)
            self._pv_cache[day] = cached
        return cached

    def _forget_before(self, first: date) -> None:
        """Drop the cached days before `first`: the world only moves forward, so a day
        before yesterday is rarely read again (and would be the same when recomputed).
        Bounds a long-running fleet's inputs to two days per home."""
        for day in [d for d in self._pv_cache if d < first]:
            del self._pv_cache[day]
        for key in [k for k in self._house_cache if k[1] < first]:
            del self._house_cache[key]
        for key in [k for k in self._list_cache if k[1] < first]:
            del self._list_cache[key]

    def household(self, device_id: str, day: date) -> FloatArray:
        """Household power without the car (W) on the day's grid."""
        key = (device_id, day)
        cached = self._house_cache.get(key)
        if cached is None:
            if len(self._house_cache) > 16:
                self._house_cache.clear()
            cached = self._make_household(device_id, day)
            self._house_cache[key] = cached
        return cached

    def _make_pv(self, day: date) -> FloatArray:
        if self._pv is not None:
            return self._pv.day(day, self.step_s)
        site, chunk_days = self.scenario.site, self.clear_sky_chunk_days
        clear = clear_sky_day(site, day, self.step_s, chunk_days)
        rng = np.random.default_rng([self.seed, 0, day.toordinal(), 1])
        return clear * transmittance(self.scenario.weather, rng, clear.shape[0], self.step_s)

    def _make_household(self, device_id: str, day: date) -> FloatArray:
        if self._house is not None:
            return self._house.day(day, self.step_s)
        start = datetime.combine(day, time(0, 0), tzinfo=UTC)
        noon = (start + timedelta(hours=12)).astimezone(self.scenario.site.tz)
        offset = noon.utcoffset()
        offset_h = offset.total_seconds() / 3600.0 if offset is not None else 0.0
        local_hour = (np.arange(0.0, DAY_S, self.step_s) / 3600.0 + offset_h) % 24.0
        rng = np.random.default_rng([self.seed, zlib.crc32(device_id.encode()), day.toordinal(), 2])
        return household_load(self.scenario.household, rng, local_hour, self.step_s)

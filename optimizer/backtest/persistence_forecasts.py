"""Forecast files shaped like Open-Meteo's answer, made from the measurement by a causal
persistence model: archived forecasts for `backtest --forecast file:PATH` where no real
archive exists.

No weather forecast issued in 2017 for Graz is available offline, so the `real-2017`
table cannot replay real ones. This module makes a stand-in. **It is not Open-Meteo's
forecast, nor any weather model's**: it only has Open-Meteo's shape (an `hourly` block
of `global_tilted_irradiance` or `shortwave_radiation`, W/m2, each the mean of the
preceding hour, times in GMT), so the backtest reads it through the same code as a
real archived answer (`adapters.weather.archive`).

The model, for each issue time T (every 6 h at 00, 06, 12 and 18 UTC), from measured PV
power before T only (minutes without a measurement are left out of every sum):

* the clear-sky index of a window is the measured PV energy over the site model's
  clear-sky PV energy in the minutes of the window that have a measurement
  (`optimizer.pvmodel`, the forecaster's own clear sky); a window whose clear-sky
  energy is below `MIN_CLEAR_WH` (night) has none;
* `k_day`: the last 24 h before T; `k_clim`: the last `CLIMATE_DAYS` days before T
  (a trailing climatology: no later day is ever used); `k_recent`: the last 2 h;
* the forecast clear-sky index `lead` hours after T is
  `k = k_base + (k_recent - k_base) exp(-lead / RECENT_TAU_H)` with
  `k_base = DAY_WEIGHT k_day + (1 - DAY_WEIGHT) k_clim` (without `k_recent` just
  `k_base`; without `k_day` `k_clim`; without both `DEFAULT_K`), clipped to 0..1.1;
* the irradiance of each hour of the 48 h after T is `k` at the hour's middle times the
  site's clear-sky irradiance averaged over the hour (the array's plane for
  `global_tilted_irradiance`, horizontal for `shortwave_radiation`).

Because every sum runs over the minutes before T, no value of the forecast issued at T
depends on a measurement at or after T (`tests/test_persistence_forecasts.py` perturbs
the future and checks the forecast does not move).

    PYTHONPATH=$PWD .venv/bin/python -m optimizer.backtest.persistence_forecasts \\
        --start 2017-06-01 --days 14 --out /tmp/graz_2017-06.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from optimizer.pvmodel import clear_sky_irradiance, clear_sky_pv, plane_irradiance
from optimizer.site import GRAZ, SiteConfig

FloatArray = npt.NDArray[np.float64]
Variable = Literal["global_tilted_irradiance", "shortwave_radiation"]

MADE_BY = (
    "v2c-solar optimizer.backtest.persistence_forecasts: shaped like Open-Meteo's answer, "
    "made from the measured PV by a causal persistence model (yesterday's clear-sky index "
    "blended with a trailing 30-day climatology, the last 2 h fading out); NOT Open-Meteo's "
    "forecast, nor any weather model's"
)
ISSUE_HOURS_UTC = (0, 6, 12, 18)
HORIZON_H = 48
CLIMATE_DAYS = 30
DAY_WEIGHT = 0.5
RECENT_WINDOW_H = 2.0
RECENT_TAU_H = 3.0
DEFAULT_K = 0.7
K_MAX = 1.1
MIN_CLEAR_WH = 50.0
"""A window with less clear-sky PV energy than this (Wh) says nothing about the sky."""
SUB_STEP_MIN = 5
"""Clear-sky irradiance is averaged over each hour from points this many minutes apart."""


@dataclass(frozen=True)
class Measured:
    """Measured PV on a 1-minute UTC grid and the site's clear-sky PV on the same grid,
    as prefix sums (Wh) so a window's energy costs two lookups; NaN minutes count 0 in
    both."""

    start_s: float
    measured_wh: FloatArray
    clear_wh: FloatArray

    @classmethod
    def of(cls, pv_w: pd.Series, site: SiteConfig) -> Measured:
        """From measured PV power (W) of any spacing, averaged onto whole UTC minutes."""
        values = pv_w.astype("float64").sort_index()
        values.index = pd.DatetimeIndex(values.index).tz_convert("UTC")
        grid = values.resample("1min").mean()
        clear = clear_sky_pv(site, pd.DatetimeIndex(grid.index) + pd.Timedelta(seconds=30))
        seen = grid.notna().to_numpy()
        measured = np.where(seen, grid.to_numpy(), 0.0) / 60.0
        clear_seen = np.where(seen, clear.to_numpy(), 0.0) / 60.0
        zero = np.zeros(1)
        return cls(
            start_s=float(grid.index[0].timestamp()),
            measured_wh=np.concatenate([zero, np.cumsum(measured)]),
            clear_wh=np.concatenate([zero, np.cumsum(clear_seen)]),
        )

    def index(self, t_s: float) -> int:
        """Prefix-sum index of the minutes before `t_s` (0..n)."""
        i = math.floor((t_s - self.start_s) / 60.0)
        return min(max(i, 0), self.measured_wh.size - 1)

    def clear_sky_index(self, start_s: float, end_s: float) -> float | None:
        """Measured over clear-sky energy in [start_s, end_s); None at night or without data."""
        lo, hi = self.index(start_s), self.index(end_s)
        clear = self.clear_wh[hi] - self.clear_wh[lo]
        if clear < MIN_CLEAR_WH:
            return None
        return float((self.measured_wh[hi] - self.measured_wh[lo]) / clear)


def forecast_index(measured: Measured, issue: datetime, lead_h: FloatArray) -> FloatArray:
    """The forecast clear-sky index at `lead_h` hours after `issue` (module docstring)."""
    t = issue.timestamp()
    k_day = measured.clear_sky_index(t - 86400.0, t)
    k_clim = measured.clear_sky_index(t - CLIMATE_DAYS * 86400.0, t)
    k_recent = measured.clear_sky_index(t - RECENT_WINDOW_H * 3600.0, t)
    if k_clim is None:
        base = DEFAULT_K
    elif k_day is None:
        base = k_clim
    else:
        base = DAY_WEIGHT * k_day + (1.0 - DAY_WEIGHT) * k_clim
    k = np.full(lead_h.shape, base)
    if k_recent is not None:
        k = base + (k_recent - base) * np.exp(-lead_h / RECENT_TAU_H)
    return np.clip(k, 0.0, K_MAX)


def hourly_clear_sky(
    site: SiteConfig, start: datetime, hours: int, variable: Variable
) -> tuple[pd.DatetimeIndex, FloatArray]:
    """Hour ends (UTC) and the clear-sky irradiance averaged over each preceding hour (W/m2)."""
    per_hour = 60 // SUB_STEP_MIN
    points = pd.date_range(
        pd.Timestamp(start) + pd.Timedelta(minutes=SUB_STEP_MIN / 2),
        periods=hours * per_hour,
        freq=f"{SUB_STEP_MIN}min",
    )
    sky = clear_sky_irradiance(site, points)
    if variable == "global_tilted_irradiance":
        values = plane_irradiance(site.arrays[0], sky).to_numpy()
    else:
        values = sky["ghi"].to_numpy()
    means = values.reshape(hours, per_hour).mean(axis=1)
    ends = pd.date_range(pd.Timestamp(start) + pd.Timedelta(hours=1), periods=hours, freq="h")
    return ends, means


def answer_at(
    measured: Measured, site: SiteConfig, issue: datetime, variable: Variable
) -> dict[str, Any]:
    """The forecast issued at `issue` as an Open-Meteo-shaped answer with its `issue_time`."""
    if variable == "global_tilted_irradiance" and len(site.arrays) != 1:
        raise ValueError(
            f"global_tilted_irradiance is one plane; the site has {len(site.arrays)} arrays "
            "(use shortwave_radiation)"
        )
    ends, clear = hourly_clear_sky(site, issue, HORIZON_H, variable)
    lead_h = np.arange(HORIZON_H, dtype=np.float64) + 0.5
    values = forecast_index(measured, issue, lead_h) * clear
    return {
        "latitude": site.latitude,
        "longitude": site.longitude,
        "elevation": site.altitude_m,
        "utc_offset_seconds": 0,
        "timezone": "GMT",
        "timezone_abbreviation": "GMT",
        "hourly_units": {"time": "iso8601", variable: "W/m²"},
        "hourly": {
            "time": [t.strftime("%Y-%m-%dT%H:%M") for t in ends],
            variable: [round(float(v), 1) for v in values],
        },
        "issue_time": issue.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "made_by": MADE_BY,
    }


def issue_times(first: datetime, end: datetime) -> Iterator[datetime]:
    """Every issue hour (`ISSUE_HOURS_UTC`) in [first, end), UTC."""
    t = first.replace(minute=0, second=0, microsecond=0)
    while t < end:
        if t >= first and t.hour in ISSUE_HOURS_UTC:
            yield t
        t += timedelta(hours=1)


def write_archive(
    pv_w: pd.Series,
    site: SiteConfig,
    first: datetime,
    end: datetime,
    out: Path,
    variable: Variable = "global_tilted_irradiance",
) -> int:
    """Write one answer per issue time in [first, end) to `out` (JSON Lines); how many."""
    measured = Measured.of(pv_w, site)
    lines = [
        json.dumps(answer_at(measured, site, t, variable), ensure_ascii=False)
        for t in issue_times(first, end)
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def score(
    forecasts: list[tuple[float, FloatArray, FloatArray]], pv_w: pd.Series, site: SiteConfig
) -> dict[str, float]:
    """MAE (W) over the daylight hours 1-24 h after each issue of the forecasts
    (`(issued_s, times_s, power_w)`, power at the middle of each hour) against the
    measured hourly mean PV, beside the site's clear-sky PV model; hours without a
    measurement are skipped."""
    hourly = pv_w.astype("float64").sort_index().resample("1h").mean()
    index = pd.DatetimeIndex(hourly.index).tz_convert("UTC")
    measured = pd.Series(hourly.to_numpy(), index=index.as_unit("ns").asi8 / 1e9 + 1800.0)
    errors: dict[str, list[float]] = {"forecast": [], "clear sky": []}
    for issued_s, times_s, power_w in forecasts:
        lead = times_s - issued_s
        pick = (lead > 0) & (lead < 24 * 3600.0)
        truth = measured.reindex(times_s[pick]).to_numpy()
        clear = clear_sky_pv(site, pd.to_datetime(times_s[pick], unit="s", utc=True)).to_numpy()
        keep = np.isfinite(truth) & (clear > 0.05 * clear.max(initial=0.0))
        errors["forecast"].extend(np.abs(power_w[pick][keep] - truth[keep]))
        errors["clear sky"].extend(np.abs(clear[keep] - truth[keep]))
    return {name: float(np.mean(values)) for name, values in errors.items()}


def main(argv: list[str] | None = None) -> None:
    """Write the persistence forecasts for `real-2017` (Graz): issues from a day before
    `--start` (the backtest's first local midnight is 22:00 or 23:00 UTC the day before)
    to the end of the window, from the measured PV since `CLIMATE_DAYS` before that."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--start", type=date.fromisoformat, default=date(2017, 1, 1))
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--variable",
        choices=("global_tilted_irradiance", "shortwave_radiation"),
        default="global_tilted_irradiance",
    )
    parser.add_argument("--score", action="store_true", help="MAE against the measured PV")
    args = parser.parse_args(argv)
    from adapters.datasets import load_graz_pv

    first = datetime.combine(args.start - timedelta(days=1), time(0), GRAZ.tz).astimezone(UTC)
    end = datetime.combine(args.start + timedelta(days=args.days), time(0), GRAZ.tz).astimezone(UTC)
    since = pd.Timestamp(first) - pd.Timedelta(days=CLIMATE_DAYS)
    pv = load_graz_pv(GRAZ.arrays[0], since.tz_convert("UTC"), pd.Timestamp(end).tz_convert("UTC"))
    n = write_archive(pv, GRAZ, first, end, args.out, args.variable)
    print(f"{args.out}: {n} forecasts issued {first:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M} UTC")
    print(MADE_BY)
    if args.score:
        from adapters.weather.archive import read_archive

        read = [(s.issued_s, s.times_s, s.central_w) for s in read_archive(args.out, GRAZ)]
        maes = score(read, pv, GRAZ)
        print("MAE of hourly PV 1-24 h ahead, daylight (W): " + ", ".join(
            f"{name} {mae:.0f}" for name, mae in maes.items()
        ))  # fmt: skip


if __name__ == "__main__":
    main()

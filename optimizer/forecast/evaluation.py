"""Honest evaluation of the forecaster on a measured PV series, as the controller would see it.

The series (any step) is put on a 1-minute grid and sampled the way API reads
arrive: one observation every `sample_every_s` seconds, or at random 1-5 min
spacing. Every `issue_every_s` during daylight the forecaster issues a
forecast, compared at fixed horizons with the measured power and with three
baselines that see the same observations:

- persistence: the last observed power;
- smart persistence: the last observed clear-sky index times the (calibrated)
  clear-sky power at the target time;
- clear sky: the calibrated clear-sky power alone.

Only daylight targets with a measurement count. Errors are in W.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from optimizer.forecast.forecaster import PvForecaster
from optimizer.site import SiteConfig

HORIZONS_MIN = (5, 15, 60, 240)
METHODS = ("forecast", "persistence", "smart_persistence", "clear_sky")
MAX_STALENESS_S = 600.0
"""A forecast is only scored when the last observation is at most this old."""


@dataclass(frozen=True, slots=True)
class Scores:
    """MAE and RMSE (W) per horizon (minutes) and method, and how many targets were scored."""

    mae_w: dict[int, dict[str, float]]
    rmse_w: dict[int, dict[str, float]]
    count: dict[int, int]
    calibrated_kwp: float
    observations: int
    extra: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        """The CLI's JSON shape: `{"mae_w": {"5": {...}}, "rmse_w": ..., "calibrated_kwp": ...}`."""
        return {
            "mae_w": {str(h): dict(v) for h, v in self.mae_w.items()},
            "rmse_w": {str(h): dict(v) for h, v in self.rmse_w.items()},
            "count": {str(h): n for h, n in self.count.items()},
            "calibrated_kwp": self.calibrated_kwp,
            "observations": self.observations,
        }


def to_minute_grid(pv: pd.Series) -> pd.Series:
    """A PV series (W, any step, any zone) on a regular 1-minute UTC grid, NaN where unknown.

    Coarser series are linearly interpolated over at most one original step;
    finer ones are averaged per minute.
    """
    if not isinstance(pv.index, pd.DatetimeIndex) or pv.index.tz is None:
        raise ValueError("PV series needs a timezone-aware DatetimeIndex")
    pv = pv.astype(float).tz_convert("UTC").sort_index()
    pv = pv[~pv.index.duplicated()]
    if len(pv) < 2:
        raise ValueError("PV series needs at least two samples")
    step = pd.Series(pv.index).diff().median()
    grid = pd.date_range(pv.index[0].ceil("min"), pv.index[-1].floor("min"), freq="min")
    if step <= pd.Timedelta(minutes=1):
        return pv.resample("min").mean().reindex(grid)
    limit = max(1, int(step / pd.Timedelta(minutes=1)))
    merged = pv.reindex(pv.index.union(grid)).interpolate("time", limit=limit, limit_area="inside")
    return merged.reindex(grid)


def sample_times(n_minutes: int, *, sample_every_s: float | None, seed: int = 0) -> np.ndarray:
    """Minute offsets of the observations: fixed spacing, or random 1-5 min when None."""
    if sample_every_s is not None:
        step = max(1, round(sample_every_s / 60.0))
        return np.arange(0, n_minutes, step)
    rng = np.random.default_rng(seed)
    gaps = rng.integers(1, 6, size=n_minutes // 1 + 1)
    offsets = np.cumsum(gaps)
    return offsets[offsets < n_minutes]


def evaluate(
    pv: pd.Series,
    site: SiteConfig,
    *,
    sample_every_s: float | None = None,
    issue_every_s: float = 900.0,
    seed: int = 0,
    make_forecaster: Callable[[SiteConfig], PvForecaster] = PvForecaster,
) -> Scores:
    """Feed `pv` (W) to a fresh forecaster as sampled API reads and score its forecasts."""
    grid = to_minute_grid(pv)
    values = grid.to_numpy(dtype=np.float64)
    start_s = grid.index[0].timestamp()
    forecaster = make_forecaster(site)
    horizons = np.asarray(HORIZONS_MIN)
    span = int(horizons.max()) + 1
    errors: dict[int, dict[str, list[float]]] = {h: {m: [] for m in METHODS} for h in HORIZONS_MIN}
    daylight_w = 0.05 * forecaster.ac_limit_w
    last_obs_s = -np.inf
    last_obs_w = 0.0
    last_k = 0.0
    next_issue_s = start_s
    observations = 0
    for minute in sample_times(len(values), sample_every_s=sample_every_s, seed=seed):
        value = values[minute]
        if np.isnan(value):
            continue
        t_s = start_s + 60.0 * float(minute)
        time = datetime.fromtimestamp(t_s, UTC)
        forecaster.observe(time, float(value))
        observations += 1
        last_obs_s, last_obs_w = t_s, float(value)
        clear_now = min(
            forecaster.clear_sky.power_at(t_s) * forecaster.ratio, forecaster.ac_limit_w
        )
        if clear_now >= daylight_w:
            last_k = min(value / clear_now, 1.3)
        if t_s < next_issue_s or clear_now < daylight_w or t_s - last_obs_s > MAX_STALENESS_S:
            continue
        next_issue_s = t_s + issue_every_s
        if minute + span > len(values):
            break
        fc = forecaster.forecast(time, time + timedelta(minutes=span), 60.0)
        truth = values[minute + horizons]
        clear = fc.clear_sky_w[horizons]
        predictions = {
            "forecast": fc.central_w[horizons],
            "persistence": np.full(len(horizons), last_obs_w),
            "smart_persistence": last_k * clear,
            "clear_sky": clear,
        }
        scored = ~np.isnan(truth) & (clear >= daylight_w)
        for j, h in enumerate(HORIZONS_MIN):
            if scored[j]:
                for method, prediction in predictions.items():
                    errors[h][method].append(float(prediction[j] - truth[j]))
    return _scores(errors, forecaster.calibrated_kwp, observations)


def _scores(errors: dict[int, dict[str, list[float]]], kwp: float, observations: int) -> Scores:
    mae: dict[int, dict[str, float]] = {}
    rmse: dict[int, dict[str, float]] = {}
    count: dict[int, int] = {}
    for h, by_method in errors.items():
        arrays = {m: np.asarray(e) for m, e in by_method.items()}
        count[h] = len(by_method["forecast"])
        mae[h] = {m: float(np.abs(a).mean()) if a.size else float("nan") for m, a in arrays.items()}
        rmse[h] = {
            m: float(np.sqrt((a * a).mean())) if a.size else float("nan") for m, a in arrays.items()
        }
    return Scores(mae, rmse, count, kwp, observations)


def calibration_track(
    pv: pd.Series,
    configured: SiteConfig,
    *,
    after_days: tuple[int, ...] = (1, 7, 30),
    sample_every_s: float | None = None,
    seed: int = 0,
) -> dict[int, float]:
    """Calibrated kWp after each of `after_days` days of observations of `pv` (W).

    The forecaster starts from the `configured` site (e.g. a wrong kWp and
    azimuth); the caller compares the result with the true kWp.
    """
    grid = to_minute_grid(pv)
    values = grid.to_numpy(dtype=np.float64)
    start_s = grid.index[0].timestamp()
    forecaster = PvForecaster(configured)
    marks = sorted(after_days)
    result: dict[int, float] = {}
    for minute in sample_times(len(values), sample_every_s=sample_every_s, seed=seed):
        t_s = start_s + 60.0 * float(minute)
        while marks and t_s >= start_s + marks[0] * 86_400.0:
            result[marks.pop(0)] = forecaster.calibrated_kwp
        if not marks:
            break
        value = values[minute]
        if not np.isnan(value):
            forecaster.observe(datetime.fromtimestamp(t_s, UTC), float(value))
    for day in marks:
        result[day] = forecaster.calibrated_kwp
    return result

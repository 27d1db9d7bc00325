"""`PvForecaster`: the controller's `Forecaster`, built from clear sky, calibration and nowcast.

    forecaster = PvForecaster(GRAZ)
    forecaster.observe(reading.time, reading.pv_power_w)   # every read, O(1)
    fc = forecaster.forecast(now, now + timedelta(hours=48), 60.0)

Power = calibrated clear-sky power x forecast clear-sky index. The clear-sky
power comes from `optimizer.pvmodel` (cached per day), scaled by the online
calibration ratio and clipped at the inverters' AC limit; the clear-sky index
comes from the nowcast, optionally steered at long horizons by an external
`ForecastSource`. A source with a PV power forecast (a weather service) is blended
with the nowcast instead (`optimizer.forecast.blend`): the nowcast for the first
hours, the weather beyond, both quantiles kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np

from optimizer.forecast.blend import Crossover, blend
from optimizer.forecast.calibration import Calibration
from optimizer.forecast.clearsky import ClearSkyCache, ClearSkyUnavailable
from optimizer.forecast.clearsky_compute import ClearSkyDays, in_process
from optimizer.forecast.nowcast import Z_PESSIMISTIC, Nowcast
from optimizer.forecast.sources import ForecastSource, SourcePower
from optimizer.frozen import quick_init
from optimizer.interfaces import Forecaster, PvForecast
from optimizer.site import INVERTER_EFFICIENCY, SiteConfig

MIN_DAYLIGHT_FRACTION = 0.05
"""Below this share of peak clear-sky power the clear-sky index is too noisy to learn from."""

CLIPPING_FRACTION = 0.9
"""Observed power this close to the AC limit says nothing about the array size: the
calibration skips it. Judged on the observation, not on the configured model, which
a kWp typed 30 % too high would push over the limit for most of a clear noon."""

CALIBRATION_NOON_WINDOW_S = 2 * 3600.0
"""The automatic calibration learns only within 2 h of solar noon. There a wrong azimuth
tilts the morning and afternoon ratios by small, nearly opposite amounts that the
half-day geometric mean cancels; over the whole day the morning ratio grows without
bound as the misaligned model plane loses the sun, and the mean no longer cancels (a
20 degree error left +10..15 % in the learnt kWp). The clear-sky model's turbidity
error is also smallest at high sun. Chosen on Graz 2017 odd months (2 h vs 3 h vs 4 h vs
the whole day); the benchmark reports the even months separately."""

MAX_FORECAST_POINTS = 1_000_000

CLEAR_SKY_PREFETCH_DAYS = 8
"""Clear-sky days computed per pvlib call (see `ClearSkyCache`): the forecaster walks
forward through time, so the next week is computed at once for ~3x the cost of a day."""


FORECAST_AHEAD_STEPS = 48
"""Steps computed beyond a forecast's end, for the refreshes after it while the nowcast
learns nothing (`PvForecaster._ahead_of`): a controller refreshing every 15 min on a
5-min grid takes the next 16 refreshes of a night from one computation."""

CLEAR_AHEAD_STEPS = 288
"""Steps of calibrated clear sky computed beyond a forecast's end, for the refreshes after
it (`PvForecaster._clear_of`): by day the nowcast learns from every reading, so each
refresh computes its nowcast again, but the clear sky under it is the same function of
time while the calibration ratio stays (a day, on the 5-min grid)."""

MINUTE_S = 60.0


@quick_init
@dataclass(frozen=True, slots=True)
class _StepsAhead:
    """Arrays computed from `start_s` every `step_s` (epoch s) for the state `key` (what
    they depend on, with the step): powers (W) a later refresh reads instead of computing
    them again. `reusable`: on whole minutes, so any later grid of the same step reads
    its values from these."""

    key: tuple[object, ...]
    start_s: float
    step_s: float
    values: tuple[np.ndarray, ...]
    reusable: bool = True

    def covers(self, start_s: float, n: int) -> bool:
        """Whether `n` steps from `start_s` are among these, on the same grid."""
        if not self.reusable:
            return False
        shift = (start_s - self.start_s) / self.step_s
        return shift >= 0 and shift.is_integer() and shift + n <= self.values[0].shape[0]

    def take(self, start_s: float, n: int) -> tuple[np.ndarray, ...]:
        """Copies of the `n` steps from `start_s` (which `covers` must have accepted)."""
        i = round((start_s - self.start_s) / self.step_s)
        return tuple(v[i : i + n].copy() for v in self.values)


class PvForecaster(Forecaster):
    """Forecasts a site's PV power from its config and the power it observes.

    `calibration` is "auto" (learn the observed/modelled ratio on clear days),
    "off" (trust the config), or a `Calibration` to share or tune. `source`
    is an optional external forecast; the default works offline. `clear_sky_days`
    runs the clear-sky model (see `ClearSkyCache`): in this process unless told.
    `crossover` says where a weather source's power takes over from the nowcast.
    A clear sky that cannot be computed fails `forecast` with `ClearSkyUnavailable`
    and makes `observe` skip its sample.
    """

    def __init__(
        self,
        site: SiteConfig,
        *,
        calibration: Calibration | Literal["auto", "off"] = "auto",
        source: ForecastSource | None = None,
        nowcast: Nowcast | None = None,
        clear_sky_days: ClearSkyDays = in_process,
        crossover: Crossover | None = None,
    ) -> None:
        self.site = site
        self.crossover = crossover or Crossover()
        self.clear_sky = ClearSkyCache(
            site, prefetch_days=CLEAR_SKY_PREFETCH_DAYS, compute=clear_sky_days
        )
        self.ac_limit_w = sum(
            a.inverter_ac_w or a.pdc0_w * INVERTER_EFFICIENCY for a in site.arrays
        )
        if calibration == "auto":
            self.calibration: Calibration | None = Calibration(
                solar_offset_s=site.longitude / 15.0 * 3600.0,
                peak_w=self.ac_limit_w,
                clip_w=CLIPPING_FRACTION * self.ac_limit_w,
                noon_window_s=CALIBRATION_NOON_WINDOW_S,
            )
        elif calibration == "off":
            self.calibration = None
        elif isinstance(calibration, Calibration):
            self.calibration = calibration
        else:
            raise ValueError(
                f"calibration must be 'auto', 'off' or a Calibration, got {calibration!r}"
            )
        self.source = source
        self.nowcast = nowcast or Nowcast()
        self._min_daylight_w = MIN_DAYLIGHT_FRACTION * self.ac_limit_w
        self._ahead: _StepsAhead | None = None
        """Clear-sky, central and pessimistic power (W) ahead (`_ahead_of`)."""
        self._clear: _StepsAhead | None = None
        """Calibrated clear-sky power (W, read-only) ahead (`_clear_of`)."""

    @property
    def ratio(self) -> float:
        """Learnt observed/modelled ratio (1.0 when calibration is off)."""
        return self.calibration.ratio if self.calibration is not None else 1.0

    @property
    def calibrated_kwp(self) -> float:
        """The site's effective DC size as the observations show it (kWp)."""
        return self.site.kwp * self.ratio

    @property
    def depends_only_on_observations(self) -> bool:
        """True when `forecast` is a function of the observations so far and the times
        asked, nothing else (no external `source`, which may change at any time): a
        forecast nobody looks at before the next one need not be made."""
        return self.source is None

    @property
    def variability(self) -> float:
        """Current sky variability, 0 steady to 1 broken clouds."""
        return self.nowcast.variability

    def observe(self, time: datetime, pv_w: float) -> None:
        """Feed one measured PV power sample (W). O(1) amortized; NaN samples are ignored."""
        if time.tzinfo is None:
            raise ValueError(f"observe: time must be timezone-aware, got naive {time.isoformat()}")
        if not math.isfinite(pv_w):
            return
        pv_w = max(pv_w, 0.0)
        t_s = time.timestamp()
        try:
            model_w = self.clear_sky.power_at(t_s)
        except ClearSkyUnavailable:
            return  # nothing to compare the sample with (the cache logged why)
        if self.calibration is not None:
            self.calibration.add(t_s, pv_w, model_w)
        expected_w = min(model_w * self.ratio, self.ac_limit_w)
        if expected_w >= self._min_daylight_w:
            self.nowcast.update(t_s, pv_w / expected_w)

    def calibrated_clear_sky(self, start_s: float, n: int, step_s: float) -> np.ndarray:
        """Calibrated clear-sky power (W) on a grid of epoch seconds."""
        model = self.clear_sky.power_grid(start_s, n, step_s)
        return np.minimum(model * self.ratio, self.ac_limit_w)

    def forecast(self, start: datetime, end: datetime, step_s: float = 60.0) -> PvForecast:
        """Forecast PV power on [start, end) every `step_s` seconds (W)."""
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("forecast: start and end must be timezone-aware")
        if not step_s > 0:
            raise ValueError(f"forecast: step_s must be positive, got {step_s}")
        span_s = (end - start).total_seconds()
        if span_s <= 0:
            raise ValueError(
                f"forecast: end {end.isoformat()} is not after start {start.isoformat()}"
            )
        n = math.ceil(span_s / step_s)
        if n > MAX_FORECAST_POINTS:
            raise ValueError(f"forecast: {n} points requested, at most {MAX_FORECAST_POINTS}")
        start_s = start.timestamp()
        if self.source is None:
            clear, central, pessimistic = self._ahead_of(start_s, n, float(step_s)).take(start_s, n)
        else:
            clear, central, pessimistic = self._power(start_s, n, step_s)
        return PvForecast(
            start=start,
            step_s=float(step_s),
            central_w=central,
            pessimistic_w=pessimistic,
            clear_sky_w=clear,
            variability=self.nowcast.variability,
        )

    def _power(
        self, start_s: float, n: int, step_s: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Clear-sky, central and pessimistic power (W) at `start_s + k * step_s`,
        k in 0..n-1 (epoch s)."""
        clear = self._clear_of(start_s, n, step_s)
        times_s = start_s + step_s * np.arange(n, dtype=np.float64)
        source = self.source
        target = source.clear_sky_index(times_s) if source is not None else None
        k_central, k_pessimistic = self.nowcast.clear_sky_index(times_s, target)
        central = np.minimum(clear * k_central, self.ac_limit_w)
        pessimistic = clear * k_pessimistic
        weather = source.pv_power(times_s) if source is not None else None
        if weather is not None:
            central, pessimistic = self._with_weather(
                times_s, clear, (central, pessimistic), weather
            )
        return clear, central, pessimistic

    def _clear_of(self, start_s: float, n: int, step_s: float) -> np.ndarray:
        """`calibrated_clear_sky(start_s, n, step_s)`: on a whole-minute grid taken from the
        last one computed while it covers the steps and the ratio stays, else computed
        again from `start_s`, `CLEAR_AHEAD_STEPS` steps longer (just the steps asked
        while the clear sky of the day ahead cannot be computed). Each value is the model's
        knot at its own minute times the ratio, clipped: the same float on any grid."""
        if start_s % MINUTE_S != 0.0 or step_s % MINUTE_S != 0.0:
            return self.calibrated_clear_sky(start_s, n, step_s)
        clear = self._clear
        key = (self.ratio, step_s)
        if clear is None or clear.key != key or not clear.covers(start_s, n):
            try:
                values = self.calibrated_clear_sky(start_s, n + CLEAR_AHEAD_STEPS, step_s)
            except ClearSkyUnavailable:  # the day ahead failed: what was asked may not
                return self.calibrated_clear_sky(start_s, n, step_s)
            values.setflags(write=False)
            clear = self._clear = _StepsAhead(key, start_s, step_s, (values,))
        return clear.take(start_s, n)[0]

    def _ahead_of(self, start_s: float, n: int, step_s: float) -> _StepsAhead:
        """Powers covering `n` steps from `start_s`: the last ones computed when they
        cover them and nothing they depend on changed (the nowcast, the calibration),
        else computed again from `start_s`, `FORECAST_AHEAD_STEPS` steps longer.

        Without a reading in between (the night; the nowcast learns only by day) each
        refresh asks for the same function at times a few steps later. Every value is
        computed elementwise from its own time, so a value is the same float whichever
        grid it was computed on, as long as the times are the same floats: whole
        minutes (so the clear sky is its model's knots, not an interpolation) on a
        whole-second grid, where `start_s + k * step_s` is exact.
        """
        ahead = self._ahead
        key = (self.nowcast, self.nowcast.version, self.ratio, step_s)
        if ahead is not None and ahead.key == key and ahead.covers(start_s, n):
            return ahead
        whole = start_s % MINUTE_S == 0.0 and step_s % MINUTE_S == 0.0
        extra = FORECAST_AHEAD_STEPS if whole else 0
        powers = self._power(start_s, n + extra, step_s)
        ahead = _StepsAhead(key, start_s, step_s, powers, reusable=whole)
        self._ahead = ahead
        return ahead

    def _with_weather(
        self,
        times_s: np.ndarray,
        clear: np.ndarray,
        nowcast_w: tuple[np.ndarray, np.ndarray],
        weather: SourcePower,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The nowcast blended with a weather forecast of the configured arrays (W).

        The weather is scaled by the learnt calibration ratio (it was computed for the
        configured kWp) and clipped at the AC limit; without the provider's own low
        quantile the pessimistic one is the site's error climatology: the central
        value minus z times the spread of the clear-sky index over days, times the
        clear-sky power.
        """
        weather_c = np.minimum(weather.central_w * self.ratio, self.ac_limit_w)
        if weather.pessimistic_w is not None:
            weather_p = np.minimum(weather.pessimistic_w * self.ratio, weather_c)
        else:
            spread_w = Z_PESSIMISTIC * self.nowcast.state.sigma_clim * clear
            weather_p = np.clip(weather_c - spread_w, 0.0, None)
        last = self.nowcast.state.last_time_s
        # Nothing observed yet: the nowcast knows nothing, the weather has it all.
        horizon = times_s - last if last is not None else np.full(times_s.shape, np.inf)
        weights = self.crossover.nowcast_weight(np.maximum(horizon, 0.0))
        blended = blend(nowcast_w, (weather_c, weather_p), weights)
        return np.minimum(blended.central_w, self.ac_limit_w), blended.pessimistic_w

"""Online calibration: how much more or less power the site really makes than its config says.

A kWp typed 30 % too high, an azimuth 20 degrees off, dirty glass or a
shading chimney all show up as a ratio between observed and modelled power
on clear periods. This module learns that ratio day by day:

1. A sample is *steady* when the last three observed/modelled ratios, taken
   within 15 minutes, agree within `steady_tolerance`. Steady samples with the
   sun well up (model above `min_model_fraction` of peak, and within
   `noon_window_s` of solar noon when set) and the inverter not clipping are
   candidates for "clear".
2. At the end of each solar day, separately for the morning and the
   afternoon, the candidates with a ratio in the top band (at least
   `clear_band` times that half-day's 90th percentile) are the clear
   periods, and their energy ratio sum(observed) / sum(model) is the
   half-day's estimate. The day's estimate is the geometric mean of both
   halves: a wrong azimuth raises one and lowers the other, so it cancels
   to first order. Each half needs `min_clear_samples`, so an overcast or
   snowy day gives no estimate at all.
3. The calibrated ratio is the median of the last `window_days`
   estimates, clipped to `bounds`. The median ignores the odd day where snow,
   shade or curtailment pulled the steady ratio down, and never trusts a
   single bright day.

`add` is O(1); the per-day work (a percentile over at most a few hundred
numbers) runs once a day.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

DAY_S = 86_400
STEADY_WINDOW_S = 900.0


@dataclass(frozen=True, slots=True)
class CalibrationState:
    """What the calibration has learnt so far.

    `ratio` multiplies the configured clear-sky power; `days_used` is how many
    days gave an estimate; `daily_estimates` are the last ones, oldest first.
    """

    ratio: float
    days_used: int
    daily_estimates: tuple[float, ...]


class Calibration:
    """Learns observed/modelled power on clear periods, robustly and within bounds."""

    def __init__(
        self,
        *,
        initial_ratio: float = 1.0,
        bounds: tuple[float, float] = (0.4, 1.6),
        window_days: int = 14,
        min_clear_samples: int = 10,
        min_model_fraction: float = 0.15,
        steady_tolerance: float = 0.04,
        clear_band: float = 0.85,
        solar_offset_s: float = 0.0,
        peak_w: float = 1.0,
        clip_w: float | None = None,
        noon_window_s: float | None = None,
    ) -> None:
        low, high = bounds
        if not 0 < low <= 1.0 <= high:
            raise ValueError(f"calibration bounds must satisfy 0 < low <= 1 <= high, got {bounds}")
        if not low <= initial_ratio <= high:
            raise ValueError(f"initial_ratio {initial_ratio} is outside bounds {bounds}")
        if window_days < 1 or min_clear_samples < 1:
            raise ValueError("window_days and min_clear_samples must be at least 1")
        self._bounds = (low, high)
        self._initial = initial_ratio
        self._ratio = initial_ratio
        self._min_clear = min_clear_samples
        self._min_model_w = min_model_fraction * peak_w
        self._tolerance = steady_tolerance
        self._band = clear_band
        self._offset_s = solar_offset_s
        self._clip_w = clip_w
        self._noon_window_s = noon_window_s
        self._estimates: deque[float] = deque(maxlen=window_days)
        self._days_used = 0
        self._recent: deque[tuple[float, float]] = deque(maxlen=3)
        self._day: int | None = None
        self._ratios: list[float] = []
        self._observed: list[float] = []
        self._modelled: list[float] = []
        self._afternoon: list[bool] = []

    @property
    def ratio(self) -> float:
        """Current observed/modelled ratio (dimensionless), within the bounds."""
        return self._ratio

    @property
    def state(self) -> CalibrationState:
        """A snapshot of what has been learnt."""
        return CalibrationState(self._ratio, self._days_used, tuple(self._estimates))

    def add(self, t_s: float, observed_w: float, model_w: float) -> None:
        """Feed one sample: observed power and the *uncalibrated* clear-sky model (W) at `t_s`."""
        day = int((t_s + self._offset_s) // DAY_S)
        if day != self._day:
            self._close_day()
            self._day = day
        if model_w < self._min_model_w or not observed_w >= 0.0 or not self._near_noon(t_s):
            self._recent.clear()
            return
        ratio = observed_w / model_w
        self._recent.append((t_s, ratio))
        if self._clip_w is not None and observed_w >= self._clip_w:
            return
        if self._is_steady():
            self._ratios.append(ratio)
            self._observed.append(observed_w)
            self._modelled.append(model_w)
            self._afternoon.append((t_s + self._offset_s) % DAY_S >= DAY_S / 2)

    def _near_noon(self, t_s: float) -> bool:
        """Within `noon_window_s` of mean solar noon (always, without a window)."""
        if self._noon_window_s is None:
            return True
        return abs((t_s + self._offset_s) % DAY_S - DAY_S / 2) <= self._noon_window_s

    def flush(self) -> None:
        """Close the day in progress now (end of a data set; normally days close by themselves)."""
        self._close_day()
        self._day = None

    def _is_steady(self) -> bool:
        if len(self._recent) < 3:
            return False
        (t0, r0), (_, r1), (_, r2) = self._recent
        mean = (r0 + r1 + r2) / 3.0
        if self._recent[-1][0] - t0 > STEADY_WINDOW_S or mean <= 0.0:
            return False
        return (max(r0, r1, r2) - min(r0, r1, r2)) <= self._tolerance * mean

    def _close_day(self) -> None:
        ratios = np.asarray(self._ratios)
        observed = np.asarray(self._observed)
        modelled = np.asarray(self._modelled)
        afternoon = np.asarray(self._afternoon, dtype=bool)
        halves = [self._half_day_estimate(ratios[m], observed[m], modelled[m])
                  for m in (~afternoon, afternoon)]  # fmt: skip
        if all(h is not None for h in halves):
            estimate = float(np.sqrt(np.prod(np.asarray(halves, dtype=float))))
            low, high = self._bounds
            if low <= estimate <= high:
                self._estimates.append(estimate)
                self._days_used += 1
                self._ratio = float(np.median(np.asarray(self._estimates)))
        for buffer in (self._ratios, self._observed, self._modelled, self._afternoon):
            buffer.clear()
        self._recent.clear()

    def _half_day_estimate(
        self, ratios: np.ndarray, observed: np.ndarray, modelled: np.ndarray
    ) -> float | None:
        """Energy ratio of the clear samples of half a day, or None without enough of them."""
        if ratios.size < self._min_clear:
            return None
        clear = ratios >= self._band * np.percentile(ratios, 90)
        if int(clear.sum()) < self._min_clear:
            return None
        return float(observed[clear].sum() / modelled[clear].sum())

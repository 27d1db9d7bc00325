"""Clear-sky-index nowcast from irregular PV observations.

The clear-sky index k = observed / clear-sky power removes the sun's daily
arc, so what is left is the weather: k near 1 under a clear sky, 0.2-0.5
under overcast, jumping between the two with broken clouds. This module keeps
a handful of exponentially weighted statistics of k, updated in O(1) per
observation whatever the spacing between them (`alpha = 1 - exp(-dt / tau)`):

- `k_now`: recent k, smoothed over 3 min on a steady sky and up to 15 min with
  broken clouds (where the last sample says little about the next one);
- `k_day`: the level of the last hours, and `k_clim` the level of the last days,
  the targets a forecast relaxes to as the horizon grows;
- `sigma_now`, `sigma_clim`: spread of k now and in general, for the
  pessimistic quantile and the `variability` measure (0 steady, 1 broken).

The forecast for a horizon h after the last observation is
`k(h) = k_target + (k_start(h) - k_target) * w(h)`. The persistence weight
`w(h) = exp(-min(h, 4 h) / tau - max(h - 4 h, 0) / tau_far)` decays with tau
from 4 h (broken clouds: persistence decays fast) to 12 h (steady sky) over the
first 4 hours, and beyond them with tau_far, 2 h to 6 h. `k_start(h)` blends the
last sample and `k_now`: the last sample alone at h = 0, fading over 15 min to a
floor of `last_weight` (0.4) beside `k_now`. The pessimistic quantile is
`k(h) - z * sigma(h)` where sigma grows from `sigma_now` to `sigma_clim` with
tau_far throughout.

`last_weight` and tau were tuned on Graz 2017 alone (60-minute MAE, the
controller's sampling at random 1-5 min): 0.963x smart persistence before,
0.945x after; on Payerne June 2016, never used for tuning, 0.957x before and
0.942x after (BENCHMARKS.md, section 2). The evaluation scores horizons up to
4 h only, so beyond them (the next morning, seen from this evening) nothing was
measured and the level returns at the earlier pace, tau_far; the spread keeps its
earlier times, so the pessimistic quantile is as wide as before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

K_MAX = 1.3
"""Cloud enhancement can push k above 1 briefly; beyond 1.3 a sample is an error."""

Z_PESSIMISTIC = 1.2816
"""Standard-normal quantile for the 10 % pessimistic forecast."""

INITIAL_SIGMA_NOW = 0.1
"""Spread of k assumed at the first observation, before any change has been seen."""


@dataclass(frozen=True, slots=True)
class NowcastState:
    """A snapshot of the nowcast (clear-sky indices are dimensionless)."""

    last_time_s: float | None
    k_now: float
    k_day: float
    k_clim: float
    sigma_now: float
    sigma_clim: float
    variability: float


class Nowcast:
    """Exponentially weighted clear-sky-index statistics, O(1) per observation."""

    def __init__(
        self,
        *,
        k_clim: float = 0.7,
        sigma_clim: float = 0.3,
        tau_day_s: float = 3 * 3600.0,
        tau_clim_s: float = 3 * 86_400.0,
        tau_sigma_s: float = 1800.0,
        tau_steady_s: float = 12 * 3600.0,
        tau_broken_s: float = 4 * 3600.0,
        tau_far_steady_s: float = 6 * 3600.0,
        tau_far_broken_s: float = 2 * 3600.0,
        tuned_horizon_s: float = 4 * 3600.0,
        tau_smooth_s: float = 900.0,
        last_weight: float = 0.4,
        variability_scale: float = 0.2,
    ) -> None:
        self._k_now = k_clim
        self._k_day = k_clim
        self._k_clim = k_clim
        self._var_now = sigma_clim**2
        self._var_clim = sigma_clim**2
        self._tau_day = tau_day_s
        self._tau_clim = tau_clim_s
        self._tau_sigma = tau_sigma_s
        self._tau_steady = tau_steady_s
        self._tau_broken = tau_broken_s
        self._tau_far_steady = tau_far_steady_s
        self._tau_far_broken = tau_far_broken_s
        self._tuned_horizon = tuned_horizon_s
        self._tau_smooth = tau_smooth_s
        if not 0.0 <= last_weight <= 1.0:
            raise ValueError(f"last_weight must be within 0..1, got {last_weight}")
        self._last_weight = last_weight
        self._var_scale = variability_scale
        self._k_last = k_clim
        self._last_t: float | None = None
        self._version = 0

    @property
    def version(self) -> int:
        """Changes whenever an update changes the statistics (for callers' caches): the
        same version, the same `clear_sky_index` at any time."""
        return self._version

    @property
    def variability(self) -> float:
        """0 for a steady sky, towards 1 with broken clouds (std of k over ~30 min, scaled)."""
        return min(1.0, math.sqrt(self._var_now) / self._var_scale)

    @property
    def state(self) -> NowcastState:
        """A snapshot of the statistics."""
        return NowcastState(
            self._last_t,
            self._k_now,
            self._k_day,
            self._k_clim,
            math.sqrt(self._var_now),
            math.sqrt(self._var_clim),
            self.variability,
        )

    def update(self, t_s: float, k: float) -> None:
        """Feed one clear-sky index observed at epoch seconds `t_s` (daylight samples only)."""
        k = min(max(k, 0.0), K_MAX)
        if self._last_t is None:
            self._version += 1
            self._k_now = self._k_day = self._k_last = k
            self._var_now = INITIAL_SIGMA_NOW**2
            self._last_t = t_s
            return
        dt = t_s - self._last_t
        if dt <= 0.0:
            return
        self._version += 1
        self._last_t = t_s
        self._k_last = k
        deviation = k - self._k_now
        self._var_now += _alpha(dt, self._tau_sigma) * (deviation * deviation - self._var_now)
        day_deviation = k - self._k_day
        self._var_clim += _alpha(dt, self._tau_clim) * (
            day_deviation * day_deviation - self._var_clim
        )
        tau_now = 180.0 + 720.0 * self.variability
        self._k_now += _alpha(dt, tau_now) * deviation
        self._k_day += _alpha(dt, self._tau_day) * day_deviation
        self._k_clim += _alpha(dt, self._tau_clim) * (k - self._k_clim)

    def clear_sky_index(
        self, times_s: FloatArray, target: FloatArray | None = None
    ) -> tuple[FloatArray, FloatArray]:
        """Central and pessimistic clear-sky index at epoch seconds `times_s`.

        `target` optionally replaces the level far horizons relax to (an
        external forecast's clear-sky index; NaN where it has nothing).
        """
        level = 0.5 * (self._k_day + self._k_clim)
        last = self._last_t if self._last_t is not None else -math.inf
        horizon = np.maximum(times_s - last, 0.0)
        steady = 1.0 - self.variability
        tau = self._tau_broken + (self._tau_steady - self._tau_broken) * steady
        tau_far = self._tau_far_broken + (self._tau_far_steady - self._tau_far_broken) * steady
        near = np.minimum(horizon, self._tuned_horizon)
        # x / -tau is -x / tau to the bit (IEEE division is sign-symmetric), one array less
        weight = np.exp(near / -tau - (horizon - near) / tau_far)
        fresh = self._last_weight + (1.0 - self._last_weight) * np.exp(horizon / -self._tau_smooth)
        start = self._k_last * fresh + self._k_now * (1.0 - fresh)
        if target is not None:
            level_arr = np.where(np.isnan(target), level, np.clip(target, 0.0, K_MAX))
            central = level_arr + (start - level_arr) * weight
        else:  # the level everywhere: the same float operations on a scalar
            central = level + (start - level) * weight
        spread_weight = np.exp(horizon / -tau_far)
        sigma = np.sqrt(self._var_now * spread_weight + self._var_clim * (1.0 - spread_weight))
        # np.maximum / np.minimum: np.clip's values (NaN and -0.0 alike), without its wrappers
        pessimistic = np.maximum(central - Z_PESSIMISTIC * sigma, 0.0)
        return np.minimum(np.maximum(central, 0.0), K_MAX), np.minimum(pessimistic, central)


def _alpha(dt_s: float, tau_s: float) -> float:
    """EWMA weight of a new sample `dt_s` after the previous one."""
    return 1.0 - math.exp(-dt_s / tau_s)

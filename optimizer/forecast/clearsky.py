"""Clear-sky PV power of a site on a 1-minute grid, computed once per UTC day.

The physics is `optimizer.pvmodel.clear_sky_pv` (pvlib SPA solar position,
Ineichen with the daily Linke turbidity, Perez transposition, PVWatts). A day
costs a few milliseconds in pvlib (mostly the SPA's nutation series), while
the forecaster asks for the same days thousands of times, so each UTC day is
computed once at 1-minute resolution and kept in a small LRU. The days a
forecast lacks are computed together in one pvlib call (a 48 h forecast
spans three days: one call, not three; a cache made with `prefetch_days`
computes that many days ahead in the same call, since pvlib's cost per call is
mostly fixed: 8 days cost ~3x one). Lookups are then pure numpy: `power_at` is
O(1) and `power_grid` one `np.interp` over the cached days, or a plain gather
when the grid falls on whole minutes (the forecaster's 5-min grid), which gives
the very same values (`np.interp` returns the knot's value at a knot).

The days are computed by `clearsky_model.clear_sky_days`, run where the cache's
`compute` strategy says (`clearsky_compute`: in this process by default, in a
child process for the live daemon, which then never imports pvlib or pandas).
A failed computation raises `ClearSkyUnavailable` from the lookup that needed
it, after one log line; the next lookup of a missing day tries again.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

import numpy as np
import numpy.typing as npt

from optimizer.forecast.clearsky_compute import ClearSkyDays, ClearSkyFailure, in_process
from optimizer.site import SiteConfig

log = logging.getLogger(__name__)

DAY_S = 86_400
MINUTE_S = 60
POINTS_PER_DAY = DAY_S // MINUTE_S

FloatArray = npt.NDArray[np.float64]


class ClearSkyUnavailable(RuntimeError):
    """The clear-sky days a lookup needs could not be computed (see `ClearSkyFailure`)."""


class ClearSkyCache:
    """Clear-sky AC power of `site` (W), cached per UTC day at 1-minute resolution.

    The inverter limits are lifted in the cached model (`unclipped`), so a
    calibration ratio can scale it before the caller clips at the real AC
    limit; a clipped curve scaled down would be wrong all around noon.
    Each cached day holds 1441 values (00:00 to 24:00 inclusive) so that
    interpolation never needs the neighbouring day. `max_days` bounds memory
    (about 11 kB a day). `prefetch_days` (1 to `max_days // 2`): a missing day is
    computed together with the days after it up to this many in all, in one pvlib call
    (the values are the same whatever the batch: pvlib works point by point).
    `compute` runs the model (`clearsky_compute.in_process` unless told otherwise).
    """

    def __init__(
        self,
        site: SiteConfig,
        *,
        max_days: int = 16,
        prefetch_days: int = 1,
        compute: ClearSkyDays = in_process,
    ) -> None:
        if max_days < 3:
            raise ValueError(
                f"max_days must be at least 3 (a 48 h forecast spans 3 days), got {max_days}"
            )
        if not 1 <= prefetch_days <= max_days // 2:
            raise ValueError(
                f"prefetch_days must be 1..{max_days // 2} (max_days // 2), got {prefetch_days}"
            )
        self.site = site
        self._model_site = site.model_copy(
            update={
                "arrays": tuple(a.model_copy(update={"inverter_ac_w": None}) for a in site.arrays)
            }
        )
        self._max_days = max_days
        self._prefetch_days = prefetch_days
        self._run_model = compute
        self._logged_failure: ClearSkyFailure | None = None
        self._days: OrderedDict[int, FloatArray] = OrderedDict()
        self.computed_days = 0
        """How many days were computed with pvlib (cache misses), for tests and benchmarks."""

    def day(self, day_index: int) -> FloatArray:
        """The 1441 clear-sky values (W) of UTC day `day_index` (days since 1970-01-01)."""
        values = self._days.get(day_index)
        if values is not None:
            self._days.move_to_end(day_index)
            return values
        self._compute(day_index, self._prefetch_end(day_index, day_index))
        return self._days[day_index]

    def _prefetch_end(self, first: int, last: int) -> int:
        """Last day to compute with the missing days `first..last`: `prefetch_days` ahead,
        stopping before the next day already cached."""
        end = max(last, first + self._prefetch_days - 1)
        for d in range(last + 1, end + 1):
            if d in self._days:
                return d - 1
        return end

    def _compute(self, first: int, last: int) -> None:
        """Compute UTC days `first..last` (inclusive) in one model run and cache them.

        Raises `ClearSkyUnavailable` when the run failed, logging each new failure once.
        """
        n_days = last - first + 1
        if n_days > self._max_days:
            raise ValueError(f"{n_days} days requested at once, the cache holds {self._max_days}")
        result = self._run_model(self._model_site, first, n_days)
        if isinstance(result, ClearSkyFailure):
            if result is not self._logged_failure:
                log.warning("clear sky unavailable: %s", result.reason)
                self._logged_failure = result
            raise ClearSkyUnavailable(result.reason)
        for k in range(n_days):
            values = result[k]
            values.setflags(write=False)
            self._days[first + k] = values
            self._days.move_to_end(first + k)
            self.computed_days += 1
        while len(self._days) > self._max_days:
            self._days.popitem(last=False)

    def power_at(self, t_s: float) -> float:
        """Unclipped clear-sky power (W) at epoch seconds `t_s`, interpolated. O(1)."""
        day_index = int(t_s // DAY_S)
        values = self.day(day_index)
        pos = (t_s - day_index * DAY_S) / MINUTE_S
        i = int(pos)
        frac = pos - i
        return float(values[i] * (1.0 - frac) + values[i + 1] * frac)

    def power_at_or_dark(self, t_s: float) -> float:
        """`power_at`, or 0 W while the clear sky is unavailable (the failure is logged).

        For the budget planner's PV profile: a planner that plans reads as at night
        for a while is better than a daemon stopped by a failed model run.
        """
        try:
            return self.power_at(t_s)
        except ClearSkyUnavailable:
            return 0.0

    def power_grid(self, start_s: float, n: int, step_s: float) -> FloatArray:
        """Unclipped clear-sky power (W) at `start_s + k * step_s`, k in 0..n-1 (epoch s)."""
        if n <= 0:
            return np.zeros(0)
        if step_s <= 0:
            raise ValueError(f"step_s must be positive, got {step_s}")
        first = int(start_s // DAY_S)
        last = int((start_s + step_s * (n - 1)) // DAY_S)
        missing = [d for d in range(first, last + 1) if d not in self._days]
        if missing and last - first < self._max_days:
            end = self._prefetch_end(missing[0], missing[-1])
            self._compute(missing[0], end if end - first < self._max_days else missing[-1])
        days = [self.day(d)[:-1] for d in range(first, last + 1)]
        days.append(self.day(last)[-1:])
        values = np.concatenate(days)
        offset_s = start_s - first * DAY_S
        if offset_s % MINUTE_S == 0.0 and step_s % MINUTE_S == 0.0:
            # Whole minutes: the knots themselves, exactly what np.interp returns there.
            first_minute, every = int(offset_s) // MINUTE_S, int(step_s) // MINUTE_S
            return values[first_minute : first_minute + every * (n - 1) + 1 : every].copy()
        times = start_s + step_s * np.arange(n, dtype=np.float64)
        positions = (times - first * DAY_S) / MINUTE_S
        return np.interp(positions, np.arange(values.shape[0], dtype=np.float64), values)

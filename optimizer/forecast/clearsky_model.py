"""Clear-sky PV power of whole UTC days at 1-minute resolution: the pure function.

`clear_sky_days` is what `ClearSkyCache` caches, whichever way it is run (in
this process, or in a short-lived child process so the daemon never imports
pvlib and pandas: `optimizer.forecast.clearsky_compute`). The physics is
`optimizer.pvmodel.clear_sky_pv_array`; this module only lays its values on
the cache's grid.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from optimizer.pvmodel import clear_sky_pv_array
from optimizer.site import SiteConfig

DAY_S = 86_400
MINUTE_S = 60
POINTS_PER_DAY = DAY_S // MINUTE_S
MODEL_STEP_MIN = 5
"""pvlib runs on a 5-min grid, linearly interpolated to 1 min: clear sky is smooth
(error well under 0.5 % of peak) and a day costs a fifth of the solar-position work."""

FloatArray = npt.NDArray[np.float64]


def clear_sky_days(site: SiteConfig, first_day: int, n_days: int) -> FloatArray:
    """Clear-sky AC power (W) of UTC days `first_day..first_day + n_days - 1`.

    Days count from 1970-01-01. Shape `(n_days, POINTS_PER_DAY + 1)`: each row
    holds 00:00 to 24:00 inclusive, one value a minute, so interpolation within a
    day never needs the next one. One pvlib call for all the days (pvlib's cost
    per call is mostly fixed); the values do not depend on how days are batched.
    """
    if n_days < 1:
        raise ValueError(f"n_days must be at least 1, got {n_days}")
    per_day = POINTS_PER_DAY // MODEL_STEP_MIN
    start = pd.Timestamp(first_day * DAY_S, unit="s", tz="UTC")
    coarse = pd.date_range(start, periods=n_days * per_day + 1, freq=f"{MODEL_STEP_MIN}min")
    model = clear_sky_pv_array(site, coarse)
    minutes = np.arange(POINTS_PER_DAY + 1, dtype=np.float64)
    days = np.empty((n_days, POINTS_PER_DAY + 1), dtype=np.float64)
    for k in range(n_days):
        segment = model[k * per_day : (k + 1) * per_day + 1]
        days[k] = np.interp(minutes, minutes[::MODEL_STEP_MIN], segment)
    return days

"""Pluggable external forecast sources (a weather service's cloud cover or irradiance).

None is required: without a source the forecaster relaxes towards the
clear-sky index of the last hours and days, which works offline. A source
only has to say, for future instants, what clear-sky index it expects; the
forecaster uses it as the level long horizons relax to, while the nowcast
keeps the first minutes to hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class SourcePower:
    """PV power (W) a weather forecast expects at the asked times; NaN where it has nothing.

    `pessimistic_w` is the provider's own low quantile (Solcast's p10) when it gives one;
    None lets the forecaster take it from the site's error climatology.
    """

    central_w: FloatArray
    pessimistic_w: FloatArray | None = None


@runtime_checkable
class ForecastSource(Protocol):
    """Something that knows tomorrow's sky better than the recent past does.

    A source speaks in one of two ways, both members with defaults: a clear-sky
    index the nowcast relaxes to (`clear_sky_index`), or PV power for the site
    (`pv_power`, a weather service's forecast) that the forecaster blends with the
    nowcast: the nowcast for the first hours, the weather beyond.
    """

    def clear_sky_index(self, times_s: FloatArray) -> FloatArray:
        """Expected clear-sky index (0..~1.2) at epoch seconds `times_s` (UTC); NaN = unknown.

        Must not raise for times it does not cover, and should be fast (cache
        the service's answer; the forecaster may ask every minute). By default
        unknown everywhere.
        """
        return np.full(times_s.shape, np.nan)

    def pv_power(self, times_s: FloatArray) -> SourcePower | None:
        """PV power of the site's configured arrays (W) at epoch seconds `times_s`, or None
        when the source has no power forecast (by default, and while a service is down)."""
        return None


class ConstantClearSkyIndex(ForecastSource):
    """A source that expects the same clear-sky index everywhere in `[start_s, end_s)`.

    Useful for tests and as a template: e.g. 0.3 for a day a weather service
    announces as overcast.
    """

    def __init__(self, k: float, start_s: float = -np.inf, end_s: float = np.inf) -> None:
        if not 0.0 <= k <= 1.3:
            raise ValueError(f"clear-sky index must be within 0..1.3, got {k}")
        self.k = k
        self.start_s = start_s
        self.end_s = end_s

    def clear_sky_index(self, times_s: FloatArray) -> FloatArray:
        """`k` inside the window, NaN outside."""
        inside = (times_s >= self.start_s) & (times_s < self.end_s)
        return np.where(inside, self.k, np.nan)

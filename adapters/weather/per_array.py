"""Base of the providers asked once per PV array (Open-Meteo, forecast.solar).

Both services take one plane per call, so a site with an east and a west array
costs two calls a refresh: the budget must hold all of them before the first is
made (no half-asked site), and the arrays' power is summed on the first array's times.
"""

from __future__ import annotations

from typing import ClassVar

import httpx
import numpy as np

from adapters.weather.http import WeatherHttp
from optimizer.forecast.weather import CallBudget, WeatherQuotaExceeded, WeatherSeries
from optimizer.site import ArrayConfig, SiteConfig

FloatArray = np.ndarray


class PerArrayProvider:
    """One call per array, summed; subclasses say how to ask for one array (`array_power`)."""

    name: ClassVar[str]
    calls_per_window: ClassVar[int]
    window_s: ClassVar[float]
    outside_w: ClassVar[float]
    """Power of an array outside its own answer's span (NaN: unknown, 0: night)."""

    def __init__(
        self,
        site: SiteConfig,
        *,
        refresh_s: float = 3600.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.site = site
        self.refresh_s = refresh_s
        self.budget = CallBudget(self.calls_per_window, self.window_s)
        self._http = WeatherHttp(self.name, self.budget, transport)

    def fetch(self, now_s: float) -> WeatherSeries:
        """Ask for every array, sum their power (W) on the first array's times."""
        n = len(self.site.arrays)
        if self.budget.left(now_s) < n:
            raise WeatherQuotaExceeded(n, self.budget)
        parts = [self.array_power(array, now_s) for array in self.site.arrays]
        times = parts[0][0]
        total = np.zeros_like(times)
        for t, w in parts:
            total += np.interp(times, t, w, left=self.outside_w, right=self.outside_w)
        return WeatherSeries(self.name, now_s, times, total)

    def array_power(self, array: ArrayConfig, now_s: float) -> tuple[FloatArray, FloatArray]:
        """Times (epoch s) and AC power (W) of one array, from one call."""
        raise NotImplementedError

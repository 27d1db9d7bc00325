"""The PV forecast the cycle works with: cached, re-asked every `forecast_refresh_s`.

Asking the forecaster every cycle would cost a pvlib run each time for an answer
that changes slowly; a failed refresh keeps the old forecast (charging must never
stop for a forecast) and hands the failure back as a value for the cycle's errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from optimizer.cycle.settings import ControllerSettings
from optimizer.frozen import quick_init
from optimizer.interfaces import ChargerReading, Forecaster, PvForecast


@quick_init
@dataclass(frozen=True, slots=True)
class ForecastLookup:
    """The forecast to use now (None before the first success) and why a refresh failed."""

    forecast: PvForecast | None
    error: str | None = None


def step_at(fc: PvForecast, when: datetime) -> int | None:
    """The index of the forecast step containing `when`, None outside the forecast."""
    i = int((when - fc.start).total_seconds() // fc.step_s)
    return i if 0 <= i < fc.central_w.shape[0] else None


def value_at(series: npt.NDArray[np.float64], fc: PvForecast, when: datetime) -> float | None:
    """`series`' value (W) for the forecast step containing `when`, None outside the forecast."""
    i = int((when - fc.start).total_seconds() // fc.step_s)
    if 0 <= i < series.shape[0]:
        return float(series.item(i))  # a Python float without a numpy scalar in between
    return None


class ForecastCache:
    """One charger's cached forecast over `forecast_horizon_s` at `forecast_step_s`."""

    def __init__(self, forecaster: Forecaster, settings: ControllerSettings) -> None:
        self.forecaster = forecaster
        self.refresh_s = settings.forecast_refresh_s
        self.horizon_s = settings.forecast_horizon_s
        self.step_s = settings.forecast_step_s
        self.forecast: PvForecast | None = None
        self.fetched_at: datetime | None = None
        """When the forecaster was last asked (successfully or not)."""
        self._cached = ForecastLookup(None)
        """`forecast` as the answer of the cycles between refreshes (no allocation each)."""

    def refresh_due(self, t: datetime, fetched_at: datetime | None) -> bool:
        """Whether a cache last refreshed at `fetched_at` is re-asked at `t`."""
        return fetched_at is None or (t - fetched_at).total_seconds() >= self.refresh_s

    def at(self, now: datetime) -> ForecastLookup:
        """The forecast for a cycle at `now`, refreshed first when due."""
        if not self.refresh_due(now, self.fetched_at):
            return self._cached
        epoch_s = now.timestamp()
        start = datetime.fromtimestamp(epoch_s - epoch_s % self.step_s, tz=UTC)
        self.fetched_at = now
        try:
            self.forecast = self.forecaster.forecast(
                start, start + timedelta(seconds=self.horizon_s), self.step_s
            )
        except Exception as exc:  # a forecast failure must never stop charging
            return ForecastLookup(self.forecast, f"forecast failed: {type(exc).__name__}: {exc}")
        self._cached = ForecastLookup(self.forecast)
        return self._cached

    def observe(self, reading: ChargerReading) -> None:
        """Let the forecaster learn from the PV power (W) a reading measured."""
        self.forecaster.observe(reading.time, reading.pv_power_w)

"""PV forecasting: clear-sky model, nowcast, online calibration and the `PvForecaster`.

`PvForecaster` implements the controller's `Forecaster` port (see
`optimizer.interfaces`). Everything inside works on epoch seconds and numpy
arrays so `observe` stays O(1) and a 48 h forecast costs about a millisecond.
Names are imported on first access (`optimizer.lazy_exports`): only the clear
sky model (`clearsky_model`) needs pvlib, and the live daemon runs it in a child
process (`clearsky_compute.InChildProcess`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from optimizer.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from optimizer.forecast.calibration import Calibration, CalibrationState
    from optimizer.forecast.clearsky import ClearSkyCache, ClearSkyUnavailable
    from optimizer.forecast.clearsky_compute import (
        ClearSkyDays,
        ClearSkyFailure,
        InChildProcess,
        in_process,
    )
    from optimizer.forecast.forecaster import PvForecaster
    from optimizer.forecast.nowcast import Nowcast, NowcastState
    from optimizer.forecast.sources import ForecastSource

__getattr__ = lazy_exports(__name__, __file__)

__all__ = [
    "Calibration",
    "CalibrationState",
    "ClearSkyCache",
    "ClearSkyDays",
    "ClearSkyFailure",
    "ClearSkyUnavailable",
    "ForecastSource",
    "InChildProcess",
    "Nowcast",
    "NowcastState",
    "PvForecaster",
    "in_process",
]

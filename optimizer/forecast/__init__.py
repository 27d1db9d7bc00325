"""PV forecasting: clear-sky model, nowcast, online calibration and the `PvForecaster`.

`PvForecaster` implements the controller's `Forecaster` port (see
`optimizer.interfaces`). Everything inside works on epoch seconds and numpy
arrays so `observe` stays O(1) and a 48 h forecast costs about a millisecond.
"""

from optimizer.forecast.calibration import Calibration, CalibrationState
from optimizer.forecast.clearsky import ClearSkyCache
from optimizer.forecast.forecaster import PvForecaster
from optimizer.forecast.nowcast import Nowcast, NowcastState
from optimizer.forecast.sources import ForecastSource

__all__ = [
    "Calibration",
    "CalibrationState",
    "ClearSkyCache",
    "ForecastSource",
    "Nowcast",
    "NowcastState",
    "PvForecaster",
]

"""The world's real input series: kept at their own spacing, averaged when finer than a step."""

from __future__ import annotations

import numpy as np
import pandas as pd

from adapters.simulator.world.inputs import _Series


def test_a_minute_series_with_long_gaps_is_kept_and_a_finer_one_is_averaged() -> None:
    """The spacing is the median gap: a minute series with a day-long hole is a minute
    series (kept point for point), a 30 s one is averaged to the 60 s step."""
    minutes = pd.date_range("2017-01-01", periods=3000, freq="min", tz="UTC")
    times = minutes.append(pd.date_range("2017-01-04", periods=10, freq="min", tz="UTC"))
    values = np.arange(times.shape[0], dtype=float)
    kept = _Series("pv", pd.Series(values, times), 60.0)
    np.testing.assert_array_equal(kept.v, values)
    np.testing.assert_array_equal(kept.t, times.as_unit("ns").asi8 / 1e9)
    fine = pd.date_range("2017-01-01", periods=240, freq="30s", tz="UTC")
    averaged = _Series("pv", pd.Series(np.arange(240, dtype=float), fine), 60.0)
    np.testing.assert_array_equal(averaged.v, np.arange(120) * 2 + 0.5)

"""Prices and forecasts sampled onto a plan's slots.

The planner works on one regular grid of `step_s` seconds from the plan's start;
prices come per 15 minutes or per hour, the PV forecast on its own grid. Each slot
takes the value in force at its start (prices) or the mean over it (powers).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from optimizer.prices.series import PriceSeries

FloatArray = npt.NDArray[np.float64]


def slot_prices(
    series: PriceSeries,
    start: datetime,
    slots: int,
    step_s: float,
    *,
    export_eur_per_kwh: float = 0.0,
) -> tuple[FloatArray, FloatArray]:
    """Import and export prices (EUR/kWh) at the start of each slot.

    Slots the series does not cover (tomorrow not published yet) keep the nearest
    known price: the last one after the series, the first one before it. Export
    prices are the series' own, or `export_eur_per_kwh` where it has none. Raises
    ValueError for an empty series: a plan needs at least one price.
    """
    if not len(series):
        raise ValueError("no prices to plan with (the price series is empty)")
    imports, exports = np.empty(slots), np.empty(slots)
    step = timedelta(seconds=step_s)
    last = len(series) - 1
    for i in range(slots):
        when = start + i * step
        k = series.index_of(when)
        if k is None:
            k = 0 if when < series.starts[0] else last
        imports[i] = series.imports[k]
        exports[i] = export_eur_per_kwh if series.exports is None else series.exports[k]
    return imports, exports


def slot_means(
    values_w: FloatArray,
    values_start: datetime,
    values_step_s: float,
    start: datetime,
    slots: int,
    step_s: float,
) -> FloatArray:
    """Mean of a regular power series (W) over each slot; 0 where the series has no data."""
    out = np.zeros(slots)
    offset_s = (start - values_start).total_seconds()
    for i in range(slots):
        lo = int(np.floor((offset_s + i * step_s) / values_step_s))
        hi = int(np.ceil((offset_s + (i + 1) * step_s) / values_step_s))
        part = values_w[max(lo, 0) : max(hi, 0)]
        if part.size:
            out[i] = float(part.mean())
    return out

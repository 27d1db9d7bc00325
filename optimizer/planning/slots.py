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
    # The series is regular and back to back (`PriceSeries` checks it), so the interval
    # holding a time is an integer division, in whole microseconds to be exact at the
    # boundaries; before the series the first, after it the last.
    micro = timedelta(microseconds=1)
    first_us = (start - series.starts[0]) // micro
    step_us = round(step_s * 1e6)
    offsets_us = first_us + np.arange(slots, dtype=np.int64) * step_us
    k = np.clip(offsets_us // (series.interval // micro), 0, len(series) - 1)
    imports = np.asarray(series.imports, dtype=np.float64)[k]
    if series.exports is None:
        return imports, np.full(slots, float(export_eur_per_kwh))
    return imports, np.asarray(series.exports, dtype=np.float64)[k]


def slot_means(
    values_w: FloatArray,
    values_start: datetime,
    values_step_s: float,
    start: datetime,
    slots: int,
    step_s: float,
) -> FloatArray:
    """Mean of a regular power series (W) over each slot; 0 where the series has no data.

    A slot takes every value whose step overlaps it. The slots whose steps all lie inside
    the series (all but the edges) have as many values each: they are averaged as the
    rows of one gathered matrix (the policy asks for hundreds of slots at every forecast
    refresh; a Python loop over them was a tenth of a least-cost backtest), the rest one
    by one. Each row's mean is summed in the same order as a slice's, so the two ways
    give the same bits.
    """
    out = np.zeros(slots)
    if slots <= 0:
        return out
    offset_s = (start - values_start).total_seconds()
    edges = offset_s + np.arange(slots + 1, dtype=np.float64) * step_s
    lo = np.maximum(np.floor(edges[:-1] / values_step_s).astype(np.int64), 0)
    hi = np.minimum(np.ceil(edges[1:] / values_step_s).astype(np.int64), values_w.shape[0])
    width = int((hi - lo).max())
    full = (hi - lo) == width
    if width > 0 and full.any():
        rows = lo[full][:, None] + np.arange(width)
        out[full] = values_w[rows].mean(axis=1)
    for i in np.flatnonzero(~full & (hi > lo)):
        out[i] = float(values_w[lo[i] : hi[i]].mean())
    return out

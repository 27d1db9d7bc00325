"""Where reads are worth spending: pure functions over weights and rates.

A read's worth at a moment is its *weight*: a car must be there to charge
(plugged-in factor), the sun must be up for surplus to follow (expected PV
power, kW), and a broken sky moves the surplus fast (1 + k * variability).
The day's remaining read budget is then spread over the remaining day in
proportion to weight, between a floor rate (at least one read every
`max_read_interval_s`, to notice a car arriving) and a ceiling rate (no more
than one read every `min_read_interval_s`):

    rate(t) = clip(lam * weight(t), 1 / max_interval, 1 / min_interval)

with `lam` chosen so that the integral of the rate over the rest of the day
equals the budget (water-filling, solved exactly). Rates are in reads per second.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def plug_factor(plugged_in: bool | None, no_car_weight: float) -> float:
    """Weight factor of the plug state: 1 plugged or unknown (we must find out), else no_car."""
    return no_car_weight if plugged_in is False else 1.0


def read_weights(
    plug: FloatArray, pv_w: FloatArray, variability: FloatArray, *, variability_gain: float
) -> FloatArray:
    """`read_weight` over arrays: plug factor (devices,), PV W and variability (devices, cells)."""
    sun_kw = np.clip(pv_w, 0.0, None) / 1000.0
    return plug[:, None] * sun_kw * (1.0 + variability_gain * np.clip(variability, 0.0, 1.0))


def read_weight(
    plugged_in: bool | None,
    pv_expected_w: float,
    variability: float,
    *,
    variability_gain: float,
    no_car_weight: float,
) -> float:
    """Worth of a read (arbitrary units, >= 0): plugged factor x PV kW x (1 + k var).

    An unknown plug state (None) weighs like a plugged car: we must find out.
    """
    plug = plug_factor(plugged_in, no_car_weight)
    return weigh(plug, pv_expected_w, variability, variability_gain=variability_gain)


def weigh(
    plug: float, pv_expected_w: float, variability: float, *, variability_gain: float
) -> float:
    """`read_weight` of a known plug factor: plug x PV kW x (1 + k var), one device and time."""
    sun_kw = max(pv_expected_w, 0.0) / 1000.0
    var = min(max(variability, 0.0), 1.0)
    return plug * sun_kw * (1.0 + variability_gain * var)


def allocate_rates(
    weights: FloatArray,
    durations_s: FloatArray,
    budget: float,
    *,
    min_rate: float,
    max_rate: float,
) -> FloatArray:
    """Read rates (1/s) per device and time cell that spend at most `budget` reads.

    `weights` has shape (devices, cells), `durations_s` shape (cells,). The
    result has the shape of `weights`. When the budget cannot even pay the
    floor rate everywhere, every cell gets the same lower rate; when it
    exceeds what the ceiling rate can spend, cells with weight get the ceiling
    and the rest the floor. In between, the water level `lam` is solved exactly.
    """
    if weights.ndim != 2 or weights.shape[1] != durations_s.shape[0]:
        raise ValueError(f"weights {weights.shape} do not match durations {durations_s.shape}")
    if not 0 < min_rate <= max_rate:
        raise ValueError(f"need 0 < min_rate <= max_rate, got {min_rate}, {max_rate}")
    device_time_s = float(durations_s.sum()) * weights.shape[0]
    if budget <= 0 or device_time_s <= 0:
        return np.zeros_like(weights)
    if budget <= min_rate * device_time_s:
        return np.full_like(weights, budget / device_time_s)
    ceiling = np.where(weights > 0, max_rate, min_rate)
    positive = weights > 0
    if not positive.any() or budget >= float((ceiling * durations_s).sum()):
        return ceiling
    lam = _water_level(weights, durations_s, budget, min_rate, max_rate)
    return np.clip(lam * weights, min_rate, max_rate)


def _water_level(
    weights: FloatArray, durations_s: FloatArray, budget: float, min_rate: float, max_rate: float
) -> float:
    """The `lam` at which sum(d * clip(lam * w, min_rate, max_rate)) equals `budget`, exactly.

    The spend is piecewise linear and increasing in `lam`, with breakpoints where
    a cell leaves the floor (lam = min_rate / w) or reaches the ceiling
    (lam = max_rate / w). Evaluate it at every breakpoint with cumulative sums,
    then solve the linear piece that crosses the budget.
    """
    d_all = np.broadcast_to(durations_s, weights.shape)
    pos = weights > 0
    w, d = weights[pos], d_all[pos]
    zero_spend = min_rate * float(d_all[~pos].sum())
    leave = min_rate / w  # leaves the floor
    cap = max_rate / w  # reaches the ceiling
    order_l, order_c = np.argsort(leave), np.argsort(cap)
    leave_s, cap_s = leave[order_l], cap[order_c]
    cum_d_l = np.concatenate(([0.0], np.cumsum(d[order_l])))
    cum_dw_l = np.concatenate(([0.0], np.cumsum((d * w)[order_l])))
    cum_d_c = np.concatenate(([0.0], np.cumsum(d[order_c])))
    cum_dw_c = np.concatenate(([0.0], np.cumsum((d * w)[order_c])))
    d_total = float(d.sum())

    def pieces(lam: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Spend = const + lam * slope on the piece starting at each `lam`."""
        i = np.searchsorted(leave_s, lam, side="right")
        j = np.searchsorted(cap_s, lam, side="right")
        const = zero_spend + min_rate * (d_total - cum_d_l[i]) + max_rate * cum_d_c[j]
        return const, cum_dw_l[i] - cum_dw_c[j]

    breaks = np.sort(np.concatenate((leave, cap)))
    const, slope = pieces(breaks)
    spend = const + breaks * slope
    k = int(np.searchsorted(spend, budget, side="right")) - 1  # last breakpoint not above budget
    if k < 0:
        return float(breaks[0])
    if slope[k] <= 0:
        return float(breaks[k])
    return float(min((budget - const[k]) / slope[k], breaks[min(k + 1, breaks.size - 1)]))


def expected_reads(rates: FloatArray, durations_s: FloatArray) -> float:
    """Reads the rates spend over the cells (all devices)."""
    return float((rates * durations_s).sum())

"""The numbers a backtest reports, from the world's bookkeeping and the call ledger.

Energy comes from the world's `EnergyTotals` (the truth: per world step, the car's
solar part is min(car power, max(PV - household, 0)), the rest grid). Calls come
from the ledger the controller recorded (one `ApiCall` per attempt, as the daemon
counts them), per UTC day, the cloud's quota day.

Definitions (per day = per simulated day, the window's length in days):

* `current_changes_per_day`: successful `set_current` commands the controller sent
  (the charger's own PV-mode regulation changes the current without commands and
  is not counted);
* `start_stop_cycles_per_day`: cycles in which charging began (no car power in
  the cycle before, car power in this one), from the per-cycle frame;
* `target_misses`: sessions whose car got less than the energy wanted;
  `unmet_kwh` the sum of what they lacked;
* `cost`: grid energy of the car times the price in force (only with prices).

kWh and shares are rounded to 4 decimals so JSON stays readable.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from adapters.storage.ledger import calls_per_day

if TYPE_CHECKING:
    from optimizer.backtest.engine import BacktestResult

Metrics = dict[str, float | int | None]

METRIC_KEYS: tuple[str, ...] = (
    "ev_kwh",
    "solar_kwh",
    "grid_kwh",
    "solar_share",
    "pv_exported_kwh",
    "sessions",
    "sessions_target_met",
    "target_misses",
    "unmet_kwh",
    "calls",
    "calls_per_day_mean",
    "calls_per_day_max",
    "current_changes_per_day",
    "start_stop_cycles_per_day",
    "cost",
    "ratio_to_optimum",
    "runtime_s",
)


def _kwh(wh: float) -> float:
    return round(wh / 1000.0, 4)


def compute_metrics(result: BacktestResult) -> Metrics:
    """The metrics dict of one run (JSON-serializable; `ratio_to_optimum` None until compared)."""
    totals = result.totals
    days = result.inputs.days
    energy, solar = totals["energy_wh"], totals["solar_wh"]
    per_day = calls_per_day((c.time for c in result.calls), result.inputs.start, result.inputs.end)
    sessions = result.sessions
    targeted = sessions[sessions["target_wh"].notna()]
    lacking = np.maximum(
        targeted["target_wh"].to_numpy(float) - targeted["energy_wh"].to_numpy(float), 0.0
    )
    missed = int((lacking > 1e-6).sum())
    steps = result.steps
    charging = steps["charging"].to_numpy(bool)
    starts = int(np.count_nonzero(charging[1:] & ~charging[:-1])) + int(bool(charging[:1].any()))
    metrics: Metrics = {
        "ev_kwh": _kwh(energy),
        "solar_kwh": _kwh(solar),
        "grid_kwh": _kwh(totals["grid_wh"]),
        "solar_share": round(solar / energy, 4) if energy > 0 else 0.0,
        "pv_exported_kwh": _kwh(totals["pv_exported_wh"]),
        "sessions": len(sessions),
        "sessions_target_met": len(targeted) - missed,
        "target_misses": missed,
        "unmet_kwh": _kwh(float(lacking.sum())),
        "calls": len(result.calls),
        "calls_per_day_mean": round(len(result.calls) / days, 2) if days > 0 else 0.0,
        "calls_per_day_max": max(per_day.values(), default=0),
        "current_changes_per_day": round(float(steps["set_current"].sum()) / days, 2),
        "start_stop_cycles_per_day": round(starts / days, 2),
        "cost": _cost(result),
        "ratio_to_optimum": None,
        "runtime_s": round(result.runtime_s, 3),
    }
    return metrics


def _cost(result: BacktestResult) -> float | None:
    """Grid energy of the car times the price in force (currency), None without prices."""
    if result.inputs.prices is None:
        return None
    steps = result.steps
    price = steps["price_per_kwh"].to_numpy(float)
    grid_kwh = steps["grid_wh"].to_numpy(float) / 1000.0
    known = ~np.isnan(price)
    return round(float((grid_kwh[known] * price[known]).sum()), 4)


def ratio(solar_kwh: float | int | None, optimum_solar_kwh: float | int | None) -> float | None:
    """Policy solar energy over the optimum's (None when the optimum has none)."""
    if solar_kwh is None or optimum_solar_kwh is None or not optimum_solar_kwh > 0:
        return None
    value = float(solar_kwh) / float(optimum_solar_kwh)
    return round(value, 4) if math.isfinite(value) else None

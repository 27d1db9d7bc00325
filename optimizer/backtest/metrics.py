"""The numbers a backtest reports, from the world's bookkeeping and the call ledger.

Energy comes from the world's `EnergyTotals` (the truth: per world step, the car's
solar part is min(car power, max(PV - household, 0)), the rest grid). Calls come
from the ledger the controller recorded (one `ApiCall` per attempt, as the daemon
counts them), per UTC day, the cloud's quota day. Flapping is counted on the
world's per-step record (`BacktestResult.steps`), so it sees what the car
actually drew whoever changed it: our commands or the charger's own PV regulation.

Definitions (per day = per simulated day, the window's length in days):

* `start_stop_cycles_per_day`: steps in which the car's actual power went from 0
  to > 0 (a step already charging at the window's start counts as a start);
* `current_changes_per_day`: steps in which the car's actual current changed by
  at least 1 A from the step before (starts and stops included; the window
  starts at 0 A), regardless of who made the change; the car's own slow taper
  near full changes it by far less per step and is not counted;
* `commands_per_day`: successful writes the controller sent (current, PV mode,
  start, pause): our share of the changes, and of the calls;
* `target_misses`: sessions whose car got less than the energy wanted;
  `unmet_kwh` the sum of what they lacked;
* `deferred_writes`: writes the actuator put off (no call budget left, or backing off);
* `cost` (EUR, only with prices): what the car adds to the household's bill, the
  planner's own objective (`optimizer.planning.least_cost`): per step, the car's grid
  energy times the import price, plus the car's solar energy times the export price
  (the feed-in earnings the household gave up because the car took that PV instead of
  exporting it: its opportunity cost; 0 without export prices). Equivalently the
  import bill of the car minus what the surplus the car left still earns, up to the
  constant export value of all the surplus. With a home battery the car's solar is
  still valued at the export price, though the battery might have stored it instead.
* `calls_per_day_mean`: calls over the window's length in days; `calls_per_day_max`:
  the most calls in one UTC day, the quota day the 1000-call limit applies to. A
  window starting at local midnight straddles UTC days, so for a short window the
  mean can exceed the max (a 1-day Vienna window is 22 h of one UTC day and 2 h of
  the next): the max is the number to hold against the limit.

kWh and shares are rounded to 4 decimals so JSON stays readable.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

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
    "commands_per_day",
    "deferred_writes",
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
    per_day = calls_per_day(result.calls, result.inputs.start, result.inputs.end)
    sessions = result.sessions
    targeted = sessions[sessions["target_wh"].notna()]
    lacking = np.maximum(
        targeted["target_wh"].to_numpy(float) - targeted["energy_wh"].to_numpy(float), 0.0
    )
    missed = int((lacking > 1e-6).sum())
    steps = result.steps
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
        "current_changes_per_day": round(current_changes(steps) / days, 2),
        "start_stop_cycles_per_day": round(starts(steps) / days, 2),
        "commands_per_day": round(float(steps["commands"].sum()) / days, 2),
        "deferred_writes": int(result.cycle_log["deferred"].sum())
        if "deferred" in result.cycle_log
        else 0,
        "cost": _cost(result),
        "ratio_to_optimum": None,
        "runtime_s": round(result.runtime_s, 3),
    }
    return metrics


CURRENT_CHANGE_A = 1.0
"""Smallest step-to-step change of the actual current counted as a change (A)."""


def starts(steps: pd.DataFrame) -> int:
    """Steps where the car's actual power went from 0 to > 0 (see the module doc)."""
    flowing = steps["car_w"].to_numpy(float) > 0.0
    return int(np.count_nonzero(np.diff(flowing.astype(np.int8), prepend=0) > 0))


def current_changes(steps: pd.DataFrame) -> int:
    """Steps where the actual current changed by >= `CURRENT_CHANGE_A` (see the module doc)."""
    current = steps["current_a"].to_numpy(float)
    return int(np.count_nonzero(np.abs(np.diff(current, prepend=0.0)) >= CURRENT_CHANGE_A - 1e-9))


def _cost(result: BacktestResult) -> float | None:
    """The car's cost (EUR, see the module doc), None without prices."""
    if result.inputs.prices is None:
        return None
    steps = result.steps
    total = _priced_kwh(steps["grid_wh"], steps["price_per_kwh"])
    if "export_price_per_kwh" in steps:
        total += _priced_kwh(steps["solar_wh"], steps["export_price_per_kwh"])
    return round(total, 4)


def _priced_kwh(energy_wh: pd.Series, price: pd.Series) -> float:
    """Sum of energy (Wh -> kWh) x price (EUR/kWh) where the price is known."""
    eur = price.to_numpy(float)
    known = ~np.isnan(eur)
    return float((energy_wh.to_numpy(float)[known] / 1000.0 * eur[known]).sum())


def ratio(solar_kwh: float | int | None, optimum_solar_kwh: float | int | None) -> float | None:
    """Policy solar energy over the optimum's (None when the optimum has none)."""
    if solar_kwh is None or optimum_solar_kwh is None or not optimum_solar_kwh > 0:
        return None
    value = float(solar_kwh) / float(optimum_solar_kwh)
    return round(value, 4) if math.isfinite(value) else None

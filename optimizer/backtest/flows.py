"""The energy flows of a backtest run's home: PV, household, car, battery and grid (kWh).

The car's energy splits into what came from the sun (the world's bookkeeping: the
part of its draw the PV surplus over the household covered), from the home battery
(`HomeFlows.to_car_wh`: the battery covers the household first, then the car) and
from the grid (the rest). Every row balances: PV + grid import + battery discharged
= household + car + battery charged + grid export (checked, 0.1 %).
"""

from __future__ import annotations

from optimizer.backtest.engine import BacktestResult

FLOW_COLUMNS = (  # (key, header): the car from the sun, the battery and the grid
    ("pv", "PV"),
    ("house", "house"),
    ("car", "car"),
    ("car_solar", "car solar"),
    ("car_battery", "car battery"),
    ("car_grid", "car grid"),
    ("charged", "battery in"),
    ("discharged", "battery out"),
    ("grid_import", "grid import"),
    ("grid_export", "grid export"),
    ("calls_per_day", "calls/day"),
)


def energy_flows_kwh(result: BacktestResult) -> dict[str, float]:
    """The run's energy flows (kWh, `FLOW_COLUMNS`) and calls per day; without a battery
    its battery flows are 0. ValueError if they do not balance (a bookkeeping bug)."""
    t = result.totals
    to_car = t.get("battery_to_car_wh", 0.0)
    charged = t.get("battery_charged_wh", 0.0)
    discharged = t.get("battery_discharged_wh", 0.0)
    house_grid = t["household_wh"] - (t["pv_wh"] - t["pv_exported_wh"] - t["solar_wh"])
    grid_import = t.get("grid_import_wh", t["grid_wh"] + house_grid)
    grid_export = t.get("grid_export_wh", t["pv_exported_wh"])
    wh = {
        "pv": t["pv_wh"],
        "house": t["household_wh"],
        "car": t["energy_wh"],
        "car_solar": t["solar_wh"],
        "car_battery": to_car,
        "car_grid": t["energy_wh"] - t["solar_wh"] - to_car,
        "charged": charged,
        "discharged": discharged,
        "grid_import": grid_import,
        "grid_export": grid_export,
    }
    sources = wh["pv"] + grid_import + discharged
    sinks = wh["house"] + wh["car"] + charged + grid_export
    if abs(sources - sinks) > 1e-3 * max(sources, 1.0):
        raise ValueError(f"{result.name}: flows do not balance ({sources:.0f} vs {sinks:.0f} Wh)")
    out = {key: _shown(value / 1000.0) for key, value in wh.items()}
    out["calls_per_day"] = len(result.calls) / result.inputs.days
    return out


def _shown(kwh: float) -> float:
    """`kwh` with rounding noise below 1 Wh shown as 0 (no "-0.0")."""
    return 0.0 if abs(kwh) < 1e-3 else kwh

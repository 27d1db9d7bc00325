"""Benchmark: the energy flows of a home with a battery, a year of real-2017.

    .venv/bin/python benchmarks/home_battery.py [--battery-kwh 10] [--start 2017-01-01]
        [--days 365]

Runs, on the same data and sessions as `v2c-solar backtest --dataset real-2017`:
`solar_only` without a battery (the reference), and with the battery `solar_only`
with `battery_to_car` false (the default) and true, and the charger's own
exclusive-PV mode (`device_exclusive_pv`, never read). Prints one markdown table of
the year's energy flows in kWh (PV, household, the car from the sun, the battery
and the grid, the battery charged and discharged, the grid import and export) and
checks that every row balances: PV + import + discharged = household + car +
charged + export.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date

from adapters.simulator.world import HomeBatteryConfig
from optimizer.backtest.compare import contenders
from optimizer.backtest.dataset import load_real_2017
from optimizer.backtest.engine import BacktestSetup, run_backtest
from optimizer.backtest.flows import FLOW_COLUMNS, energy_flows_kwh


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--battery-kwh", type=float, default=10.0)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2017, 1, 1))
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    inputs = load_real_2017(args.start, args.days)
    battery = HomeBatteryConfig(capacity_kwh=args.battery_kwh)
    by_name = {c.name: c for c in contenders(["solar_only"])}
    runs = (
        ("solar_only, no battery", "solar_only", BacktestSetup()),
        ("solar_only, battery_to_car = false", "solar_only", BacktestSetup(home_battery=battery)),
        (
            "solar_only, battery_to_car = true",
            "solar_only",
            BacktestSetup(home_battery=battery, battery_to_car=True),
        ),
        ("device_exclusive_pv (charger's own mode)", "device_exclusive_pv",
         BacktestSetup(home_battery=battery)),
    )  # fmt: skip
    print(f"Command: `python benchmarks/home_battery.py {' '.join(sys.argv[1:])}`".strip())
    print()
    print(f"Battery: {battery.model_dump()}; {args.days} days from {args.start}; energies in kWh.")
    print()
    print("| run | " + " | ".join(header for _, header in FLOW_COLUMNS) + " |")
    print("|---|" + "---:|" * len(FLOW_COLUMNS))
    for label, contender, setup in runs:
        result = run_backtest(inputs, by_name[contender], setup)
        flows = energy_flows_kwh(result)
        cells = " | ".join(f"{flows[key]:.1f}" for key, _ in FLOW_COLUMNS)
        print(f"| {label} | {cells} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
